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
//   SLT_ISLAND_INDEX=i exec NODE src/island/main.ts --join URL --listen LISTEN --exit-with-stdin
// The run secret is written to the session's stdin (never argv, and not the SSH environment either,
// which sshd drops unless AcceptEnv allows it); the shell's `read` is a builtin, so it never shows in
// ps. The remote pid is the shell's, kept by `exec`. Remote stdout and stderr are streamed into the
// coordinator's log prefixed with host and island.
//
// Ending an island: stdin stays open for the island's life (--exit-with-stdin), so kill() sends EOF
// (and a KILL signal request, which OpenSSH 9.2 ignores) and the island exits; a lost connection ends it
// the same way. Should the island still be running KILL_FALLBACK_MS later, `kill -KILL PID` runs in a
// second session (that one goes through the remote user's shell start-up files, which can be slow).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { createInterface } from "node:readline";
import ssh2, { type ClientChannel, type Client as SshClient } from "ssh2";
import { E_CONFIG, SltError } from "../core/errors.ts";
import type { IslandExit, IslandHandle, Launcher } from "./launcher.ts";

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

/** The remote command of island `index` (the secret follows on stdin). */
export function remoteCommand(h: SshHost, index: number, joinUrl: string): string {
  return [
    `cd ${shellQuote(h.workdir)}`,
    "IFS= read -r SLT_TOKEN",
    "export SLT_TOKEN",
    'echo "slt-pid $$"',
    `SLT_ISLAND_INDEX=${index} exec ${shellQuote(h.node)} src/island/main.ts --join ${shellQuote(joinUrl)} --listen ${shellQuote(h.listen)} --exit-with-stdin`,
  ].join(" && ");
}

function fingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

export interface SshLauncherOptions {
  /** where island output lines go (default: stderr) */
  readonly log?: (line: string) => void;
  /** how long one SSH connection may take to become ready (default 20 s) */
  readonly readyTimeoutMs?: number;
}

/** How long after EOF an island may take to exit before its pid is killed. */
export const KILL_FALLBACK_MS = 5000;

interface Remote {
  prefix: () => string;
  killing: boolean;
  conn: SshClient;
  channel: ClientChannel | null;
  pid: number | null;
  ended: boolean;
  exited: Promise<IslandExit>;
}

