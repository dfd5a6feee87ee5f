// Outbound peer links: one sender per out-neighbour. Emigrant batches go into a small bounded queue
// (the oldest batch is dropped and its migrants counted when it is full) and are written when the link
// is open and the socket is not backed up; a closed link reconnects with exponential backoff. Nothing
// here ever waits on the network, so a slow or dead neighbour never holds up evolution.
import { type ClientOptions, WebSocket } from "ws";
import { type Migrant, maxFrameBytes, type OutNeighbour } from "../core/protocol/index.ts";
import { Link, type LinkLimits, type LinkSelf, maxPayloadFor } from "../io/link.ts";
import type { Logger } from "../io/log.ts";
import { type TlsTrust, tlsClientOptions } from "../io/tls.ts";

export interface SenderCounters {
  /** migrants written to a neighbour's socket */
  sent: number;
  /** migrants dropped from full queues or still queued at shutdown */
  dropped: number;
}

interface Batch {
  readonly epoch: number;
  readonly migrants: readonly Migrant[];
}

/** Queued batches per neighbour before the oldest is dropped. */
export const QUEUE_BATCHES = 4;
/** Bytes buffered in a socket above which the sender keeps batches queued instead of writing them. */
export const BACKLOG_BYTES = 1 << 20;
const BACKOFF_MS = [50, 100, 200, 400, 800, 1600, 3200, 5000];

