// The wire codec: Message ⇄ one msgpack map per binary WebSocket frame.
//
// decode never throws on hostile input: every frame either becomes a fully checked Message whose
// binary data (masks, nonces, proofs) is copied out of the frame, or a refusal with its own reason
// code (reasons.ts). Checks run in this order, so the first fault found is the one reported:
//   frame size (before any decoding) → msgpack → top-level map → v → type → accepted types →
//   envelope fields → runId → from → seq order → body fields → extra fields → mask semantics
//   (genome length, byte count, padding bits, hash, zero count) → the plain frame limit for types that
//   carry no snapshot (a `checkpoint`, or an `assign` with `resume`, may exceed maxFrameBytes by the
//   receiver's maxSnapshotBytes; a snapshot is checked field by field by core/island-snapshot.ts).
// Extra fields are refused (R_EXTRA_FIELD) at every level except inside an assign's free-form config:
// the version `v` is how the protocol grows, and strictness catches sender bugs early.
// Maps are decoded as Map objects, so no key can reach an object prototype; "__proto__" is refused
// inside config. Duplicate keys in one map keep the last value (msgpack leaves this undefined).
//
// encode builds the wire form from exactly the fields the message types define, packs it, and decodes
// the result once (without run context) so that it never sends what a peer would refuse: an invalid
// outgoing message throws SltError(E_PROTOCOL).
//
// Cost (a migrants frame of 64 masks of 100,000 bits, about 806 kB): masks go out as views of their
// words (msgpackr copies them once into its buffer, the frame is one more copy), and a received mask is
// one copy of its bytes into fresh words of its own; hash and zero count are one fused pass over the
// words. encode's self-check reads its masks through one reused scratch buffer instead of copies.
import { Packr, Unpackr } from "msgpackr";
import { E_PROTOCOL, SltError } from "../errors.ts";
import { checkSnapshotJSON, type IslandSnapshotJSON } from "../island-snapshot.ts";
import { type Mask, maskBytesView, maskFromBytesInto, maskHashAndZeros } from "../mask.ts";
import {
  type AssignBody,
  type AssignTls,
  type Bodies,
  type ChallengeBody,
  type CheckpointBody,
  EDGE_WEIGHTS,
  type EdgeReport,
  type ErrorBody,
  type HelloBody,
  type JsonObject,
  type JsonValue,
  LOG_RECORD_LEVELS,
  type LogBody,
  MAX_ADDRESS_CHARS,
  MAX_CODE_CHARS,
  MAX_CONFIG_DEPTH,
  MAX_CONFIG_STRING_CHARS,
  MAX_GENOME_LENGTH,
  MAX_HOST_CHARS,
  MAX_ID_CHARS,
  MAX_ISLAND_ID,
  MAX_LABEL_CHARS,
  MAX_LOG_DEPTH,
  MAX_LOG_ENTRIES,
  MAX_LOG_FIELDS_CHARS,
  MAX_LOG_MESSAGE_CHARS,
  MAX_LOG_STRING_CHARS,
  MAX_LOG_TIME_MS,
  MAX_MIGRANTS,
  MAX_NEIGHBOURS,
  MAX_PEM_CHARS,
  MAX_REASON_CHARS,
  MAX_SNAPSHOT_BYTES,
  MESSAGE_TYPES,
  type Message,
  type MessageType,
  type Migrant,
  type MigrantsBody,
  NONCE_BYTES,
  type OutNeighbour,
  PROOF_BYTES,
  PROTOCOL_VERSION,
  type ReportBody,
  ROLES,
  SYNC_MODES,
  type TicketBody,
} from "./messages.ts";
import {
  array,
  bytesExact,
  bytesView,
  describe,
  Fault,
  Fields,
  fail,
  ident,
  int,
  nullable,
  num,
  oneOf,
  quote,
  str,
} from "./read.ts";
import {
  failure,
  type ProtocolFailure,
  R_BAD_FIELD,
  R_BAD_MSGPACK,
  R_BAD_VERSION,
  R_FRAME_TOO_LARGE,
  R_GENOME_LENGTH,
  R_INTERNAL,
  R_MASK_BYTES,
  R_MASK_HASH,
  R_MASK_PADDING,
  R_MASK_ZEROS,
  R_NON_FINITE,
  R_NOT_A_MAP,
  R_OUT_OF_RANGE,
  R_REPLAY,
  R_TOO_MANY_MIGRANTS,
  R_UNEXPECTED_TYPE,
  R_UNKNOWN_TYPE,
  R_WRONG_RUN,
  R_WRONG_SENDER,
} from "./reasons.ts";

/** Room for the envelope and every non-mask message, including an assign with its config and neighbours. */
export const FRAME_OVERHEAD_BYTES = 1 << 20;
/** Room for one migrant's keys, hash and numbers around its packed bits (about 90 bytes in practice). */
export const MIGRANT_OVERHEAD_BYTES = 128;

