// Shared helpers for the dataset tests: locating the repository and its vendored data/, reading .csv.gz
// files, and per-class statistics.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { type ParsedCsv, parseCsv, type RawSplit } from "../../../src/core/datasets/index.ts";

export const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
/** the vendored data files (data/README.md): sklearn's digits and the papers' exact moons and circles */
export const dataDir = path.join(repoRoot, "data");

export function readGzCsv(file: string): ParsedCsv {
  return parseCsv(gunzipSync(readFileSync(file)).toString("utf8"), file);
}

export interface ClassStats {
  count: number;
  mean: number[];
  std: number[];
}

/** Per label: row count, mean and population std of every feature. */
export function classStats(s: {
  n: number;
  features: number;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}): Map<number, ClassStats> {
  const out = new Map<number, ClassStats>();
  const f = s.features;
  for (let i = 0; i < s.n; i++) {
    let c = out.get(s.y[i]);
    if (!c) {
      c = { count: 0, mean: new Array(f).fill(0), std: new Array(f).fill(0) };
      out.set(s.y[i], c);
    }
    c.count++;
    for (let j = 0; j < f; j++) c.mean[j] += s.x[i * f + j];
  }
  for (const c of out.values()) for (let j = 0; j < f; j++) c.mean[j] /= c.count;
  for (let i = 0; i < s.n; i++) {
    const c = out.get(s.y[i])!;
    for (let j = 0; j < f; j++) c.std[j] += (s.x[i * f + j] - c.mean[j]) ** 2;
  }
  for (const c of out.values()) for (let j = 0; j < f; j++) c.std[j] = Math.sqrt(c.std[j] / c.count);
  return out;
}

/** Mean and population std of the distance of each point of class `label` from (cx, cy). */
export function radiusStats(
  s: RawSplit,
  label: number,
  cx = 0,
  cy = 0,
): { mean: number; std: number; count: number } {
  const r: number[] = [];
  for (let i = 0; i < s.n; i++)
    if (s.y[i] === label) r.push(Math.hypot(s.x[2 * i] - cx, s.x[2 * i + 1] - cy));
  const mean = r.reduce((a, b) => a + b, 0) / r.length;
  const std = Math.sqrt(r.reduce((a, b) => a + (b - mean) ** 2, 0) / r.length);
  return { mean, std, count: r.length };
}

/** Rows as strings, for multiset comparisons. */
export function rowKeys(s: {
  n: number;
  features: number;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}): string[] {
  const keys: string[] = [];
  for (let i = 0; i < s.n; i++) {
    const row: number[] = [];
    for (let j = 0; j < s.features; j++) row.push(s.x[i * s.features + j]);
    keys.push(`${row.join(",")}|${s.y[i]}`);
  }
  return keys;
}
