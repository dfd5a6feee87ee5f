// Durable checkpoint files: a JSON value written into a run directory so that a crash at any instant
// (kill -9, power loss) leaves a valid checkpoint behind, and read back with corruption detected.
//
// Layout, in the run directory (name "checkpoint" by default):
//   checkpoint.json           the newest checkpoint
//   checkpoint.prev.json      the one before it
//   checkpoint.json.tmp-PID   a write in progress (a leftover of a killed write is removed by the next one)
//
// A write: the value goes to the temporary file in the same directory, which is fsynced; then, if
// checkpoint.json is a valid checkpoint, a hard link to it is renamed over checkpoint.prev.json (a
// torn checkpoint.json is never promoted over a good previous one); then the temporary file is renamed
// over checkpoint.json and the directory is fsynced. Each rename is atomic and checkpoint.json exists
// throughout: a crash at any point leaves the old or the new checkpoint.json, and a valid
// checkpoint.prev.json beside it. A write that fails (full disk, read-only directory, quota) removes its
// temporary file and throws SltError(E_CHECKPOINT); checkpoint.json is only ever replaced by a complete,
// fsynced new one.
//
// File format: one line of JSON, `{"format":"slt-checkpoint-file/1","body":BODY,"bytes":N,"sha256":"HEX"}`
// and a newline, where BODY is the value's JSON text (as JSON.stringify gives it), N its length in bytes
// and HEX the sha256 of those bytes. The checksum comes last so that the body can be streamed out as it
// is serialised: the value is turned into text piece by piece (below a few levels, one JSON.stringify per
// subtree), and the file never needs the whole text in memory at once. Reading needs it once, as a
// string, so a body may be at most Node's longest string (about 512 MiB); a write refuses a larger one
// before it replaces anything.
//
// Test-only fault injection: SLT_TEST_FAULT (a comma-separated list; this module reads the entries that
// start with "checkpoint-write:") makes a checkpoint write fail at one of its stages, see `FaultSpec`.
// Never set it outside tests.

import { constants as bufferConstants } from "node:buffer";
import { createHash, type Hash } from "node:crypto";
import {
  access,
  type FileHandle,
  link as hardLink,
  open,
  readdir,
  readFile,
  rename,
  unlink,
} from "node:fs/promises";
import { basename, join } from "node:path";
import { E_CHECKPOINT, SltError } from "../core/errors.ts";

export const CHECKPOINT_FILE_FORMAT = "slt-checkpoint-file/1";

const PREFIX = `{"format":"${CHECKPOINT_FILE_FORMAT}","body":`;
const TRAILER = /,"bytes":(\d+),"sha256":"([0-9a-f]{64})"\}\n$/;
/** bytes of text gathered before one write to the temporary file */
const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
/** subtrees below this depth are serialised with one JSON.stringify each */
const STREAM_DEPTH = 6;

/** The stages of a write at which the test-only fault hook can strike. */
export const CHECKPOINT_WRITE_STAGES = [
  /** the temporary file holds the first half of the first chunk written: a torn write */
  "tmp-half-written",
  /** the temporary file is complete and fsynced; nothing renamed yet */
  "before-rename",
  /** checkpoint.json has become checkpoint.prev.json; the new one is not in place yet */
  "between-renames",
  /** the new checkpoint.json is in place; the directory is not fsynced yet */
  "after-rename",
] as const;
export type CheckpointWriteStage = (typeof CHECKPOINT_WRITE_STAGES)[number];

/**
 * TEST ONLY. One entry of SLT_TEST_FAULT: `checkpoint-write:<stage>[:<ERRNO>][@<n>]`. At `stage` of the
 * n-th checkpoint write of this process (default the first), the process kills itself with SIGKILL, or,
 * with an errno name such as ENOSPC or EACCES, the write fails there as if the system call had returned
 * that error. E.g. `checkpoint-write:between-renames@2`, `checkpoint-write:tmp-half-written:ENOSPC`.
 */
export interface FaultSpec {
  readonly stage: CheckpointWriteStage;
  /** null: SIGKILL */
  readonly errno: string | null;
  /** the write (1-based, counted per process) the fault strikes */
  readonly write: number;
}

