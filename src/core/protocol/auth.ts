// The handshake that opens every connection, coordinator↔island and island↔island, and the integrity
// of every frame after it. Each side proves it knows the run's secret without sending it, bound to the
// other side's fresh nonce and to every handshake frame so far, so that a proof can be neither replayed
// on another connection, nor reflected back, nor kept while a frame of the handshake is altered:
//
//   A → B  hello      {role: rA, nonce: nA, ...}                 (A connected to B)
//   B → A  challenge  {role: rB, nonce: nB, proof: authProof(s, {runId, role: rB, from: B, theirNonce: nA, myNonce: nB, transcript: H(hello)})}
//   A      checkProof of B's proof; on failure close with R_AUTH_FAILED
//   A → B  auth       {proof: authProof(s, {runId, role: rA, from: A, theirNonce: nB, myNonce: nA, transcript: H(hello, challenge)})}
//   B      checkProof of A's proof; on failure close with R_AUTH_FAILED; else the connection is open
//
// proof = HMAC-SHA256(secret, `${runId}|${role}|${from}|${hex(theirNonce)}|${hex(myNonce)}|${hex(transcript)}`);
// runId and from cannot contain "|" (decode refuses them), so the text is unambiguous. H is SHA-256 over
// the handshake frames as sent, each preceded by its length (Transcript). Nonces are NONCE_BYTES random
// bytes drawn by the caller (core has no entropy source). Before auth, a connection accepts only
// HANDSHAKE_TYPES; anything else closes it with R_NOT_AUTHENTICATED.
//
// After the handshake every frame is `msgpack || tag`, a 16-byte GMAC (AES-256-GCM authentication only)
// of the frame under one key per direction (sessionKeys: derived from the secret and H(hello, challenge,
// auth), so fresh for every connection), with the frame's index in its direction as the nonce
// (FrameSigner, FrameVerifier). A frame altered, injected, dropped, replayed or reordered on the way,
// sent back to its sender or carried over from another connection fails its tag (R_BAD_TAG). Frames are
// signed, not encrypted: confidentiality is TLS's (wss://).
import { createCipheriv, createHash, createHmac, type Hash, timingSafeEqual } from "node:crypto";
import { E_PROTOCOL, SltError } from "../errors.ts";
import { NONCE_BYTES, PROOF_BYTES, type Role } from "./messages.ts";
import { failure, type ProtocolCheck, type ProtocolFailure, R_AUTH_FAILED, R_BAD_TAG } from "./reasons.ts";

export interface ProofInput {
  readonly runId: string;
  /** the prover's role */
  readonly role: Role;
  /** the prover's envelope `from` */
  readonly from: string;
  /** the nonce the verifier sent */
  readonly theirNonce: Uint8Array;
  /** the nonce the prover sent */
  readonly myNonce: Uint8Array;
  /** Transcript.digest() of the handshake frames before the one that carries this proof */
  readonly transcript: Uint8Array;
}