function checkLimits(genomeLength: number, maxMigrants: number): void {
  if (!Number.isInteger(genomeLength) || genomeLength < 0 || genomeLength > MAX_GENOME_LENGTH) {
    throw new SltError(
      E_PROTOCOL,
      `genome length must be an integer in [0, ${MAX_GENOME_LENGTH}], got ${genomeLength}`,
    );
  }
  if (!Number.isInteger(maxMigrants) || maxMigrants < 0 || maxMigrants > MAX_MIGRANTS) {
    throw new SltError(
      E_PROTOCOL,
      `max migrants must be an integer in [0, ${MAX_MIGRANTS}], got ${maxMigrants}`,
    );
  }
}

/**
 * The largest frame a receiver accepts (also the WebSocket `maxPayload`): a fixed overhead plus, for
 * each of max(maxMigrants, 1) masks (a ticket carries one), its packed bytes and a per-migrant overhead.
 */
export function maxFrameBytes(genomeLength: number, maxMigrants: number): number {
  checkLimits(genomeLength, maxMigrants);
  return (
    FRAME_OVERHEAD_BYTES + Math.max(maxMigrants, 1) * (Math.ceil(genomeLength / 8) + MIGRANT_OVERHEAD_BYTES)
  );
}

/** Room for a snapshot's fixed fields, generator and RNG states. */
export const SNAPSHOT_OVERHEAD_BYTES = 1 << 16;
/** Room for one individual's base64 mask text, numbers and keys beyond the mask's characters. */
export const SNAPSHOT_INDIVIDUAL_OVERHEAD_BYTES = 128;
/** Room for one generation's history entry (about 20 numbers and their keys). */
export const SNAPSHOT_HISTORY_BYTES = 512;

/**
 * The largest snapshot a receiver should accept from an island of `genomeLength` bits that holds
 * `individuals` (population plus waiting immigrants) after `generations` generations; at most
 * MAX_SNAPSHOT_BYTES. A receiver adds it to maxFrameBytes (DecodeContext.maxSnapshotBytes, maxPayload).
 */
export function maxSnapshotBytes(genomeLength: number, individuals: number, generations: number): number {
  checkLimits(genomeLength, 0);
  const maskChars = 4 * Math.ceil(Math.ceil(genomeLength / 8) / 3);
  const bytes =
    SNAPSHOT_OVERHEAD_BYTES +
    individuals * (maskChars + SNAPSHOT_INDIVIDUAL_OVERHEAD_BYTES) +
    (generations + 1) * SNAPSHOT_HISTORY_BYTES;
  return Math.min(MAX_SNAPSHOT_BYTES, bytes);
}

/** Whether a message may be longer than maxFrameBytes: a checkpoint, or an assignment carrying a resume snapshot. */
function carriesSnapshot(m: Message): boolean {
  return m.type === "checkpoint" || (m.type === "assign" && m.body.resume != null);
}

/** What the receiver knows about the connection a frame arrived on. */
export interface DecodeContext {
  /** this run's id; any other is refused (R_WRONG_RUN) */
  readonly runId: string;
  /** the run's genome length; null before an island has its assignment (masks are then refused) */
  readonly genomeLength: number | null;
  /** the most migrants accepted in one message (0..MAX_MIGRANTS) */
  readonly maxMigrants: number;
  /** the sender this connection authenticated as, if known (R_WRONG_SENDER otherwise) */
  readonly expectedFrom?: string;
  /** the last seq accepted on this connection; seq must be strictly greater (R_REPLAY) */
  readonly lastSeq?: number;
  /** the message types this connection accepts now (R_UNEXPECTED_TYPE otherwise); default: all */
  readonly accept?: readonly MessageType[];
  /**
   * bytes a `checkpoint` or an assign's `resume` snapshot may add to the frame limit (maxSnapshotBytes;
   * at most MAX_SNAPSHOT_BYTES); default 0: only snapshots that fit in maxFrameBytes
   */
  readonly maxSnapshotBytes?: number;
}

export type DecodeResult = { readonly ok: true; readonly message: Message } | ProtocolFailure;

interface Checks {
  readonly runId: string;
  /** "any": each mask only has to be consistent with itself (encode's self-check) */
  readonly genomeLength: number | null | "any";
  readonly maxMigrants: number;
  readonly expectedFrom: string | undefined;
  readonly lastSeq: number | undefined;
  readonly accept: readonly MessageType[] | undefined;
  readonly maxBytes: number;
  /** the limit for frames that carry no snapshot (maxBytes includes the snapshot room) */
  readonly plainMaxBytes: number;
  /**
   * false only for encode's self-check: masks are checked through a reused scratch buffer and the
   * decoded message (whose masks alias it) is thrown away
   */
  readonly copyMasks: boolean;
}