/** The checkpoint-write fault of an SLT_TEST_FAULT value, or null; throws on a malformed entry. */
export function parseFaultSpec(text: string | undefined): FaultSpec | null {
  if (!text) return null;
  const entry = text.split(",").find((e) => e.trim().startsWith("checkpoint-write:"));
  if (entry === undefined) return null;
  const m = /^checkpoint-write:([a-z-]+)(?::([A-Z][A-Z0-9]*))?(?:@([1-9]\d*))?$/.exec(entry.trim());
  if (!m || !(CHECKPOINT_WRITE_STAGES as readonly string[]).includes(m[1]))
    throw new SltError(
      E_CHECKPOINT,
      `SLT_TEST_FAULT: "${entry.trim()}" is not checkpoint-write:<stage>[:<ERRNO>][@<n>] with a stage of ${CHECKPOINT_WRITE_STAGES.join(", ")}`,
    );
  return { stage: m[1] as CheckpointWriteStage, errno: m[2] ?? null, write: Number(m[3] ?? 1) };
}

function envFault(write: number): FaultSpec | null {
  const spec = parseFaultSpec(process.env.SLT_TEST_FAULT);
  return spec !== null && spec.write === write ? spec : null;
}

/** The paths of a checkpoint in `dir`. */
export interface CheckpointFiles {
  readonly current: string;
  readonly previous: string;
  /** the temporary file of this process's writes */
  readonly temporary: string;
}

export function checkpointFiles(dir: string, name = "checkpoint"): CheckpointFiles {
  return {
    current: join(dir, `${name}.json`),
    previous: join(dir, `${name}.prev.json`),
    temporary: join(dir, `${name}.json.tmp-${process.pid}`),
  };
}

export interface WriteCheckpointOptions {
  /** the files' base name (default "checkpoint") */
  readonly name?: string;
  /** TEST ONLY: a fault spec that strikes this write (its `@n` ignored) instead of SLT_TEST_FAULT's (null: none) */
  readonly fault?: string | null;
  /** bytes gathered before each write to the file (default 4 MiB) */
  readonly chunkBytes?: number;
}

export interface WrittenCheckpoint {
  /** checkpoint.json's path */
  readonly file: string;
  /** bytes of the body (the value's JSON text) */
  readonly bytes: number;
  /** sha256 of the body, hex */
  readonly sha256: string;
}

const writesInProgress = new Set<string>();
let writesStarted = 0;

/**
 * Writes `value` (a JSON value: plain objects, arrays, strings, finite numbers, booleans, null) as the
 * newest checkpoint in the existing directory `dir`, keeping the one it replaces as the previous one.
 * Resolves once the checkpoint is durable. Throws SltError(E_CHECKPOINT) when it cannot be written
 * (full disk, read-only directory, ...; the message says which file and why, and that the previous
 * checkpoint is kept) or when a write to the same files is already in progress. `value` must not change
 * until the promise settles.
 */
