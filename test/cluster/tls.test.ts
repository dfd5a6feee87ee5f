// `slt run --tls-cert --tls-key` as a user runs it: a real coordinator and island processes on
// loopback, every link wss:// (coordinator and peers), pinned to the throwaway test certificate.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { CLOSE_CODES } from "../../src/core/protocol/index.ts";
import { Link } from "../../src/io/link.ts";
import { silentLogger } from "../../src/io/log.ts";
import { tlsClientOptions, tlsPinOf } from "../../src/io/tls.ts";
import { type RunEvent, runCli, runEvents, scratchDir } from "../cli/helpers.ts";
import { startLongRun, underWay } from "./helpers.ts";

const work = scratchDir("slt-cluster-tls-");
const fixture = (name: string) => new URL(`../fixtures/tls/${name}`, import.meta.url).pathname;
const CERT = fixture("a.crt");
const KEY = fixture("a.key");

const runArgs = (name: string, tls: string[]) => [
  "run",
  "--dataset",
  "digits-3",
  "--population",
  "16",
  "--islands",
  "2",
  "--topology",
  "ring",
  "--interval",
  "2",
  "--mode",
  "lockstep",
  "--generations",
  "8",
  "--prune",
  "none",
  "--name",
  name,
  "--out",
  work,
  "--json",
  ...tls,
];

describe("slt run --tls-cert --tls-key", () => {
  it("runs the cluster over wss:// (coordinator and peer links, pinned) and ends with a checked ticket", () => {
    const r = runCli(work, runArgs("tls", ["--tls-cert", CERT, "--tls-key", KEY]));
    expect(r.stderr).not.toMatch(/unexpected error|TLS handshake failed|not the pinned|connection refused/);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.trim());
    expect(existsSync(s.ticket)).toBe(true);
    // the private key went to the islands in their assignments, and nowhere else
    for (const text of [
      r.stderr,
      r.stdout,
      ...["events.jsonl", "log.jsonl"].map((f) => readFileSync(join(work, "tls", f), "utf8")),
    ])
      expect(text).not.toContain("PRIVATE KEY");
    const events = runEvents(work, "tls");
    const of = (type: string) => events.filter((e: RunEvent) => e.type === type);
    const start = of("start")[0] as RunEvent & { coordinator: { address: string; tlsPin: string } };
    expect(start.coordinator.address).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    expect(start.coordinator.tlsPin).toBe(tlsPinOf(readFileSync(CERT, "utf8")));
    const joined = of("joined");
    expect(joined).toHaveLength(2);
    for (const j of joined) expect(j.listen).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    // lockstep: every barrier waits for the neighbour's migrants, which came over the peers' wss:// links
    expect(s.migrations.accepted + s.migrations.rejected).toBeGreaterThan(0);
    const check = runCli(work, ["check", s.ticket, "--json"]);
    expect(JSON.parse(check.stdout).ok).toBe(true);
  });

  it("refuses half a pair, an unreadable file or a key of another certificate: one E_CONFIG line, no run directory", () => {
    // cluster.tls in a configuration file: paths relative to the file
    mkdirSync(join(work, "conf"), { recursive: true });
    const config = join(work, "conf", "tls.json");
    writeFileSync(join(work, "a.crt"), readFileSync(CERT));
    writeFileSync(config, JSON.stringify({ cluster: { tls: { cert: "../a.crt", key: "missing.key" } } }));
    const cases: [string[], RegExp][] = [
      [["--config", config], new RegExp(`--tls-key ${join(work, "conf", "missing.key")}: cannot read`)],
      [["--tls-cert", CERT], /--tls-cert and --tls-key go together/],
      [["--tls-cert", join(work, "missing.crt"), "--tls-key", KEY], /--tls-cert .*missing\.crt: cannot read/],
      [["--tls-cert", CERT, "--tls-key", fixture("b.key")], /--tls-key .*b\.key: not the private key/],
    ];
    for (const [i, [tls, words]] of cases.entries()) {
      const r = runCli(work, runArgs(`bad-${i}`, tls));
      expect(r.code).not.toBe(0);
      const lines = r.stderr.trim().split("\n");
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/E_CONFIG/);
      expect(lines[0]).toMatch(words);
      expect(existsSync(join(work, `bad-${i}`))).toBe(false);
    }
  });

  it("slt island --join wss:// needs a pin or a CA: one line, exit 2; a malformed pin likewise", () => {
    const env: NodeJS.ProcessEnv = { ...process.env, SLT_TOKEN: "0123456789abcdef0123456789abcdef" };
    delete env.SLT_TLS_PIN;
    const join = "wss://127.0.0.1:9/?run=run-x";
    for (const [args, words] of [
      [[], /is wss:\/\/: give the coordinator certificate's SHA-256 fingerprint/],
      [["--tls-pin", "12:34"], /must be a SHA-256 certificate fingerprint/],
    ] as const) {
      const r = runCli(work, ["island", "--join", join, ...args], env);
      expect(r.code).toBe(2);
      expect(r.stderr.split("\n")[0]).toMatch(words);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe("a wss:// run's coordinator", () => {
  it("refuses an island whose peer server is plain ws:// (its neighbours would send migrants in the clear)", async () => {
    const secret = "tls-test-secret-0123456789abcdef0123";
    const run = startLongRun(work, "tls-plain-island", {
      env: { ...process.env, SLT_TOKEN: secret },
      args: ["--tls-cert", CERT, "--tls-key", KEY],
    });
    try {
      await underWay(run);
      const start = run.events().find((e) => e.type === "start") as unknown as {
        runId: string;
        coordinator: { address: string; tlsPin: string };
      };
      const { address, tlsPin } = start.coordinator;
      const ws = new WebSocket(address, {
        perMessageDeflate: false,
        ...tlsClientOptions(address, { pin: tlsPin }),
      });
      const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
      const link = new Link(ws, "client", {
        self: {
          runId: start.runId,
          secret,
          name: "island-0",
          role: "island",
          island: 0,
          host: "test",
          pid: process.pid,
          listen: "ws://127.0.0.1:1",
        },
        limits: { genomeLength: null, maxMigrants: 0 },
        peerRole: "coordinator",
        expectedPeer: "coordinator",
        accept: ["assign", "stop", "heartbeat", "error"],
        logger: silentLogger(),
      });
      await link.ready; // it holds the secret: the refusal is the coordinator's, of the hello's address
      expect(await closed).toBe(CLOSE_CODES["bad-field"]);
      expect(run.child.exitCode).toBeNull(); // the run goes on
    } finally {
      run.child.kill("SIGTERM");
      expect(await run.closed, run.out.stderr.slice(-2000)).toBe(0);
    }
  });
});
