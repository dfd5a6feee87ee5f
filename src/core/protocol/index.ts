// The island-cluster wire protocol: message types, codec, handshake proofs, sequence tracking and the
// reason/close-code table. Pure: no sockets, clocks or entropy (callers pass nonces in).
export * from "./auth.ts";
export * from "./codec.ts";
export * from "./log-record.ts";
export * from "./messages.ts";
export * from "./migrant.ts";
export * from "./reasons.ts";
export * from "./sequence.ts";
