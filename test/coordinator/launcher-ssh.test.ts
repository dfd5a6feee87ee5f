// The SSH launcher without SSH servers: hosts-file validation, the remote command, and what happens
// when a host cannot be reached (loopback only). The launcher against real sshds is in
// test/multihost/ssh-netns.test.ts.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { utils } from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import {
  hostPlan,
  parseHosts,
  readHostsFile,
  remoteCommand,
  shellQuote,
  sshLauncher,
} from "../../src/coordinator/launcher-ssh.ts";

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
    const cmd = remoteCommand(h, 3, "ws://10.0.0.1:7000/?run=run-ab");
    expect(cmd).toBe(
      "cd '/opt/it'\\''s here' && IFS= read -r SLT_TOKEN && export SLT_TOKEN && echo \"slt-pid $$\" && " +
        "SLT_ISLAND_INDEX=3 exec '/usr/bin/node' src/island/main.ts --join 'ws://10.0.0.1:7000/?run=run-ab' " +
        "--listen 'auto' --exit-with-stdin",
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
    const launcher = sshLauncher(parseHosts([entry]), { log: () => {} });
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
    const log: string[] = [];
    const launcher = sshLauncher(parseHosts([{ ...entry, host: "127.0.0.1", port, key, islands: 1 }]), {
      log: (l) => log.push(l),
    });
    const [handle] = await launcher.start(1, "ws://127.0.0.1:1/?run=x", "secret");
    expect(await handle.exited).toEqual({ code: null, signal: null });
    expect(handle.pid).toBeNull();
    expect(log.join("\n")).toMatch(/^\[127.0.0.1 island 0\] /);
    await launcher.close();
  });

  it("says which key it cannot use", async () => {
    const key = join(work, "bad-key");
    writeFileSync(key, "not a key");
    const log: string[] = [];
    const launcher = sshLauncher(parseHosts([{ ...entry, key, islands: 1 }]), { log: (l) => log.push(l) });
    const [handle] = await launcher.start(1, "ws://127.0.0.1:1/?run=x", "secret");
    expect(await handle.exited).toEqual({ code: null, signal: null });
    expect(log.join("\n")).toMatch(
      /cannot use the SSH key .*bad-key of host 10.0.0.5: Unsupported key format/,
    );
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
      log: () => {},
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