export async function writeCheckpoint(
  dir: string,
  value: unknown,
  options: WriteCheckpointOptions = {},
): Promise<WrittenCheckpoint> {
  const files = checkpointFiles(dir, options.name);
  if (writesInProgress.has(files.current))
    throw new SltError(
      E_CHECKPOINT,
      `cannot write checkpoint ${files.current}: another write to it is in progress`,
    );
  writesInProgress.add(files.current);
  writesStarted++;
  try {
    // an explicit `fault` strikes this write; SLT_TEST_FAULT's strikes the n-th write of the process
    const fault =
      options.fault !== undefined ? parseFaultSpec(options.fault ?? undefined) : envFault(writesStarted);
    return await writeFiles(dir, files, value, fault, options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  } finally {
    writesInProgress.delete(files.current);
  }
}

/** Where a write has got to, for the clean-up and the message of a failed one. */
interface Progress {
  tmpCreated: boolean;
  replaced: boolean;
}

async function writeFiles(
  dir: string,
  files: CheckpointFiles,
  value: unknown,
  fault: FaultSpec | null,
  chunkBytes: number,
): Promise<WrittenCheckpoint> {
  const progress: Progress = { tmpCreated: false, replaced: false };
  const strike = (stage: CheckpointWriteStage) => {
    if (fault?.stage === stage) injectFault(fault);
  };
  try {
    await removeStaleTemporaries(dir, files);
    const handle = await open(files.temporary, "wx");
    progress.tmpCreated = true;
    let written: { bytes: number; sha256: string };
    try {
      written = await writeBody(
        handle,
        value,
        chunkBytes,
        fault?.stage === "tmp-half-written" ? fault : null,
      );
      await handle.sync();
    } finally {
      await handle.close();
    }
    strike("before-rename");
    await keepAsPrevious(files);
    strike("between-renames");
    await rename(files.temporary, files.current);
    progress.replaced = true;
    progress.tmpCreated = false;
    strike("after-rename");
    await syncDirectory(dir);
    return { file: files.current, ...written };
  } catch (e) {
    throw await failedWrite(e, files, progress);
  }
}

/** Undoes what a failed write did to the files and returns the error to throw. */
async function failedWrite(e: unknown, files: CheckpointFiles, progress: Progress): Promise<unknown> {
  if (progress.tmpCreated) await unlink(files.temporary).catch(() => undefined);
  if (e instanceof SltError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === undefined) return e;
  const kept = progress.replaced
    ? "the new checkpoint is in place but may not be durable"
    : (await exists(files.current))
      ? "the previous checkpoint is kept"
      : "there is no previous checkpoint";
  return new SltError(
    E_CHECKPOINT,
    `cannot write checkpoint ${files.current}: ${reasonOf(code, e)}; ${kept}`,
  );
}

const REASONS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied (the run directory is not writable)",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOENT: "the run directory does not exist",
  EIO: "input/output error",
};

