// The run directory runs/<name>/: config.json, events.jsonl, ticket.json. Files are written whole
// (temp file + rename) so a crash never leaves a half-written config or ticket behind.
import { appendFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export interface RunDir {
  readonly path: string;
  writeJson(file: string, value: unknown): string;
  appendEvent(event: Record<string, unknown>): void;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

/**
 * The directory a run named `name` gets under `out`: `<out>/<name>`, or, since an existing run directory
 * is never overwritten, the first free of `<name>-2`, `<name>-3`, ...
 */
export function runDirPath(out: string, name: string): string {
  let path = resolve(out, name);
  for (let k = 2; existsSync(path); k++) path = resolve(out, `${name}-${k}`);
  return path;
}

/** Creates the run directory `runDirPath(out, name)` with an empty events.jsonl. */
export function createRunDir(out: string, name: string): RunDir {
  mkdirSync(out, { recursive: true });
  const path = runDirPath(out, name);
  mkdirSync(path);
  const events = join(path, "events.jsonl");
  writeFileSync(events, "");
  return {
    path,
    writeJson(file, value) {
      const target = join(path, file);
      writeJsonAtomic(target, value);
      return target;
    },
    appendEvent(event) {
      appendFileSync(events, `${JSON.stringify(event)}\n`);
    },
  };
}
