// The wire messages between coordinator and islands and between islands. Every frame is one msgpack
// map, the envelope {v, type, runId, from, epoch, seq, body}; the body's shape depends on type. These
// are the in-memory forms: masks are Mask objects here and packed bytes on the wire (codec.ts).
//
// All fields are required (absent values are null), so a message has exactly one wire form.
import type { IslandSnapshotJSON } from "../island-snapshot.ts";
import type { Mask } from "../mask.ts";

/**
 * 3: the handshake proofs bind the transcript, and every frame after the handshake carries an HMAC tag
 * (auth.ts). 2: assign gained weights, checkpointEvery and resume; checkpoint and log messages are new. Islands of
 * another checkout speaking 1 are refused as a version mismatch, not field by field.
 */
export const PROTOCOL_VERSION = 3;

/** Who speaks on a connection: an island to the coordinator, the coordinator, or an island to an island. */
export type Role = "island" | "coordinator" | "peer";
export const ROLES: readonly Role[] = ["island", "coordinator", "peer"];

/** The two synchrony modes: docs/architecture.md, "Synchrony". */
export type SyncMode = "async" | "lockstep";
export const SYNC_MODES: readonly SyncMode[] = ["async", "lockstep"];

/** What an edge weight means (core/topology.ts WeightKind): a migrant count or a probability. */
export type EdgeWeights = "count" | "probability";
export const EDGE_WEIGHTS: readonly EdgeWeights[] = ["count", "probability"];

// ---- limits (checked by decode; encode refuses messages that break them) ----

/** runId and from: 1..128 printable ASCII characters without "|" (they are joined by "|" in proofs). */
export const MAX_ID_CHARS = 128;
/** host names */
export const MAX_HOST_CHARS = 255;
/** addresses (ws://host:port/path) */
export const MAX_ADDRESS_CHARS = 256;
/** a PEM certificate (chain) or private key in an assignment's `tls` */
export const MAX_PEM_CHARS = 65536;
/** seed stream labels */
export const MAX_LABEL_CHARS = 256;
/** stop and error reasons */
export const MAX_REASON_CHARS = 1024;
/** error codes */
export const MAX_CODE_CHARS = 64;
/** any string inside an assign's config object */
export const MAX_CONFIG_STRING_CHARS = 65536;
/** nesting depth of an assign's config object */
export const MAX_CONFIG_DEPTH = 32;
/** out- and in-neighbours per island */
export const MAX_NEIGHBOURS = 1024;
/** migrants per message, whatever the receiver's own limit */
export const MAX_MIGRANTS = 1024;
/** genome length in bits (2^28: 32 MiB packed) */
export const MAX_GENOME_LENGTH = 2 ** 28;
/** island ids are 0 .. MAX_ISLAND_ID */
export const MAX_ISLAND_ID = 2 ** 31 - 1;
/** nonces are exactly this many random bytes (drawn by the caller; core has no entropy source) */
export const NONCE_BYTES = 32;
/** HMAC-SHA256 proofs */
export const PROOF_BYTES = 32;
/**
 * The most bytes a snapshot may add to a frame (`checkpoint`, `assign.resume`), whatever the receiver's
 * own bound (codec.ts maxSnapshotBytes)
 */
export const MAX_SNAPSHOT_BYTES = 2 ** 30;
/** the latest time a log record may carry: JavaScript's last valid Date, in ms since the epoch */
export const MAX_LOG_TIME_MS = 8.64e15;
/** a log record's message */
export const MAX_LOG_MESSAGE_CHARS = 2048;
/** any string inside a log record's fields */
export const MAX_LOG_STRING_CHARS = 2048;
/** nesting depth of a log record's fields (the fields object itself is level 0) */
export const MAX_LOG_DEPTH = 4;
/** entries of any one object or array inside a log record's fields */
export const MAX_LOG_ENTRIES = 64;
/** a log record's fields as JSON text, at most (so that a record is always a small frame) */
export const MAX_LOG_FIELDS_CHARS = 16384;

// ---- bodies ----

/** A JSON value as carried in an assign's config (finite numbers only, no undefined). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** First message of every connection, from the side that connected. */
export interface HelloBody {
  readonly role: Role;
  /** the island's id if it has one (launchers may assign ids up front), else null */
  readonly island: number | null;
  readonly host: string;
  readonly pid: number;
  /** where this island's peer server listens (ws://host:port), or null (coordinators, peers) */
  readonly listen: string | null;
  /** NONCE_BYTES fresh random bytes */
  readonly nonce: Uint8Array;
}

