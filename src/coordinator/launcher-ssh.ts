// The SSH launcher: islands as processes on other hosts, started over SSH (the pure-JS ssh2 client).
// A hosts file lists where they run:
//
//   [{ "host": "10.0.0.5", "port": 22, "user": "slt", "key": "~/.ssh/id_ed25519", "islands": 4,
//      "node": "/usr/bin/node", "workdir": "/opt/slt-islands",
//      "listen": "auto", "hostKey": "SHA256:..." }]
//
// `listen` (optional, default "auto") is the address each island's peer server binds to and advertises
// to its neighbours; "auto" is the island host's address on the interface that reaches the coordinator.
//
// Host keys, as OpenSSH's StrictHostKeyChecking=yes: the key a server presents must be the one pinned by
// `hostKey` (its SHA256 fingerprint, as `ssh-keygen -lf` prints it), or, without a pin, the one an entry
// of ~/.ssh/known_hosts (or of the file `knownHosts` names) holds for that host (`[host]:port` when the
// port is not 22); see known-hosts.ts for the format. A changed or revoked key, or an unknown host, is
// refused, and the launcher fails with a one-line error that says how to accept the key; with
// `acceptNewHostKeys: true` (or --accept-new-host-keys for every host) an unknown host's key is accepted
// and appended to that file, as OpenSSH's accept-new. ssh2 checks the host key in the key exchange,
// before authentication, so a refused server never sees a credential, a command or the secret.
//
// Authentication: the private key `key` (a leading ~/ is the coordinator user's home) and/or the
// ssh-agent at $SSH_AUTH_SOCK (`agent: true`, or no `key`). An encrypted key's passphrase comes from the
// environment variable `passphraseEnv` names, else from a prompt without echo when stdin is a terminal,
// once per key file. Every host's credentials are read when the launcher starts, before it connects
// anywhere, so a missing agent, an unreadable key or a wrong passphrase ends the run at once.
//
// Each island gets its own SSH connection and one exec session running
//   cd WORKDIR && IFS= read -r SLT_TOKEN && export SLT_TOKEN && echo "slt-pid $$" &&
//   SLT_ISLAND_INDEX=i SLT_LOG_LEVEL=LEVEL exec NODE src/island/main.ts --join URL --listen LISTEN --exit-with-stdin
// The run secret is written to the session's stdin (never argv, and not the SSH environment either,
// which sshd drops unless AcceptEnv allows it); the shell's `read` is a builtin, so it never shows in
// ps. LEVEL is the coordinator's log level, as the local launcher gives it. The remote pid is the
// shell's, kept by `exec`; a host that has not sent it within readyTimeoutMs (20 s) of the connection
// being ready has not started the island (logged, the island ends). What the island writes on its remote stdout or stderr (its records from
// before its coordinator link was open, a crash trace) becomes one warn record per line on the
// coordinator's logger, { island, host, stream, line }, as the local launcher does; so do the
// launcher's own diagnostics (refused or new host keys, SSH errors, the kill fallback), with their fields.
//
// Restarting an island (the coordinator lost it): the same command over a new SSH connection to the
// host that ran it, with the same index.
//
// Ending an island: stdin stays open for the island's life (--exit-with-stdin), so kill() sends EOF
// (and a KILL signal request, which OpenSSH 9.2 ignores) and the island exits; a lost connection ends it
// the same way. Should the island still be running KILL_FALLBACK_MS later, `kill -KILL PID` runs in a
// second session (that one goes through the remote user's shell start-up files, which can be slow).
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { createInterface } from "node:readline";
import ssh2, { type ClientChannel, type ServerHostKeyAlgorithm } from "ssh2";
import { E_CLUSTER, E_CONFIG, SltError } from "../core/errors.ts";
import { readJsonFile } from "../io/json-file.ts";
import { type Logger, stderrLogger } from "../io/log.ts";
import { expandHome, fingerprint, HostKeyChecker, type HostKeyPolicy } from "./known-hosts.ts";
import { type IslandExit, type IslandHandle, type Launcher, labelFields } from "./launcher.ts";

// ssh2 is CommonJS and Node's ESM loader does not see its named exports: take them off the default.
const { Client, utils } = ssh2;

