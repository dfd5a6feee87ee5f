// The island cluster with real processes on loopback: a coordinator in this process, islands as child
// processes started by the local launcher, migrants over authenticated WebSocket links.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type ClusterControl, runCluster } from "../../src/coordinator/cluster.ts";
import type { ConfigPatch } from "../../src/core/config.ts";
import {
  authProof,
  CLOSE_CODES,
  decode,
  encode,
  type Message,
  makeMessage,
  NONCE_BYTES,
} from "../../src/core/protocol/index.ts";
import { makeEvaluator } from "../../src/evaluator/index.ts";
import { captureLogger, silentLogger } from "../../src/io/log.ts";
import { clusterConfig, runEvents } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "slt-cluster-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const config = (name: string, patch: ConfigPatch) => clusterConfig(work, name, patch);
const events = runEvents;

interface Closed {
  code: number;
  reason: string;
}

/** Opens a WebSocket to url, lets `talk` speak, and resolves with the close frame the server sends. */
function probe(url: string, talk: (ws: WebSocket) => void): Promise<Closed> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { maxPayload: 1 << 21, perMessageDeflate: false });
    ws.on("error", () => {});
    ws.on("open", () => talk(ws));
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") }));
  });
}

const header = (runId: string, seq: number) => ({ runId, from: "intruder", epoch: 0, seq });

/** A handshake with the wrong secret: hello, then an auth whose proof does not match. */
function wrongSecret(runId: string, role: "island" | "peer") {
  return (ws: WebSocket) => {
    const nonce = new Uint8Array(randomBytes(NONCE_BYTES));
    ws.send(
      encode(
        makeMessage("hello", header(runId, 0), {
          role,
          island: 99,
          host: "intruder",
          pid: 1,
          listen: role === "island" ? "ws://127.0.0.1:1" : null,
          nonce,
        }) as Message,
      ),
    );
    ws.once("message", (data) => {
      const r = decode(data as Uint8Array, { runId, genomeLength: null, maxMigrants: 0 });
      if (!r.ok || r.message.type !== "challenge") throw new Error("expected a challenge");
      const proof = authProof("not-the-secret", {
        runId,
        role,
        from: "intruder",
        theirNonce: r.message.body.nonce,
        myNonce: nonce,
        transcript: new Uint8Array(32),
      });
      ws.send(encode(makeMessage("auth", header(runId, 1), { proof }) as Message));
    });
  };
}

