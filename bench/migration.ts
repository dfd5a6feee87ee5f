// Migration between two islands on loopback: latency (p50, p99) and throughput of batches of 64 masks of
// 100,000 bits, through the code islands use: the sender is the island's PeerSender (src/island/peers.ts:
// bounded queue, backlog check, reconnects), the receiver an authenticated server Link (src/io/link.ts)
// accepting `migrants` from a peer, as the island's peer server sets it up; both run the HMAC handshake
// with the run secret, and every frame goes through the protocol codec (msgpack, packed masks, hash and
// length checks, src/core/protocol) and its tag (GMAC, core/protocol/auth.ts).
//   node_modules/.bin/node bench/migration.ts [--json] [--quick]
// Both endpoints live in this process (one event loop does the sender's and the receiver's work in
// turn, so nothing overlaps: `processes: 1`). A batch is timed from the moment its migrants are made from
// the individuals (migrantFromIndividual, as an island does at each migration) and handed to the
// sender, to the moment the receiver has decoded and checked the frame and turned its migrants into
// individuals (individualFromMigrant).
//   latency    — one batch at a time: each is sent once the previous one has arrived; nearest-rank
//                quantiles over `samples` batches, after a warm-up;
//   throughput — a steady pipeline: `in_flight` batches on their way at all times (a new one is handed
//                to the sender whenever one arrives), counted over windows; best of the windows;
//   codec      — encode and decode (with all its checks) of one batch's frame alone, no socket: how much
//                of the latency is the codec; and signing and checking its tag (GMAC, what the Link
//                does), next to an HMAC-SHA256 of the same frame (the alternative not taken).
import { createHmac, randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { type WebSocket, WebSocketServer } from "ws";
import { makeIndividual } from "../src/core/ga/index.ts";
import type { Individual } from "../src/core/ga/individual.ts";
import {
  decode,
  encode,
  FrameSigner,
  FrameVerifier,
  individualFromMigrant,
  type Message,
  makeMessage,
  maxFrameBytes,
  migrantFromIndividual,
  sessionKeys,
  TAG_BYTES,
} from "../src/core/protocol/index.ts";
import { Rng } from "../src/core/rng.ts";
import { Link, type LinkLimits, type LinkSelf, maxPayloadFor } from "../src/io/link.ts";
import { captureLogger } from "../src/io/log.ts";
import { PeerSender } from "../src/island/peers.ts";
import {
  type BenchArgs,
  createReporter,
  measureSyncRate,
  median,
  quantile,
  randomMasks,
  round,
  runMain,
} from "./common.ts";

const GENOME_BITS = 100_000;
const MIGRANTS = 64;
const IN_FLIGHT = 4;
const TIMEOUT_MS = 60_000;

async function main(args: BenchArgs): Promise<void> {
  const out = createReporter("migration", args);
  const samples = args.quick ? 40 : 1000;
  const warmup = args.quick ? 5 : 50;
  const windows = args.quick ? 2 : 5;
  const windowMs = args.quick ? 300 : 2000;

  const rng = Rng.derive(1, "bench-migration");
  const individuals: Individual[] = randomMasks(MIGRANTS, GENOME_BITS, rng).map((m, i) =>
    makeIndividual(m, { accuracy: 0.9 + i / 1000, loss: 0.3 }, "child", 1),
  );
  const runId = "bench-migration";
  const secret = randomBytes(32).toString("hex");
  const limits: LinkLimits = { genomeLength: GENOME_BITS, maxMigrants: MIGRANTS };
  const self = (island: number): LinkSelf => ({
    runId,
    secret,
    name: `island-${island}`,
    role: "peer",
    island,
    host: hostname(),
    pid: process.pid,
    listen: null,
  });
  const { logger, records: logged } = captureLogger("warn");

  // ---- the receiving island's peer server ----
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    maxPayload: maxPayloadFor(maxFrameBytes(GENOME_BITS, MIGRANTS)),
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", () => resolve());
    wss.once("error", reject);
  });
  const port = (wss.address() as { port: number }).port;
  /** called with the receipt time of every decoded batch */
  let onBatch: (t: number, migrants: number) => void = () => {};
  const serverLink = new Promise<Link>((resolve) => {
    wss.once("connection", (ws: WebSocket) => {
      const link = new Link(ws, "server", {
        self: self(1),
        limits,
        peerRole: "peer",
        accept: ["migrants", "heartbeat"],
        logger,
        label: "sender",
      });
      link.onMessage = (m) => {
        if (m.type !== "migrants") return;
        const arrivals = m.body.migrants.map((mig) => individualFromMigrant(mig, 0));
        onBatch(performance.now(), arrivals.length);
      };
      resolve(link);
    });
  });

  // ---- the sending island's peer link ----
  const counters = { sent: 0, dropped: 0 };
  const t0 = performance.now();
  const sender = new PeerSender(
    { island: 1, address: `ws://127.0.0.1:${port}`, weight: 1 },
    self(0),
    limits,
    counters,
    logger,
    { lossless: true },
  );
  let epoch = 0;
  const send = () => sender.enqueue(++epoch, individuals.map(migrantFromIndividual));
  const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> =>
    Promise.race([
      p,
      new Promise<never>((_, reject) =>
        setTimeout(
          () =>
            reject(
              new Error(
                `${what}: nothing after ${TIMEOUT_MS} ms; ${logged.map((r) => JSON.stringify(r)).join("; ")}`,
              ),
            ),
          TIMEOUT_MS,
        ).unref(),
      ),
    ]);

  try {
    const link = await withTimeout(serverLink, "connection");
    await withTimeout(link.ready, "handshake");
    const handshakeMs = performance.now() - t0;

    // ---- latency: one batch at a time ----
    out.log(`latency: ${warmup} + ${samples} batches of ${MIGRANTS} masks of ${GENOME_BITS} bits`);
    const latencies: number[] = [];
    for (let k = 0; k < warmup + samples; k++) {
      const arrived = new Promise<number>((resolve) => {
        onBatch = (t, n) => resolve(n === MIGRANTS ? t : Number.NaN);
      });
      const start = performance.now();
      send();
      const t = await withTimeout(arrived, "latency batch");
      if (Number.isNaN(t)) throw new Error(`a batch arrived without its ${MIGRANTS} migrants`);
      if (k >= warmup) latencies.push(t - start);
    }
    latencies.sort((a, b) => a - b);
    const message = makeMessage(
      "migrants",
      { runId, from: "island-0", epoch: 1, seq: 1 },
      { migrants: individuals.map(migrantFromIndividual) },
    ) as Message;
    const frame = encode(message);
    const frameBytes = frame.length;
    const common = {
      masks: MIGRANTS,
      genome_bits: GENOME_BITS,
      frame_bytes: frameBytes,
      transport: "WebSocket on 127.0.0.1, HMAC-authenticated and GMAC-tagged Link, msgpack codec",
      processes: 1,
    };
    out.figure({
      figure: "latency",
      ...common,
      p50_ms: round(quantile(latencies, 0.5), 3),
      p99_ms: round(quantile(latencies, 0.99), 3),
      max_ms: round(latencies[latencies.length - 1], 3),
      mean_ms: round(latencies.reduce((s, x) => s + x, 0) / latencies.length, 3),
      samples,
      warmup,
      handshake_ms: round(handshakeMs, 2),
      method: "one batch at a time, nearest-rank quantiles",
    });

    // ---- throughput: IN_FLIGHT batches always on their way ----
    out.log(`throughput: ${windows} windows of ${windowMs / 1000} s, ${IN_FLIGHT} batches in flight`);
    const receipts: number[] = [];
    let pumping = true;
    let wakeWindow: () => void = () => {};
    onBatch = (t) => {
      receipts.push(t);
      if (pumping) send();
      wakeWindow();
    };
    for (let k = 0; k < IN_FLIGHT; k++) send();
    const rates: number[] = [];
    for (let w = 0; w < windows + 1; w++) {
      // window 0 is a warm-up; each window ends at the first receipt after its deadline
      const start = performance.now();
      const from = receipts.length;
      await withTimeout(
        new Promise<void>((resolve) => {
          wakeWindow = () => {
            if (performance.now() - start >= windowMs) resolve();
          };
        }),
        "throughput window",
      );
      const batches = receipts.length - from;
      const seconds = (receipts[receipts.length - 1] - start) / 1000;
      if (w > 0) rates.push(batches / seconds);
    }
    pumping = false;
    const best = Math.max(...rates);
    out.figure({
      figure: "throughput",
      ...common,
      batches_per_s: round(best, 1),
      batches_per_s_median: round(median(rates), 1),
      masks_per_s: round(best * MIGRANTS, 0),
      mb_per_s: round((best * frameBytes) / 1e6, 1),
      in_flight: IN_FLIGHT,
      method: `best of ${windows} windows`,
      windows,
      window_s: windowMs / 1000,
    });
    if (counters.dropped > 0) throw new Error(`the sender dropped ${counters.dropped} migrants`);

    // ---- where the time goes: the codec alone, no sockets ----
    const codecWindows = { windows, windowMs: windowMs / 2, warmup: 3 };
    const encodeRate = measureSyncRate(() => encode(message), codecWindows);
    const ctx = { runId, genomeLength: GENOME_BITS, maxMigrants: MIGRANTS };
    const decodeRate = measureSyncRate(() => {
      if (!decode(frame, ctx).ok) throw new Error("the benchmark frame does not decode");
    }, codecWindows);
    const keys = sessionKeys(secret, runId, new Uint8Array(32));
    const signer = new FrameSigner(keys.clientToServer);
    const verifier = new FrameVerifier(keys.clientToServer);
    const room = encode(message, TAG_BYTES);
    // signed and checked in turn: the verifier expects the signer's next index
    const tagRate = measureSyncRate(() => {
      signer.sign(room);
      if (!verifier.verify(room).ok) throw new Error("the benchmark frame's tag does not verify");
    }, codecWindows);
    const hmacRate = measureSyncRate(
      () => createHmac("sha256", keys.clientToServer).update(frame).digest(),
      codecWindows,
    );
    out.figure({
      figure: "codec",
      ...common,
      encode_ms: round(1000 / encodeRate.best, 3),
      decode_ms: round(1000 / decodeRate.best, 3),
      tag_sign_and_check_ms: round(1000 / tagRate.best, 3),
      hmac_sha256_ms: round(1000 / hmacRate.best, 3),
      method: `best of ${windows} windows, one batch per call, in-process (no socket)`,
    });
  } finally {
    sender.stop();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

runMain("migration", main);
