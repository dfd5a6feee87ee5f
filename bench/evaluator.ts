// Evaluator throughput: prints one JSON line per figure.
//   node_modules/.bin/node bench/evaluator.ts [--quick]
// Figures (single thread, best of five timing windows): the reference evaluator, the fast evaluator's full evaluation of fresh random
// masks (with and without the loss), one-bit mutants through the plain `evaluate` (first-layer column
// memo hits) and through `evaluateMutant` (cached parents), and full evaluations with each unit-column
// kernel (JavaScript, WebAssembly SIMD, relaxed SIMD), on a moons-like [2,75,2] split of 50,000
// rows, a digits-like [64,75,10] split of 1347 rows and a deeper [2,50,50,2] network. Inputs are
// synthetic (seeded), which is fine for speed: the work does not depend on the values.
import os from "node:os";
import type { Split } from "../src/core/dataset.ts";
import { evaluate } from "../src/core/evaluate.ts";
import { type Mask, randomMask, withFlipped } from "../src/core/mask.ts";
import { initNetwork, type Network } from "../src/core/network.ts";
import { Rng } from "../src/core/rng.ts";
import { createFastEvaluator, type FastEvaluatorOptions, simdKinds } from "../src/evaluator/index.ts";

const quick = process.argv.includes("--quick");
const cores = os.availableParallelism();

/** Two interleaved half circles with noise, scaled to [−0.7, 0.7] like the paper's moons. */
function moonsLike(n: number, rng: Rng): Split {
  const x = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const label = rng.int(2);
    const t = Math.PI * rng.next();
    const px = label === 0 ? Math.cos(t) : 1 - Math.cos(t);
    const py = label === 0 ? Math.sin(t) : 0.5 - Math.sin(t);
    x[2 * r] = ((px + rng.normal(0, 0.07) + 1.1) / 3.2) * 1.4 - 0.7;
    x[2 * r + 1] = ((py + rng.normal(0, 0.07) + 0.7) / 1.9) * 1.4 - 0.7;
    y[r] = label;
  }
  return { n, features: 2, x, y };
}

/** 8×8 "images" of pixel levels 0..16 scaled to [−0.7, 0.7], ten classes. */
function digitsLike(n: number, rng: Rng): Split {
  const x = new Float32Array(64 * n);
  for (let k = 0; k < x.length; k++) x[k] = (rng.int(17) / 16) * 1.4 - 0.7;
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) y[r] = rng.int(10);
  return { n, features: 64, x, y };
}

interface Case {
  readonly dataset: string;
  readonly arch: number[];
  readonly split: Split;
  readonly net: Network;
}

function makeCase(dataset: string, arch: number[], split: Split): Case {
  return { dataset, arch, split, net: initNetwork(arch, { kind: "uniform", range: 1 }, 1) };
}

/**
 * Calls per second of `step`: `warm` untimed calls, then five windows of seconds / 5 each; the best
 * window is reported (the machine may be shared, and interference only ever slows a window down).
 */
function rate(step: (k: number) => void, seconds: number, warm: number): number {
  let k = 0;
  while (k < warm) step(k++);
  let best = 0;
  for (let w = 0; w < 5; w++) {
    const t0 = performance.now();
    let calls = 0;
    while (performance.now() - t0 < (seconds * 1000) / 5) {
      step(k++);
      calls++;
    }
    best = Math.max(best, (calls * 1000) / (performance.now() - t0));
  }
  return best;
}

function emit(bench: string, c: Case, evalsPerS: number, extra: Record<string, unknown> = {}): void {
  const line = {
    bench,
    dataset: c.dataset,
    arch: c.arch,
    samples: c.split.n,
    evals_per_s: Number(evalsPerS.toFixed(1)),
    ms_per_eval: Number((1000 / evalsPerS).toFixed(3)),
    ...extra,
    cores,
  };
  console.log(JSON.stringify(line));
}

const seconds = quick ? 0.5 : 1.5;
const rng = Rng.derive(1, "bench-evaluator");
const cases = [
  makeCase("synthetic-moons-like", [2, 75, 2], moonsLike(50_000, rng)),
  makeCase("synthetic-digits-like", [64, 75, 10], digitsLike(1347, rng)),
  makeCase("synthetic-moons-like", [2, 50, 50, 2], moonsLike(50_000, rng)),
];

for (const c of cases) {
  const { net, split } = c;
  const masks = (count: number): Mask[] =>
    Array.from({ length: count }, () => randomMask(net.genomeLength, rng));
  const pool = masks(64);
  const reference = rate((k) => evaluate(net, pool[k % pool.length], split), quick ? 0.3 : 1, 2);
  emit("reference-eval", c, reference);

  const full = (options: FastEvaluatorOptions): number => {
    const fast = createFastEvaluator(net, split, options);
    // fresh random masks every call (GA newcomers); the warm-up fills what can be memoised
    return rate(() => fast.evaluate(randomMask(net.genomeLength, rng)), seconds, 20);
  };
  const withLoss = full({});
  emit("full-eval", c, withLoss, {
    loss: true,
    speedup_vs_reference: Number((withLoss / reference).toFixed(1)),
  });
  const accuracyOnly = full({ loss: false });
  emit("full-eval", c, accuracyOnly, {
    loss: false,
    speedup_vs_reference: Number((accuracyOnly / reference).toFixed(1)),
  });
  const noMemo = full({ columnCacheBytes: 0 });
  emit("full-eval-no-column-memo", c, noMemo, { loss: true });
  // each unit-column kernel (simd-kernel.ts), with and without the loss (score-kernel.ts scores it
  // with the SIMD kernels, JavaScript with "js")
  for (const kernel of ["js", ...simdKinds()] as const) {
    for (const loss of [true, false]) emit("full-eval-kernel", c, full({ kernel, loss }), { kernel, loss });
  }

  // one-bit mutants of a population of 100 parents
  const fast = createFastEvaluator(net, split, { cacheBytes: 1024 * 1024 * 1024 });
  const parents = masks(quick ? 20 : 100);
  for (const p of parents) fast.evaluate(p);
  const bits = (k: number): number => (k * 2654435761) % net.genomeLength;
  const viaMemo = rate((k) => fast.evaluate(withFlipped(parents[k % parents.length], bits(k))), seconds, 20);
  emit("mutant-eval", c, viaMemo, { path: "evaluate (column memo)", loss: true });
  const cachedParents = Math.min(parents.length, fast.cacheStats().parents.slots);
  const entries = parents.slice(0, cachedParents).map((p) => fast.parentCache(p));
  if (entries.length > 0 && entries.every((e) => e.cached)) {
    const viaDelta = rate(
      (k) => fast.evaluateMutant(parents[k % entries.length], entries[k % entries.length], bits(k)),
      seconds,
      20,
    );
    emit("mutant-eval", c, viaDelta, {
      path: "evaluateMutant (cached parent)",
      loss: true,
      parent_cache_bytes: fast.cacheStats().parents.bytesPerSlot,
    });
  }
}
