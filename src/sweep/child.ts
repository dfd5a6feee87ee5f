// `slt run … --json --quiet` (or `slt resume …`, `slt baseline dense …`) in a child process under this
// Node: the one way the sweep and `slt reproduce` start a run. A child is a whole `slt` command, so a run
// in a sweep is the run a user would have started by hand, with its own run directory, checkpoints and
// exit status.
import { spawn } from "node:child_process";
import { resolve } from "node:path";

const CLI = resolve(import.meta.dirname, "..", "cli.ts");

/** How a child ended: its `--json` line, or the error line it printed (or how it died). */
export type ChildResult =
  | { readonly ok: true; readonly summary: Record<string, unknown> }
  | { readonly ok: false; readonly error: string; readonly code: number | null };

export interface ChildRun {
  readonly pid: number | undefined;
  readonly done: Promise<ChildResult>;
  /** sends `signal` to the child, if it is still running */
  kill(signal: NodeJS.Signals): void;
}

/** Keep only the end of a child's stderr: its error line is last. */
const STDERR_KEEP = 64 * 1024;

/**
 * The line that says why a child failed: its `slt: error …` line (with the lines that detail it, such as
 * an invalid configuration's fields, joined with "; "), else its last line, else its exit.
 */
function errorLine(stderr: string, code: number | null, signal: NodeJS.Signals | null): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const exit = signal !== null ? `killed by ${signal}` : `exit code ${code}`;
  const at = lines.findLastIndex((l) => l.startsWith("slt: error"));
  const line =
    at === -1
      ? lines.at(-1)
      : lines[at].endsWith(":")
        ? [lines[at], lines.slice(at + 1).join("; ")].join(" ").trim()
        : lines[at];
  return line === undefined ? exit : `${line} (${exit})`;
}

/** Starts `slt COMMAND ARGS --json --quiet` (command "run", "resume", or words such as "baseline dense"). */
export function startSlt(command: string, args: readonly string[]): ChildRun {
  // an IPC channel, unused but for its end: it closes however the sweep ends, SIGKILL included, and a run
  // takes that as a stop request (io/stop-request.ts), so no run outlives its sweep
  const child = spawn(process.execPath, [CLI, ...command.split(" "), ...args, "--json", "--quiet"], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    err = (err + d).slice(-STDERR_KEEP);
  });
  const done = new Promise<ChildResult>((settle) => {
    child.on("error", (e) =>
      settle({ ok: false, error: `cannot start slt ${command}: ${e.message}`, code: null }),
    );
    child.on("close", (code, signal) => {
      const last = out.trim().split("\n").pop() ?? "";
      if (code !== 0) return settle({ ok: false, error: errorLine(err, code, signal), code });
      try {
        settle({ ok: true, summary: JSON.parse(last) as Record<string, unknown> });
      } catch {
        settle({ ok: false, error: `slt ${command} printed no JSON summary: ${last.slice(0, 200)}`, code });
      }
    });
  });
  return {
    pid: child.pid,
    done,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** `slt run ARGS --json --quiet`: its one JSON line, or an Error with its exit code and error line. */
export async function runJson(args: readonly string[]): Promise<unknown> {
  const r = await startSlt("run", args).done;
  if (!r.ok) throw new Error(`slt run ${args.join(" ")} exited with ${r.code}: ${r.error}`);
  return r.summary;
}