/** The accepting side's answer to hello: its own nonce and its proof over the hello's nonce. */
export interface ChallengeBody {
  readonly role: Role;
  readonly nonce: Uint8Array;
  /** authProof(secret, {runId, role, from, theirNonce: hello nonce, myNonce: this nonce, transcript: H(hello)}) */
  readonly proof: Uint8Array;
}

/** The connecting side's proof over the challenge's nonce; the connection is authenticated after it. */
export interface AuthBody {
  /** authProof(secret, {runId, role: hello role, from, theirNonce: challenge nonce, myNonce: hello nonce, transcript: H(hello, challenge)}) */
  readonly proof: Uint8Array;
}

export interface OutNeighbour {
  readonly island: number;
  /** the neighbour's peer server, as it said in its hello's `listen` */
  readonly address: string;
  /** edge weight: a migrant count or a probability, as the topology defines it (finite, >= 0) */
  readonly weight: number;
}

/** Coordinator → island: everything an island needs to start evolving. */
export interface AssignBody {
  readonly island: number;
  /** the label of the island's seed stream, e.g. streamName(seed, "island", id) */
  readonly seedStream: string;
  /** the resolved run config as a JSON object (validated by the island against the config schema) */
  readonly config: JsonObject;
  readonly genomeLength: number;
  /** generations per epoch */
  readonly interval: number;
  /** generations before the first migration, to stagger traffic */
  readonly offset: number;
  readonly mode: SyncMode;
  /** the most migrants this island sends or accepts in one message */
  readonly maxMigrants: number;
  readonly outNeighbours: readonly OutNeighbour[];
  /** ids of the islands that send to this one (lockstep waits for exactly these) */
  readonly inNeighbours: readonly number[];
  /** what the out-edges' weights mean */
  readonly weights: EdgeWeights;
  /**
   * send a `checkpoint` every this many generations (lockstep: at the first migration barrier at or
   * after each multiple) and once more at stop; absent or null: never
   */
  readonly checkpointEvery?: number | null;
  /** start from this snapshot instead of a fresh population (absent or null: fresh) */
  readonly resume?: IslandSnapshotJSON | null;
  /**
   * the run's TLS certificate and private key (PEM) for the island's peer server, when the run uses
   * wss:// (absent or null: plain ws://); it travels only over the TLS-protected coordinator link
   */
  readonly tls?: AssignTls | null;
}

/** The certificate (chain) and key an island's peer server serves in a wss:// run. */
export interface AssignTls {
  readonly cert: string;
  readonly key: string;
}

/** Cumulative migration counters of one island. */
export interface MigrationCounts {
  readonly sent: number;
  readonly received: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly dropped: number;
}

/**
 * Migration counts split by neighbour, since the island's process started: per current out-neighbour the
 * migrants written to it, per current in-neighbour those accepted or rejected at integration (the
 * totals in MigrationCounts stay the authority). At most MAX_NEIGHBOURS entries each.
 */
export interface EdgeReport {
  readonly out: readonly { readonly island: number; readonly sent: number }[];
  readonly in: readonly { readonly island: number; readonly accepted: number; readonly rejected: number }[];
}

/** Host figures sampled off the hot path; null where not available. */
export interface HostStats {
  readonly loadAverage: number | null;
  readonly cpuPercent: number | null;
  readonly memoryUsedBytes: number | null;
  readonly memoryTotalBytes: number | null;
  readonly rssBytes: number | null;
}

/** Island → coordinator at the end of each epoch (the epoch is the envelope's). */
export interface ReportBody {
  readonly island: number;
  readonly generation: number;
  readonly evaluations: number;
  /** the island's evaluation rate over about the last 10 s (io/progress.ts RateWindow); 0 before any */
  readonly evaluationsPerSecond: number;
  /** best fitness in its natural unit (accuracy or loss) */
  readonly bestFitness: number;
  readonly bestAccuracy: number;
  readonly bestLoss: number;
  /** zeros / genome length of the best individual */
  readonly bestSparsity: number;
  readonly meanFitness: number;
  /** mean pairwise Hamming distance in the population */
  readonly diversity: number;
  /** generations since the best fitness last improved */
  readonly stalledGenerations: number;
  /**
   * the island's own termination rule right now: "plateau", "perfect-accuracy", or null while it has
   * not fired; the island keeps evolving and the coordinator decides (absent: null)
   */
  readonly verdict?: string | null;
  readonly migration: MigrationCounts;
  /** the counts by neighbour (absent: an island that does not split them) */
  readonly edges?: EdgeReport;
  readonly host: HostStats;
}

