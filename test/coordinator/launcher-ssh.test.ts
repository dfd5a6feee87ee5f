// The SSH launcher without real SSH servers: hosts-file validation, the remote command, what happens
// when a host cannot be reached, and against a fake sshd (ssh2's server, loopback only): island output,
// host keys checked against pins and known_hosts files, ssh-agent and encrypted keys. The launcher against real sshds is in test/multihost/ssh-netns.test.ts.
import { spawnSync } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { AgentProtocol, Server, utils } from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import {
  hiddenPrompt,
  hostPlan,
  parseHosts,
  readHostsFile,
  remoteCommand,
  shellQuote,
  sshLauncher,
} from "../../src/coordinator/launcher-ssh.ts";
import { E_CLUSTER, SltError } from "../../src/core/errors.ts";
import { captureLogger, silentLogger } from "../../src/io/log.ts";
import { keyPair } from "./ssh-keys.ts";

const work = mkdtempSync(join(tmpdir(), "slt-ssh-launcher-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const entry = {
  host: "10.0.0.5",
  user: "slt",
  key: "/home/slt/.ssh/id_ed25519",
  islands: 2,
  node: "/usr/bin/node",
  workdir: "/opt/slt-islands",
};

describe("hosts file", () => {
  it("fills in the defaults", () => {
    expect(parseHosts([entry])).toEqual([
      {
        ...entry,
        port: 22,
        listen: "auto",
        hostKey: null,
        agent: false,
        passphraseEnv: null,
        knownHosts: null,
        acceptNewHostKeys: false,
      },
    ]);
    const { key: _, ...agentOnly } = entry;
    expect(parseHosts([agentOnly])[0].key).toBeNull();
  });

  it("names the entry and the field of every error", () => {
    const bad = (value: unknown) => {
      try {
        parseHosts(value, "hosts.json");
      } catch (e) {
        return (e as Error).message;
      }
      return "no error";
    };
    expect(bad({})).toMatch(/^hosts.json: expected a non-empty JSON array/);
    expect(bad([])).toMatch(/non-empty JSON array/);
    expect(bad([entry, "x"])).toBe("hosts.json: entry 1: expected an object");
    const { user: _, ...noUser } = entry;
    expect(bad([entry, { ...noUser, host: "b" }])).toBe(
      'hosts.json: entry 1 (b): "user" must be a non-empty string',
    );
    expect(bad([{ ...entry, port: 70000 }])).toMatch(
      /entry 0 \(10.0.0.5\): "port" must be an integer from 1 to 65535/,
    );
    expect(bad([{ ...entry, islands: 0 }])).toMatch(/entry 0 \(10.0.0.5\): "islands" must be an integer/);
    expect(bad([{ ...entry, islands: 1.5 }])).toMatch(/"islands" must be an integer/);
    expect(bad([{ ...entry, host: "a b" }])).toMatch(
      /entry 0 \(a b\): "host" must be a host name or an IP address/,
    );
    expect(bad([{ ...entry, hosts: 1 }])).toMatch(/entry 0 \(10.0.0.5\): unknown field "hosts"/);
    expect(bad([{ ...entry, hostKey: "md5:ab" }])).toMatch(/"hostKey" must be a fingerprint/);
    expect(bad([{ ...entry, listen: "$(x)" }])).toMatch(/"listen" must be an address or "auto"/);
    expect(bad([{ ...entry, agent: "yes" }])).toBe(
      'hosts.json: entry 0 (10.0.0.5): "agent" must be true or false, got "yes"',
    );
    expect(bad([{ ...entry, acceptNewHostKeys: 1 }])).toMatch(
      /entry 0 \(10.0.0.5\): "acceptNewHostKeys" must be true or false, got 1/,
    );
    expect(bad([{ ...entry, knownHosts: "" }])).toMatch(/"knownHosts" must be a non-empty string/);
    expect(bad([{ ...entry, key: 7 }])).toMatch(/"key" must be a non-empty string/);
    expect(bad([{ ...entry, passphraseEnv: "A-B" }])).toMatch(
      /"passphraseEnv" must be the name of an environment variable, got "A-B"/,
    );
    const { key: _k, ...noKey } = entry;
    expect(bad([{ ...noKey, passphraseEnv: "P" }])).toMatch(
      /entry 0 \(10.0.0.5\): "passphraseEnv" needs "key"/,
    );
  });

  it("reads files and says which file is wrong", () => {
    const good = join(work, "hosts.json");
    writeFileSync(good, JSON.stringify([entry]));
    expect(readHostsFile(good)[0].host).toBe("10.0.0.5");
    const broken = join(work, "broken.json");
    writeFileSync(broken, "[{");
    expect(() => readHostsFile(broken)).toThrow(/hosts file .*broken.json is not valid JSON/);
    expect(() => readHostsFile(join(work, "missing.json"))).toThrow(/cannot read hosts file .*ENOENT/);
  });
});

describe("remote command", () => {
  it("quotes every word for the remote shell and carries no secret", () => {
    const [h] = parseHosts([{ ...entry, workdir: "/opt/it's here", node: "/usr/bin/node" }]);
    const cmd = remoteCommand(h, 3, "ws://10.0.0.1:7000/?run=run-ab", "debug");
    expect(cmd).toBe(
      "cd '/opt/it'\\''s here' && IFS= read -r SLT_TOKEN && export SLT_TOKEN && echo \"slt-pid $$\" && " +
        "SLT_ISLAND_INDEX=3 SLT_LOG_LEVEL='debug' exec '/usr/bin/node' src/island/main.ts --join 'ws://10.0.0.1:7000/?run=run-ab' " +
        "--listen 'auto' --exit-with-stdin",
    );
    expect(remoteCommand(h, 3, "wss://10.0.0.1:7000/?run=run-ab", "debug", "AB:CD")).toContain(
      "&& SLT_TLS_PIN='AB:CD' SLT_ISLAND_INDEX=3 ",
    );
    for (const word of ["plain", "it's", "$(touch x)", "a b\nc", "'"]) {
      const r = spawnSync("sh", ["-c", `printf %s ${shellQuote(word)}`], { encoding: "utf8" });
      expect(r.stdout).toBe(word);
    }
  });
});

describe("launcher", () => {
  it("fills the hosts in file order, one list of islands per host that gets any", () => {
    const hosts = parseHosts([
      { ...entry, host: "a", islands: 2 },
      { ...entry, host: "b", islands: 1 },
      { ...entry, host: "c", islands: 3 },
    ]);
    const plan = (n: number) =>
      hostPlan(hosts, n).map((mine) => mine.map(({ h, index }) => `${h.host}${index}`));
    expect(plan(4)).toEqual([["a0", "a1"], ["b2"], ["c3"]]);
    expect(plan(1)).toEqual([["a0"]]);
    expect(plan(6)).toEqual([["a0", "a1"], ["b2"], ["c3", "c4", "c5"]]);
  });

  it("refuses more islands than the hosts have room for", async () => {
    const launcher = sshLauncher(parseHosts([entry]), { logger: silentLogger() });
    await expect(launcher.start(3, "ws://127.0.0.1:1/?run=x", "s")).rejects.toThrow(
      /room for 2 islands, but the run asks for 3/,
    );
  });

  it("reports a host it cannot reach as an island that ended, and goes on", async () => {
    // a loopback port nothing listens on
    const server = createServer();
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((res) => server.close(() => res()));
    const key = join(work, "key");
    writeFileSync(key, keyPair().private);
    const { logger, records } = captureLogger();
    const launcher = sshLauncher(parseHosts([{ ...entry, host: "127.0.0.1", port, key, islands: 1 }]), {
      logger,
    });
    const [handle] = await launcher.start(1, "ws://127.0.0.1:1/?run=x", "secret");
    expect(await handle.exited).toEqual({ code: null, signal: null });
    expect(handle.pid).toBeNull();
    expect(records).toEqual([
      expect.objectContaining({
        level: 50,
        msg: "ssh connection failed",
        island: 0,
        host: "127.0.0.1",
        port,
        user: "slt",
        reason: expect.stringContaining("ECONNREFUSED"),
      }),
    ]);
    await launcher.close();
  });

  it("says which key it cannot use, before connecting anywhere", async () => {
    const key = join(work, "bad-key");
    writeFileSync(key, "not a key");
    const { logger, records } = captureLogger();
    // 10.0.0.5 is not reachable from here: an attempt to connect would show as a record
    const launcher = sshLauncher(parseHosts([{ ...entry, key, islands: 1 }]), { logger });
    await expect(launcher.start(1, "ws://127.0.0.1:1/?run=x", "secret")).rejects.toThrow(
      /^cannot use the SSH key .*bad-key of host 10.0.0.5: Unsupported key format$/,
    );
    const missing = sshLauncher(parseHosts([{ ...entry, key: "~/nope", islands: 1 }]), {
      logger,
      home: work,
    });
    await expect(missing.start(1, "ws://127.0.0.1:1/?run=x", "secret")).rejects.toThrow(
      `cannot use the SSH key ${work}/nope of host 10.0.0.5: ENOENT`,
    );
    expect(records).toEqual([]);
    await launcher.close();
    await missing.close();
  });
  it("restarts an island over a new connection to the host that ran it, and only islands it started", async () => {
    // a loopback "sshd" that counts connections and closes each at once
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
    const port = (server.address() as { port: number }).port;
    const key = join(work, "key-restart");
    writeFileSync(key, keyPair().private);
    const launcher = sshLauncher(parseHosts([{ ...entry, host: "127.0.0.1", port, key, islands: 2 }]), {
      logger: silentLogger(),
    });
    await expect(launcher.restart?.(1) as Promise<unknown>).rejects.toThrow(/did not start island 1/);
    const handles = await launcher.start(2, "ws://127.0.0.1:1/?run=x", "secret");
    await Promise.all(handles.map((h) => h.exited));
    expect(connections).toBe(2);
    const again = await (launcher.restart as (i: number) => Promise<(typeof handles)[number]>)(1);
    expect([again.index, again.host]).toEqual([1, "127.0.0.1"]);
    await again.exited;
    expect(connections).toBe(3);
    await expect(launcher.restart?.(2) as Promise<unknown>).rejects.toThrow(/did not start island 2/);
    await launcher.close();
    await new Promise<void>((res) => server.close(() => res()));
  });
});

/** What a fake sshd saw and how to reach it. */
interface FakeSshd {
  port: number;
  /** its host key, as a public key blob, and that blob's fingerprint */
  hostKey: Buffer;
  fingerprint: string;
  /** connections accepted, authentications passed, sessions opened, commands run */
  seen: { connections: number; authenticated: number; sessions: number };
  commands: string[];
  /** the client keys (public blobs) that authenticated */
  clientKeys: Buffer[];
  close(): Promise<void>;
}

/**
 * A fake sshd on loopback (ssh2's server) with an Ed25519 host key (or `hostKeyPem`, and more host keys
 * of other types if given): accepts any client key (or those `allowed`, public blobs)
 * that proves itself with a valid signature (publickey only), and keeps the commands it is given; each exec session reads the secret
 * line, prints the pid line, one line on stdout and one on stderr, and on EOF (the launcher's kill) one
 * more line on stderr before it exits 3. With `ignoreExec` it never answers a command.
 */
async function fakeSshd(
  allowed?: Buffer[],
  hostKeyPem = keyPair().private,
  moreHostKeys: string[] = [],
  { ignoreExec = false } = {},
): Promise<FakeSshd> {
  const commands: string[] = [];
  const clientKeys: Buffer[] = [];
  const seen = { connections: 0, authenticated: 0, sessions: 0 };
  const parsed = utils.parseKey(hostKeyPem);
  if (parsed instanceof Error) throw parsed;
  const server = new Server({ hostKeys: [hostKeyPem, ...moreHostKeys] }, (client) => {
    seen.connections++;
    client.on("authentication", (ctx) => {
      if (ctx.method !== "publickey") return ctx.reject(["publickey"]);
      if (allowed && !allowed.some((k) => k.equals(ctx.key.data))) return ctx.reject(["publickey"]);
      // a query (no signature) is answered "this key would do"; a signature must verify
      if (ctx.signature === undefined || ctx.blob === undefined) return ctx.accept();
      const pub = utils.parseKey(ctx.key.data);
      if (pub instanceof Error || pub.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true)
        return ctx.reject(["publickey"]);
      seen.authenticated++;
      clientKeys.push(ctx.key.data);
      ctx.accept();
    });
    client.on("error", () => {}); // a refused host key ends the connection from the client's side
    client.on("session", (accept) => {
      seen.sessions++;
      accept().on("exec", (accept, _reject, info) => {
        commands.push(info.command);
        if (ignoreExec) return; // neither accepted nor refused: the client waits for an answer
        const channel = accept();
        channel.once("data", () => {
          channel.write("slt-pid 4242\nhello from stdout\n");
          channel.stderr.write("hello from stderr\n");
        });
        channel.on("end", () => {
          channel.stderr.write("after relabel\n");
          channel.exit(3);
          channel.end();
        });
      });
    });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
  const hostKey = parsed.getPublicSSH();
  return {
    port: (server.address() as { port: number }).port,
    hostKey,
    fingerprint: `SHA256:${createHash("sha256").update(hostKey).digest("base64").replace(/=+$/, "")}`,
    seen,
    commands,
    clientKeys,
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}

/** A known_hosts file in the test's directory with these lines. */
let knownHostsFiles = 0;
function knownHostsFile(...lines: string[]): string {
  const file = join(work, `known_hosts-${knownHostsFiles++}`);
  writeFileSync(file, lines.map((l) => `${l}\n`).join(""));
  return file;
}

/** The known_hosts line of a fake sshd's key, under `name` (default `[127.0.0.1]:PORT`). */
const lineOf = (sshd: FakeSshd, name = `[127.0.0.1]:${sshd.port}`) =>
  `${name} ssh-ed25519 ${sshd.hostKey.toString("base64")}`;

/** The hashed form of a host name, as `ssh-keygen -H` writes it. */
function hashed(name: string): string {
  const salt = Buffer.from("a salt of twenty chr");
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
}

describe("launcher records", () => {
  const key = join(work, "key-records");
  writeFileSync(key, keyPair().private);

  it("relays island output as records of the island, by index and then by id; passes the log level", async () => {
    const sshd = await fakeSshd();
    const { logger, records } = captureLogger();
    const knownHosts = knownHostsFile(lineOf(sshd));
    const launcher = sshLauncher(
      parseHosts([{ ...entry, host: "127.0.0.1", port: sshd.port, key, islands: 1, knownHosts }]),
      { logger },
    );
    const [handle] = await launcher.start(1, "ws://127.0.0.1:1/?run=x", "s3cr3t-token");
    expect(handle.pid).toBe(4242);
    // the island's level is the launcher logger's (captureLogger's: trace)
    expect(sshd.commands).toEqual([
      expect.stringContaining("SLT_ISLAND_INDEX=0 SLT_LOG_LEVEL='trace' exec "),
    ]);
    handle.setLabel("island 7");
    handle.kill();
    expect(await handle.exited).toEqual({ code: 3, signal: null });
    await launcher.close();
    await sshd.close();
    // a known host key: nothing to say about it
    expect(records.filter((r) => r.msg !== "island output")).toEqual([]);
    const output = records.filter((r) => r.msg === "island output").map(({ time: _, ...r }) => r);
    expect(output).toEqual(
      [
        { island: 0, stream: "stdout", line: "hello from stdout" },
        { island: 0, stream: "stderr", line: "hello from stderr" },
        { island: 7, stream: "stderr", line: "after relabel" },
      ].map((r) => ({ level: 40, ...r, host: "127.0.0.1", msg: "island output" })),
    );
    expect(JSON.stringify(records)).not.toContain("s3cr3t-token");
  });

  it("gives up on a host that never answers the island's command (readyTimeoutMs), and says so", async () => {
    const sshd = await fakeSshd(undefined, undefined, [], { ignoreExec: true });
    const { logger, records } = captureLogger();
    const knownHosts = knownHostsFile(lineOf(sshd));
    const launcher = sshLauncher(
      parseHosts([{ ...entry, host: "127.0.0.1", port: sshd.port, key, islands: 1, knownHosts }]),
      { logger, readyTimeoutMs: 2000 },
    );
    // start() comes back (before the fix it never did), with an island that ended without a pid
    const [handle] = await launcher.start(1, "ws://127.0.0.1:1/?run=x", "secret");
    expect(handle.pid).toBeNull();
    expect(await handle.exited).toEqual({ code: null, signal: null });
    await launcher.close();
    await sshd.close();
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 50,
        msg: "island could not start",
        island: 0,
        reason: "no answer to the island's command within 2 s",
      }),
    );
  });

  it("refuses a host key that is not the pinned one, and says which it got", async () => {
    const sshd = await fakeSshd();
    const pinned = `SHA256:${"A".repeat(43)}`;
    const { logger, records } = captureLogger();
    const launcher = sshLauncher(
      parseHosts([{ ...entry, host: "127.0.0.1", port: sshd.port, key, islands: 1, hostKey: pinned }]),
      { logger },
    );
    await expect(launcher.start(1, "ws://127.0.0.1:1/?run=x", "secret")).rejects.toThrow(
      `host key for [127.0.0.1]:${sshd.port} (ssh-ed25519 ${sshd.fingerprint}) is not the one pinned in the hosts file (${pinned})`,
    );
    await launcher.close();
    await sshd.close();
    expect(sshd.seen).toEqual({ connections: 1, authenticated: 0, sessions: 0 });
    expect(records).toEqual([
      expect.objectContaining({
        level: 50,
        msg: "host key refused",
        island: 0,
        host: "127.0.0.1",
        port: sshd.port,
        fingerprint: sshd.fingerprint,
        reason: expect.stringContaining("is not the one pinned"),
      }),
    ]);
  });
});

describe("host keys against known_hosts", () => {
  const key = join(work, "key-known-hosts");
  writeFileSync(key, keyPair().private);
  const host = (sshd: FakeSshd, more: Record<string, unknown>) =>
    parseHosts([{ ...entry, host: "127.0.0.1", port: sshd.port, key, islands: 2, ...more }]);

  /** Starts two islands against a fresh fake sshd; its handles (ended), or the error; what sshd saw. */
  async function run(
    more: (sshd: FakeSshd) => Record<string, unknown>,
    options: Parameters<typeof sshLauncher>[1] = {},
    sshd?: FakeSshd,
  ) {
    const server = sshd ?? (await fakeSshd());
    const { logger, records } = captureLogger();
    const launcher = sshLauncher(host(server, more(server)), { logger, home: work, ...options });
    let error: Error | null = null;
    try {
      await launcher.start(2, "ws://127.0.0.1:1/?run=x", "the-run-secret");
    } catch (e) {
      error = e as Error;
    }
    await launcher.close();
    if (sshd === undefined) await server.close();
    return { error, seen: { ...server.seen }, records, sshd: server };
  }

  it("accepts a key known_hosts holds for [127.0.0.1]:PORT, plain or hashed, listed with others", async () => {
    const plain = await run((s) => ({
      knownHosts: knownHostsFile(lineOf(s, `other.example,[127.0.0.1]:${s.port}`)),
    }));
    expect(plain.error).toBeNull();
    expect(plain.seen).toEqual({ connections: 2, authenticated: 2, sessions: 2 });
    const hashedEntry = await run((s) => ({
      knownHosts: knownHostsFile("# hashed", lineOf(s, hashed(`[127.0.0.1]:${s.port}`))),
    }));
    expect(hashedEntry.error).toBeNull();
    expect(hashedEntry.seen.sessions).toBe(2);
  });

  it("asks a host for the key type known_hosts holds for it: a host known by its ECDSA key is not 'changed'", async () => {
    const ecdsa = keyPair("ecdsa", { bits: 256 }).private;
    const sshd = await fakeSshd(undefined, ecdsa, [keyPair().private]);
    const line = `[127.0.0.1]:${sshd.port} ecdsa-sha2-nistp256 ${sshd.hostKey.toString("base64")}`;
    const r = await run(() => ({ knownHosts: knownHostsFile(line) }), {}, sshd);
    expect(r.error).toBeNull();
    expect(r.seen.sessions).toBe(2);
    await sshd.close();
  });

  it("refuses an unknown host before authenticating, and says how to accept it", async () => {
    const file = knownHostsFile(`127.0.0.1 ssh-ed25519 ${Buffer.from("x").toString("base64")}`);
    const r = await run(() => ({ knownHosts: file }));
    expect(r.error).toBeInstanceOf(SltError);
    expect((r.error as SltError).code).toBe(E_CLUSTER);
    expect(r.error?.message).toBe(
      `host key for [127.0.0.1]:${r.sshd.port} (ssh-ed25519 ${r.sshd.fingerprint}) is not in ${file}: add it after checking it (ssh-keyscan -p ${r.sshd.port} 127.0.0.1 >> ${file}), pin it ("hostKey": "${r.sshd.fingerprint}" in the hosts file), or accept new keys ("acceptNewHostKeys": true, or --accept-new-host-keys)`,
    );
    // the first island's connection was refused in the key exchange: no credential, no command, no secret
    expect(r.seen).toEqual({ connections: 1, authenticated: 0, sessions: 0 });
    expect(r.sshd.commands).toEqual([]);
    expect(JSON.stringify(r.records)).not.toContain("the-run-secret");
    // without knownHosts: ~/.ssh/known_hosts of the home, which here does not exist
    const home = await run(() => ({}), { home: join(work, "empty-home") });
    expect(home.error?.message).toMatch(/is not in .*empty-home\/\.ssh\/known_hosts: /);
  });

  it("refuses a changed key and a revoked one", async () => {
    const other = await fakeSshd();
    const changed = await run((s) => ({
      knownHosts: knownHostsFile("# old", lineOf(other, `[127.0.0.1]:${s.port}`)),
    }));
    expect(changed.error?.message).toMatch(
      /^host key for \[127.0.0.1\]:\d+ \(ssh-ed25519 SHA256:.{43}\) does not match .*known_hosts-\d+ line 2 \(ssh-ed25519\) — possible man-in-the-middle; if the host's key really changed, remove the old one with: ssh-keygen -R '\[127.0.0.1\]:\d+' -f .*$/,
    );
    expect(changed.seen).toEqual({ connections: 1, authenticated: 0, sessions: 0 });
    const revoked = await run((s) => ({
      knownHosts: knownHostsFile(lineOf(s), `@revoked ${lineOf(s, "*")}`),
    }));
    expect(revoked.error?.message).toMatch(/is revoked in .* line 2; refusing$/);
    expect(revoked.seen).toEqual({ connections: 1, authenticated: 0, sessions: 0 });
    await other.close();
  });

  it("accepts a new key when asked (host entry or launcher option), records it, and checks it next time", async () => {
    const sshd = await fakeSshd();
    const file = join(work, "accept-new", "known_hosts");
    const first = await run(() => ({ knownHosts: file, acceptNewHostKeys: true }), {}, sshd);
    expect(first.error).toBeNull();
    expect(readFileSync(file, "utf8")).toBe(`${lineOf(sshd)}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // the second island found it in the file: one record, for the first
    expect(first.records.filter((r) => r.msg === "new host key accepted and added to known_hosts")).toEqual([
      expect.objectContaining({
        level: 40,
        host: "127.0.0.1",
        port: sshd.port,
        fingerprint: sshd.fingerprint,
        file,
      }),
    ]);
    const second = await run(() => ({ knownHosts: file }), {}, sshd);
    expect(second.error).toBeNull();
    expect(second.records.filter((r) => r.msg !== "island output")).toEqual([]);
    expect(sshd.seen.sessions).toBe(4);
    // the run-wide opt-in (--accept-new-host-keys), into ~/.ssh/known_hosts of a fresh home
    const home = join(work, "home-accept");
    const flag = await run(() => ({}), { home, acceptNewHostKeys: true }, sshd);
    expect(flag.error).toBeNull();
    expect(readFileSync(join(home, ".ssh", "known_hosts"), "utf8")).toBe(`${lineOf(sshd)}\n`);
    // a changed key is refused even so (accept-new accepts unknown hosts only)
    const other = await fakeSshd();
    const changed = await run(
      () => ({
        knownHosts: knownHostsFile(lineOf(other, `[127.0.0.1]:${sshd.port}`)),
        acceptNewHostKeys: true,
      }),
      { acceptNewHostKeys: true },
      sshd,
    );
    expect(changed.error?.message).toMatch(/does not match .* line 1 .*possible man-in-the-middle/);
    expect(sshd.seen.sessions).toBe(6);
    await other.close();
    await sshd.close();
  });
});

describe("authentication", () => {
  /** Starts n islands, then closes the launcher. */
  const call = (launcher: ReturnType<typeof sshLauncher>, n = 1) =>
    launcher.start(n, "ws://127.0.0.1:1/?run=x", "secret").finally(() => launcher.close());

  /** A new private key file encrypted with `passphrase`, as ssh-keygen -N writes them. */
  function encryptedKey(name: string, passphrase: string): string {
    const key = join(work, name);
    const pair = keyPair("ed25519", { passphrase, cipher: "aes256-ctr", rounds: 4 });
    writeFileSync(key, pair.private);
    return key;
  }

  /** A test ssh-agent on a Unix socket (ssh2's agent protocol, server side) holding one key. */
  async function testAgent(privateKey: string) {
    const key = utils.parseKey(privateKey);
    if (key instanceof Error) throw key;
    const path = join(work, `agent-${process.pid}-${Date.now()}.sock`);
    const served = { identities: 0, signatures: 0 };
    const server = createServer((socket) => {
      const protocol = new AgentProtocol(false);
      socket.pipe(protocol).pipe(socket);
      protocol.on("identities", (req) => {
        served.identities++;
        protocol.getIdentitiesReply(req, [key]);
      });
      protocol.on("sign", (req, _pub, data) => {
        served.signatures++;
        protocol.signReply(req, key.sign(data));
      });
    });
    await new Promise<void>((res) => server.listen(path, () => res()));
    return {
      path,
      served,
      public: key.getPublicSSH(),
      close: () => new Promise<void>((res) => server.close(() => res())),
    };
  }

  it("authenticates with the ssh-agent when the host has no key, or asks for it", async () => {
    const agent = await testAgent(keyPair().private);
    const sshd = await fakeSshd([agent.public]);
    const { key: _, ...noKey } = entry;
    const knownHosts = knownHostsFile(lineOf(sshd));
    const hosts = parseHosts([{ ...noKey, host: "127.0.0.1", port: sshd.port, islands: 1, knownHosts }]);
    const env = { SSH_AUTH_SOCK: agent.path };
    const [handle] = await call(sshLauncher(hosts, { logger: silentLogger(), env }));
    expect(handle.pid).toBe(4242);
    expect(sshd.clientKeys).toEqual([agent.public]);
    expect(agent.served.signatures).toBe(1);
    // "agent": true beside a key the server does not take: the agent's key gets in
    const stranger = join(work, "key-agent-stranger");
    writeFileSync(stranger, keyPair().private);
    const both = parseHosts([
      { ...entry, host: "127.0.0.1", port: sshd.port, islands: 1, knownHosts, key: stranger, agent: true },
    ]);
    await call(sshLauncher(both, { logger: silentLogger(), env }));
    expect(sshd.clientKeys.at(-1)).toEqual(agent.public);
    await sshd.close();
    await agent.close();
  });

  it("says what is missing when there is neither a key nor an agent", async () => {
    const { key: _, ...noKey } = entry;
    await expect(call(sshLauncher(parseHosts([noKey]), { logger: silentLogger(), env: {} }))).rejects.toThrow(
      /^host 10.0.0.5 has no "key" in the hosts file and there is no ssh-agent \(SSH_AUTH_SOCK is not set\): give a key or start ssh-agent$/,
    );
    const key = join(work, "key-agent-missing");
    writeFileSync(key, keyPair().private);
    await expect(
      call(sshLauncher(parseHosts([{ ...entry, key, agent: true }]), { logger: silentLogger(), env: {} })),
    ).rejects.toThrow(
      /^host 10.0.0.5 asks for the ssh-agent \("agent": true\), but SSH_AUTH_SOCK is not set$/,
    );
  });

  it("decrypts a key with the passphrase from its variable, or the prompt, once per key file", async () => {
    const sshd = await fakeSshd();
    const key = encryptedKey("key-encrypted", "open sesame");
    const knownHosts = knownHostsFile(lineOf(sshd));
    const at = { ...entry, host: "127.0.0.1", port: sshd.port, key, islands: 1, knownHosts };
    const fromEnv = parseHosts([{ ...at, passphraseEnv: "SLT_SSH_PASSPHRASE" }]);
    const [handle] = await call(
      sshLauncher(fromEnv, {
        logger: silentLogger(),
        env: { SLT_SSH_PASSPHRASE: "open sesame" },
        prompt: null,
      }),
    );
    expect(handle.pid).toBe(4242);
    // two hosts with the same key file: one question
    const questions: string[] = [];
    const prompt = async (q: string) => {
      questions.push(q);
      return "open sesame";
    };
    const both = knownHostsFile(lineOf(sshd), lineOf(sshd, `[localhost]:${sshd.port}`));
    const twice = parseHosts([at, { ...at, host: "localhost", knownHosts: both }]);
    const launcher = sshLauncher(twice, { logger: silentLogger(), prompt, home: work });
    expect((await call(launcher, 2)).map((h) => h.pid)).toEqual([4242, 4242]);
    expect(questions).toEqual([`passphrase for the SSH key ${key} (host 127.0.0.1): `]);
    expect(sshd.seen.authenticated).toBe(3);
    await sshd.close();
  });

  it("asks on the terminal without echo: raw mode while it reads, backspace edits, Ctrl-C gives up", async () => {
    const terminal = () => {
      const input = Object.assign(new PassThrough(), {
        modes: [] as boolean[],
        setRawMode(raw: boolean) {
          input.modes.push(raw);
          return input;
        },
      });
      const output = new PassThrough();
      const chunks: string[] = [];
      output.on("data", (b: Buffer) => chunks.push(b.toString()));
      return { input, output, said: () => chunks.join("") };
    };
    const t = terminal();
    const answer = hiddenPrompt("passphrase: ", t.input, t.output);
    t.input.write("secrx\u007ft");
    t.input.write("!\r");
    expect(await answer).toBe("secrt!");
    expect(t.input.modes).toEqual([true, false]);
    expect(t.said()).toBe("passphrase: \n"); // nothing of the answer was echoed
    const c = terminal();
    const interrupted = hiddenPrompt("passphrase: ", c.input, c.output);
    c.input.write("ab\u0003");
    await expect(interrupted).rejects.toThrow("no passphrase given (the prompt was interrupted)");
    expect(c.input.modes).toEqual([true, false]);
  });

  it("refuses a wrong or missing passphrase before connecting, naming the key file", async () => {
    const key = encryptedKey("key-encrypted-2", "right");
    const sshd = await fakeSshd();
    const at = { ...entry, host: "127.0.0.1", port: sshd.port, key, islands: 1 };
    const withEnv = parseHosts([{ ...at, passphraseEnv: "PW" }]);
    const options = { logger: silentLogger(), prompt: null };
    await expect(call(sshLauncher(withEnv, { ...options, env: { PW: "wrong" } }))).rejects.toThrow(
      new RegExp(
        `^cannot use the SSH key ${key} of host 127.0.0.1: wrong passphrase \\(.*bad passphrase\\?\\)$`,
      ),
    );
    await expect(call(sshLauncher(withEnv, { ...options, env: {} }))).rejects.toThrow(
      `cannot use the SSH key ${key} of host 127.0.0.1: it is encrypted and the environment variable PW ("passphraseEnv") is not set`,
    );
    await expect(call(sshLauncher(parseHosts([at]), { ...options, env: {} }))).rejects.toThrow(
      `cannot use the SSH key ${key} of host 127.0.0.1: it is encrypted: name an environment variable holding its passphrase ("passphraseEnv" in the hosts file), or run from a terminal to be asked for it`,
    );
    expect(sshd.seen.connections).toBe(0);
    await sshd.close();
  });
});
