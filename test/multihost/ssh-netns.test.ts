// Multi-host: two island hosts as network namespaces that this test creates and removes, each running a
// real OpenSSH sshd (from apt) with a temporary config, host key and authorized key. The coordinator
// runs in this process in the root namespace and starts one island in each namespace through the SSH
// launcher; the islands' peer links cross from one namespace to the other.
//
//   root ns: sltr<pid> 10.250.S.1 ──veth── ns sw: bridge br0 ──veth── ns a: eth0 10.250.S.2 (sshd :2222)
//                                                            └──veth── ns b: eth0 10.250.S.3 (sshd :2222)
//
// The bridge lives in its own namespace so that the host's firewall (bridged traffic through the root
// namespace's iptables) has no say. Only these addresses are contacted. Where namespaces cannot be
// made (not root, no `ip netns`, no sshd) the tests are skipped with the reason printed.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCluster } from "../../src/coordinator/cluster.ts";
import { type SshHost, sshLauncher } from "../../src/coordinator/launcher-ssh.ts";
import { resolveConfig } from "../../src/core/config.ts";
import { makeEvaluator } from "../../src/evaluator/index.ts";
import { REPO_ROOT } from "../../src/io/datasets.ts";
import { captureLogger } from "../../src/io/log.ts";

const SSHD = "/usr/sbin/sshd";
const tag = String(process.pid);
const NS = { a: `slt-test-${tag}-a`, b: `slt-test-${tag}-b`, sw: `slt-test-${tag}-sw` };
const ROOT_IF = `sltr${tag}`.slice(0, 15);

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return {
    ok: r.status === 0,
    out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? r.error.message : ""}`.trim(),
  };
}
function must(cmd: string, ...args: string[]): string {
  const r = run(cmd, args);
  if (!r.ok) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.out}`);
  return r.out;
}

/** Why this machine cannot run the test, or null. Probes `ip netns add` with a namespace it removes. */
function unavailable(): string | null {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root";
  if (!existsSync(SSHD)) return `no ${SSHD} (apt-get install openssh-server)`;
  if (!run("ssh-keygen", ["-?"]).out.includes("usage")) return "no ssh-keygen";
  const probe = `slt-test-${tag}-probe`;
  const add = run("ip", ["netns", "add", probe]);
  if (!add.ok) return `cannot create a network namespace: ${add.out}`;
  const veth = run("ip", ["-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1"]);
  run("ip", ["netns", "del", probe]);
  if (!veth.ok) return `cannot create a veth pair in a namespace: ${veth.out}`;
  return null;
}

/** A /24 in 10.250.0.0/16 that the host has no address or route in. */
function freeSubnet(): number {
  const used = `${must("ip", "-4", "route", "show", "table", "all")}\n${must("ip", "-4", "addr")}`;
  for (let k = 0; k < 200; k++) {
    const s = 20 + ((Number(tag) + k) % 200);
    if (!used.includes(`10.250.${s}.`)) return s;
  }
  throw new Error("no free /24 in 10.250.0.0/16");
}

