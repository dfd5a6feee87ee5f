// The SSH launcher without real SSH servers: hosts-file validation, the remote command, what happens
// when a host cannot be reached, and the records it logs against a fake sshd (ssh2's server, loopback
// only): host keys, island output. The launcher against real sshds is in test/multihost/ssh-netns.test.ts.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, utils } from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import {
  hostPlan,
  parseHosts,
  readHostsFile,
  remoteCommand,
  shellQuote,
  sshLauncher,
} from "../../src/coordinator/launcher-ssh.ts";
import { captureLogger, silentLogger } from "../../src/io/log.ts";

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
    expect(parseHosts([entry])).toEqual([{ ...entry, port: 22, listen: "auto", hostKey: null }]);
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
    writeFileSync(key, utils.generateKeyPairSync("ed25519").private);
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

  it("says which key it cannot use", async () => {
    const key = join(work, "bad-key");
    writeFileSync(key, "not a key");
    const { logger, records } = captureLogger();
    const launcher = sshLauncher(parseHosts([{ ...entry, key, islands: 1 }]), { logger });
    const [handle] = await launcher.start(1, "ws://127.0.0.1:1/?run=x", "secret");
    expect(await handle.exited).toEqual({ code: null, signal: null });
    expect(records).toEqual([
      expect.objectContaining({
        level: 50,
        msg: "ssh key unusable",
        island: 0,
        host: "10.0.0.5",
        reason: expect.stringMatching(
          /cannot use the SSH key .*bad-key of host 10.0.0.5: Unsupported key format/,
        ),
      }),
    ]);
    await launcher.close();
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
    writeFileSync(key, utils.generateKeyPairSync("ed25519").private);
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

/**
 * A fake sshd on loopback (ssh2's server): accepts any client key and keeps the commands it is given;
 * each exec session reads the secret line, prints the pid line, one line on stdout and one on stderr,
 * and on EOF (the launcher's kill) one more line on stderr before it exits 3.
 */
async function fakeSshd(): Promise<{
  port: number;
  fingerprint: string;
  commands: string[];
  close(): Promise<void>;
}> {
  const commands: string[] = [];
  const hostKey = utils.generateKeyPairSync("ed25519").private;
  const parsed = utils.parseKey(hostKey);
  if (parsed instanceof Error) throw parsed;
  const fingerprint = `SHA256:${createHash("sha256").update(parsed.getPublicSSH()).digest("base64").replace(/=+$/, "")}`;
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    client.on("authentication", (ctx) => ctx.accept());
    client.on("error", () => {}); // a refused host key ends the connection from the client's side
    client.on("session", (accept) => {
      accept().on("exec", (accept, _reject, info) => {
        commands.push(info.command);
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
  return {
    port: (server.address() as { port: number }).port,
    fingerprint,
    commands,
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}

describe("launcher records", () => {
  const key = join(work, "key-records");
  writeFileSync(key, utils.generateKeyPairSync("ed25519").private);

  it("relays island output as records of the island, by index and then by id; passes the log level", async () => {
    const sshd = await fakeSshd();
    const { logger, records } = captureLogger();
    const launcher = sshLauncher(
      parseHosts([{ ...entry, host: "127.0.0.1", port: sshd.port, key, islands: 1 }]),
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
    // an unpinned host key: accepted and said once, with its fingerprint
    expect(records.filter((r) => r.msg !== "island output")).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'host key accepted unpinned (set "hostKey" in the hosts file to pin it)',
        host: "127.0.0.1",
        port: sshd.port,
        fingerprint: sshd.fingerprint,
      }),
    ]);
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

  it("refuses a host key that is not the pinned one, and says which it got", async () => {
    const sshd = await fakeSshd();
    const pinned = `SHA256:${"A".repeat(43)}`;
    const { logger, records } = captureLogger();
    const launcher = sshLauncher(
      parseHosts([{ ...entry, host: "127.0.0.1", port: sshd.port, key, islands: 1, hostKey: pinned }]),
      { logger },
    );
    const [handle] = await launcher.start(1, "ws://127.0.0.1:1/?run=x", "secret");
    expect(await handle.exited).toEqual({ code: null, signal: null });
    expect(handle.pid).toBeNull();
    await launcher.close();
    await sshd.close();
    expect(records[0]).toEqual(
      expect.objectContaining({
        level: 50,
        msg: "host key mismatch; refusing",
        island: 0,
        host: "127.0.0.1",
        port: sshd.port,
        fingerprint: sshd.fingerprint,
        pinned,
      }),
    );
    expect(records.slice(1).map((r) => r.msg)).toEqual(["ssh connection failed"]);
  });
});
