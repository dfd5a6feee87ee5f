// Deterministic fakes for the GA tests: tiny topologies, masks from bit strings, and evaluators whose
// metrics are simple functions of the mask.
import type { BatchEvaluator, Metrics } from "../../../src/core/evaluate.ts";
import type { NetworkShape } from "../../../src/core/ga/index.ts";
import { emptyMask, getBit, hamming, type Mask, maskHash, popcount, setBit } from "../../../src/core/mask.ts";

/** NetworkShape of a fully connected net with these widths (no weights needed for graph operations). */
export function topology(widths: readonly number[]): NetworkShape {
  const layers = [];
  let offset = 0;
  for (let l = 1; l < widths.length; l++) {
    layers.push({ inputs: widths[l - 1], outputs: widths[l], offset });
    offset += widths[l - 1] * widths[l];
  }
  return { layers, genomeLength: offset };
}

/** "1011…" → mask (character i = bit i) */
export function bits(text: string): Mask {
  const m = emptyMask(text.length);
  for (let i = 0; i < text.length; i++) if (text[i] === "1") setBit(m, i, true);
  return m;
}

export function bitString(m: Mask): string {
  let s = "";
  for (let i = 0; i < m.length; i++) s += getBit(m, i) ? "1" : "0";
  return s;
}

/** Mask with exactly the given bits set. */
export function withBits(length: number, set: readonly number[]): Mask {
  const m = emptyMask(length);
  for (const i of set) setBit(m, i, true);
  return m;
}

/** An evaluator that records its calls. */
export interface SpyEvaluator extends BatchEvaluator {
  calls: Mask[][];
  count(): number;
}

export function spy(f: (m: Mask) => Metrics): SpyEvaluator {
  const calls: Mask[][] = [];
  const ev = ((masks: readonly Mask[]) => {
    calls.push([...masks]);
    return masks.map(f);
  }) as SpyEvaluator;
  ev.calls = calls;
  ev.count = () => calls.reduce((n, c) => n + c.length, 0);
  return ev;
}

/**
 * Accuracy = 1 − hamming(mask, target)/length rounded down to `levels` steps (ties are common);
 * loss = 1 − accuracy + popcount/(8·length) so that loss and accuracy rank differently.
 */
export function targetMetrics(target: Mask, levels = 16): (m: Mask) => Metrics {
  return (m) => {
    const raw = 1 - hamming(m, target) / m.length;
    const accuracy = Math.floor(raw * levels) / levels;
    return { accuracy, loss: 1 - accuracy + popcount(m) / (8 * m.length) };
  };
}

/** Pseudo-random but deterministic metrics from the mask hash, in `levels` steps. */
export function hashMetrics(levels = 8): (m: Mask) => Metrics {
  return (m) => {
    const h = Number.parseInt(maskHash(m).slice(0, 8), 16) / 2 ** 32;
    const accuracy = Math.floor(h * levels) / levels;
    return { accuracy, loss: 1 - accuracy };
  };
}

/** An evaluator that answers accuracies from a script, in order; loss = 1 − accuracy. */
export function scripted(accuracies: number[]): SpyEvaluator & { left(): number } {
  let k = 0;
  const ev = spy(() => {
    if (k >= accuracies.length) throw new Error(`scripted evaluator ran out after ${k} evaluations`);
    const a = accuracies[k++];
    return { accuracy: a, loss: 1 - a };
  }) as SpyEvaluator & { left(): number };
  ev.left = () => accuracies.length - k;
  return ev;
}