const skipReason = unavailable();
if (skipReason) console.warn(`multi-host ssh test skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)("islands on two network namespaces through the ssh launcher", () => {
  let work = "";
  const created = { a: false, b: false, sw: false, rootIf: false, privsep: false };
  const sshds: { ns: string; child: ChildProcess; exited: Promise<void> }[] = [];
  let subnet = 0;
  const hosts: SshHost[] = [];

  const startSshd = async (ns: string, address: string, hostKey: string) => {
    const cfg = join(work, `sshd-${ns}.conf`);
    writeFileSync(
      cfg,
      [
        "Port 2222",
        `ListenAddress ${address}`,
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${join(work, "authorized_keys")}`,
        `PidFile ${join(work, `sshd-${ns}.pid`)}`,
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "StrictModes no",
        "UsePAM no",
        "LogLevel INFO",
        "",
      ].join("\n"),
    );
    const child = spawn("ip", ["netns", "exec", ns, SSHD, "-D", "-e", "-f", cfg], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    sshds.push({ ns, child, exited });
    // ready when it says it listens (or fail with its own words when it exits first)
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const rl = createInterface({ input: child.stderr as NodeJS.ReadableStream });
      rl.on("line", (line) => {
        lines.push(line);
        if (line.includes("Server listening on")) resolve();
      });
      void exited.then(() => reject(new Error(`sshd in ${ns} exited: ${lines.join(" | ")}`)));
    });
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "slt-multihost-"));
    subnet = freeSubnet();
    const addr = (n: number) => `10.250.${subnet}.${n}`;
    for (const k of ["a", "b", "sw"] as const) {
      must("ip", "netns", "add", NS[k]);
      created[k] = true;
    }
    must("ip", "-n", NS.sw, "link", "add", "br0", "type", "bridge");
    must("ip", "-n", NS.sw, "link", "set", "br0", "up");
    must("ip", "-n", NS.sw, "link", "add", "va", "type", "veth", "peer", "name", "eth0", "netns", NS.a);
    must("ip", "-n", NS.sw, "link", "add", "vb", "type", "veth", "peer", "name", "eth0", "netns", NS.b);
    must("ip", "link", "add", ROOT_IF, "type", "veth", "peer", "name", "vr", "netns", NS.sw);
    created.rootIf = true;
    for (const port of ["va", "vb", "vr"])
      must("ip", "-n", NS.sw, "link", "set", port, "master", "br0", "up");
    for (const [k, n] of [
      ["a", 2],
      ["b", 3],
    ] as const) {
      must("ip", "-n", NS[k], "addr", "add", `${addr(n)}/24`, "dev", "eth0");
      must("ip", "-n", NS[k], "link", "set", "eth0", "up");
      must("ip", "-n", NS[k], "link", "set", "lo", "up");
    }
    must("ip", "addr", "add", `${addr(1)}/24`, "dev", ROOT_IF);
    must("ip", "link", "set", ROOT_IF, "up");

    // keys: one host key (both sshds), one client key
    const hostKey = join(work, "host_ed25519");
    const clientKey = join(work, "client_ed25519");
    must("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "slt-test-host", "-f", hostKey);
    must("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "slt-test-client", "-f", clientKey);
    writeFileSync(join(work, "authorized_keys"), readFileSync(`${clientKey}.pub`));
    const blob = Buffer.from(readFileSync(`${hostKey}.pub`, "utf8").split(" ")[1], "base64");
    const fingerprint = `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
    if (!existsSync("/run/sshd")) {
      mkdirSync("/run/sshd", { mode: 0o755 }); // sshd's privilege separation directory
      created.privsep = true;
    }
    for (const [k, n] of [
      ["a", 2],
      ["b", 3],
    ] as const) {
      await startSshd(NS[k], addr(n), hostKey);
      hosts.push({
        host: addr(n),
        port: 2222,
        user: "root",
        key: clientKey,
        islands: 1,
        node: process.execPath,
        workdir: REPO_ROOT,
        listen: "auto",
        hostKey: fingerprint,
        agent: false,
        passphraseEnv: null,
        knownHosts: null,
        acceptNewHostKeys: false,
      });
    }
  });

  afterAll(async () => {
    for (const s of sshds)
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGTERM");
    await Promise.all(sshds.map((s) => s.exited));
    // anything of ours still running in the namespaces (islands of a failed run)
    for (const k of ["a", "b"] as const) {
      if (!created[k]) continue;
      const pids = run("ip", ["netns", "pids", NS[k]])
        .out.split(/\s+/)
        .filter((p) => /^\d+$/.test(p));
      // SIGTERM, not SIGKILL: a login shell killed in its start-up files can leave their locks behind
      for (const p of pids) run("kill", ["-TERM", p]);
    }
    if (created.rootIf) run("ip", ["link", "del", ROOT_IF]);
    for (const k of ["a", "b", "sw"] as const) if (created[k]) run("ip", ["netns", "del", NS[k]]);
    if (created.privsep) rmSync("/run/sshd", { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
    const left = run("ip", ["netns", "list"]).out;
    expect(left.includes(`slt-test-${tag}-`)).toBe(false);
  });

  it("starts islands in both namespaces over ssh; migrants cross namespaces; the run ends with a ticket", async () => {
    const { logger, records } = captureLogger();
    const config = resolveConfig({
      source: "test",
      patch: {
        name: "multihost",
        out: work,
        seed: 3,
        dataset: { name: "digits-3" },
        ga: { population: 20 },
        prune: "none",
        termination: { maxGenerations: 10 },
        // lockstep: every island waits for its in-neighbour's emigrants, so migrants must cross
        cluster: { islands: 2, topology: "ring", interval: 2, migrants: 2, mode: "lockstep" },
      },
    });
    const summary = await runCluster(config, {
      makeEvaluator,
      launcher: sshLauncher(hosts, { logger }),
      listen: { host: `10.250.${subnet}.1`, port: 0 },
      logger,
      joinTimeoutMs: 30_000,
    }).catch((e) => {
      throw new Error(
        `${(e as Error).message}\n--- log ---\n${records.map((r) => JSON.stringify(r)).join("\n")}`,
      );
    });

    const events = readFileSync(join(summary.runDir, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // each island ran in its own namespace and advertised that namespace's address
    const assigned = new Map<number, Record<string, unknown>>();
    for (const e of events) if (e.type === "assigned") assigned.set(e.island as number, e);
    const nsOf = (island: number) =>
      String(assigned.get(island)?.listen).match(/^ws:\/\/10\.250\.\d+\.(\d+):/)?.[1];
    expect([nsOf(0), nsOf(1)].sort()).toEqual(["2", "3"]);
    // a ring of two: each island's only in-neighbour is in the other namespace
    const topology = events.find((e) => e.type === "topology") as { edges: { from: number; to: number }[] };
    for (const { from, to } of topology.edges) expect(nsOf(from)).not.toBe(nsOf(to));
    const received = (island: number) =>
      events
        .filter((e) => e.type === "migration" && e.island === island)
        .reduce((s, e) => s + (e.received as number), 0);
    expect(received(0)).toBeGreaterThan(0);
    expect(received(1)).toBeGreaterThan(0);
    // islands started over ssh, with their remote pids; none failed to start
    const started = events.filter((e) => e.type === "island-started");
    expect(started.map((e) => e.host).sort()).toEqual(hosts.map((h) => h.host).sort());
    expect(records.filter((r) => r.msg === "island could not start")).toEqual([]);

    expect(summary.stopReason).toBe("max-generations");
    expect(summary.lost).toEqual([]);
    expect(summary.islands.map((i) => i.generations)).toEqual([10, 10]);
    expect(existsSync(summary.ticket)).toBe(true);
    const ticket = JSON.parse(readFileSync(summary.ticket, "utf8"));
    expect(ticket.metrics.islands).toBe(2);
  });

  it("a killed island's remote process ends, the run goes on; the secret reaches islands by stdin, not argv", async () => {
    const { logger, records } = captureLogger();
    const abort = new AbortController();
    const seen: { pid: number; cmdline: string; environ: string }[] = [];
    let victim = -1;
    const config = resolveConfig({
      source: "test",
      patch: {
        name: "multihost-kill",
        out: work,
        seed: 4,
        dataset: { name: "digits-3" },
        ga: { population: 20 },
        prune: "none",
        termination: { maxGenerations: 1_000_000, rule: "none" },
        cluster: { islands: 2, topology: "ring", interval: 2, migrants: 2 },
      },
    });
    const summary = await runCluster(config, {
      makeEvaluator,
      launcher: sshLauncher(hosts, { logger }),
      listen: { host: `10.250.${subnet}.1`, port: 0 },
      logger,
      signal: abort.signal,
      hooks: {
        onEvent(e, control) {
          if (e.type === "report" && e.island === 1 && victim < 0) {
            for (const i of control.islands()) {
              const pid = i.pid as number;
              seen.push({
                pid,
                cmdline: readFileSync(`/proc/${pid}/cmdline`, "utf8"),
                environ: readFileSync(`/proc/${pid}/environ`, "utf8"),
              });
            }
            victim = control.islands().find((i) => i.id === 1)?.pid as number;
            control.kill(1);
          }
          if (e.type === "lost") abort.abort();
        },
      },
    }).catch((e) => {
      throw new Error(
        `${(e as Error).message}\n--- log ---\n${records.map((r) => JSON.stringify(r)).join("\n")}`,
      );
    });
    expect(summary.lost).toEqual([1]);
    expect(summary.stopReason).toBe("interrupted");
    expect(existsSync(summary.ticket)).toBe(true);
    // the remote process (same machine, other network namespace) is gone
    expect(victim).toBeGreaterThan(0);
    expect(existsSync(`/proc/${victim}`)).toBe(false);
    // both islands had the secret in their environment (read from stdin by the remote shell), none in argv
    expect(seen.length).toBe(2);
    for (const { cmdline, environ } of seen) {
      const token = environ
        .split("\0")
        .find((v) => v.startsWith("SLT_TOKEN="))
        ?.slice("SLT_TOKEN=".length);
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      expect(cmdline.includes(token as string)).toBe(false);
      expect(cmdline).toContain("src/island/main.ts");
    }
  });
});