function secretBytes(secret: string | Uint8Array): Uint8Array {
  const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : secret;
  if (bytes.length === 0) throw new SltError(E_PROTOCOL, "the run secret is empty");
  return bytes;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The text a proof signs (exported for tests and documentation). */
export function proofText(p: ProofInput): string {
  return `${p.runId}|${p.role}|${p.from}|${hex(p.theirNonce)}|${hex(p.myNonce)}|${hex(p.transcript)}`;
}

/** HMAC-SHA256(secret, proofText(p)): PROOF_BYTES bytes. Throws SltError(E_PROTOCOL) for an empty secret. */
export function authProof(secret: string | Uint8Array, p: ProofInput): Uint8Array {
  return new Uint8Array(createHmac("sha256", secretBytes(secret)).update(proofText(p), "utf8").digest());
}

/**
 * Checks a peer's proof in constant time. A missing proof, one of the wrong length, nonces of the
 * wrong length, or two equal nonces (a reflected hello) all fail with R_AUTH_FAILED; never throws on
 * peer input (only on an empty local secret).
 */
export function checkProof(
  secret: string | Uint8Array,
  p: ProofInput,
  proof: Uint8Array | undefined,
): ProtocolCheck {
  const key = secretBytes(secret);
  if (!(proof instanceof Uint8Array) || proof.length !== PROOF_BYTES) {
    return failure(R_AUTH_FAILED, `no proof of ${PROOF_BYTES} bytes from ${p.from}`);
  }
  if (p.theirNonce.length !== NONCE_BYTES || p.myNonce.length !== NONCE_BYTES) {
    return failure(R_AUTH_FAILED, `handshake nonces must be ${NONCE_BYTES} bytes`);
  }
  if (Buffer.from(p.theirNonce).equals(Buffer.from(p.myNonce))) {
    return failure(R_AUTH_FAILED, "both handshake nonces are equal");
  }
  const expected = authProof(key, p);
  if (!timingSafeEqual(expected, proof)) return failure(R_AUTH_FAILED, `wrong proof from ${p.from}`);
  return { ok: true };
}

/**
 * The running SHA-256 of a connection's handshake frames, exactly as they were sent, each preceded by
 * its length as 4 big-endian bytes (frames are delimited by WebSocket, the length keeps them so here).
 */
export class Transcript {
  readonly #hash: Hash = createHash("sha256");

  add(frame: Uint8Array): void {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, frame.byteLength);
    this.#hash.update(length).update(frame);
  }

  /** The digest of the frames added so far; more may be added after. */
  digest(): Uint8Array {
    return new Uint8Array(this.#hash.copy().digest());
  }
}

/** Frame tags: AES-256-GCM's 16-byte authentication tag (GMAC). */
export const TAG_BYTES = 16;

/** The two frame keys of one connection, named from the side that connected (client) and the one that accepted. */
export interface SessionKeys {
  readonly clientToServer: Uint8Array;
  readonly serverToClient: Uint8Array;
}

/** Frame keys from the secret, the run and the digest of the whole handshake (hello, challenge, auth). */
export function sessionKeys(secret: string | Uint8Array, runId: string, transcript: Uint8Array): SessionKeys {
  const key = (direction: string) =>
    new Uint8Array(
      createHmac("sha256", secretBytes(secret))
        .update(`frames|${runId}|${direction}|${hex(transcript)}`, "utf8")
        .digest(),
    );
  return { clientToServer: key("client-to-server"), serverToClient: key("server-to-client") };
}

/**
 * The tag of the `index`th frame sent with `key`: AES-256-GCM with nothing to encrypt and the frame as
 * associated data (GMAC), the frame's index as the nonce. GMAC rather than HMAC-SHA256 for speed: a batch
 * of migrants is about 0.8 MB, and HMAC-SHA256 costs about 0.45 ms a frame on each side where GMAC costs
 * 0.04 ms (AES-NI; docs/performance.md). A nonce must never repeat under one key: keys are fresh for every
 * connection and direction, and the index counts up within it.
 */
function gmac(key: Uint8Array, index: bigint, frame: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, index);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(frame);
  cipher.final();
  return cipher.getAuthTag();
}

/** One direction's sending side: tags frames in the order they are sent. */
export class FrameSigner {
  readonly #key: Uint8Array;
  #index = 0n;

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  /** Writes the tag of `room`'s frame into its last TAG_BYTES bytes (encode's `room` for the tag). */
  sign(room: Uint8Array): void {
    const frame = room.subarray(0, room.byteLength - TAG_BYTES);
    room.set(gmac(this.#key, this.#index++, frame), frame.byteLength);
  }
}

/**
 * One direction's receiving side: checks each frame's tag against the next index, so a frame altered,
 * injected, dropped, replayed or reordered on the way, sent back to its sender or carried over from
 * another connection fails; every later frame fails too (the connection is closed at the first).
 */
export class FrameVerifier {
  readonly #key: Uint8Array;
  #index = 0n;

  constructor(key: Uint8Array) {
    this.#key = key;
  }

  /** The frame without its tag (a view, no copy), or R_BAD_TAG. Never throws on peer input. */
  verify(tagged: Uint8Array): { readonly ok: true; readonly frame: Uint8Array } | ProtocolFailure {
    if (tagged.byteLength < TAG_BYTES) {
      return failure(R_BAD_TAG, `a ${tagged.byteLength}-byte frame has no ${TAG_BYTES}-byte tag`);
    }
    const frame = tagged.subarray(0, tagged.byteLength - TAG_BYTES);
    const expected = gmac(this.#key, this.#index, frame);
    if (!timingSafeEqual(expected, tagged.subarray(frame.byteLength))) {
      return failure(
        R_BAD_TAG,
        `frame ${this.#index}'s tag is wrong (altered, injected, replayed or misdirected)`,
      );
    }
    this.#index++;
    return { ok: true, frame };
  }
}
