// One island in this process against a fake coordinator (a WsServer and a Link, no processes): it
// sends checkpoints when its assignment asks for them, and an island resumed from one of them ends
// exactly where the uninterrupted island ended (same final snapshot, same ticket).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/core/config.ts";
import { SltError } from "../../src/core/errors.ts";
import type { IslandSnapshotJSON } from "../../src/core/island-snapshot.ts";
import { initNetwork } from "../../src/core/network.ts";
import {
  type AssignBody,
  type CheckpointBody,
  type Message,
  maxFrameBytes,
  type TicketBody,
} from "../../src/core/protocol/index.ts";
import { streamName } from "../../src/core/rng.ts";
import { Link, type LinkSelf, maxPayloadFor } from "../../src/io/link.ts";
import { createLogger, silentLogger } from "../../src/io/log.ts";
import { WsServer } from "../../src/io/server.ts";
import { type TlsIdentity, tlsPinOf } from "../../src/io/tls.ts";
import { lockstepCheckpointDue, runIsland } from "../../src/island/island.ts";

const config = resolveConfig({
  source: "test",
  patch: { seed: 5, dataset: { name: "digits-3" }, ga: { population: 12 }, prune: "none" },
});
const genomeLength = initNetwork(
  config.network.architecture,
  config.network.init,
  config.network.seed,
).genomeLength;
const SNAPSHOT_ROOM = 1 << 24;
/** the fake coordinator's side of its links (run id and secret filled in per run) */
const COORDINATOR = {
  name: "coordinator",
  role: "coordinator",
  island: null,
  host: hostname(),
  pid: process.pid,
  listen: null,
} as const;

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

interface Heard {
  checkpoints: CheckpointBody[];
  tickets: TicketBody[];
  reportEpochs: number[];
  /** the peer server address the island said hello with */
  listen?: string | null;
  /** why each refused attempt at joining was refused */
  retries: string[];
  /** how the island ended when it did not end by a stop */
  error?: Error;
}

/** How the fake coordinator behaves besides assigning (default: stops the island at its first ticket). */
interface FakeCoordinator {
  /** never stop the island and send nothing after the assignment */
  readonly silent?: boolean;
  /** send a heartbeat this often, and answer the first ticket with `stop` only after `stopAfterMs` */
  readonly heartbeatMs?: number;
  readonly stopAfterMs?: number;
  /** the island's coordinatorTimeoutMs */
  readonly coordinatorTimeoutMs?: number;
  /** answer upgrades with 503 until the island has recorded its first refusal, then accept */
  readonly acceptLate?: boolean;
  /** serve wss:// with this certificate (the island pins it; it is handed over in the assignment) */
  readonly tls?: TlsIdentity;
}

