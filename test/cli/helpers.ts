// Shared set-up of the tests that run the `slt` command as a user does: a child process under this
// Node, in a scratch folder that is removed after the file's tests.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll } from "vitest";

export const CLI = resolve(import.meta.dirname, "../../src/cli.ts");

/** A fresh folder under the system's temporary folder, removed after the calling file's tests. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `slt ARGS`, run to its end in `cwd`. */
export function runCli(
  cwd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whether process `pid` exists (it may be a zombie not yet reaped). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

export type RunEvent = Record<string, unknown> & { type: string };

/** The complete lines of `<out>/<name>/events.jsonl` so far (none before it exists), for runs under way. */
export function runEvents(out: string, name: string): RunEvent[] {
  const file = join(out, name, "events.jsonl");
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.endsWith("}")) // a line being written is not complete yet
    .map((l) => JSON.parse(l));
}