/**
 * One travelling individual: its mask and its own metrics (receivers keep them, they do not
 * re-evaluate). On the wire: {bits (packed bytes), length, hash, accuracy, loss, zeros}.
 */
export interface Migrant {
  readonly mask: Mask;
  /** maskHash(mask), 16 lowercase hex digits */
  readonly hash: string;
  readonly accuracy: number;
  readonly loss: number;
  readonly zeros: number;
}

/** Island → island: emigrants at the end of the sender's epoch (the envelope's epoch). */
export interface MigrantsBody {
  readonly migrants: readonly Migrant[];
}

export type HeartbeatBody = Record<string, never>;

/** Island → coordinator: its best individual (when asked to stop, or when it ends). */
export interface TicketBody {
  readonly island: number;
  readonly generation: number;
  readonly evaluations: number;
  readonly best: Migrant;
}

/** Island → coordinator: the island's complete state (core/island-snapshot.ts), for checkpoints. */
export interface CheckpointBody {
  readonly island: number;
  /** true for the snapshot taken when the island stops (sent before its ticket) */
  readonly final: boolean;
  readonly snapshot: IslandSnapshotJSON;
}

export interface StopBody {
  readonly reason: string;
}

/** Sent before closing a connection for a protocol or run error. */
export interface ErrorBody {
  readonly code: string;
  readonly reason: string;
}

/** The levels a relayed log record may have (pino's, lowest first). */
export type LogRecordLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";
export const LOG_RECORD_LEVELS: readonly LogRecordLevel[] = [
  "trace",
  "debug",
  "info",
  "warn",
  "error",
  "fatal",
];

/** Island → coordinator: one record of the island's logger (island/log-link.ts, coordinator/island-log.ts). */
export interface LogBody {
  readonly level: LogRecordLevel;
  /** when the island logged it, ms since the Unix epoch on the island's clock */
  readonly time: number;
  readonly msg: string;
  /** the record's other fields, bounded (MAX_LOG_* above; protocol/log-record.ts clamps them) */
  readonly fields: JsonObject;
}

export interface Bodies {
  hello: HelloBody;
  challenge: ChallengeBody;
  auth: AuthBody;
  assign: AssignBody;
  report: ReportBody;
  migrants: MigrantsBody;
  heartbeat: HeartbeatBody;
  ticket: TicketBody;
  checkpoint: CheckpointBody;
  stop: StopBody;
  error: ErrorBody;
  log: LogBody;
}

export type MessageType = keyof Bodies;

export const MESSAGE_TYPES: readonly MessageType[] = [
  "hello",
  "challenge",
  "auth",
  "assign",
  "report",
  "migrants",
  "heartbeat",
  "ticket",
  "checkpoint",
  "stop",
  "error",
  "log",
];

/** The messages a connection accepts before it has authenticated. */
export const HANDSHAKE_TYPES: readonly MessageType[] = ["hello", "challenge", "auth", "error"];

export interface Header {
  readonly runId: string;
  /** the sender's name, e.g. "coordinator" or "island-3" (1..128 printable ASCII, no "|") */
  readonly from: string;
  /** the sender's current epoch (0 before the first) */
  readonly epoch: number;
  /** per connection and direction, strictly increasing (safe integer >= 0) */
  readonly seq: number;
}

export interface Envelope<T extends MessageType = MessageType> extends Header {
  readonly v: typeof PROTOCOL_VERSION;
  readonly type: T;
  readonly body: Bodies[T];
}

/** Any message, discriminated by `type`. */
export type Message = { [T in MessageType]: Envelope<T> }[MessageType];

export function makeMessage<T extends MessageType>(type: T, header: Header, body: Bodies[T]): Envelope<T> {
  return {
    v: PROTOCOL_VERSION,
    type,
    runId: header.runId,
    from: header.from,
    epoch: header.epoch,
    seq: header.seq,
    body,
  };
}