/** Runs one island against a coordinator that assigns `assign`, stops the island at its first ticket, and records what it heard. */
async function runAgainstFakeCoordinator(assign: AssignBody, fake: FakeCoordinator = {}): Promise<Heard> {
  const runId = `run-${randomBytes(4).toString("hex")}`;
  const secret = randomBytes(16).toString("hex");
  const self: LinkSelf = { ...COORDINATOR, runId, secret };
  const heard: Heard = { checkpoints: [], tickets: [], reportEpochs: [], retries: [] };
  const limits = { genomeLength, maxMigrants: 1, maxSnapshotBytes: SNAPSHOT_ROOM };
  const server = await WsServer.listen({
    host: "127.0.0.1",
    tls: fake.tls,
    onConnection: (ws) => {
      const link = new Link(ws, "server", {
        self,
        limits,
        peerRole: "island",
        accept: ["report", "ticket", "heartbeat", "checkpoint"],
        logger: silentLogger(),
      });
      link.ready.then(
        () => {
          heard.listen = link.peerHello?.listen ?? null;
          link.send("assign", assign);
        },
        () => {},
      );
      if (fake.heartbeatMs !== undefined) {
        const beat = setInterval(() => link.send("heartbeat", {}), fake.heartbeatMs);
        cleanup.push(() => clearInterval(beat));
      }
      link.onMessage = (m: Message) => {
        if (m.type === "report") heard.reportEpochs.push(m.epoch);
        if (m.type === "checkpoint") heard.checkpoints.push(m.body);
        if (m.type === "ticket") {
          if (heard.tickets.length === 0 && !fake.silent) {
            // the delay before the stop is the scenario: the island waits for it, hearing only heartbeats
            const stop = setTimeout(() => link.send("stop", { reason: "test" }), fake.stopAfterMs ?? 0);
            cleanup.push(() => clearTimeout(stop));
          }
          heard.tickets.push(m.body);
        }
      };
    },
  });
  cleanup.push(() => server.close());
  const accept = () => server.accept(maxPayloadFor(maxFrameBytes(genomeLength, 1) + SNAPSHOT_ROOM));
  if (!fake.acceptLate) accept();
  // the island's own records: the first "retrying" one is the moment the server has refused it
  const logger = createLogger({
    level: "debug",
    stderr: false,
    destinations: [
      {
        write(line: string) {
          const r = JSON.parse(line);
          if (r.msg === "coordinator not reached yet, retrying") {
            heard.retries.push(String(r.reason));
            if (!server.accepting) accept();
          }
        },
      },
    ],
  });
  await runIsland({
    join: `${server.address}/?run=${runId}`,
    secret,
    index: 0,
    logger,
    coordinatorTimeoutMs: fake.coordinatorTimeoutMs,
    tls: fake.tls ? { pin: tlsPinOf(fake.tls.cert) } : null,
  }).catch((e: Error) => {
    heard.error = e;
  });
  return heard;
}

function assignment(over: Partial<AssignBody>): AssignBody {
  return {
    island: 0,
    seedStream: streamName(config.seed, "island", 0),
    config: JSON.parse(
      JSON.stringify({ ...config, termination: { ...config.termination, maxGenerations: 8 } }),
    ),
    genomeLength,
    interval: 2,
    offset: 0,
    mode: "lockstep",
    maxMigrants: 1,
    outNeighbours: [],
    inNeighbours: [],
    weights: "count",
    ...over,
  };
}

const generationOf = (s: IslandSnapshotJSON) => s.ga.generation;