function reasonOf(code: string, e: unknown): string {
  return `${REASONS[code] ?? (e as Error).message} (${code})`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** TEST ONLY: the fault of SLT_TEST_FAULT, now: SIGKILL, or the injected system error. */
function injectFault(fault: FaultSpec): never {
  if (fault.errno === null) {
    process.kill(process.pid, "SIGKILL");
    throw new Error("unreachable: SIGKILL did not end the process");
  }
  const e = new Error(
    `${fault.errno}: injected by SLT_TEST_FAULT at ${fault.stage}`,
  ) as NodeJS.ErrnoException;
  e.code = fault.errno;
  throw e;
}

async function removeStaleTemporaries(dir: string, files: CheckpointFiles): Promise<void> {
  const stems = [`${basename(files.current)}.tmp-`, `${basename(files.previous)}.tmp-`];
  for (const entry of await readdir(dir))
    if (stems.some((stem) => entry.startsWith(stem))) await unlink(join(dir, entry));
}

/**
 * Makes the current checkpoint the previous one, if it is valid, without ever leaving the directory
 * with no checkpoint.json: a hard link to it is renamed over checkpoint.prev.json (one atomic step), and
 * checkpoint.json stays in place until the new one is renamed over it. A current file that is not a
 * valid checkpoint (torn by a crash) is not promoted: the previous one, which is valid, stays.
 */
async function keepAsPrevious(files: CheckpointFiles): Promise<void> {
  if (!(await checkCheckpointFile(files.current)).ok) return;
  const link = `${files.previous}.tmp-${process.pid}`;
  await hardLink(files.current, link);
  await rename(link, files.previous);
  // rename does nothing when both names are already links to one file (prev was linked to this very
  // checkpoint by a write killed before its second rename): the link is then still there
  await unlink(link).catch(() => undefined);
}

async function syncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; there the renames are as durable as the file system makes them
  if (process.platform === "win32") return;
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes all of `buffer` (a write(2) may take fewer bytes than it was given, e.g. as a disk fills). */
async function writeAll(handle: FileHandle, buffer: Buffer): Promise<void> {
  for (let at = 0; at < buffer.length; ) {
    const { bytesWritten } = await handle.write(buffer, at, buffer.length - at);
    if (bytesWritten === 0) throw Object.assign(new Error("write took no bytes"), { code: "EIO" });
    at += bytesWritten;
  }
}

/** Streams the file's text (prefix, body, trailer) into `handle`; the body's size and sha256. */
async function writeBody(
  handle: FileHandle,
  value: unknown,
  chunkBytes: number,
  tornWrite: FaultSpec | null,
): Promise<{ bytes: number; sha256: string }> {
  const hash: Hash = createHash("sha256");
  let bytes = 0;
  const writeBodyChunk = async (text: string) => {
    const buffer = Buffer.from(text, "utf8");
    if (tornWrite !== null && bytes === 0) {
      await writeAll(handle, buffer.subarray(0, buffer.length >> 1));
      injectFault(tornWrite);
    }
    hash.update(buffer);
    bytes += buffer.length;
    await writeAll(handle, buffer);
  };
  await writeAll(handle, Buffer.from(PREFIX));
  let pending: string[] = [];
  let pendingLength = 0;
  for (const piece of jsonPieces(value)) {
    pending.push(piece);
    pendingLength += piece.length;
    if (pendingLength >= chunkBytes) {
      await writeBodyChunk(pending.join(""));
      pending = [];
      pendingLength = 0;
    }
  }
  if (pending.length > 0) await writeBodyChunk(pending.join(""));
  if (bytes > bufferConstants.MAX_STRING_LENGTH)
    throw new SltError(
      E_CHECKPOINT,
      `cannot write checkpoint: its body is ${bytes} bytes, more than the ${bufferConstants.MAX_STRING_LENGTH} this Node can read back as one string; the previous checkpoint is kept`,
    );
  const sha256 = hash.digest("hex");
  await writeAll(handle, Buffer.from(`,"bytes":${bytes},"sha256":"${sha256}"}\n`));
  return { bytes, sha256 };
}

function isPlainContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  if (Array.isArray(v)) return true;
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return (
    (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== "function"
  );
}

/**
 * The JSON text of `value` in pieces whose concatenation is exactly JSON.stringify(value): plain objects
 * and arrays down to `depth` levels are walked here, anything deeper (or anything else) is one
 * JSON.stringify. Throws when `value` itself has no JSON text (undefined, a function, a symbol).
 */
export function* jsonPieces(value: unknown, depth = STREAM_DEPTH): Generator<string, void, undefined> {
  if (depth <= 0 || !isPlainContainer(value)) {
    const text = JSON.stringify(value);
    if (text === undefined)
      throw new SltError(E_CHECKPOINT, `cannot write checkpoint: ${typeof value} is not a JSON value`);
    yield text;
    return;
  }
  if (Array.isArray(value)) {
    yield "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ",";
      const v = value[i];
      if (v === undefined || typeof v === "function" || typeof v === "symbol") yield "null";
      else yield* jsonPieces(v, depth - 1);
    }
    yield "]";
    return;
  }
  yield "{";
  let members = 0;
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
    yield `${members++ > 0 ? "," : ""}${JSON.stringify(k)}:`;
    yield* jsonPieces(v, depth - 1);
  }
  yield "}";
}

/** What reading one checkpoint file gave: its value, or what is wrong with it (one line). */
export type CheckpointFileCheck =
  | { readonly ok: true; readonly value: unknown; readonly bytes: number; readonly sha256: string }
  | { readonly ok: false; readonly problem: string };

/** Reads and checks one checkpoint file (format tag, length, checksum, JSON). Never throws. */
export async function checkCheckpointFile(path: string): Promise<CheckpointFileCheck> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      ok: false,
      problem: code === "ENOENT" ? "missing" : `cannot be read (${code ?? (e as Error).message})`,
    };
  }
  return checkCheckpointBytes(buffer);
}