// Maps as Map (no prototype pollution, key types visible); int64 values as numbers where exact;
// no structured-clone references. Binary fields come back as Buffer views into the frame.
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: false,
  structuredClone: false,
  int64AsType: "auto" as "number",
});
const packr = new Packr({ useRecords: false });
/**
 * encode packs into this buffer from its start each time (then copies the frame out), instead of
 * letting msgpackr append frames to a shared buffer that it regrows (copying the partial frame) and
 * replaces as it fills; it grows with the largest frame encoded so far.
 */
let packBuffer = Buffer.allocUnsafeSlow(1 << 16);

/** Decodes and checks one frame. Never throws on any frame; see the file comment for the order of checks. */
export function decode(frame: Uint8Array, ctx: DecodeContext): DecodeResult {
  checkLimits(ctx.genomeLength ?? 0, ctx.maxMigrants);
  const plainMaxBytes = maxFrameBytes(ctx.genomeLength ?? 0, ctx.maxMigrants);
  const snapshotBytes = Math.min(Math.max(0, ctx.maxSnapshotBytes ?? 0), MAX_SNAPSHOT_BYTES);
  return decodeChecked(frame, {
    runId: ctx.runId,
    genomeLength: ctx.genomeLength,
    maxMigrants: ctx.maxMigrants,
    expectedFrom: ctx.expectedFrom,
    lastSeq: ctx.lastSeq,
    accept: ctx.accept,
    maxBytes: plainMaxBytes + snapshotBytes,
    plainMaxBytes,
    copyMasks: true,
  });
}

