// One authenticated WebSocket connection of the island cluster, for both ends: the side that
// connected (client) and the side that accepted (server). It runs the HMAC handshake of
// core/protocol/auth.ts, then tags every frame it sends and checks the tag of every frame it receives
// (one key per direction, fresh for the connection), numbers outgoing messages, and decodes every
// incoming frame with the protocol codec against this connection's state (run id, genome length,
// sender, last seq, accepted types).
// Anything refused closes this connection with closeFrameFor(...) and a record on the logger (where:
// side, remote, peer and its role; what: code, close code, reason); the process goes on. Shared by coordinator and island (they never import each other).
//
// A Link owns its socket's frames: after a frame is written, or decoded, a large one is freed at once
// (release below), so nothing else may listen for the socket's messages or keep a frame it sent.
import { randomBytes } from "node:crypto";
import type { WebSocket } from "ws";
import {
  authProof,
  type Bodies,
  checkProof,
  closeFrameFor,
  decode,
  encode,
  FrameSigner,
  FrameVerifier,
  failure,
  HANDSHAKE_TYPES,
  type HelloBody,
  type Message,
  type MessageType,
  makeMessage,
  NONCE_BYTES,
  type ProtocolCheck,
  type ProtocolFailure,
  R_AUTH_FAILED,
  R_BAD_MSGPACK,
  R_FRAME_TOO_LARGE,
  R_NOT_AUTHENTICATED,
  R_TIMEOUT,
  R_UNEXPECTED_TYPE,
  type Role,
  SequenceCounter,
  sessionKeys,
  TAG_BYTES,
  Transcript,
} from "../core/protocol/index.ts";
import { type Logger, RateLimited, stderrLogger } from "./log.ts";
import { AUTHENTICATED } from "./server.ts";

/**
 * The largest frame accepted before the other side has authenticated: hello, challenge, auth and error
 * are a few hundred bytes (an error's reason at most 4 KiB), so a stranger gets no more than this
 * whatever the connection's limit after authentication (megabytes: migrants, checkpoints). A server's
 * WsServer also bounds the bytes of a pending socket, since ws buffers a frame whole before the Link
 * sees it.
 */
export const PRE_AUTH_FRAME_BYTES = 16 << 10;

/** The WebSocket `maxPayload` for messages of at most `frameBytes`: room for the tag after them. */
export function maxPayloadFor(frameBytes: number): number {
  return frameBytes + TAG_BYTES;
}

export interface LinkSelf {
  readonly runId: string;
  /** the run's secret (never logged, never sent) */
  readonly secret: string;
  /** this side's envelope `from`, e.g. "coordinator" or "island-3" */
  readonly name: string;
  readonly role: Role;
  readonly island: number | null;
  readonly host: string;
  readonly pid: number;
  readonly listen: string | null;
}

/** What this side accepts; mutable so an island can learn its genome length from its assignment. */
export interface LinkLimits {
  genomeLength: number | null;
  maxMigrants: number;
  /** bytes a snapshot may add to a frame (codec DecodeContext.maxSnapshotBytes; default 0) */
  maxSnapshotBytes?: number;
}

export interface LinkOptions {
  readonly self: LinkSelf;
  readonly limits: LinkLimits;
  /** the role the other side must claim ("island" at the coordinator, "peer" between islands, ...) */
  readonly peerRole: Role;
  /**
   * client side: the name the answering side must prove (e.g. "island-4" for a connection to island 4's
   * peer server), so that a connection relayed to another member of the run fails instead of delivering
   */
  readonly expectedPeer?: string;
  /** message types accepted once authenticated */
  readonly accept: readonly MessageType[];
  /** handshake deadline (default 10 s) */
  readonly handshakeMs?: number;
  /** where refusals and socket errors are logged (default: stderr) */
  readonly logger?: Logger;
  /** where the other side is, for records (`remote`), e.g. its address */
  readonly label?: string;
  /** do not log socket errors before the connection is open (a caller that retries, e.g. peer senders) */
  readonly quietConnectErrors?: boolean;
}

export type LinkState = "handshake" | "open" | "closed";

export interface SendOptions {
  /** the sender's epoch, written into the envelope (default 0: coordinators, handshakes) */
  readonly epoch?: number;
  /** called once the frame is written to the socket (or dropped with it) */
  readonly onWritten?: (err?: Error) => void;
}

/** Frames below this size are left to the garbage collector. */
const RELEASE_BYTES = 1 << 16;

