// Why a frame or a connection was refused. Every kind of malformed input has its own reason code (a
// stable string for logs and tests) and its own WebSocket close code in the private range 4000–4999,
// so the peer that is disconnected learns exactly what it did wrong from the close frame alone.

/** the HMAC proof in a challenge or auth message is missing, malformed or wrong */
export const R_AUTH_FAILED = "auth-failed";
/** the frame is not one complete msgpack value: truncated, invalid bytes or trailing bytes */
export const R_BAD_MSGPACK = "bad-msgpack";
/** the envelope's runId is not this run's */
export const R_WRONG_RUN = "wrong-run";
/** seq is not strictly greater than the last seq accepted on this connection (replayed or reordered) */
export const R_REPLAY = "replay";
/** the envelope's protocol version `v` is not one this build speaks */
export const R_BAD_VERSION = "bad-version";
/** the envelope's type is not a known message type */
export const R_UNKNOWN_TYPE = "unknown-type";
/** the frame decodes to something other than a msgpack map */
export const R_NOT_A_MAP = "not-a-map";
/** more migrants in one message than the receiver accepts */
export const R_TOO_MANY_MIGRANTS = "too-many-migrants";
/** the frame is longer than maxFrameBytes (checked before decoding) */
export const R_FRAME_TOO_LARGE = "frame-too-large";
/** a required field is absent (the reason names it) */
export const R_MISSING_FIELD = "missing-field";
/** a field has the wrong type or form, or a map has a non-string key (the reason names it) */
export const R_BAD_FIELD = "bad-field";
/** a map has a field this protocol version does not define (the reason names it) */
export const R_EXTRA_FIELD = "extra-field";
/** NaN or ±Infinity where a finite number is required (the reason names the field) */
export const R_NON_FINITE = "non-finite";
/** a number outside its allowed range (the reason names the field and the range) */
export const R_OUT_OF_RANGE = "out-of-range";
/** a string longer than its field allows (the reason names the field and the limit) */
export const R_STRING_TOO_LONG = "string-too-long";
/** a mask's genome length differs from the run's (or the run's is not known yet) */
export const R_GENOME_LENGTH = "genome-length";
/** a mask's packed byte count is not ⌈length / 8⌉ */
export const R_MASK_BYTES = "mask-bytes";
/** a mask sets padding bits beyond its genome length */
export const R_MASK_PADDING = "mask-padding";
/** a mask's hash is not maskHash of its bits */
export const R_MASK_HASH = "mask-hash";
/** a mask's zero count is not the number of zero bits in it */
export const R_MASK_ZEROS = "mask-zeros";
/** the envelope's `from` is not the peer this connection authenticated as */
export const R_WRONG_SENDER = "wrong-sender";
/** a non-handshake message arrived before the connection authenticated (used by connection code) */
export const R_NOT_AUTHENTICATED = "not-authenticated";
/** a known message type that this connection does not accept in its current state or direction */
export const R_UNEXPECTED_TYPE = "unexpected-type";
/** a handshake or heartbeat deadline passed (used by connection code; core has no clocks) */
export const R_TIMEOUT = "timeout";
/** a frame after the handshake whose HMAC tag is missing or wrong (altered, injected, or misdirected) */
export const R_BAD_TAG = "bad-tag";
/** an unexpected failure inside validation; never expected, reported rather than thrown */
export const R_INTERNAL = "internal";

/** Every reason code, mapped to its WebSocket close code (4000–4999, one per reason). */
export const CLOSE_CODES = {
  [R_AUTH_FAILED]: 4001,
  [R_BAD_MSGPACK]: 4002,
  [R_WRONG_RUN]: 4003,
  [R_REPLAY]: 4004,
  [R_BAD_VERSION]: 4005,
  [R_UNKNOWN_TYPE]: 4006,
  [R_NOT_A_MAP]: 4007,
  [R_TOO_MANY_MIGRANTS]: 4008,
  [R_FRAME_TOO_LARGE]: 4009,
  [R_MISSING_FIELD]: 4010,
  [R_BAD_FIELD]: 4011,
  [R_EXTRA_FIELD]: 4012,
  [R_NON_FINITE]: 4013,
  [R_OUT_OF_RANGE]: 4014,
  [R_STRING_TOO_LONG]: 4015,
  [R_GENOME_LENGTH]: 4016,
  [R_MASK_BYTES]: 4017,
  [R_MASK_PADDING]: 4018,
  [R_MASK_HASH]: 4019,
  [R_MASK_ZEROS]: 4020,
  [R_WRONG_SENDER]: 4021,
  [R_NOT_AUTHENTICATED]: 4022,
  [R_UNEXPECTED_TYPE]: 4023,
  [R_TIMEOUT]: 4024,
  [R_BAD_TAG]: 4025,
  [R_INTERNAL]: 4099,
} as const;

export type ReasonCode = keyof typeof CLOSE_CODES;

export const REASON_CODES = Object.keys(CLOSE_CODES) as ReasonCode[];

/** A refusal: the reason code and a human-readable reason naming the field or value at fault. */
export interface ProtocolFailure {
  readonly ok: false;
  readonly code: ReasonCode;
  readonly reason: string;
}

export type ProtocolCheck = { readonly ok: true } | ProtocolFailure;

export function failure(code: ReasonCode, reason: string): ProtocolFailure {
  return { ok: false, code, reason };
}

/** WebSocket close reasons are limited to 123 bytes of UTF-8. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * The close frame for a refusal: its close code, and "code: reason" cut to at most 123 UTF-8 bytes
 * (on a character boundary) as the WebSocket protocol requires.
 */
export function closeFrameFor(f: { readonly code: ReasonCode; readonly reason: string }): {
  code: number;
  reason: string;
} {
  const full = `${f.code}: ${f.reason}`;
  let out = "";
  let bytes = 0;
  for (const ch of full) {
    const n = Buffer.byteLength(ch, "utf8");
    if (bytes + n > MAX_CLOSE_REASON_BYTES) break;
    out += ch;
    bytes += n;
  }
  return { code: CLOSE_CODES[f.code], reason: out };
}