export interface SshHost extends HostKeyPolicy {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** path of the private key (a leading ~/ is the coordinator user's home); null: the agent only */
  readonly key: string | null;
  /** authenticate with the ssh-agent at $SSH_AUTH_SOCK (also when there is no key) */
  readonly agent: boolean;
  /** the environment variable holding the key's passphrase */
  readonly passphraseEnv: string | null;
  readonly islands: number;
  /** the node binary on the remote host */
  readonly node: string;
  /** the repository on the remote host */
  readonly workdir: string;
  /** the islands' peer-server address, or "auto" */
  readonly listen: string;
  /** pinned host key fingerprint, "SHA256:…" */
  readonly hostKey: string | null;
  /** the known_hosts file instead of ~/.ssh/known_hosts */
  readonly knownHosts: string | null;
  /** accept and record the key of a host known_hosts does not know (OpenSSH's accept-new) */
  readonly acceptNewHostKeys: boolean;
}

const FIELDS = new Set([
  "host",
  "port",
  "user",
  "key",
  "agent",
  "passphraseEnv",
  "islands",
  "node",
  "workdir",
  "listen",
  "hostKey",
  "knownHosts",
  "acceptNewHostKeys",
]);

/** Validates a parsed hosts file; every error names the entry and the field. */
export function parseHosts(value: unknown, source = "hosts file"): SshHost[] {
  const fail = (text: string): never => {
    throw new SltError(E_CONFIG, `${source}: ${text}`);
  };
  if (!Array.isArray(value) || value.length === 0) fail("expected a non-empty JSON array of host entries");
  return (value as unknown[]).map((raw, i) => {
    const where = `entry ${i}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail(`${where}: expected an object`);
    const e = raw as Record<string, unknown>;
    const name = typeof e.host === "string" ? ` (${e.host})` : "";
    for (const k of Object.keys(e)) {
      if (!FIELDS.has(k)) fail(`${where}${name}: unknown field "${k}"`);
    }
    const str = (k: string, pattern?: RegExp, hint?: string): string => {
      const v = e[k];
      if (typeof v !== "string" || v.length === 0)
        return fail(`${where}${name}: "${k}" must be a non-empty string`);
      if (pattern && !pattern.test(v))
        return fail(`${where}${name}: "${k}" ${hint}, got ${JSON.stringify(v)}`);
      return v;
    };
    const int = (k: string, min: number, max: number, fallback?: number): number => {
      const v = e[k] ?? fallback;
      if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
        return fail(
          `${where}${name}: "${k}" must be an integer from ${min} to ${max}, got ${JSON.stringify(e[k])}`,
        );
      return v;
    };
    const bool = (k: string): boolean => {
      const v = e[k] === undefined ? false : e[k];
      if (typeof v !== "boolean")
        return fail(`${where}${name}: "${k}" must be true or false, got ${JSON.stringify(v)}`);
      return v;
    };
    const optional = (k: string, read: (k: string) => string): string | null =>
      e[k] === undefined ? null : read(k);
    const hostPattern = /^[\w.:-]+$/;
    const key = optional("key", str);
    const passphraseEnv = optional("passphraseEnv", (k) =>
      str(k, /^[A-Za-z_][A-Za-z0-9_]*$/, "must be the name of an environment variable"),
    );
    if (passphraseEnv !== null && key === null) fail(`${where}${name}: "passphraseEnv" needs "key"`);
    return {
      host: str("host", hostPattern, "must be a host name or an IP address"),
      port: int("port", 1, 65535, 22),
      user: str("user", /^[\w.-]+$/, "must be a user name"),
      key,
      agent: bool("agent"),
      passphraseEnv,
      islands: int("islands", 1, 4096),
      node: str("node"),
      workdir: str("workdir"),
      listen: e.listen === undefined ? "auto" : str("listen", hostPattern, 'must be an address or "auto"'),
      hostKey: optional("hostKey", (k) =>
        str(k, /^SHA256:[A-Za-z0-9+/]{43}$/, 'must be a fingerprint "SHA256:…" as ssh-keygen -lf prints it'),
      ),
      knownHosts: optional("knownHosts", str),
      acceptNewHostKeys: bool("acceptNewHostKeys"),
    };
  });
}

/** Reads and validates a hosts file. */
export function readHostsFile(path: string): SshHost[] {
  return parseHosts(readJsonFile(path, "hosts file"), `hosts file ${path}`);
}

/** Single-quotes a word for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The remote command of island `index` at log level `level` (the secret follows on stdin); in a wss://
 * run with the certificate's pin in SLT_TLS_PIN (public: it lets the island recognise the coordinator).
 */
export function remoteCommand(
  h: SshHost,
  index: number,
  joinUrl: string,
  level: string,
  tlsPin?: string,
): string {
  const pin = tlsPin !== undefined ? `SLT_TLS_PIN=${shellQuote(tlsPin)} ` : "";
  return [
    `cd ${shellQuote(h.workdir)}`,
    "IFS= read -r SLT_TOKEN",
    "export SLT_TOKEN",
    'echo "slt-pid $$"',
    `${pin}SLT_ISLAND_INDEX=${index} SLT_LOG_LEVEL=${shellQuote(level)} exec ${shellQuote(h.node)} src/island/main.ts --join ${shellQuote(joinUrl)} --listen ${shellQuote(h.listen)} --exit-with-stdin`,
  ].join(" && ");
}

export interface SshLauncherOptions {
  /** where island output lines and the launcher's diagnostics go, as records (default: stderr) */
  readonly logger?: Logger;
  /** how long one SSH connection may take to become ready (default 20 s) */
  readonly readyTimeoutMs?: number;
  /** accept and record new host keys for every host (--accept-new-host-keys; default: per host) */
  readonly acceptNewHostKeys?: boolean;
  /** where SSH_AUTH_SOCK and the passphrase variables are read (default process.env) */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** the home a leading ~/ stands for, and where ~/.ssh/known_hosts is (default os.homedir()) */
  readonly home?: string;
  /** asks for a key's passphrase (default: without echo when stdin is a TTY, else none: an error) */
  readonly prompt?: ((question: string) => Promise<string>) | null;
}

/** How long after EOF an island may take to exit before its pid is killed. */
export const KILL_FALLBACK_MS = 5000;

/** How a connection authenticates: a private key (and its passphrase), the agent's socket, or both. */
interface SshAuth {
  readonly privateKey?: Buffer;
  readonly passphrase?: string;
  readonly agent?: string;
}

/**
 * The credentials of each host, read before any connection so that a missing agent, an unreadable key or
 * a wrong passphrase ends the run at once; each key file is read (and its passphrase asked) once.
 */
class SshCredentials {
  readonly #keys = new Map<string, Promise<{ privateKey: Buffer; passphrase?: string }>>();
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #home: string;
  readonly #prompt: ((question: string) => Promise<string>) | null;

  constructor(options: SshLauncherOptions) {
    this.#env = options.env ?? process.env;
    this.#home = options.home ?? homedir();
    this.#prompt =
      options.prompt !== undefined
        ? options.prompt
        : process.stdin.isTTY
          ? (q: string) => hiddenPrompt(q)
          : null;
  }

  async of(h: SshHost): Promise<SshAuth> {
    const agent = this.#env.SSH_AUTH_SOCK || undefined;
    if ((h.agent || h.key === null) && agent === undefined)
      throw new SltError(
        E_CONFIG,
        h.key === null
          ? `host ${h.host} has no "key" in the hosts file and there is no ssh-agent (SSH_AUTH_SOCK is not set): give a key or start ssh-agent`
          : `host ${h.host} asks for the ssh-agent ("agent": true), but SSH_AUTH_SOCK is not set`,
      );
    const useAgent = h.agent || h.key === null ? { agent } : {};
    if (h.key === null) return useAgent;
    const path = expandHome(h.key, this.#home);
    const cacheKey = `${path}\0${h.passphraseEnv ?? ""}`;
    let key = this.#keys.get(cacheKey);
    if (!key) {
      key = this.#read(h, path);
      this.#keys.set(cacheKey, key);
    }
    return { ...(await key), ...useAgent };
  }

  async #read(h: SshHost, path: string): Promise<{ privateKey: Buffer; passphrase?: string }> {
    const fail = (why: string): never => {
      throw new SltError(E_CONFIG, `cannot use the SSH key ${path} of host ${h.host}: ${why}`);
    };
    let privateKey: Buffer;
    try {
      privateKey = readFileSync(path);
    } catch (e) {
      return fail(`${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const plain = utils.parseKey(privateKey);
    if (!(plain instanceof Error)) return { privateKey };
    if (!/passphrase/i.test(plain.message)) return fail(plain.message);
    let passphrase: string | undefined;
    if (h.passphraseEnv !== null) {
      passphrase = this.#env[h.passphraseEnv];
      if (passphrase === undefined)
        fail(`it is encrypted and the environment variable ${h.passphraseEnv} ("passphraseEnv") is not set`);
    } else if (this.#prompt !== null) {
      passphrase = await this.#prompt(`passphrase for the SSH key ${path} (host ${h.host}): `);
    } else
      fail(
        'it is encrypted: name an environment variable holding its passphrase ("passphraseEnv" in the hosts file), or run from a terminal to be asked for it',
      );
    const parsed = utils.parseKey(privateKey, passphrase);
    if (parsed instanceof Error) fail(`wrong passphrase (${parsed.message})`);
    return { privateKey, passphrase };
  }
}

/** What the prompt needs of a terminal's input: a stream it can put in raw mode (no echo). */
export interface RawInput extends NodeJS.EventEmitter {
  setRawMode(raw: boolean): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** Asks on the terminal (stdin, a TTY; the question on stderr) for a line without echoing it. */
export function hiddenPrompt(
  question: string,
  input: RawInput = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let answer = "";
    const done = (settle: () => void) => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      output.write("\n");
      settle();
    };
    const onData = (chunk: Buffer) => {
      for (const c of chunk.toString("utf8")) {
        if (c === "\r" || c === "\n") return done(() => resolve(answer));
        // raw mode turns Ctrl-C and Ctrl-D into bytes: both give up
        if (c === "\u0003" || c === "\u0004")
          return done(() =>
            reject(new SltError(E_CONFIG, "no passphrase given (the prompt was interrupted)")),
          );
        answer = c === "\u007f" || c === "\b" ? answer.slice(0, -1) : answer + c;
      }
    };
    output.write(question);
    input.setRawMode(true);
    input.on("data", onData);
    input.resume();
  });
}

/**
 * One island on a remote host: its SSH connection, its exec session and what the coordinator's handle
 * reads. `exited` resolves when the connection ends; `started` once the island has printed its pid (or
 * ended first).
 */
class RemoteIsland {
  readonly handle: IslandHandle;
  readonly exited: Promise<IslandExit>;
  readonly started: Promise<void>;
  readonly #h: SshHost;
  readonly #index: number;
  readonly #logger: Logger;
  readonly #conn = new Client();
  /** the island's fields in records: its launcher index until the coordinator relabels it */
  #who: Record<string, unknown>;
  #channel: ClientChannel | null = null;
  #pid: number | null = null;
  #ended = false;
  #killing = false;
  #exit: IslandExit = { code: null, signal: null };
  /** why the server's host key was refused, if it was: the launcher fails with it */
  #refusal: SltError | null = null;
  #finish: (e: IslandExit) => void = () => {};
  #pidKnown: () => void = () => {};

