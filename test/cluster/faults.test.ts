// Faults with real processes on loopback: an island killed with SIGKILL is restarted by the local
// launcher and takes back its id and place (async and lockstep); `maxRestarts: 0` keeps the repair;
// restarts that run out end in the repair; an island joins a running async search (and a lockstep run
// refuses one); a forged migrant from a made-up island and from a real non-neighbour changes nothing.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type ClusterSummary, runCluster } from "../../src/coordinator/cluster.ts";
import type { Launcher } from "../../src/coordinator/launcher.ts";
import { ISLAND_MAIN, localLauncher } from "../../src/coordinator/launcher-local.ts";
import type { ConfigPatch } from "../../src/core/config.ts";
import { makeIndividual } from "../../src/core/ga/index.ts";
import { randomMask } from "../../src/core/mask.ts";
import { initNetwork } from "../../src/core/network.ts";
import { migrantFromIndividual } from "../../src/core/protocol/index.ts";
import { Rng } from "../../src/core/rng.ts";
import { makeEvaluator } from "../../src/evaluator/index.ts";
import { Link } from "../../src/io/link.ts";
import { captureLogger, silentLogger } from "../../src/io/log.ts";
import { clusterConfig, runEvents } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "slt-faults-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const config = (name: string, patch: ConfigPatch) => clusterConfig(work, name, patch);
const events = runEvents;

/** The local launcher, keeping the run secret it is given (an extra island needs it to join). */
function keepingSecret(logger = silentLogger()): { launcher: Launcher; secret: () => string } {
  const local = localLauncher({ logger });
  let secret = "";
  const launcher: Launcher = {
    name: local.name,
    start(n, joinUrl, s, options) {
      secret = s;
      return local.start(n, joinUrl, s, options);
    },
    restart: (index) => (local.restart as NonNullable<Launcher["restart"]>)(index),
    close: () => local.close(),
  };
  return { launcher, secret: () => secret };
}