/**
 * The WebSocket masking key of every frame this sender writes: all zeros, which ws takes as "skip
 * masking" (the receiver skips unmasking too). Without it, ws XORs every byte of each ~800 kB frame into
 * a fresh copy in a JavaScript loop (no native bufferutil here), and the receiver XORs it back. Masking
 * protects HTTP intermediaries from bytes chosen by scripts in browsers (RFC 6455 §10.3); it adds nothing
 * between two islands, whose connection is authenticated by the HMAC handshake and whose every frame is
 * checked by the codec. The frames stay well-formed (the mask bit is set, the key is just zero), and the
 * receiving ws accepts them as any other.
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export class PeerSender {
  readonly target: OutNeighbour;
  #self: LinkSelf;
  #limits: LinkLimits;
  #counters: SenderCounters;
  #logger: Logger;
  #queue: Batch[] = [];
  #link: Link | null = null;
  #attempt = 0;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #lossless: boolean;
  #tls: TlsTrust | null;
  #onSent: (count: number) => void;

  constructor(
    target: OutNeighbour,
    self: LinkSelf,
    limits: LinkLimits,
    counters: SenderCounters,
    logger: Logger,
    options: { lossless?: boolean; tls?: TlsTrust | null; onSent?: (count: number) => void } = {},
  ) {
    this.target = target;
    this.#onSent = options.onSent ?? (() => {});
    this.#lossless = options.lossless ?? false;
    this.#tls = options.tls ?? null;
    this.#self = self;
    this.#limits = limits;
    this.#counters = counters;
    this.#logger = logger;
    this.#connect();
  }

  /** Migrants queued for epochs up to `epoch`, not yet written to the link. */
  queuedUpTo(epoch: number): number {
    return this.#queue.reduce((n, b) => (b.epoch <= epoch ? n + b.migrants.length : n), 0);
  }

  /** Queues one batch (never blocks); drops the oldest batch when the queue is full. */
  enqueue(epoch: number, migrants: readonly Migrant[]): void {
    if (this.#stopped || migrants.length === 0) return;
    this.#queue.push({ epoch, migrants });
    // lockstep needs every batch; its barriers keep the queue short (a sender cannot run ahead of a
    // neighbour by more than the epochs between them)
    while (!this.#lossless && this.#queue.length > QUEUE_BATCHES) {
      const old = this.#queue.shift() as Batch;
      this.#counters.dropped += old.migrants.length;
    }
    this.#flush();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    for (const b of this.#queue) this.#counters.dropped += b.migrants.length;
    this.#queue = [];
    this.#link?.close("island stopping");
    if (this.#link && this.#link.ws.readyState === WebSocket.CONNECTING) this.#link.ws.terminate();
  }

  #flush(): void {
    const link = this.#link;
    if (link?.state !== "open") return;
    while (this.#queue.length > 0 && link.ws.bufferedAmount < BACKLOG_BYTES) {
      const b = this.#queue.shift() as Batch;
      if (link.send("migrants", { migrants: b.migrants }, { epoch: b.epoch })) {
        this.#counters.sent += b.migrants.length;
        this.#onSent(b.migrants.length);
      } else {
        this.#queue.unshift(b);
        return;
      }
    }
  }

  #connect(): void {
    if (this.#stopped) return;
    const maxPayload = maxPayloadFor(maxFrameBytes(this.#limits.genomeLength ?? 0, this.#limits.maxMigrants));
    let tls: ClientOptions;
    try {
      tls = tlsClientOptions(this.target.address, this.#tls);
    } catch (e) {
      // a plain address in a TLS run: never sent to in the clear (the coordinator refuses such islands)
      this.#logger.error(
        { island: this.target.island, reason: (e as Error).message },
        "neighbour not contacted",
      );
      this.stop();
      return;
    }
    const ws = new WebSocket(this.target.address, {
      maxPayload,
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
      generateMask: zeroMask,
      ...tls,
    });
    ws.on("error", () => {}); // reported through close; connection refusals are routine while peers start
    const link = new Link(ws, "client", {
      self: this.#self,
      limits: this.#limits,
      peerRole: "peer",
      expectedPeer: `island-${this.target.island}`,
      accept: ["heartbeat"],
      logger: this.#logger,
      label: `island ${this.target.island} at ${this.target.address}`,
      quietConnectErrors: true,
    });
    this.#link = link;
    link.ready.then(
      () => {
        this.#attempt = 0;
        this.#flush();
      },
      () => {},
    );
    link.onClose = () => {
      if (this.#link === link) this.#link = null;
      this.#retry();
    };
    // a socket that never opened emits close too (after error), so onClose covers refusals
  }

  #retry(): void {
    if (this.#stopped || this.#timer) return;
    const delay = BACKOFF_MS[Math.min(this.#attempt, BACKOFF_MS.length - 1)];
    this.#attempt++;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#connect();
    }, delay);
  }
}

/**
 * The senders of one island, one per out-neighbour, kept in step with its assignment: wire() stops the
 * senders of edges that are gone and starts one for each new or changed edge (calling `onNew`, e.g. for
 * a lockstep resend after a repair).
 */
export class PeerSenders {
  readonly #senders = new Map<number, PeerSender>();
  readonly #make: (target: OutNeighbour) => PeerSender;
  readonly #counters: SenderCounters;

  constructor(make: (target: OutNeighbour) => PeerSender, counters: SenderCounters) {
    this.#make = make;
    this.#counters = counters;
  }

  wire(outs: readonly OutNeighbour[], onNew: (target: OutNeighbour) => void = () => {}): void {
    const keep = new Set(outs.map((n) => n.island));
    for (const [id, s] of this.#senders) {
      if (!keep.has(id)) {
        s.stop();
        this.#senders.delete(id);
      }
    }
    for (const n of outs) {
      const old = this.#senders.get(n.island);
      if (old && old.target.address === n.address && old.target.weight === n.weight) continue;
      old?.stop();
      this.#senders.set(n.island, this.#make(n));
      onNew(n);
    }
  }

  /** Queues a batch for `neighbour`; one for a neighbour no longer wired is counted as dropped. */
  enqueue(neighbour: number, epoch: number, migrants: readonly Migrant[]): void {
    const sender = this.#senders.get(neighbour);
    if (sender) sender.enqueue(epoch, migrants);
    else this.#counters.dropped += migrants.length;
  }

  /** Migrants queued for epochs up to `epoch` over every out-edge, not yet written. */
  queuedUpTo(epoch: number): number {
    let n = 0;
    for (const s of this.#senders.values()) n += s.queuedUpTo(epoch);
    return n;
  }

  stop(): void {
    for (const s of this.#senders.values()) s.stop();
    this.#senders.clear();
  }
}
