// The handshake that opens every connection, coordinator↔island and island↔island. Each side proves it
// knows the run's secret without sending it, bound to the other side's fresh nonce so that a proof can
// be neither replayed on another connection nor reflected back:
//
//   A → B  hello      {role: rA, nonce: nA, ...}                 (A connected to B)
//   B → A  challenge  {role: rB, nonce: nB, proof: authProof(s, {runId, role: rB, from: B, theirNonce: nA, myNonce: nB})}
//   A      checkProof of B's proof; on failure close with R_AUTH_FAILED
//   A → B  auth       {proof: authProof(s, {runId, role: rA, from: A, theirNonce: nB, myNonce: nA})}
//   B      checkProof of A's proof; on failure close with R_AUTH_FAILED; else the connection is open
//
// proof = HMAC-SHA256(secret, `${runId}|${role}|${from}|${hex(theirNonce)}|${hex(myNonce)}`); runId and from
// cannot contain "|" (decode refuses them), so the text is unambiguous. Nonces are NONCE_BYTES random
// bytes drawn by the caller (core has no entropy source). Before auth, a connection accepts only
// HANDSHAKE_TYPES; anything else closes it with R_NOT_AUTHENTICATED.
import { createHmac, timingSafeEqual } from "node:crypto";
import { E_PROTOCOL, SltError } from "../errors.ts";
import { NONCE_BYTES, PROOF_BYTES, type Role } from "./messages.ts";
import { failure, type ProtocolCheck, R_AUTH_FAILED } from "./reasons.ts";

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
  return `${p.runId}|${p.role}|${p.from}|${hex(p.theirNonce)}|${hex(p.myNonce)}`;
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