/** `checkCheckpointFile` on the file's bytes. */
export function checkCheckpointBytes(buffer: Buffer): CheckpointFileCheck {
  const fail = (problem: string): CheckpointFileCheck => ({ ok: false, problem });
  if (buffer.length === 0) return fail("empty (0 bytes)");
  const head = buffer.subarray(0, PREFIX.length).toString("utf8");
  if (head !== PREFIX) {
    const tag = /^\{"format":"([^"]{0,80})"/.exec(buffer.subarray(0, 120).toString("utf8"));
    if (tag && tag[1] !== CHECKPOINT_FILE_FORMAT)
      return fail(`format tag "${tag[1]}" is not "${CHECKPOINT_FILE_FORMAT}"`);
    if (PREFIX.startsWith(buffer.toString("utf8")))
      return fail(`truncated: ${buffer.length} bytes, cut inside the format tag`);
    return fail(`not a checkpoint file: it does not start with the format tag "${CHECKPOINT_FILE_FORMAT}"`);
  }
  const tail = buffer.subarray(Math.max(PREFIX.length, buffer.length - 120)).toString("utf8");
  const trailer = TRAILER.exec(tail);
  if (!trailer)
    return fail(
      `truncated or damaged: ${buffer.length} bytes, and its end is not the byte count and sha256 that close a checkpoint`,
    );
  const body = buffer.subarray(PREFIX.length, buffer.length - trailer[0].length);
  const expected = Number(trailer[1]);
  if (body.length !== expected) return fail(`the body is ${body.length} bytes, the file records ${expected}`);
  const sha256 = createHash("sha256").update(body).digest("hex");
  if (sha256 !== trailer[2])
    return fail(
      `checksum mismatch: the body's sha256 is ${sha256.slice(0, 12)}…, the file records ${trailer[2].slice(0, 12)}…`,
    );
  try {
    return { ok: true, value: JSON.parse(body.toString("utf8")), bytes: body.length, sha256 };
  } catch (e) {
    return fail(`the body is not JSON (${(e as Error).message})`);
  }
}

export interface ReadCheckpoint {
  readonly value: unknown;
  /** the file it came from */
  readonly file: string;
  /**
   * null when the newest checkpoint was valid; else one line for the log: which file was passed over,
   * what is wrong with it, and that the previous checkpoint is used
   */
  readonly warning: string | null;
  readonly bytes: number;
  readonly sha256: string;
}

export interface ReadCheckpointOptions {
  /** the files' base name (default "checkpoint") */
  readonly name?: string;
  /**
   * what is wrong with a value in one line, or null when it is fine (e.g. core/checkpoint.ts's
   * runCheckpointError); a file whose value it refuses counts as not valid, like a corrupt one
   */
  readonly validate?: (value: unknown) => string | null;
}

async function checkFile(path: string, options: ReadCheckpointOptions): Promise<CheckpointFileCheck> {
  const check = await checkCheckpointFile(path);
  if (!check.ok || options.validate === undefined) return check;
  const problem = options.validate(check.value);
  return problem === null ? check : { ok: false, problem };
}

/**
 * The newest valid checkpoint in `dir`: checkpoint.json, or checkpoint.prev.json (with a warning) when
 * the newest is missing, truncated, corrupt or refused by `validate`. Throws SltError(E_CHECKPOINT)
 * naming both files and what is wrong with each when neither is valid.
 */
export async function readCheckpoint(
  dir: string,
  options: ReadCheckpointOptions = {},
): Promise<ReadCheckpoint> {
  const files = checkpointFiles(dir, options.name);
  const current = await checkFile(files.current, options);
  if (current.ok)
    return {
      value: current.value,
      file: files.current,
      warning: null,
      bytes: current.bytes,
      sha256: current.sha256,
    };
  const previous = await checkFile(files.previous, options);
  if (previous.ok)
    return {
      value: previous.value,
      file: files.previous,
      warning: `checkpoint ${files.current} is ${current.problem === "missing" ? "missing" : `not usable: ${current.problem}`}; using the previous one, ${files.previous}`,
      bytes: previous.bytes,
      sha256: previous.sha256,
    };
  throw new SltError(
    E_CHECKPOINT,
    `no valid checkpoint in ${dir}: ${files.current}: ${current.problem}; ${files.previous}: ${previous.problem}`,
  );
}