export function sshLauncher(hosts: readonly SshHost[], options: SshLauncherOptions = {}): Launcher {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const remotes: Remote[] = [];
  const capacity = hosts.reduce((s, h) => s + h.islands, 0);
  const keys = new Map<string, Buffer>();
  const keyOf = (h: SshHost): Buffer => {
    const path = h.key.startsWith("~/") ? `${homedir()}${h.key.slice(1)}` : h.key;
    let key = keys.get(path);
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
      keys.set(path, key);
    }
    return key;
  };
  const warned = new Set<string>();

  const kill = (r: Remote) => {
    if (r.ended || r.killing) return;
    r.killing = true;
    try {
      r.channel?.signal("KILL");
      r.channel?.end();
    } catch {
      // the channel may be closing already
    }
    const fallback = setTimeout(() => {
      if (!r.ended && r.pid !== null) killPid(r);
    }, KILL_FALLBACK_MS);
    void r.exited.then(() => clearTimeout(fallback));
  };
  const killPid = (r: Remote) => {
    log(`${r.prefix()} still running after EOF; kill -KILL ${r.pid}`);
    r.conn.exec(`kill -KILL ${r.pid}`, (err, ch) => {
      if (err) {
        log(`${r.prefix()} could not run kill -KILL ${r.pid}: ${err.message}`);
        return;
      }
      ch.on("data", () => {});
      createInterface({ input: ch.stderr }).on("line", (line) => log(`${r.prefix()} kill: ${line}`));
    });
  };

  /** Starts one island; resolves once it has printed its pid or ended. */
  const startOne = (h: SshHost, index: number, joinUrl: string, secret: string): Promise<IslandHandle> => {
    let label = `island ${index}`;
    const prefix = () => `[${h.host} ${label}]`;
    const conn = new Client();
    let finish: (e: IslandExit) => void = () => {};
    const exited = new Promise<IslandExit>((done) => {
      finish = done;
    });
    const r: Remote = { prefix, killing: false, conn, channel: null, pid: null, ended: false, exited };
    let exit: IslandExit = { code: null, signal: null };
    const end = () => {
      if (r.ended) return;
      r.ended = true;
      conn.end();
      finish(exit);
    };
    remotes.push(r);
    let started: () => void = () => {};
    const pidKnown = new Promise<void>((res) => {
      started = res;
    });
    void exited.then(() => started());
    const handle: IslandHandle = {
      index,
      host: h.host,
      get pid() {
        return r.pid;
      },
      exited,
      setLabel(text) {
        label = text;
      },
      kill: () => kill(r),
    };
    conn.on("error", (e) => {
      log(`${prefix()} ssh ${h.user}@${h.host}:${h.port}: ${e.message}`);
      end();
    });
    conn.on("close", end);
    conn.on("ready", () => {
      conn.exec(remoteCommand(h, index, joinUrl), (err, channel) => {
        if (err) {
          log(`${prefix()} could not start: ${err.message}`);
          end();
          return;
        }
        r.channel = channel;
        channel.write(`${secret}\n`);
        const out = createInterface({ input: channel });
        out.on("line", (line) => {
          const m = r.pid === null ? /^slt-pid (\d+)$/.exec(line) : null;
          if (m) {
            r.pid = Number(m[1]);
            started();
          } else log(`${prefix()} ${line}`);
        });
        createInterface({ input: channel.stderr }).on("line", (line) => log(`${prefix()} ${line}`));
        channel.on("exit", (code: number | null, signal?: string) => {
          exit = { code: typeof code === "number" ? code : null, signal: signal ? `SIG${signal}` : null };
        });
        channel.on("close", end);
      });
    });
    let key: Buffer;
    try {
      key = keyOf(h);
    } catch (e) {
      log(`${prefix()} ${(e as Error).message}`);
      end();
      return Promise.resolve(handle);
    }
    conn.connect({
      host: h.host,
      port: h.port,
      username: h.user,
      privateKey: key,
      readyTimeout: options.readyTimeoutMs ?? 20_000,
      keepaliveInterval: 10_000,
      hostVerifier: (hostKey: Buffer) => {
        const fp = fingerprint(hostKey);
        if (h.hostKey !== null) {
          if (fp === h.hostKey) return true;
          log(`${prefix()} host key ${fp} of ${h.host}:${h.port} is not the pinned ${h.hostKey}; refusing`);
          return false;
        }
        if (!warned.has(`${h.host}:${h.port}`)) {
          warned.add(`${h.host}:${h.port}`);
          log(
            `slt: ssh ${h.host}:${h.port} host key ${fp} accepted unpinned (set "hostKey" in the hosts file to pin it)`,
          );
        }
        return true;
      },
    });
    return pidKnown.then(() => handle);
  };

  return {
    name: "ssh",
    async start(n, joinUrl, secret) {
      if (n > capacity) {
        throw new SltError(
          E_CONFIG,
          `the hosts file has room for ${capacity} islands, but the run asks for ${n}`,
        );
      }
      // islands fill the hosts in file order; each host's islands connect one after another (sshd
      // limits concurrent unauthenticated connections), hosts in parallel
      const plan: { h: SshHost; index: number }[][] = [];
      let index = 0;
      for (const h of hosts) {
        const mine: { h: SshHost; index: number }[] = [];
        for (let k = 0; k < h.islands && index < n; k++) mine.push({ h, index: index++ });
        if (mine.length > 0) plan.push(mine);
      }
      const perHost = await Promise.all(
        plan.map(async (mine) => {
          const out: IslandHandle[] = [];
          for (const { h, index: i } of mine) out.push(await startOne(h, i, joinUrl, secret));
          return out;
        }),
      );
      return perHost.flat().sort((a, b) => a.index - b.index);
    },
    async close() {
      for (const r of remotes) kill(r);
      await Promise.all(remotes.map((r) => r.exited));
    },
  };
}
