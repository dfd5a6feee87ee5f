import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket, WebSocketServer } from "ws";
import { masksEqual, randomMask } from "../../src/core/mask.ts";
import {
  decode,
  type Message,
  type Migrant,
  maxFrameBytes,
  TAG_BYTES,
} from "../../src/core/protocol/index.ts";
import { Rng } from "../../src/core/rng.ts";
import { Link, type LinkSelf, maxPayloadFor } from "../../src/io/link.ts";
import { silentLogger } from "../../src/io/log.ts";
import { PeerSender, PeerSenders } from "../../src/island/peers.ts";
import { migrantOf } from "../core/protocol/fixtures.ts";

const GENOME = 20_000;
const secret = randomBytes(16).toString("hex");
const self = (island: number): LinkSelf => ({
  runId: "peers-test",
  secret,
  name: `island-${island}`,
  role: "peer",
  island,
  host: "localhost",
  pid: process.pid,
  listen: null,
});

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A receiving island's peer server on 127.0.0.1 with one server Link; chunks: raw bytes once `capture` is on. */
async function receiver(maxMigrants: number, genomeLength = GENOME) {
  const limits = { genomeLength, maxMigrants };
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    maxPayload: maxPayloadFor(maxFrameBytes(genomeLength, maxMigrants)),
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  const state = { capture: false, chunks: [] as Buffer[], messages: [] as Message[] };
  // resolved by the Link's messages themselves: no polling
  const waiting: { count: number; resolve: () => void }[] = [];
  const received = (count: number): Promise<Message[]> =>
    new Promise((resolve) => {
      const done = () => resolve(state.messages);
      if (state.messages.length >= count) done();
      else waiting.push({ count, resolve: done });
    });
  const link = new Promise<Link>((resolve) => {
    wss.once("connection", (ws: WebSocket) => {
      const socket = (ws as unknown as { _socket: NodeJS.EventEmitter })._socket;
      socket.prependListener("data", (chunk: Buffer) => {
        if (state.capture) state.chunks.push(Buffer.from(chunk));
      });
      const l = new Link(ws, "server", {
        self: self(1),
        limits,
        peerRole: "peer",
        accept: ["migrants", "heartbeat"],
        logger: silentLogger(),
      });
      l.onMessage = (m) => {
        state.messages.push(m);
        for (const w of waiting.filter((x) => state.messages.length >= x.count)) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve();
        }
      };
      resolve(l);
    });
  });
  const port = (wss.address() as { port: number }).port;
  return { port, limits, link, state, received };
}

/** Island 0's sender to the receiver `r` (as island 1), stopped after the test. */
function senderTo(
  r: Awaited<ReturnType<typeof receiver>>,
  counters: { sent: number; dropped: number },
  options: { lossless?: boolean } = {},
): PeerSender {
  const sender = new PeerSender(
    { island: 1, address: `ws://127.0.0.1:${r.port}`, weight: 1 },
    self(0),
    r.limits,
    counters,
    silentLogger(),
    options,
  );
  cleanup.push(() => sender.stop());
  return sender;
}