interface ExtraIsland {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

/** `node src/island/main.ts --join URL` with the secret in SLT_TOKEN, as a user's extra island. */
function extraIsland(joinUrl: string, secret: string, index: number): ExtraIsland {
  const child = spawn(process.execPath, [ISLAND_MAIN, "--join", joinUrl], {
    env: { ...process.env, SLT_TOKEN: secret, SLT_ISLAND_INDEX: String(index), SLT_LOG_LEVEL: "info" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let text = "";
  child.stderr?.on("data", (b: Buffer) => {
    text += b.toString("utf8");
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, exited, stderr: () => text };
}

/**
 * A long run of a 2-island ring with an extra island (index 7) started at island 0's first report; the
 * run ends (as Ctrl-C would) once `until` holds for an event, or once the extra island has ended.
 */
async function runWithJoiner(
  name: string,
  mode: "async" | "lockstep",
  until: (e: Record<string, unknown>) => boolean,
): Promise<{ summary: ClusterSummary; extra: ExtraIsland }> {
  const { launcher, secret } = keepingSecret();
  let extra: ExtraIsland | null = null;
  const stop = new AbortController();
  const summary = await runCluster(
    config(name, {
      termination: { maxGenerations: 100_000 },
      cluster: { islands: 2, topology: "ring", interval: 2, migrants: 2, mode },
    }),
    {
      makeEvaluator,
      logger: silentLogger(),
      launcher,
      signal: stop.signal,
      hooks: {
        onEvent(e, control) {
          if (extra === null && e.type === "report" && e.island === 0) {
            extra = extraIsland(control.joinUrl, secret(), 7);
            void extra.exited.then(() => stop.abort());
          }
          if (until(e)) stop.abort();
        },
      },
    },
  );
  return { summary, extra: extra as unknown as ExtraIsland };
}

/** Kills island `id` with SIGKILL once it reports `when`. */
function killOnce(id: number, when: (e: Record<string, unknown>) => boolean) {
  let killed = false;
  return {
    killed: () => killed,
    onEvent(e: Record<string, unknown>, control: { kill(id: number): void }) {
      if (!killed && e.type === "report" && e.island === id && when(e)) {
        killed = true;
        control.kill(id);
      }
    },
  };
}

describe("island restart", () => {
  it("async: an island killed with SIGKILL is restarted, takes back its place, and the run ends with all 3", async () => {
    const kill = killOnce(1, (e) => (e.generation as number) >= 24);
    const summary = await runCluster(
      config("restart-async", {
        checkpointEvery: 10,
        termination: { maxGenerations: 120 },
        cluster: { islands: 3, topology: "ring", interval: 2, migrants: 2 },
      }),
      { makeEvaluator, logger: silentLogger(), restartBackoffMs: 100, hooks: { onEvent: kill.onEvent } },
    );
    expect(kill.killed()).toBe(true);
    const ev = events(summary);
    const lost = ev.find((e) => e.type === "lost");
    const restarted = ev.find((e) => e.type === "island-restarted");
    expect(restarted).toMatchObject({ island: 1, index: 1, attempt: 1, reason: lost?.reason });
    // it resumed from its latest snapshot (every 10 generations), not from scratch
    expect(restarted?.fromGeneration as number).toBeGreaterThanOrEqual(20);
    expect(restarted?.fromEpoch as number).toBeGreaterThanOrEqual(10);
    // no repair: the ring keeps island 1, and island 0 was told its new address
    expect(ev.some((e) => e.type === "topology-repaired")).toBe(false);
    const assigned0 = ev.filter((e) => e.type === "assigned" && e.island === 0);
    expect(assigned0.length).toBe(2);
    expect(assigned0[1].out).toEqual([1]);
    expect(summary.lost).toEqual([]);
    expect(summary.islands.map((i) => [i.id, i.lost])).toEqual([
      [0, false],
      [1, false],
      [2, false],
    ]);
    expect(summary.islands[1].pid).toBe(restarted?.pid);
    expect(summary.islands.every((i) => i.generations === 120)).toBe(true);
    expect(summary.stopReason).toBe("max-generations");
  });

  it("lockstep: the restarted island catches up without a deadlock and the run ends with a valid ticket", async () => {
    const kill = killOnce(1, (e) => e.epoch === 3);
    const summary = await runCluster(
      config("restart-lockstep", {
        checkpointEvery: 4,
        termination: { maxGenerations: 40 },
        cluster: { islands: 3, topology: "ring", interval: 2, migrants: 2, mode: "lockstep" },
      }),
      { makeEvaluator, logger: silentLogger(), restartBackoffMs: 100, hooks: { onEvent: kill.onEvent } },
    );
    expect(kill.killed()).toBe(true);
    const ev = events(summary);
    // killed after its report at epoch 3: it resumes from a barrier snapshot (every 2 epochs), the one at
    // epoch 2 unless it got through the next barrier before the kill landed
    const restarted = ev.filter((e) => e.type === "island-restarted");
    expect(restarted).toMatchObject([{ island: 1, attempt: 1 }]);
    const fromEpoch = restarted[0].fromEpoch as number;
    expect(fromEpoch >= 2 && fromEpoch % 2 === 0).toBe(true);
    expect(restarted[0].fromGeneration).toBe(fromEpoch * 2);
    expect(summary.lost).toEqual([]);
    expect(summary.islands.map((i) => [i.id, i.lost, i.generations])).toEqual([
      [0, false, 40],
      [1, false, 40],
      [2, false, 40],
    ]);
    expect(summary.stopReason).toBe("max-generations");
    const ticket = JSON.parse(readFileSync(summary.ticket, "utf8"));
    expect(ticket.format).toBe("slt-ticket/1");
    expect(ticket.metrics.trainAccuracy).toBeGreaterThan(0);
  });

  it("a hung island (SIGSTOP, missed heartbeats) is killed and restarted like a crashed one", async () => {
    let paused = 0;
    const summary = await runCluster(
      config("restart-hung", {
        checkpointEvery: 10,
        termination: { maxGenerations: 80 },
        cluster: { islands: 3, topology: "ring", interval: 2, migrants: 2 },
      }),
      {
        makeEvaluator,
        logger: silentLogger(),
        heartbeatTimeoutMs: 3000,
        restartBackoffMs: 100,
        hooks: {
          onEvent(e, control) {
            if (paused === 0 && e.type === "report" && e.island === 2 && (e.generation as number) >= 14) {
              paused = control.islands().find((i) => i.id === 2)?.pid as number;
              process.kill(paused, "SIGSTOP");
            }
          },
        },
      },
    );
    const ev = events(summary);
    expect(ev.find((e) => e.type === "lost")).toMatchObject({ island: 2, pid: paused });
    expect(ev.find((e) => e.type === "lost")?.reason).toMatch(/missed heartbeats/);
    const restarted = ev.find((e) => e.type === "island-restarted");
    expect(restarted).toMatchObject({ island: 2, attempt: 1 });
    // from a snapshot (every 10 generations), taken before it hung
    expect(restarted?.fromGeneration as number).toBeGreaterThanOrEqual(10);
    expect((restarted?.fromGeneration as number) % 10).toBe(0);
    expect(summary.lost).toEqual([]);
    expect(summary.islands.map((i) => i.generations)).toEqual([80, 80, 80]);
    expect(summary.islands[2].pid).not.toBe(paused);
  });

  it("maxRestarts 0 keeps the repair: the island is lost for good and the ring closes around it", async () => {
    const kill = killOnce(1, (e) => (e.generation as number) >= 4);
    const summary = await runCluster(
      config("restart-none", {
        termination: { maxGenerations: 60 },
        cluster: { islands: 3, topology: "ring", interval: 2, migrants: 2, maxRestarts: 0 },
      }),
      { makeEvaluator, logger: silentLogger(), hooks: { onEvent: kill.onEvent } },
    );
    const ev = events(summary);
    expect(ev.some((e) => e.type === "island-restarted")).toBe(false);
    expect(ev.find((e) => e.type === "topology-repaired")).toMatchObject({ removed: [1] });
    expect(summary.lost).toEqual([1]);
  });

  it("when its restarts run out (every new process killed too), the island is removed as before", async () => {
    // island 1 is killed at its first report in each process it runs in: once, then after its one restart
    const killedPids = new Set<number>();
    const summary = await runCluster(
      config("restart-out", {
        termination: { maxGenerations: 60 },
        cluster: { islands: 3, topology: "ring", interval: 2, migrants: 2, maxRestarts: 1 },
      }),
      {
        makeEvaluator,
        logger: silentLogger(),
        restartBackoffMs: 100,
        hooks: {
          onEvent(e, control) {
            if (e.type !== "report" || e.island !== 1) return;
            const pid = control.islands().find((i) => i.id === 1)?.pid as number;
            if (!killedPids.has(pid)) {
              killedPids.add(pid);
              control.kill(1);
            }
          },
        },
      },
    );
    const ev = events(summary);
    expect(killedPids.size).toBe(2);
    // the lifecycle in the message, should this ever fail
    const lifecycle = ev.filter((e) =>
      ["lost", "island-started", "joined", "island-restarted", "island-exited", "topology-repaired"].includes(
        e.type as string,
      ),
    );
    expect(
      ev.filter((e) => e.type === "island-restarted"),
      JSON.stringify(lifecycle),
    ).toMatchObject([{ island: 1, attempt: 1 }]);
    expect(ev.find((e) => e.type === "topology-repaired")).toMatchObject({ removed: [1] });
    expect(summary.lost).toEqual([1]);
    expect(summary.stopReason).toBe("max-generations");
  });
});

describe("elastic join", () => {
  it("an async run takes an extra island: the next id, a place in the ring, migrants, a line in the summary", async () => {
    const { summary, extra } = await runWithJoiner("join-async", "async", (e) => {
      const m = e.migration as { received: number; sent: number } | undefined;
      return e.type === "report" && e.island === 2 && m !== undefined && m.received > 0 && m.sent > 0;
    });
    const ev = events(summary);
    expect(ev.find((e) => e.type === "island-added")).toMatchObject({
      island: 2,
      index: 7,
      in: [1],
      out: [0],
    });
    // island 1 now sends to the new island 2 instead of island 0
    expect(ev.filter((e) => e.type === "assigned" && e.island === 1).map((e) => e.out)).toEqual([[0], [2]]);
    expect(ev.some((e) => e.type === "assigned" && e.island === 2)).toBe(true);
    expect(ev.some((e) => e.type === "ticket" && e.island === 2)).toBe(true);
    expect(summary.stopReason).toBe("interrupted");
    expect(summary.islands.map((i) => [i.id, i.lost])).toEqual([
      [0, false],
      [1, false],
      [2, false],
    ]);
    expect(summary.islands[2].generations).toBeGreaterThan(0);
    expect(await extra.exited).toBe(0);
  });

  it("a lockstep run refuses an island that joins after its start, with a clear error", async () => {
    const { summary, extra } = await runWithJoiner("join-lockstep", "lockstep", () => false);
    expect(await extra.exited).toBe(1);
    expect(extra.stderr()).toMatch(/a lockstep run takes no islands after its start/);
    expect(summary.islands.map((i) => i.id)).toEqual([0, 1]);
    expect(events(summary).some((e) => e.type === "island-added")).toBe(false);
  });
});

/**
 * Connects to an island's peer server with the run secret as `name` and sends it one batch of a forged
 * migrant (a valid hash, claimed accuracy 1 and loss 0); resolves once the batch is written.
 */
async function forgeMigrant(
  address: string,
  runId: string,
  secret: string,
  name: string,
  genomeLength: number,
) {
  const island = Number(name.slice("island-".length));
  const ws = new WebSocket(address, { perMessageDeflate: false });
  ws.on("error", () => {});
  const link = new Link(ws, "client", {
    self: { runId, secret, name, role: "peer", island, host: "intruder", pid: 1, listen: null },
    limits: { genomeLength, maxMigrants: 8 },
    peerRole: "peer",
    accept: ["heartbeat"],
    logger: silentLogger(),
  });
  await link.ready;
  const mask = randomMask(genomeLength, Rng.derive(11, name));
  const forged = makeIndividual(mask, { accuracy: 1, loss: 0 }, "immigrant", 0);
  await new Promise<void>((written) =>
    link.send(
      "migrants",
      { migrants: [migrantFromIndividual(forged)] },
      { epoch: 1, onWritten: () => written() },
    ),
  );
  link.close();
}

describe("a forged migrant changes nothing", () => {
  it("from a made-up island and from a real non-neighbour: refused, a record naming the sender, a genuine ticket", async () => {
    const { logger, records } = captureLogger();
    const { launcher, secret } = keepingSecret(logger);
    const c = config("forged-migrant", {
      termination: { maxGenerations: 16 },
      cluster: { islands: 4, topology: "ring", interval: 2, migrants: 2 },
    });
    const genomeLength = initNetwork(c.network.architecture, c.network.init, c.network.seed).genomeLength;
    let forged: Promise<void> | null = null;
    const summary = await runCluster(c, {
      makeEvaluator,
      logger,
      launcher,
      hooks: {
        onEvent(e, control) {
          if (forged !== null || e.type !== "report" || e.island !== 1) return;
          const address = control.islands().find((i) => i.id === 1)?.listen as string;
          // island 1's in-neighbours on a ring of 4 are among 0 and 2: island 3 is a real non-neighbour
          forged = Promise.all(
            ["island-7", "island-3"].map((name) =>
              forgeMigrant(address, control.runId, secret(), name, genomeLength),
            ),
          ).then(() => {});
        },
        async beforeStop() {
          await forged;
        },
      },
    });
    expect(forged).not.toBeNull();
    const refused = records.filter(
      (r) => r.island === 1 && r.msg === "migrants refused: sender is not an in-neighbour",
    );
    expect(refused.map((r) => r.sender).sort()).toEqual(["island-3", "island-7"]);
    expect(refused.every((r) => r.migrants === 1)).toBe(true);
    const evs = events(summary);
    expect(evs.some((e) => e.type === "candidate-refused")).toBe(false);
    // the ticket's figures are its mask's own (finishRun rechecked them), not the forged ones
    const ticket = JSON.parse(readFileSync(summary.ticket, "utf8"));
    expect(ticket.metrics.trainLoss).toBeGreaterThan(0);
    expect(summary.trainLoss).toBe(ticket.metrics.trainLoss);
  });
});