/**
 * Frees a large frame's memory now instead of at a later major garbage collection, by detaching its
 * ArrayBuffer; the caller guarantees that nothing uses the buffer any more. V8 starts a major
 * collection each time some tens of MB of ArrayBuffer memory have been allocated since the last one,
 * and a batch of migrants is about 0.8 MB per copy of its frame: freeing the sent and the received
 * frame at once makes those collections (and the slow batches around them) about a quarter rarer.
 */
function release(frame: Uint8Array): void {
  if (frame.byteLength < RELEASE_BYTES) return;
  const buffer = frame.buffer as ArrayBuffer;
  try {
    if (!buffer.detached) buffer.transfer(0);
  } catch {
    // not detachable (e.g. owned by the runtime): the garbage collector frees it as before
  }
}

/** Per logger: records of connections refused before authentication, rate-limited (RateLimited). */
const strangerRecords = new WeakMap<Logger, RateLimited<{ fields: Record<string, unknown>; msg: string }>>();

/**
 * Logs a record about a connection that has not authenticated: a stranger can open thousands, so these
 * are rate-limited per logger (a few a second, then one with the count of the rest).
 */
function logStranger(logger: Logger, fields: Record<string, unknown>, msg: string): void {
  let limited = strangerRecords.get(logger);
  if (limited === undefined) {
    limited = new RateLimited((r, count) =>
      logger.warn(count > 1 ? { ...r.fields, count } : r.fields, r.msg),
    );
    strangerRecords.set(logger, limited);
  }
  limited.add({ fields, msg });
}

export class Link {
  readonly ws: WebSocket;
  readonly side: "client" | "server";
  state: LinkState = "handshake";
  /** the other side's `from`, once it is known */
  peerName: string | null = null;
  /** the other side's hello (server side only) */
  peerHello: HelloBody | null = null;
  /** called for every accepted message after the handshake */
  onMessage: (m: Message) => void = () => {};
  /** called once when the connection closes (code and reason of the close frame) */
  onClose: (code: number, reason: string) => void = () => {};
  /** resolves when authenticated; rejects with the reason if the connection closes before */
  readonly ready: Promise<void>;

  readonly #o: LinkOptions;
  readonly #seq = new SequenceCounter();
  #lastSeq: number | undefined;
  #myNonce: Uint8Array | null = null;
  /** the handshake frames so far, which the proofs and the frame keys are bound to */
  readonly #transcript = new Transcript();
  /** once open: tags what this side sends, checks the tags of what it receives */
  #tags: { readonly signer: FrameSigner; readonly verifier: FrameVerifier } | null = null;
  #timer: NodeJS.Timeout | null;
  #resolveReady: () => void = () => {};
  #rejectReady: (e: Error) => void = () => {};
  #closedBy: string | null = null;

  constructor(ws: WebSocket, side: "client" | "server", options: LinkOptions) {
    this.ws = ws;
    this.side = side;
    this.#o = options;
    this.ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // callers that never await it must not see an unhandled rejection
    this.#timer = setTimeout(
      () => this.fail(failure(R_TIMEOUT, "no complete handshake in time")),
      options.handshakeMs ?? 10_000,
    );
    ws.on("message", (data, isBinary) => this.#receive(data, isBinary));
    ws.on("close", (code, reason) => this.#closed(code, reason.toString("utf8")));
    ws.on("error", (e) => {
      if (this.state === "open") this.#logger.warn({ ...this.#where(), reason: e.message }, "socket error");
      else if (!(options.quietConnectErrors && this.state === "handshake"))
        logStranger(this.#logger, { ...this.#where(), reason: e.message }, "socket error");
    });
    if (side === "client") {
      if (ws.readyState === ws.OPEN) this.#sendHello();
      else ws.once("open", () => this.#sendHello());
    }
  }

  /** Sends one message; false when the connection is not open (the message is dropped). */
  send<T extends MessageType>(type: T, body: Bodies[T], options: SendOptions = {}): boolean {
    if (this.ws.readyState !== this.ws.OPEN || this.state === "closed") return false;
    // before the handshake ends only its own messages go out: anything else would join the transcript
    // untagged, and the other side would refuse it
    if (this.state === "handshake" && !HANDSHAKE_TYPES.includes(type)) return false;
    const header = {
      runId: this.#o.self.runId,
      from: this.#o.self.name,
      epoch: options.epoch ?? 0,
      seq: this.#seq.next(),
    };
    const frame = this.#seal(makeMessage(type, header, body) as Message);
    this.ws.send(frame, { binary: true }, (err) => {
      release(frame); // written to the socket (or dropped with it): ws and node are done with it
      options.onWritten?.(err);
    });
    return true;
  }

  /** Closes this connection for a refusal: close code and reason from the protocol table, one record. */
  fail(f: ProtocolFailure): void {
    if (this.state === "closed") return;
    const frame = closeFrameFor(f);
    const fields = { ...this.#where(), code: f.code, close: frame.code, reason: f.reason };
    if (this.state === "open") this.#logger.warn(fields, "connection refused");
    else logStranger(this.#logger, fields, "connection refused");
    this.#closedBy = `${f.code}: ${f.reason}`;
    this.#finish();
    this.ws.close(frame.code, frame.reason);
  }

  /** A normal close (1000). */
  close(reason = "done"): void {
    if (this.state === "closed") return;
    this.#closedBy = reason;
    this.#finish();
    this.ws.close(1000, reason);
  }

  /** Once open, the message's frame with its tag; before, its frame, which joins the transcript. */
  #seal(message: Message): Uint8Array {
    if (this.#tags === null) {
      const frame = encode(message);
      this.#transcript.add(frame);
      return frame;
    }
    const frame = encode(message, TAG_BYTES);
    this.#tags.signer.sign(frame);
    return frame;
  }

  get #logger(): Logger {
    return this.#o.logger ?? stderrLogger();
  }

  /** Which connection a record is about: this side's role in it, and who and where the other side is. */
  #where(): Record<string, unknown> {
    return {
      side: this.side,
      remote: this.#o.label ?? null,
      peer: this.peerName,
      peerRole: this.#o.peerRole,
      authenticated: this.state === "open",
    };
  }

  #finish(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const wasOpen = this.state === "open";
    this.state = "closed";
    if (!wasOpen) this.#rejectReady(new Error(this.#closedBy ?? "closed during the handshake"));
  }

  #closed(code: number, reason: string): void {
    if (this.state !== "closed") {
      this.#closedBy = `closed by the other side (${code}${reason ? ` ${reason}` : ""})`;
      this.#finish();
    }
    this.onClose(code, reason);
  }

