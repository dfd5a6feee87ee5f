// Shared-memory evaluator throughput: prints one JSON line per figure.
//   node_modules/.bin/node bench/shared-pool.ts [--quick] [--threads 0,1,2]
// Evaluations per second of `evaluateBatch` on batches of 64 fresh random masks (a GA population), on a
// moons-like [2,75,2] split of 50,000 rows, for the in-process evaluator (threads 0: the plain fast
// evaluator behind the async API) and for pools of 1 and 2 worker threads. Best of five timing windows
// (the machine may be shared; interference only slows a window down), the pools taking turns within each round. Inputs are synthetic (seeded).
// Also printed: cores_used (process CPU time / wall time over the windows: how much CPU the pool actually
// got) and cpu_ms_per_eval (CPU time per evaluation, all threads), so a run on a busy machine still shows
// whether the pool adds work per evaluation even when it cannot show the speedup.
import os from "node:os";
import type { Split } from "../src/core/dataset.ts";
import { randomMask } from "../src/core/mask.ts";
import { initNetwork } from "../src/core/network.ts";
import { Rng } from "../src/core/rng.ts";
import { createSharedEvaluator } from "../src/evaluator/index.ts";

const quick = process.argv.includes("--quick");
const at = process.argv.indexOf("--threads");
const threadCounts = at >= 0 ? process.argv[at + 1].split(",").map(Number) : [0, 1, 2];
const cores = os.availableParallelism();
const BATCH = 64;

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

const arch = [2, 75, 2];
const rng = Rng.derive(1, "bench-shared-pool");
const split = moonsLike(50_000, rng);
const net = initNetwork(arch, { kind: "uniform", range: 1 }, 1);
const seconds = quick ? 1 : 3;

const batch = () => Array.from({ length: BATCH }, () => randomMask(net.genomeLength, rng));
// every pool is timed in turn within each of the five rounds, so a load change on a shared machine
// affects all of them alike
const pools = await Promise.all(
  threadCounts.map((threads) => createSharedEvaluator(net, split, { threads })),
);
try {
  // warm-up (fills each worker's first-layer column memo) and a cross-check of the results
  for (let k = 0; k < 3; k++) {
    const masks = batch();
    const results = await Promise.all(pools.map((p) => p.evaluateBatch(masks)));
    for (const r of results) {
      if (JSON.stringify(r) !== JSON.stringify(results[0])) throw new Error("pools disagree");
    }
  }
  const best = pools.map(() => 0);
  // process CPU time (all threads) over all windows: cores the pool actually got, and CPU per evaluation
  const cpuMs = pools.map(() => 0);
  const wallMs = pools.map(() => 0);
  const evalsTotal = pools.map(() => 0);
  for (let w = 0; w < 5; w++) {
    for (const [k, pool] of pools.entries()) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let evals = 0;
      while (performance.now() - t0 < (seconds * 1000) / 5) {
        evals += (await pool.evaluateBatch(batch())).length;
      }
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      cpuMs[k] += (cpu.user + cpu.system) / 1000;
      wallMs[k] += wall;
      evalsTotal[k] += evals;
      best[k] = Math.max(best[k], (evals * 1000) / wall);
    }
  }
  for (const [k, threads] of threadCounts.entries()) {
    console.log(
      JSON.stringify({
        bench: "shared-pool",
        dataset: "synthetic-moons-like",
        arch,
        samples: split.n,
        batch: BATCH,
        threads,
        mode: threads === 0 ? "in-process" : "workers",
        evals_per_s: Number(best[k].toFixed(1)),
        ms_per_eval: Number((1000 / best[k]).toFixed(3)),
        speedup_vs_in_process: threadCounts[0] === 0 ? Number((best[k] / best[0]).toFixed(2)) : undefined,
        cores_used: Number((cpuMs[k] / wallMs[k]).toFixed(2)),
        cpu_ms_per_eval: Number((cpuMs[k] / evalsTotal[k]).toFixed(3)),
        worker_shares: pools[k].workerEvaluations(),
        cores,
        loadavg_1m: Number(os.loadavg()[0].toFixed(2)),
      }),
    );
  }
} finally {
  await Promise.all(pools.map((p) => p.close()));
}