describe("an island's checkpoints", () => {
  it("lockstep: one at each barrier at or after a multiple of checkpointEvery, a final one at stop; resume is exact", async () => {
    const a = await runAgainstFakeCoordinator(assignment({ checkpointEvery: 3 }));
    // barriers at generations 2, 4, 6, 8; multiples of 3 at 3 and 6 → barriers 4 and 6; then the final one
    expect(a.checkpoints.map((c) => [generationOf(c.snapshot), c.snapshot.epoch, c.final])).toEqual([
      [4, 2, false],
      [6, 3, false],
      [8, 4, true],
    ]);
    expect(a.tickets.length).toBe(2);

    const from = a.checkpoints[0].snapshot;
    const b = await runAgainstFakeCoordinator(assignment({ checkpointEvery: 3, resume: from }));
    expect(b.checkpoints.map((c) => generationOf(c.snapshot))).toEqual([6, 8]);
    expect(b.checkpoints.at(-1)).toEqual(a.checkpoints.at(-1));
    expect(b.tickets.at(-1)).toEqual(a.tickets.at(-1));
    expect(b.reportEpochs[0]).toBe(2); // it continues from epoch 2
  });

  it("async: one every checkpointEvery generations and a final one; none without checkpointEvery", async () => {
    const a = await runAgainstFakeCoordinator(assignment({ mode: "async", checkpointEvery: 3 }));
    expect(a.checkpoints.map((c) => [generationOf(c.snapshot), c.final])).toEqual([
      [3, false],
      [6, false],
      [8, true],
    ]);
    const none = await runAgainstFakeCoordinator(assignment({ mode: "async" }));
    expect(none.checkpoints).toEqual([]);
    expect(none.tickets.at(-1)?.best).toEqual(a.tickets.at(-1)?.best);
  });

  it("lockstepCheckpointDue counts epochs × interval, so every island checkpoints at the same epoch", () => {
    const due = (interval: number, every: number) =>
      Array.from({ length: 10 }, (_, i) => i + 1).filter((e) => lockstepCheckpointDue(e, interval, every));
    expect(due(2, 3)).toEqual([2, 3, 5, 6, 8, 9]);
    expect(due(5, 10)).toEqual([2, 4, 6, 8, 10]);
    expect(due(4, 1)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url), "utf8");

describe("an island joining its coordinator", () => {
  it("retries a coordinator that answers 503 (not accepting yet) and joins once it accepts", async () => {
    const heard = await runAgainstFakeCoordinator(assignment({ mode: "async" }), { acceptLate: true });
    expect(heard.error).toBeUndefined();
    expect(heard.retries[0]).toMatch(/Unexpected server response: 503/);
    expect(heard.tickets.length).toBeGreaterThan(0);
  });

  it("over wss://: pins the coordinator's certificate and serves the assigned one on a wss:// peer server", async () => {
    const tls = { cert: fixture("a.crt"), key: fixture("a.key") };
    const heard = await runAgainstFakeCoordinator(assignment({ mode: "async", tls }), { tls });
    expect(heard.error).toBeUndefined();
    expect(heard.listen).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    expect(heard.tickets.length).toBeGreaterThan(0);
  });

  it("refuses a wss:// coordinator whose certificate is not the pinned one, and wss:// without a pin", async () => {
    const b = { cert: fixture("b.crt"), key: fixture("b.key") };
    const server = await WsServer.listen({
      host: "127.0.0.1",
      onConnection: () => {},
      tls: b,
      logger: silentLogger(),
    });
    cleanup.push(() => server.close());
    server.accept(1024);
    const join = `${server.address}/?run=run-x`;
    const options = { join, secret: "0123456789abcdef0123456789abcdef", index: 0, logger: silentLogger() };
    await expect(runIsland({ ...options, tls: { pin: tlsPinOf(fixture("a.crt")) } })).rejects.toThrow(
      /cannot reach the coordinator at wss:.*is not the pinned .*\(after 1 attempt\)/,
    );
    await expect(runIsland(options)).rejects.toThrow(/is wss:\/\/ but no certificate pin/);
  });
});

describe("an island's watch on its coordinator", () => {
  it("gives up on a coordinator that sends nothing for cluster.coordinatorTimeoutSeconds, with a one-line error", async () => {
    const a = assignment({ mode: "async" });
    const silentFor3s = {
      ...a,
      config: { ...a.config, cluster: { ...(a.config.cluster as object), coordinatorTimeoutSeconds: 3 } },
    };
    const started = performance.now();
    const heard = await runAgainstFakeCoordinator(silentFor3s, { silent: true });
    expect(heard.tickets.length).toBe(1); // it finished its search and waited for a stop that never came
    expect(heard.error).toBeInstanceOf(SltError);
    expect((heard.error as SltError).code).toBe("E_CLUSTER");
    expect(heard.error?.message).toMatch(
      /sent nothing for \d+ s \(allowed: 3 s, cluster\.coordinatorTimeoutSeconds\)/,
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(3000);
  });

  it("keeps waiting for its stop while the coordinator's heartbeats come", async () => {
    const heard = await runAgainstFakeCoordinator(assignment({ mode: "async" }), {
      heartbeatMs: 100,
      stopAfterMs: 2000,
      coordinatorTimeoutMs: 600,
    });
    expect(heard.error).toBeUndefined();
    expect(heard.tickets.length).toBe(2);
  });
});