  #sendHello(): void {
    this.#myNonce = new Uint8Array(randomBytes(NONCE_BYTES));
    const s = this.#o.self;
    this.send("hello", {
      role: s.role,
      island: s.island,
      host: s.host,
      pid: s.pid,
      listen: s.listen,
      nonce: this.#myNonce,
    });
  }

  #receive(data: unknown, isBinary: boolean): void {
    if (this.state === "closed") return;
    if (!isBinary || !(data instanceof Uint8Array)) {
      this.fail(failure(R_BAD_MSGPACK, "frames must be binary msgpack, got a text frame"));
      return;
    }
    const open = this.state === "open";
    let frame: Uint8Array = data;
    if (this.#tags !== null) {
      const untagged = this.#tags.verifier.verify(data);
      if (!untagged.ok) {
        this.fail(untagged);
        return;
      }
      frame = untagged.frame;
    }
    if (!open && data.byteLength > PRE_AUTH_FRAME_BYTES) {
      this.fail(
        failure(
          R_FRAME_TOO_LARGE,
          `a ${data.byteLength}-byte frame before authentication (at most ${PRE_AUTH_FRAME_BYTES})`,
        ),
      );
      return;
    }
    const r = decode(frame, {
      runId: this.#o.self.runId,
      genomeLength: this.#o.limits.genomeLength,
      maxMigrants: this.#o.limits.maxMigrants,
      // snapshot room only once the peer has authenticated: before that, every frame is held to the
      // plain limit (and refused unread beyond it)
      maxSnapshotBytes: open ? (this.#o.limits.maxSnapshotBytes ?? 0) : 0,
      ...(this.peerName !== null ? { expectedFrom: this.peerName } : {}),
      ...(this.#lastSeq !== undefined ? { lastSeq: this.#lastSeq } : {}),
    });
    // decode copied out everything the message keeps, and ws is done with the frame once it has
    // emitted it: a frame that fills a buffer of its own (not a slice of a socket read that holds more)
    // is used by nobody else (a Link is the only listener on its socket). Handshake frames, which join
    // the transcript after this, are below PRE_AUTH_FRAME_BYTES < RELEASE_BYTES, so never released here.
    if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) release(data);
    if (!r.ok) {
      this.fail(r);
      return;
    }
    const m = r.message;
    const expected: readonly MessageType[] = open
      ? this.#o.accept
      : this.side === "server"
        ? this.peerHello === null
          ? ["hello"]
          : ["auth"]
        : ["challenge", "error"];
    if (!expected.includes(m.type)) {
      const code = !open && !HANDSHAKE_TYPES.includes(m.type) ? R_NOT_AUTHENTICATED : R_UNEXPECTED_TYPE;
      this.fail(failure(code, `a ${m.type} message is not accepted here (expected ${expected.join(", ")})`));
      return;
    }
    this.#lastSeq = m.seq;
    if (open) {
      this.onMessage(m);
      return;
    }
    this.#handshake(m, frame);
  }

  /** One handshake message; `frame` is its bytes, added to the transcript once its proof (if any) is checked. */
  #handshake(m: Message, frame: Uint8Array): void {
    if (m.type === "error") {
      this.fail(failure(R_AUTH_FAILED, `the other side refused: ${m.body.code}: ${m.body.reason}`));
    } else if (m.type === "hello") {
      this.#onHello(m.from, m.body, frame);
    } else if (m.type === "auth" && this.peerHello !== null && this.#myNonce !== null) {
      this.#onAuth(m.from, m.body.proof, this.peerHello, this.#myNonce, frame);
    } else if (m.type === "challenge" && this.#myNonce !== null) {
      this.#onChallenge(m.from, m.body, this.#myNonce, frame);
    } else {
      this.fail(failure(R_UNEXPECTED_TYPE, `a ${m.type} message is out of order in the handshake`));
    }
  }

  /** Server: a hello. Answers with a challenge that proves the secret over the hello. */
  #onHello(from: string, hello: HelloBody, frame: Uint8Array): void {
    if (hello.role !== this.#o.peerRole) {
      this.fail(failure(R_AUTH_FAILED, `role ${hello.role} is not accepted here (${this.#o.peerRole} only)`));
      return;
    }
    this.peerName = from;
    this.peerHello = hello;
    this.#transcript.add(frame);
    this.#myNonce = new Uint8Array(randomBytes(NONCE_BYTES));
    const proof = this.#proof(hello.nonce, this.#myNonce);
    this.send("challenge", { role: this.#o.self.role, nonce: this.#myNonce, proof });
  }

  /** Client: the server's challenge. Checks its proof, answers with an auth, and the connection is open. */
  #onChallenge(from: string, challenge: Bodies["challenge"], myNonce: Uint8Array, frame: Uint8Array): void {
    if (challenge.role !== this.#o.peerRole) {
      this.fail(
        failure(R_AUTH_FAILED, `expected a ${this.#o.peerRole}, the other side is a ${challenge.role}`),
      );
      return;
    }
    const check = this.#checkProof(challenge.role, from, myNonce, challenge.nonce, challenge.proof);
    if (!check.ok) {
      this.fail(check);
      return;
    }
    const expected = this.#o.expectedPeer;
    if (expected !== undefined && from !== expected) {
      this.fail(failure(R_AUTH_FAILED, `expected ${expected}, the other side is ${from}`));
      return;
    }
    this.peerName = from;
    this.#transcript.add(frame);
    this.send("auth", { proof: this.#proof(challenge.nonce, myNonce) });
    this.#open();
  }

  /** Server: the client's auth. Checks its proof, and the connection is open. */
  #onAuth(from: string, proof: Uint8Array, hello: HelloBody, myNonce: Uint8Array, frame: Uint8Array): void {
    const check = this.#checkProof(hello.role, from, myNonce, hello.nonce, proof);
    if (!check.ok) {
      this.fail(check);
      return;
    }
    this.#transcript.add(frame);
    this.#open();
  }

  /** The other side's proof (it is `role`, named `from`) over both nonces and the handshake so far. */
  #checkProof(
    role: Role,
    from: string,
    myNonce: Uint8Array,
    theirNonce: Uint8Array,
    proof: Uint8Array,
  ): ProtocolCheck {
    const s = this.#o.self;
    const transcript = this.#transcript.digest();
    // in the prover's terms: the nonce it was sent (this side's) and its own
    const input = { runId: s.runId, role, from, theirNonce: myNonce, myNonce: theirNonce, transcript };
    return checkProof(s.secret, input, proof);
  }

  /** This side's proof over the nonces and the handshake so far. */
  #proof(theirNonce: Uint8Array, myNonce: Uint8Array): Uint8Array {
    const s = this.#o.self;
    return authProof(s.secret, {
      runId: s.runId,
      role: s.role,
      from: s.name,
      theirNonce,
      myNonce,
      transcript: this.#transcript.digest(),
    });
  }

  #open(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const s = this.#o.self;
    const keys = sessionKeys(s.secret, s.runId, this.#transcript.digest());
    const [send, receive] =
      this.side === "client"
        ? [keys.clientToServer, keys.serverToClient]
        : [keys.serverToClient, keys.clientToServer];
    this.#tags = { signer: new FrameSigner(send), verifier: new FrameVerifier(receive) };
    this.state = "open";
    // the server's admission (io/server.ts) stops counting this connection as a stranger's
    this.ws.emit(AUTHENTICATED);
    this.#resolveReady();
  }
}
