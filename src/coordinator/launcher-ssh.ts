// The SSH launcher: islands as processes on other hosts, started over SSH (the pure-JS ssh2 client).
// A hosts file lists where they run:
//
//   [{ "host": "10.0.0.5", "port": 22, "user": "slt", "key": "~/.ssh/id_ed25519", "islands": 4,
//      "node": "/usr/bin/node", "workdir": "/opt/slt-islands",
//      "listen": "auto", "hostKey": "SHA256:..." }]
//
// `listen` (optional, default "auto") is the address each island's peer server binds to and advertises
// to its neighbours; "auto" is the island host's address on the interface that reaches the coordinator.
// `hostKey` (optional) pins the server's host key by its SHA256 fingerprint, as `ssh-keygen -lf` prints
// it; without it the fingerprint is logged and accepted.
//
// Each island gets its own SSH connection and one exec session running
//   cd WORKDIR && IFS= read -r SLT_TOKEN && export SLT_TOKEN && echo "slt-pid $$" &&
//   SLT_ISLAND_INDEX=i SLT_LOG_LEVEL=LEVEL exec NODE src/island/main.ts --join URL --listen LISTEN --exit-with-stdin
// The run secret is written to the session's stdin (never argv, and not the SSH environment either,
// which sshd drops unless AcceptEnv allows it); the shell's `read` is a builtin, so it never shows in
// ps. LEVEL is the coordinator's log level, as the local launcher gives it. The remote pid is the
// shell's, kept by `exec`. What the island writes on its remote stdout or stderr (its records from
// before its coordinator link was open, a crash trace) becomes one warn record per line on the
// coordinator's logger, { island, host, stream, line }, as the local launcher does; so do the
// launcher's own diagnostics (host keys, SSH errors, the kill fallback), with their fields.
//
// Restarting an island (the coordinator lost it): the same command over a new SSH connection to the
// host that ran it, with the same index.
//
// Ending an island: stdin stays open for the island's life (--exit-with-stdin), so kill() sends EOF
// (and a KILL signal request, which OpenSSH 9.2 ignores) and the island exits; a lost connection ends it
// the same way. Should the island still be running KILL_FALLBACK_MS later, `kill -KILL PID` runs in a
// second session (that one goes through the remote user's shell start-up files, which can be slow).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { createInterface } from "node:readline";
import ssh2, { type ClientChannel } from "ssh2";
import { E_CLUSTER, E_CONFIG, SltError } from "../core/errors.ts";
import { type Logger, stderrLogger } from "../io/log.ts";
import { type IslandExit, type IslandHandle, type Launcher, labelFields } from "./launcher.ts";

// ssh2 is CommonJS and Node's ESM loader does not see its named exports: take them off the default.
const { Client, utils } = ssh2;

export interface SshHost {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** path of the private key (a leading ~/ is the coordinator user's home) */
  readonly key: string;
  readonly islands: number;
  /** the node binary on the remote host */
  readonly node: string;
  /** the repository on the remote host */
  readonly workdir: string;
  /** the islands' peer-server address, or "auto" */
  readonly listen: string;
  /** pinned host key fingerprint, "SHA256:…" */
  readonly hostKey: string | null;
}

const FIELDS = new Set(["host", "port", "user", "key", "islands", "node", "workdir", "listen", "hostKey"]);

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
    const hostPattern = /^[\w.:-]+$/;
    return {
      host: str("host", hostPattern, "must be a host name or an IP address"),
      port: int("port", 1, 65535, 22),
      user: str("user", /^[\w.-]+$/, "must be a user name"),
      key: str("key"),
      islands: int("islands", 1, 4096),
      node: str("node"),
      workdir: str("workdir"),
      listen: e.listen === undefined ? "auto" : str("listen", hostPattern, 'must be an address or "auto"'),
      hostKey:
        e.hostKey === undefined
          ? null
          : str(
              "hostKey",
              /^SHA256:[A-Za-z0-9+/]{43}$/,
              'must be a fingerprint "SHA256:…" as ssh-keygen -lf prints it',
            ),
    };
  });
}