describe("PeerSender → peer server Link", () => {
  it("delivers a batch intact, in frames with a zero masking key (ws skips the XOR both ways)", async () => {
    const rng = Rng.derive(4, "peers-test");
    const migrants: Migrant[] = Array.from({ length: 6 }, () => migrantOf(randomMask(GENOME, rng)));
    const r = await receiver(migrants.length);
    const counters = { sent: 0, dropped: 0 };
    const sender = senderTo(r, counters);
    const link = await r.link;
    await link.ready;
    r.state.capture = true;
    sender.enqueue(3, migrants);
    await r.received(1);

    const m = r.state.messages[0];
    if (m.type !== "migrants") throw new Error(`expected migrants, got ${m.type}`);
    expect(m.from).toBe("island-0");
    expect(m.epoch).toBe(3);
    expect(m.body.migrants).toHaveLength(migrants.length);
    for (const [i, got] of m.body.migrants.entries()) {
      expect(masksEqual(got.mask, migrants[i].mask)).toBe(true);
      expect(got.hash).toBe(migrants[i].hash);
    }
    expect(counters).toEqual({ sent: migrants.length, dropped: 0 });

    // the frame on the wire: FIN + binary, the mask bit set, a 16-bit length (the batch is 15 kB), a
    // zero key, then the msgpack map in the clear and its tag (core/protocol/auth.ts)
    const raw = Buffer.concat(r.state.chunks);
    expect(raw[0]).toBe(0x82);
    expect(raw[1]).toBe(0x80 | 126);
    expect(raw.length).toBe(8 + raw.readUInt16BE(2));
    expect([...raw.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    const untagged = raw.subarray(8, raw.length - TAG_BYTES);
    const payload = decode(untagged, { runId: "peers-test", genomeLength: GENOME, maxMigrants: 6 });
    expect(payload.ok && payload.message).toEqual(m);
  });

  it("delivers large batches intact, one after another (their frames are freed once used)", async () => {
    const genome = 100_000;
    const rng = Rng.derive(5, "peers-test-large");
    const batches: Migrant[][] = Array.from({ length: 5 }, () =>
      Array.from({ length: 8 }, () => migrantOf(randomMask(genome, rng))),
    );
    const r = await receiver(8, genome);
    const counters = { sent: 0, dropped: 0 };
    const sender = senderTo(r, counters, { lossless: true });
    await (await r.link).ready;
    for (const [epoch, b] of batches.entries()) sender.enqueue(epoch + 1, b);
    await r.received(batches.length);

    for (const [k, m] of r.state.messages.entries()) {
      if (m.type !== "migrants") throw new Error(`expected migrants, got ${m.type}`);
      expect(m.epoch).toBe(k + 1);
      for (const [i, got] of m.body.migrants.entries()) {
        expect(masksEqual(got.mask, batches[k][i].mask)).toBe(true);
        expect(got.mask.words.length).toBe(Math.ceil(genome / 32));
      }
    }
    // the sender's own masks were copied into the frames, never freed with them
    for (const b of batches) for (const m of b) expect(m.mask.words.length).toBe(Math.ceil(genome / 32));
    expect(counters).toEqual({ sent: 40, dropped: 0 });
  });
});

describe("PeerSender queue", () => {
  it("counts what is queued up to an epoch and not yet written (a lockstep snapshot counts it as sent)", () => {
    const counters = { sent: 0, dropped: 0 };
    // nothing listens on port 1: the link never opens and the batches stay queued
    const sender = new PeerSender(
      { island: 1, address: "ws://127.0.0.1:1", weight: 1 },
      self(0),
      { genomeLength: GENOME, maxMigrants: 8 },
      counters,
      silentLogger(),
      { lossless: true },
    );
    cleanup.push(() => sender.stop());
    const rng = Rng.derive(6, "peers-test-queued");
    const some = (n: number) => Array.from({ length: n }, () => migrantOf(randomMask(GENOME, rng)));
    sender.enqueue(1, some(2));
    sender.enqueue(2, some(3));
    expect([sender.queuedUpTo(0), sender.queuedUpTo(1), sender.queuedUpTo(2)]).toEqual([0, 2, 5]);
    expect(counters).toEqual({ sent: 0, dropped: 0 });
  });
});

describe("PeerSenders", () => {
  it("counts a batch for a neighbour that is no longer wired as dropped", () => {
    const counters = { sent: 0, dropped: 0 };
    const senders = new PeerSenders(() => {
      throw new Error("no neighbour is wired in this test");
    }, counters);
    senders.wire([]);
    const rng = Rng.derive(5, "peers-test-dropped");
    senders.enqueue(4, 1, [migrantOf(randomMask(GENOME, rng)), migrantOf(randomMask(GENOME, rng))]);
    expect(counters).toEqual({ sent: 0, dropped: 2 });
  });
});