  constructor(h: SshHost, index: number, logger: Logger) {
    this.#h = h;
    this.#index = index;
    this.#logger = logger;
    this.#who = { island: index };
    this.exited = new Promise<IslandExit>((done) => {
      this.#finish = done;
    });
    this.started = new Promise<void>((res) => {
      this.#pidKnown = res;
    });
    void this.exited.then(() => this.#pidKnown());
    const self = this;
    this.handle = {
      index,
      host: h.host,
      get pid() {
        return self.#pid;
      },
      exited: this.exited,
      setLabel(text) {
        self.#who = labelFields(index, text);
      },
      kill: () => this.kill(),
    };
  }

  get refusal(): SltError | null {
    return this.#refusal;
  }

  /** The fields of this island's records: which island, on which host. */
  #fields(): Record<string, unknown> {
    return { ...this.#who, host: this.#h.host };
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#conn.end();
    this.#finish(this.#exit);
  }

  /** Connects and runs the island (the secret on its stdin); a failure to start ends it, logged. */
  start(
    auth: SshAuth,
    joinUrl: string,
    secret: string,
    hostKeys: HostKeyChecker,
    readyTimeoutMs: number,
    tlsPin?: string,
  ): void {
    const h = this.#h;
    this.#conn.on("error", (e) => {
      // a refused host key was logged as such
      if (this.#refusal === null)
        this.#logger.error(
          { ...this.#fields(), port: h.port, user: h.user, reason: e.message },
          "ssh connection failed",
        );
      this.#end();
    });
    this.#conn.on("close", () => this.#end());
    this.#conn.on("ready", () => {
      // a server may take the connection and never answer the command: the launcher must not wait forever
      const deadline = setTimeout(() => this.#noStart(readyTimeoutMs), readyTimeoutMs);
      void this.started.then(() => clearTimeout(deadline));
      const command = remoteCommand(h, this.#index, joinUrl, this.#logger.level, tlsPin);
      this.#conn.exec(command, (err, channel) => {
        if (this.#ended) channel?.close();
        else if (err) {
          this.#logger.error({ ...this.#fields(), reason: err.message }, "island could not start");
          this.#end();
        } else this.#attach(channel, secret);
      });
    });
    this.#conn.connect({
      host: h.host,
      port: h.port,
      username: h.user,
      ...auth,
      readyTimeout: readyTimeoutMs,
      keepaliveInterval: 10_000,
      ...hostKeyAlgorithms(hostKeys, h),
      // runs in the key exchange, before authentication: nothing is sent to a refused server
      hostVerifier: (hostKey: Buffer) => this.#verify(hostKeys, hostKey),
    });
  }

  /** The island printed no pid within `ms` of the connection being ready: it did not start. */
  #noStart(ms: number): void {
    if (this.#pid !== null || this.#ended) return;
    this.#logger.error(
      { ...this.#fields(), reason: `no answer to the island's command within ${ms / 1000} s` },
      "island could not start",
    );
    this.#end();
  }

  #verify(hostKeys: HostKeyChecker, hostKey: Buffer): boolean {
    this.#refusal = hostKeys.verify(this.#h, hostKey);
    if (this.#refusal !== null)
      this.#logger.error(
        {
          ...this.#fields(),
          port: this.#h.port,
          fingerprint: fingerprint(hostKey),
          reason: this.#refusal.message,
        },
        "host key refused",
      );
    return this.#refusal === null;
  }

  /** The running session: the secret in, the pid line and the island's output out, its exit status. */
  #attach(channel: ClientChannel, secret: string): void {
    this.#channel = channel;
    channel.write(`${secret}\n`);
    const output = (stream: "stdout" | "stderr", line: string) =>
      this.#logger.warn({ ...this.#fields(), stream, line }, "island output");
    createInterface({ input: channel }).on("line", (line) => {
      const m = this.#pid === null ? /^slt-pid (\d+)$/.exec(line) : null;
      if (m) {
        this.#pid = Number(m[1]);
        this.#pidKnown();
      } else output("stdout", line);
    });
    createInterface({ input: channel.stderr }).on("line", (line) => output("stderr", line));
    channel.on("exit", (code: number | null, signal?: string) => {
      this.#exit = { code: typeof code === "number" ? code : null, signal: signal ? `SIG${signal}` : null };
    });
    channel.on("close", () => this.#end());
  }

  /** EOF on the island's stdin ends it; `kill -KILL PID` follows if it still runs KILL_FALLBACK_MS later. */
  kill(): void {
    if (this.#ended || this.#killing) return;
    this.#killing = true;
    // not started yet (still connecting): nothing runs remotely, so ending the connection is all
    if (this.#channel === null) {
      this.#end();
      return;
    }
    try {
      this.#channel?.signal("KILL");
      this.#channel?.end();
    } catch {
      // the channel may be closing already
    }
    const fallback = setTimeout(() => {
      if (!this.#ended && this.#pid !== null) this.#killPid();
    }, KILL_FALLBACK_MS);
    void this.exited.then(() => clearTimeout(fallback));
  }

  #killPid(): void {
    const pid = this.#pid;
    this.#logger.warn({ ...this.#fields(), pid }, "still running after EOF; kill fallback (kill -KILL)");
    const failed = (reason: string) =>
      this.#logger.error({ ...this.#fields(), pid, reason }, "kill fallback failed");
    this.#conn.exec(`kill -KILL ${pid}`, (err, ch) => {
      if (err) {
        failed(err.message);
        return;
      }
      ch.on("data", () => {});
      // what kill says on stderr, e.g. that there is no such process
      createInterface({ input: ch.stderr }).on("line", failed);
    });
  }
}