function decodeChecked(frame: Uint8Array, checks: Checks): DecodeResult {
  try {
    if (!(frame instanceof Uint8Array))
      return failure(R_BAD_MSGPACK, `frame must be binary, got ${describe(frame)}`);
    if (frame.byteLength > checks.maxBytes) {
      return failure(
        R_FRAME_TOO_LARGE,
        `frame of ${frame.byteLength} bytes exceeds the limit of ${checks.maxBytes}`,
      );
    }
    if (frame.byteLength === 0) return failure(R_BAD_MSGPACK, "empty frame");
    let raw: unknown;
    try {
      raw = unpackr.unpack(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    } catch (e) {
      return failure(R_BAD_MSGPACK, `not one complete msgpack value: ${errorText(e)}`);
    }
    const message = readEnvelope(raw, checks);
    if (frame.byteLength > checks.plainMaxBytes && !carriesSnapshot(message)) {
      return failure(
        R_FRAME_TOO_LARGE,
        `${message.type === "assign" ? "an" : "a"} ${message.type} frame of ${frame.byteLength} bytes exceeds the limit of ${checks.plainMaxBytes}`,
      );
    }
    return { ok: true, message };
  } catch (e) {
    if (e instanceof Fault) return failure(e.code, e.reason);
    return failure(R_INTERNAL, `unexpected failure while checking a frame: ${errorText(e)}`);
  }
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

function readEnvelope(raw: unknown, checks: Checks): Message {
  if (!(raw instanceof Map)) fail(R_NOT_A_MAP, `frame must be a msgpack map, got ${describe(raw)}`);
  const f = new Fields(raw, "");
  const v = f.take("v");
  if (v !== PROTOCOL_VERSION) {
    fail(
      R_BAD_VERSION,
      `protocol version ${typeof v === "number" ? v : describe(v)} is not ${PROTOCOL_VERSION}`,
    );
  }
  const typeText = str(f.take("type"), "type", 32);
  if (!(MESSAGE_TYPES as readonly string[]).includes(typeText)) {
    fail(R_UNKNOWN_TYPE, `unknown message type ${quote(typeText)}`);
  }
  const type = typeText as MessageType;
  if (checks.accept !== undefined && !checks.accept.includes(type)) {
    fail(R_UNEXPECTED_TYPE, `a ${type} message is not accepted here (expected ${checks.accept.join(", ")})`);
  }
  const runId = ident(f.take("runId"), "runId", MAX_ID_CHARS);
  if (runId !== checks.runId) fail(R_WRONG_RUN, `runId ${quote(runId)} is not this run's`);
  const from = ident(f.take("from"), "from", MAX_ID_CHARS);
  if (checks.expectedFrom !== undefined && from !== checks.expectedFrom) {
    fail(R_WRONG_SENDER, `from ${quote(from)} but this connection is ${quote(checks.expectedFrom)}`);
  }
  const epoch = int(f.take("epoch"), "epoch");
  const seq = int(f.take("seq"), "seq");
  if (checks.lastSeq !== undefined && seq <= checks.lastSeq) {
    fail(R_REPLAY, `seq ${seq} is not after the last accepted seq ${checks.lastSeq}`);
  }
  const bodyRaw = f.take("body");
  f.end();
  const body = readBody(type, bodyRaw, checks);
  return { v: PROTOCOL_VERSION, type, runId, from, epoch, seq, body } as Message;
}

function readBody(type: MessageType, raw: unknown, checks: Checks): Bodies[MessageType] {
  const f = new Fields(raw, "body");
  let body: Bodies[MessageType];
  switch (type) {
    case "hello":
      body = readHello(f);
      break;
    case "challenge":
      body = readChallenge(f);
      break;
    case "auth":
      body = { proof: bytesExact(f.take("proof"), "body.proof", PROOF_BYTES) };
      break;
    case "assign":
      body = readAssign(f, checks);
      break;
    case "report":
      body = readReport(f);
      break;
    case "migrants":
      body = readMigrants(f, checks);
      break;
    case "heartbeat":
      body = {};
      break;
    case "ticket":
      body = readTicket(f, checks);
      break;
    case "checkpoint":
      body = readCheckpoint(f, checks);
      break;
    case "stop":
      body = { reason: str(f.take("reason"), "body.reason", MAX_REASON_CHARS) };
      break;
    case "error":
      body = readError(f);
      break;
    case "log":
      body = readLog(f);
      break;
  }
  f.end();
  return body;
}

const islandId = (v: unknown, path: string): number => int(v, path, 0, MAX_ISLAND_ID);

function readHello(f: Fields): HelloBody {
  return {
    role: oneOf(f.take("role"), "body.role", ROLES),
    island: nullable(f.take("island"), (v) => islandId(v, "body.island")),
    host: str(f.take("host"), "body.host", MAX_HOST_CHARS),
    pid: int(f.take("pid"), "body.pid", 0, 2 ** 32),
    listen: nullable(f.take("listen"), (v) => str(v, "body.listen", MAX_ADDRESS_CHARS)),
    nonce: bytesExact(f.take("nonce"), "body.nonce", NONCE_BYTES),
  };
}

function readChallenge(f: Fields): ChallengeBody {
  return {
    role: oneOf(f.take("role"), "body.role", ROLES),
    nonce: bytesExact(f.take("nonce"), "body.nonce", NONCE_BYTES),
    proof: bytesExact(f.take("proof"), "body.proof", PROOF_BYTES),
  };
}

function readError(f: Fields): ErrorBody {
  return {
    code: str(f.take("code"), "body.code", MAX_CODE_CHARS),
    reason: str(f.take("reason"), "body.reason", MAX_REASON_CHARS),
  };
}

/** Bounds of a free-form JSON value: an assign's config, a log record's fields. */
interface JsonLimits {
  readonly depth: number;
  readonly stringChars: number;
  /** entries of one object or array */
  readonly entries: number;
}

const CONFIG_JSON: JsonLimits = {
  depth: MAX_CONFIG_DEPTH,
  stringChars: MAX_CONFIG_STRING_CHARS,
  entries: Number.POSITIVE_INFINITY,
};

const LOG_JSON: JsonLimits = {
  depth: MAX_LOG_DEPTH,
  stringChars: MAX_LOG_STRING_CHARS,
  entries: MAX_LOG_ENTRIES,
};

function readJson(v: unknown, path: string, depth: number, limits: JsonLimits): JsonValue {
  if (v === null || typeof v === "boolean" || typeof v === "number" || typeof v === "string") {
    if (typeof v === "number" && !Number.isFinite(v)) fail(R_NON_FINITE, `${path} must be finite, got ${v}`);
    if (typeof v === "string") str(v, path, limits.stringChars);
    return v;
  }
  if (depth >= limits.depth) fail(R_BAD_FIELD, `${path} nests deeper than ${limits.depth} levels`);
  if (Array.isArray(v))
    return array(v, path, limits.entries).map((x, i) => readJson(x, `${path}[${i}]`, depth + 1, limits));
  if (v instanceof Map) return readJsonObject(v, path, depth, limits);
  return fail(R_BAD_FIELD, `${path} must be a JSON value, got ${describe(v)}`);
}

function readJsonObject(v: unknown, path: string, depth: number, limits = CONFIG_JSON): JsonObject {
  const f = new Fields(v, path);
  const entries = v as Map<string, unknown>;
  if (entries.size > limits.entries)
    fail(R_OUT_OF_RANGE, `${path} has ${entries.size} entries, at most ${limits.entries} allowed`);
  const out: JsonObject = {};
  for (const [key, value] of entries) {
    if (key === "__proto__") fail(R_BAD_FIELD, `${f.name(key)} is not an allowed key`);
    out[key] = readJson(value, f.name(key), depth + 1, limits);
  }
  return out;
}

/**
 * A snapshot (core/island-snapshot.ts) of an island of `genomeLength` bits: plain data whose longest
 * strings are base64 masks, checked field by field; any fault is R_BAD_FIELD naming the field.
 */
function readSnapshot(v: unknown, path: string, genomeLength: number): IslandSnapshotJSON {
  const maxChars = Math.max(MAX_CONFIG_STRING_CHARS, 4 * Math.ceil(Math.ceil(genomeLength / 8) / 3));
  const json = readJsonObject(v, path, 0, { ...CONFIG_JSON, stringChars: maxChars });
  try {
    return checkSnapshotJSON(json, genomeLength);
  } catch (e) {
    return fail(R_BAD_FIELD, `${path}: ${(e as Error).message}`);
  }
}

function readCheckpoint(f: Fields, checks: Checks): CheckpointBody {
  const island = islandId(f.take("island"), "body.island");
  const final = f.take("final");
  if (typeof final !== "boolean") fail(R_BAD_FIELD, `body.final must be a boolean, got ${describe(final)}`);
  const genomeLength = checks.genomeLength;
  if (genomeLength === null) fail(R_GENOME_LENGTH, "body.snapshot arrived before the genome length is known");
  const raw = f.take("snapshot");
  // encode's self-check knows no genome length: the snapshot's own must be consistent with itself
  const length = genomeLength === "any" ? snapshotGenomeLength(raw) : genomeLength;
  const snapshot = readSnapshot(raw, "body.snapshot", length);
  if (snapshot.island !== island)
    fail(R_BAD_FIELD, `body.snapshot.island ${snapshot.island} is not body.island ${island}`);
  return { island, final, snapshot };
}

/** The genome length a snapshot claims (for encode's self-check, which has no run context). */
function snapshotGenomeLength(raw: unknown): number {
  const ga = raw instanceof Map ? raw.get("ga") : undefined;
  const g = ga instanceof Map ? ga.get("genomeLength") : undefined;
  return int(g, "body.snapshot.ga.genomeLength", 1, MAX_GENOME_LENGTH);
}

function readLog(f: Fields): LogBody {
  const level = oneOf(f.take("level"), "body.level", LOG_RECORD_LEVELS);
  const time = num(f.take("time"), "body.time", 0, MAX_LOG_TIME_MS);
  const msg = str(f.take("msg"), "body.msg", MAX_LOG_MESSAGE_CHARS);
  const fields = readJsonObject(f.take("fields"), "body.fields", 0, LOG_JSON);
  const chars = JSON.stringify(fields).length;
  if (chars > MAX_LOG_FIELDS_CHARS)
    fail(
      R_OUT_OF_RANGE,
      `body.fields is ${chars} characters as JSON, at most ${MAX_LOG_FIELDS_CHARS} allowed`,
    );
  return { level, time, msg, fields };
}

function readAssign(f: Fields, checks: Checks): AssignBody {
  const island = islandId(f.take("island"), "body.island");
  const seedStream = str(f.take("seedStream"), "body.seedStream", MAX_LABEL_CHARS);
  const config = readJsonObject(f.take("config"), "body.config", 0, CONFIG_JSON);
  const genomeLength = int(f.take("genomeLength"), "body.genomeLength", 1, MAX_GENOME_LENGTH);
  if (typeof checks.genomeLength === "number" && genomeLength !== checks.genomeLength) {
    fail(R_GENOME_LENGTH, `body.genomeLength ${genomeLength} differs from this run's ${checks.genomeLength}`);
  }
  const interval = int(f.take("interval"), "body.interval", 1);
  const offset = int(f.take("offset"), "body.offset", 0);
  const mode = oneOf(f.take("mode"), "body.mode", SYNC_MODES);
  const maxMigrants = int(f.take("maxMigrants"), "body.maxMigrants", 0, MAX_MIGRANTS);
  const seen = new Set<number>([island]);
  const outNeighbours = array(f.take("outNeighbours"), "body.outNeighbours", MAX_NEIGHBOURS).map(
    (raw, i): OutNeighbour => {
      const path = `body.outNeighbours[${i}]`;
      const n = new Fields(raw, path);
      const out = {
        island: islandId(n.take("island"), `${path}.island`),
        address: str(n.take("address"), `${path}.address`, MAX_ADDRESS_CHARS),
        weight: num(n.take("weight"), `${path}.weight`, 0),
      };
      n.end();
      if (seen.has(out.island))
        fail(R_BAD_FIELD, `${path}.island ${out.island} is this island or listed twice`);
      seen.add(out.island);
      return out;
    },
  );
  seen.clear();
  seen.add(island);
  const inNeighbours = array(f.take("inNeighbours"), "body.inNeighbours", MAX_NEIGHBOURS).map((raw, i) => {
    const id = islandId(raw, `body.inNeighbours[${i}]`);
    if (seen.has(id)) fail(R_BAD_FIELD, `body.inNeighbours[${i}] ${id} is this island or listed twice`);
    seen.add(id);
    return id;
  });
  const weights = oneOf(f.take("weights"), "body.weights", EDGE_WEIGHTS);
  const every = f.has("checkpointEvery") ? f.take("checkpointEvery") : null;
  const checkpointEvery = nullable(every, (v) => int(v, "body.checkpointEvery", 1));
  const resumeRaw = f.has("resume") ? f.take("resume") : null;
  const resume = nullable(resumeRaw, (v) => readSnapshot(v, "body.resume", genomeLength));
  if (resume !== null && (resume.island !== island || resume.mode !== mode))
    fail(R_BAD_FIELD, `body.resume is island ${resume.island} (${resume.mode}), not ${island} (${mode})`);
  const tls = nullable(f.has("tls") ? f.take("tls") : null, readAssignTls);
  return {
    island,
    seedStream,
    config,
    genomeLength,
    interval,
    offset,
    mode,
    maxMigrants,
    outNeighbours,
    inNeighbours,
    weights,
    ...(checkpointEvery !== null ? { checkpointEvery } : {}),
    ...(resume !== null ? { resume } : {}),
    ...(tls !== null ? { tls } : {}),
  };
}

function readAssignTls(raw: unknown): AssignTls {
  const t = new Fields(raw, "body.tls");
  const tls = {
    cert: str(t.take("cert"), "body.tls.cert", MAX_PEM_CHARS),
    key: str(t.take("key"), "body.tls.key", MAX_PEM_CHARS),
  };
  t.end();
  return tls;
}

function readReport(f: Fields): ReportBody {
  const body = {
    island: islandId(f.take("island"), "body.island"),
    generation: int(f.take("generation"), "body.generation"),
    evaluations: int(f.take("evaluations"), "body.evaluations"),
    evaluationsPerSecond: num(f.take("evaluationsPerSecond"), "body.evaluationsPerSecond", 0),
    bestFitness: num(f.take("bestFitness"), "body.bestFitness"),
    bestAccuracy: num(f.take("bestAccuracy"), "body.bestAccuracy", 0, 1),
    bestLoss: num(f.take("bestLoss"), "body.bestLoss", 0),
    bestSparsity: num(f.take("bestSparsity"), "body.bestSparsity", 0, 1),
    meanFitness: num(f.take("meanFitness"), "body.meanFitness"),
    diversity: num(f.take("diversity"), "body.diversity", 0),
    stalledGenerations: int(f.take("stalledGenerations"), "body.stalledGenerations"),
    ...(f.has("verdict")
      ? { verdict: nullable(f.take("verdict"), (v) => str(v, "body.verdict", MAX_LABEL_CHARS)) }
      : {}),
  };
  const m = new Fields(f.take("migration"), "body.migration");
  const migration = {
    sent: int(m.take("sent"), "body.migration.sent"),
    received: int(m.take("received"), "body.migration.received"),
    accepted: int(m.take("accepted"), "body.migration.accepted"),
    rejected: int(m.take("rejected"), "body.migration.rejected"),
    dropped: int(m.take("dropped"), "body.migration.dropped"),
  };
  m.end();
  const edges = f.has("edges") ? readEdgeReport(f.take("edges")) : null;
  const h = new Fields(f.take("host"), "body.host");
  const stat = (name: string) => nullable(h.take(name), (v) => num(v, `body.host.${name}`, 0));
  const host = {
    loadAverage: stat("loadAverage"),
    cpuPercent: stat("cpuPercent"),
    memoryUsedBytes: stat("memoryUsedBytes"),
    memoryTotalBytes: stat("memoryTotalBytes"),
    rssBytes: stat("rssBytes"),
  };
  h.end();
  return { ...body, migration, ...(edges ? { edges } : {}), host };
}

function readEdgeReport(raw: unknown): EdgeReport {
  const e = new Fields(raw, "body.edges");
  const entries = (name: string, counts: readonly string[]) =>
    array(e.take(name), `body.edges.${name}`, MAX_NEIGHBOURS).map((item, i) => {
      const path = `body.edges.${name}[${i}]`;
      const n = new Fields(item, path);
      const entry: Record<string, number> = { island: islandId(n.take("island"), `${path}.island`) };
      for (const c of counts) entry[c] = int(n.take(c), `${path}.${c}`);
      n.end();
      return entry;
    });
  const report = {
    out: entries("out", ["sent"]) as unknown as EdgeReport["out"],
    in: entries("in", ["accepted", "rejected"]) as unknown as EdgeReport["in"],
  };
  e.end();
  return report;
}

const HASH_PATTERN = /^[0-9a-f]{16}$/;

/** Words for encode's self-check (Checks.copyMasks false), grown as needed; never escapes decodeChecked. */
let scratchWords = new Uint32Array(0);

/** Where a checked mask's bytes are copied to: at least `words` words the mask may keep. */
type WordSource = (words: number) => Uint32Array;

const freshWords: WordSource = (words) => new Uint32Array(words);

const scratch: WordSource = (words) => {
  if (scratchWords.length < words) scratchWords = new Uint32Array(Math.max(words, 2 * scratchWords.length));
  return scratchWords;
};

function readMigrant(raw: unknown, path: string, checks: Checks, into: WordSource): Migrant {
  const genomeLength = checks.genomeLength;
  const f = new Fields(raw, path);
  const bits = bytesView(f.take("bits"), `${path}.bits`);
  const length = int(f.take("length"), `${path}.length`, 0, MAX_GENOME_LENGTH);
  const hash = str(f.take("hash"), `${path}.hash`, 16);
  if (!HASH_PATTERN.test(hash))
    fail(R_BAD_FIELD, `${path}.hash must be 16 lowercase hex digits, got ${quote(hash)}`);
  const accuracy = num(f.take("accuracy"), `${path}.accuracy`, 0, 1);
  const loss = num(f.take("loss"), `${path}.loss`, 0);
  const zeroCount = int(f.take("zeros"), `${path}.zeros`, 0, MAX_GENOME_LENGTH);
  f.end();
  if (genomeLength === null)
    fail(R_GENOME_LENGTH, `${path}: a mask arrived before the genome length is known`);
  if (genomeLength !== "any" && length !== genomeLength) {
    fail(R_GENOME_LENGTH, `${path}.length ${length} is not the run's genome length ${genomeLength}`);
  }
  const expected = Math.ceil(length / 8);
  if (bits.length !== expected) {
    fail(R_MASK_BYTES, `${path}.bits has ${bits.length} bytes; ${length} bits pack into ${expected}`);
  }
  const tail = length & 7;
  if (tail !== 0 && (bits[expected - 1] & ~((1 << tail) - 1) & 0xff) !== 0) {
    fail(R_MASK_PADDING, `${path}.bits sets padding bits beyond bit ${length}`);
  }
  // the one copy out of the frame (its bytes are not word-aligned, and the caller keeps the mask)
  const mask: Mask = maskFromBytesInto(bits, length, into(Math.ceil(length / 32)));
  const { hash: actual, zeros: actualZeros } = maskHashAndZeros(mask);
  if (actual !== hash) fail(R_MASK_HASH, `${path}.hash ${hash} is not the mask's hash ${actual}`);
  if (actualZeros !== zeroCount) {
    fail(R_MASK_ZEROS, `${path}.zeros ${zeroCount} but the mask has ${actualZeros} zero bits`);
  }
  return { mask, hash, accuracy, loss, zeros: zeroCount };
}

function readMigrants(f: Fields, checks: Checks): MigrantsBody {
  const list = array(f.take("migrants"), "body.migrants", checks.maxMigrants, R_TOO_MANY_MIGRANTS);
  const into = checks.copyMasks ? freshWords : scratch;
  return { migrants: list.map((raw, i) => readMigrant(raw, `body.migrants[${i}]`, checks, into)) };
}

function readTicket(f: Fields, checks: Checks): TicketBody {
  return {
    island: islandId(f.take("island"), "body.island"),
    generation: int(f.take("generation"), "body.generation"),
    evaluations: int(f.take("evaluations"), "body.evaluations"),
    best: readMigrant(f.take("best"), "body.best", checks, checks.copyMasks ? freshWords : scratch),
  };
}

// ---- encode ----

function migrantToWire(m: Migrant): Record<string, unknown> {
  return {
    bits: maskBytesView(m.mask), // no copy: msgpackr copies it into the frame
    length: m.mask.length,
    hash: m.hash,
    accuracy: m.accuracy,
    loss: m.loss,
    zeros: m.zeros,
  };
}

/** JSON.stringify's treatment of undefined object members (dropped), so resolved configs encode as-is. */
function jsonToWire(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(jsonToWire);
  if (v !== null && typeof v === "object" && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = jsonToWire(x);
    return out;
  }
  return v;
}

/** The assignment's body with its fields in the schema's order and nothing else. */
function assignToWire(b: AssignBody): Record<string, unknown> {
  return {
    island: b.island,
    seedStream: b.seedStream,
    config: jsonToWire(b.config),
    genomeLength: b.genomeLength,
    interval: b.interval,
    offset: b.offset,
    mode: b.mode,
    maxMigrants: b.maxMigrants,
    outNeighbours: b.outNeighbours.map((n) => ({
      island: n.island,
      address: n.address,
      weight: n.weight,
    })),
    inNeighbours: [...b.inNeighbours],
    weights: b.weights,
    ...(b.checkpointEvery != null ? { checkpointEvery: b.checkpointEvery } : {}),
    ...(b.resume != null ? { resume: jsonToWire(b.resume) } : {}),
    ...(b.tls != null ? { tls: { cert: b.tls.cert, key: b.tls.key } } : {}),
  };
}

/** A report's body with its fields in the schema's order and nothing else. */
function reportToWire(b: ReportBody): Record<string, unknown> {
  const m = b.migration;
  const h = b.host;
  return {
    island: b.island,
    generation: b.generation,
    evaluations: b.evaluations,
    evaluationsPerSecond: b.evaluationsPerSecond,
    bestFitness: b.bestFitness,
    bestAccuracy: b.bestAccuracy,
    bestLoss: b.bestLoss,
    bestSparsity: b.bestSparsity,
    meanFitness: b.meanFitness,
    diversity: b.diversity,
    stalledGenerations: b.stalledGenerations,
    ...(b.verdict !== undefined ? { verdict: b.verdict } : {}),
    migration: {
      sent: m.sent,
      received: m.received,
      accepted: m.accepted,
      rejected: m.rejected,
      dropped: m.dropped,
    },
    ...(b.edges
      ? {
          edges: {
            out: b.edges.out.map((x) => ({ island: x.island, sent: x.sent })),
            in: b.edges.in.map((x) => ({ island: x.island, accepted: x.accepted, rejected: x.rejected })),
          },
        }
      : {}),
    host: {
      loadAverage: h.loadAverage,
      cpuPercent: h.cpuPercent,
      memoryUsedBytes: h.memoryUsedBytes,
      memoryTotalBytes: h.memoryTotalBytes,
      rssBytes: h.rssBytes,
    },
  };
}

function bodyToWire(message: Message): Record<string, unknown> {
  switch (message.type) {
    case "hello": {
      const b = message.body;
      return { role: b.role, island: b.island, host: b.host, pid: b.pid, listen: b.listen, nonce: b.nonce };
    }
    case "challenge": {
      const b = message.body;
      return { role: b.role, nonce: b.nonce, proof: b.proof };
    }
    case "auth":
      return { proof: message.body.proof };
    case "assign":
      return assignToWire(message.body);
    case "report":
      return reportToWire(message.body);
    case "migrants":
      return { migrants: message.body.migrants.map(migrantToWire) };
    case "heartbeat":
      return {};
    case "ticket": {
      const b = message.body;
      return {
        island: b.island,
        generation: b.generation,
        evaluations: b.evaluations,
        best: migrantToWire(b.best),
      };
    }
    case "checkpoint": {
      const b = message.body;
      return { island: b.island, final: b.final, snapshot: jsonToWire(b.snapshot) };
    }
    case "stop":
      return { reason: message.body.reason };
    case "error":
      return { code: message.body.code, reason: message.body.reason };
    case "log": {
      const b = message.body;
      return { level: b.level, time: b.time, msg: b.msg, fields: jsonToWire(b.fields) };
    }
  }
}

/**
 * One binary frame for a message (a fresh Uint8Array, not a view of a shared buffer), followed by `room`
 * zero bytes (for a tag: auth.ts FrameSigner; the copy out of the pack buffer is made once). Throws
 * SltError(E_PROTOCOL) for a message decode would refuse: wrong types, non-finite or out-of-range
 * numbers, long strings, inconsistent masks, hashes or zero counts, unknown types.
 */
export function encode(message: Message, room = 0): Uint8Array {
  let out: Uint8Array;
  let frame: Uint8Array;
  try {
    const wire = {
      v: message.v,
      type: message.type,
      runId: message.runId,
      from: message.from,
      epoch: message.epoch,
      seq: message.seq,
      body: bodyToWire(message),
    };
    packr.useBuffer(packBuffer);
    const packed = packr.pack(wire);
    out = new Uint8Array(packed.length + room); // a fresh copy of exactly the frame, and the room
    out.set(packed);
    frame = out.subarray(0, packed.length);
    // msgpackr moved to a bigger buffer of its own (up to 4x the frame): have room for this one next time
    if (packed.buffer !== packBuffer.buffer) {
      packBuffer = Buffer.allocUnsafeSlow(
        Math.max(2 * packBuffer.length, packed.length + (packed.length >> 3)),
      );
    }
  } catch (e) {
    throw new SltError(E_PROTOCOL, `cannot encode a ${String(message?.type)} message: ${errorText(e)}`);
  }
  const check = decodeChecked(frame, {
    runId: typeof message.runId === "string" ? message.runId : "",
    genomeLength: "any",
    maxMigrants: MAX_MIGRANTS,
    expectedFrom: undefined,
    lastSeq: undefined,
    accept: undefined,
    maxBytes: Number.POSITIVE_INFINITY,
    plainMaxBytes: Number.POSITIVE_INFINITY,
    copyMasks: false,
  });
  if (!check.ok) {
    throw new SltError(
      E_PROTOCOL,
      `cannot encode a ${String(message.type)} message: ${check.code}: ${check.reason}`,
    );
  }
  return out;
}