/** Reads and validates a hosts file. */
export function readHostsFile(path: string): SshHost[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new SltError(
      E_CONFIG,
      `cannot read hosts file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SltError(E_CONFIG, `hosts file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseHosts(value, `hosts file ${path}`);
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

function fingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

export interface SshLauncherOptions {
  /** where island output lines and the launcher's diagnostics go, as records (default: stderr) */
  readonly logger?: Logger;
  /** how long one SSH connection may take to become ready (default 20 s) */
  readonly readyTimeoutMs?: number;
}

/** How long after EOF an island may take to exit before its pid is killed. */
export const KILL_FALLBACK_MS = 5000;

/** Reads each SSH key once (keys are shared by the islands of a host), checking that ssh2 can use it. */
class SshKeys {
  readonly #keys = new Map<string, Buffer>();

  of(h: SshHost): Buffer {
    const path = h.key.startsWith("~/") ? `${homedir()}${h.key.slice(1)}` : h.key;
    let key = this.#keys.get(path);
    if (!key) {
      try {
        key = readFileSync(path);
      } catch (e) {
        throw new SltError(
          E_CONFIG,
          `cannot read the SSH key ${path} of host ${h.host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      const parsed = utils.parseKey(key);
      if (parsed instanceof Error) {
        throw new SltError(
          E_CONFIG,
          `cannot use the SSH key ${path} of host ${h.host}: ${parsed.message} (keys with a passphrase are not supported)`,
        );
      }
      this.#keys.set(path, key);
    }
    return key;
  }
}

/** Checks a server's host key against the pinned fingerprint; unpinned keys are accepted, logged once. */
class HostKeys {
  readonly #warned = new Set<string>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** `who`: the island whose connection it is (a refusal is logged with it) */
  verify(h: SshHost, hostKey: Buffer, who: Record<string, unknown>): boolean {
    const fp = fingerprint(hostKey);
    if (h.hostKey !== null) {
      if (fp === h.hostKey) return true;
      this.#logger.error(
        { ...who, host: h.host, port: h.port, fingerprint: fp, pinned: h.hostKey },
        "host key mismatch; refusing",
      );
      return false;
    }
    if (!this.#warned.has(`${h.host}:${h.port}`)) {
      this.#warned.add(`${h.host}:${h.port}`);
      this.#logger.warn(
        { host: h.host, port: h.port, fingerprint: fp },
        'host key accepted unpinned (set "hostKey" in the hosts file to pin it)',
      );
    }
    return true;
  }
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
    key: Buffer | Error,
    joinUrl: string,
    secret: string,
    hostKeys: HostKeys,
    readyTimeoutMs: number,
    tlsPin?: string,
  ): void {
    const h = this.#h;
    this.#conn.on("error", (e) => {
      this.#logger.error(
        { ...this.#fields(), port: h.port, user: h.user, reason: e.message },
        "ssh connection failed",
      );
      this.#end();
    });
    this.#conn.on("close", () => this.#end());
    this.#conn.on("ready", () => {
      const command = remoteCommand(h, this.#index, joinUrl, this.#logger.level, tlsPin);
      this.#conn.exec(command, (err, channel) => {
        if (err) {
          this.#logger.error({ ...this.#fields(), reason: err.message }, "island could not start");
          this.#end();
        } else this.#attach(channel, secret);
      });
    });
    if (key instanceof Error) {
      this.#logger.error({ ...this.#fields(), reason: key.message }, "ssh key unusable");
      this.#end();
      return;
    }
    this.#conn.connect({
      host: h.host,
      port: h.port,
      username: h.user,
      privateKey: key,
      readyTimeout: readyTimeoutMs,
      keepaliveInterval: 10_000,
      hostVerifier: (hostKey: Buffer) => hostKeys.verify(h, hostKey, this.#who),
    });
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
  const keys = new SshKeys();
  const hostKeys = new HostKeys(logger);
  /** what start() was given and where each index runs: a restart runs the island again there */
  let started: { joinUrl: string; secret: string; hostOf: Map<number, SshHost> } | null = null;
  let tlsPin: string | undefined;

  /** Starts one island; resolves once it has printed its pid or ended. */
  const startOne = async (
    h: SshHost,
    index: number,
    joinUrl: string,
    secret: string,
  ): Promise<IslandHandle> => {
    const r = new RemoteIsland(h, index, logger);
    remotes.push(r);
    let key: Buffer | Error;
    try {
      key = keys.of(h);
    } catch (e) {
      key = e as Error;
    }
    r.start(key, joinUrl, secret, hostKeys, options.readyTimeoutMs ?? 20_000, tlsPin);
    await r.started;
    return r.handle;
  };

  return {
    name: "ssh",
    async start(n, joinUrl, secret, launch) {
      tlsPin = launch?.tlsPin;
      if (n > capacity) {
        throw new SltError(
          E_CONFIG,
          `the hosts file has room for ${capacity} islands, but the run asks for ${n}`,
        );
      }
      const plan = hostPlan(hosts, n);
      started = { joinUrl, secret, hostOf: new Map(plan.flat().map(({ h, index }) => [index, h])) };
      const perHost = await Promise.all(
        plan.map(async (mine) => {
          const out: IslandHandle[] = [];
          for (const { h, index: i } of mine) out.push(await startOne(h, i, joinUrl, secret));
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
      return startOne(h, index, started.joinUrl, started.secret);
    },
    async close() {
      for (const r of remotes) r.kill();
      await Promise.all(remotes.map((r) => r.exited));
    },
  };
}