/** ssh2's `algorithms` option asking `h` for the key types known_hosts holds for it first, if any. */
function hostKeyAlgorithms(
  hostKeys: HostKeyChecker,
  h: SshHost,
): { algorithms?: { serverHostKey: ServerHostKeyAlgorithm[] } } {
  const serverHostKey = hostKeys.algorithmsFor(h);
  return serverHostKey ? { algorithms: { serverHostKey } } : {};
}

/**
 * Which host runs which island: islands fill the hosts in file order; one list per host that gets any.
 * Each host's islands connect one after another (sshd limits concurrent unauthenticated connections),
 * hosts in parallel.
 */
export function hostPlan(hosts: readonly SshHost[], n: number): { h: SshHost; index: number }[][] {
  const plan: { h: SshHost; index: number }[][] = [];
  let index = 0;
  for (const h of hosts) {
    const mine: { h: SshHost; index: number }[] = [];
    for (let k = 0; k < h.islands && index < n; k++) mine.push({ h, index: index++ });
    if (mine.length > 0) plan.push(mine);
  }
  return plan;
}

export function sshLauncher(hosts: readonly SshHost[], options: SshLauncherOptions = {}): Launcher {
  const logger = options.logger ?? stderrLogger();
  const remotes: RemoteIsland[] = [];
  const capacity = hosts.reduce((s, h) => s + h.islands, 0);
  const credentials = new SshCredentials(options);
  const hostKeys = new HostKeyChecker(logger, options.home ?? homedir(), options.acceptNewHostKeys);
  /** what start() was given and where each index runs: a restart runs the island again there */
  let started: {
    joinUrl: string;
    secret: string;
    hostOf: Map<number, SshHost>;
    auth: Map<SshHost, SshAuth>;
    tlsPin: string | undefined;
  } | null = null;
  let closed = false;

  /** Starts one island; resolves once it has printed its pid or ended, fails on a refused host key. */
  const startOne = async (h: SshHost, index: number): Promise<IslandHandle> => {
    const run = started;
    const auth = run?.auth.get(h);
    if (closed || run === null || auth === undefined)
      throw new SltError(E_CLUSTER, `the ssh launcher is closed; island ${index} not started`);
    const r = new RemoteIsland(h, index, logger);
    remotes.push(r);
    r.start(auth, run.joinUrl, run.secret, hostKeys, options.readyTimeoutMs ?? 20_000, run.tlsPin);
    await r.started;
    if (r.refusal !== null) throw r.refusal;
    return r.handle;
  };

  return {
    name: "ssh",
    async start(n, joinUrl, secret, launch) {
      if (n > capacity) {
        throw new SltError(
          E_CONFIG,
          `the hosts file has room for ${capacity} islands, but the run asks for ${n}`,
        );
      }
      const plan = hostPlan(hosts, n);
      // every credential first (one at a time: a passphrase prompt must not interleave)
      const auth = new Map<SshHost, SshAuth>();
      for (const [{ h }] of plan) auth.set(h, await credentials.of(h));
      const hostOf = new Map(plan.flat().map(({ h, index }) => [index, h]));
      started = { joinUrl, secret, hostOf, auth, tlsPin: launch?.tlsPin };
      const perHost = await Promise.all(
        plan.map(async (mine) => {
          const out: IslandHandle[] = [];
          for (const { h, index: i } of mine) out.push(await startOne(h, i));
          return out;
        }),
      );
      return perHost.flat().sort((a, b) => a.index - b.index);
    },
    // the same island command over a new SSH connection to the same host (the lost one's session has
    // been closed by kill(), which ends its process)
    async restart(index) {
      const h = started?.hostOf.get(index);
      if (started === null || h === undefined)
        throw new SltError(
          E_CLUSTER,
          `the ssh launcher did not start island ${index}, so it cannot restart it`,
        );
      return startOne(h, index);
    },
    async close() {
      closed = true;
      for (const r of remotes) r.kill();
      await Promise.all(remotes.map((r) => r.exited));
    },
  };
}