describe("island cluster on loopback", () => {
  it("4 islands on a ring migrate, the ticket is the best over islands, intruders are refused", async () => {
    const { logger, records } = captureLogger();
    const probes: Record<string, Closed> = {};
    const c = config("ring4", {
      termination: { maxGenerations: 12 },
      // lockstep: every island takes in its neighbour's migrants at each barrier, so that some are
      // accepted does not depend on timing (async under load, an island could reach its cap first)
      cluster: { islands: 4, topology: "ring", interval: 2, migrants: 2, mode: "lockstep" },
    });
    const summary = await runCluster(c, {
      makeEvaluator,
      logger,
      hooks: {
        // every island has finished its search but is still up, waiting for stop
        async beforeStop(control: ClusterControl) {
          const one = control.islands().find((i) => i.id === 1);
          const island = one?.listen as string;
          const coordinator = control.joinUrl;
          const garbage = (ws: WebSocket) => ws.send(Buffer.from([0xc1, 0xff, 0x00, 0x13]));
          probes.coordinatorGarbage = await probe(coordinator, garbage);
          probes.islandGarbage = await probe(island, garbage);
          probes.islandText = await probe(island, (ws) => ws.send("hello"));
          probes.coordinatorUnauthenticated = await probe(coordinator, (ws) =>
            ws.send(encode(makeMessage("stop", header(control.runId, 0), { reason: "x" }) as Message)),
          );
          probes.islandWrongRun = await probe(island, (ws) =>
            ws.send(encode(makeMessage("stop", header("run-other", 0), { reason: "x" }) as Message)),
          );
          probes.coordinatorWrongSecret = await probe(coordinator, wrongSecret(control.runId, "island"));
          probes.islandWrongSecret = await probe(island, wrongSecret(control.runId, "peer"));
        },
      },
    });

    expect(probes.coordinatorGarbage.code).toBe(CLOSE_CODES["bad-msgpack"]);
    expect(probes.islandGarbage.code).toBe(CLOSE_CODES["bad-msgpack"]);
    expect(probes.islandText.code).toBe(CLOSE_CODES["bad-msgpack"]);
    expect(probes.coordinatorUnauthenticated.code).toBe(CLOSE_CODES["not-authenticated"]);
    expect(probes.islandWrongRun.code).toBe(CLOSE_CODES["wrong-run"]);
    expect(probes.coordinatorWrongSecret.code).toBe(CLOSE_CODES["auth-failed"]);
    expect(probes.islandWrongSecret.code).toBe(CLOSE_CODES["auth-failed"]);
    expect(probes.islandWrongSecret.reason).toMatch(/^auth-failed: /);
    // the island logged its refusals as records, which reached the coordinator's log over its link with
    // the island's id, and kept running
    const islandLog = records.filter((r) => r.island === 1 && r.msg === "connection refused");
    expect(islandLog.some((r) => r.code === "bad-msgpack" && r.close === 4002)).toBe(true);
    expect(
      islandLog.some(
        (r) =>
          r.peer === "intruder" &&
          r.peerRole === "peer" &&
          r.authenticated === false &&
          r.code === "auth-failed" &&
          r.close === 4001,
      ),
    ).toBe(true);

    // the run finished normally: every island ran to the cap and reported
    expect(summary.stopReason).toBe("max-generations");
    expect(summary.lost).toEqual([]);
    expect(summary.islands.map((i) => i.id)).toEqual([0, 1, 2, 3]);
    const ev = events(summary);
    for (const island of [0, 1, 2, 3]) {
      expect(ev.some((e) => e.type === "report" && e.island === island)).toBe(true);
      expect(summary.islands[island].generations).toBe(12);
      expect(summary.islands[island].pid).toBeGreaterThan(0);
    }
    expect(ev.filter((e) => e.type === "connection-refused").length).toBe(3);
    // and the coordinator logged each refusal as a warning with where it came from and why
    const refused = records.filter((r) => r.msg === "connection refused" && r.island === undefined);
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      expect(r.level).toBe(40);
      expect(r.remote).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(r.reason).toEqual(expect.any(String));
    }

    // migrants were sent and accepted, and events.jsonl shows it
    const migrations = ev.filter((e) => e.type === "migration");
    const sum = (k: string) => migrations.reduce((s, e) => s + (e[k] as number), 0);
    expect(sum("sent")).toBeGreaterThan(0);
    expect(sum("accepted")).toBeGreaterThan(0);
    expect(summary.migrations.sent).toBe(sum("sent"));
    expect(summary.migrations.accepted).toBe(sum("accepted"));
    expect(summary.migrations.accepted).toBeGreaterThan(0);

    // digits uses loss fitness: the ticket is the lowest loss any island delivered
    expect(c.ga.fitness).toBe("loss");
    const bests = summary.islands.map((i) => i.bestFitness as number);
    expect(summary.trainLoss).toBe(Math.min(...bests));
    expect(summary.bestIsland).toBe(bests.indexOf(Math.min(...bests)));
    const ticket = JSON.parse(readFileSync(summary.ticket, "utf8"));
    expect(ticket.metrics.trainLoss).toBe(summary.trainLoss);
    expect(ticket.metrics.islands).toBe(4);
  });

  it("a killed island is recorded as lost, the ring is repaired and the run still finishes", async () => {
    let killed = false;
    const { logger, records } = captureLogger();
    const c = config("kill3", {
      termination: { maxGenerations: 200 },
      cluster: { islands: 3, topology: "ring", interval: 2, migrants: 2, maxRestarts: 0 },
    });
    const summary = await runCluster(c, {
      makeEvaluator,
      logger,
      hooks: {
        onEvent(e, control) {
          if (!killed && e.type === "report" && e.island === 1 && (e.generation as number) >= 4) {
            killed = true;
            control.kill(1);
          }
        },
      },
    });
    expect(killed).toBe(true);
    expect(summary.lost).toEqual([1]);
    expect(summary.islands[1].lost).toBe(true);
    const ev = events(summary);
    const lost = ev.find((e) => e.type === "lost");
    expect(lost).toMatchObject({ island: 1, host: summary.islands[1].host, pid: summary.islands[1].pid });
    // the coordinator logged the loss as a warning record naming the island and why
    const lostRecord = records.find((r) => r.msg === "island lost");
    expect(lostRecord).toMatchObject({
      level: 40,
      island: 1,
      host: summary.islands[1].host,
      pid: summary.islands[1].pid,
      reason: lost?.reason,
    });
    const repaired = ev.find((e) => e.type === "topology-repaired") as {
      edges: unknown[];
      removed: number[];
    };
    expect(repaired.removed).toEqual([1]);
    expect(repaired.edges).toEqual([
      { from: 0, to: 2, weight: 1 },
      { from: 2, to: 0, weight: 1 },
    ]);
    // island 0 got a fresh assignment sending to island 2
    expect(ev.some((e) => e.type === "assigned" && e.island === 0 && (e.out as number[])[0] === 2)).toBe(
      true,
    );
    expect(summary.stopReason).toBe("max-generations");
    expect(summary.islands[0].generations).toBe(200);
    expect(summary.islands[2].generations).toBe(200);
    expect(readFileSync(summary.ticket, "utf8")).toContain("slt-ticket/1");
  });

  it("lockstep: two runs with one seed give the same ticket and the same per-island results", async () => {
    const run = (name: string) =>
      runCluster(
        config(name, {
          seed: 11,
          termination: { maxGenerations: 10 },
          cluster: { islands: 3, topology: "ring", interval: 2, migrants: 2, mode: "lockstep" },
        }),
        { makeEvaluator, logger: silentLogger() },
      );
    // one after the other and then side by side: the timing differs, the results must not
    const a = await run("lock-a");
    const [b, c] = await Promise.all([run("lock-b"), run("lock-c")]);
    expect(a.mode).toBe("lockstep");
    expect(a.migrations.accepted).toBeGreaterThan(0);
    const ta = JSON.parse(readFileSync(a.ticket, "utf8"));
    const tb = JSON.parse(readFileSync(b.ticket, "utf8"));
    expect(tb.mask).toEqual(ta.mask);
    expect(tb.metrics.trainLoss).toBe(ta.metrics.trainLoss);
    expect(tb.metrics.testAccuracy).toBe(ta.metrics.testAccuracy);
    expect(b.bestIsland).toBe(a.bestIsland);
    expect(b.islands.map((i) => i.bestFitness)).toEqual(a.islands.map((i) => i.bestFitness));
    expect(b.islands.map((i) => i.evaluations)).toEqual(a.islands.map((i) => i.evaluations));
    const tc = JSON.parse(readFileSync(c.ticket, "utf8"));
    expect(tc.mask).toEqual(ta.mask);
    expect(c.islands.map((i) => i.bestFitness)).toEqual(a.islands.map((i) => i.bestFitness));
  });

  it("lockstep: losing an island mid-run does not leave its neighbours waiting at a barrier", async () => {
    let killed = false;
    const summary = await runCluster(
      config("lock-kill", {
        termination: { maxGenerations: 30 },
        cluster: { islands: 3, topology: "ring", interval: 2, migrants: 2, maxRestarts: 0, mode: "lockstep" },
      }),
      {
        makeEvaluator,
        logger: silentLogger(),
        hooks: {
          onEvent(e, control) {
            if (!killed && e.type === "report" && e.island === 1 && e.epoch === 2) {
              killed = true;
              control.kill(1);
            }
          },
        },
      },
    );
    expect(summary.lost).toEqual([1]);
    expect(summary.stopReason).toBe("max-generations");
    expect(summary.islands[0].generations).toBe(30);
    expect(summary.islands[2].generations).toBe(30);
  });

  it("a hung island (SIGSTOP) is lost by missed heartbeats and the run finishes without it", async () => {
    let paused = false;
    const c = config("hung3", {
      termination: { maxGenerations: 60 },
      cluster: { islands: 3, topology: "ring", interval: 2, migrants: 2, maxRestarts: 0 },
    });
    const summary = await runCluster(c, {
      makeEvaluator,
      logger: silentLogger(),
      heartbeatTimeoutMs: 3000,
      hooks: {
        onEvent(e, control) {
          if (!paused && e.type === "report" && e.island === 2 && (e.generation as number) >= 4) {
            paused = true;
            const pid = control.islands().find((i) => i.id === 2)?.pid as number;
            process.kill(pid, "SIGSTOP");
          }
        },
      },
    });
    expect(paused).toBe(true);
    expect(summary.lost).toEqual([2]);
    const lost = events(summary).find((e) => e.type === "lost");
    expect(lost?.reason).toMatch(/missed heartbeats/);
    expect(summary.islands[0].generations).toBe(60);
    expect(summary.islands[1].generations).toBe(60);
  });
});
