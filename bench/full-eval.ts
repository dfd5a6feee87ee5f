// Full evaluations per second: accuracy and loss of a batch of fresh random 50%-density masks (a GA
// population) on a dataset's whole training split.
//   node_modules/.bin/node bench/full-eval.ts [--json] [--quick] [--datasets moons,digits-10,mnist]
// Datasets: moons [2,75,2] on the papers' exact 50,000 training points, digits-10 [64,75,10] (1347
// training rows), mnist [784,300,100,10] (60,000 training images, batches of 4, one batch per window;
// skipped with a reason when the dataset cannot be loaded). Evaluators, as runs use them:
//   threads 0 — in-process: the batch evaluator of src/evaluator/index.ts (makeEvaluator), what `slt run
//               --islands 1` evaluates with;
//   threads 1, 2 — the SharedArrayBuffer worker pool (createSharedEvaluator), what islands evaluate with.
// Each batch is a fresh set of masks (made untimed); the contenders take turns within each round of
// windows; the headline figure is the best window, the median is printed too. The first (untimed)
// batch is evaluated by every contender and the results must agree exactly.
//
// The NumPy peer (`path: "numpy"`, threads 1 and 2): when `python3 -c "import numpy"` works
// ($SLT_BENCH_PYTHON names another interpreter), bench/numpy-peer.py — a plain NumPy/OpenBLAS evaluator
// — is handed the same training split, network and cross-check masks (files in a temporary directory)
// and times full evaluations the same way (best and median of windows); its metrics on those masks are
// compared with ours (`agreement`: Float32 BLAS sums round differently from our double sums, so a few
// rows' argmax may differ). Without Python or NumPy, one `skipped` line says why.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Split } from "../src/core/dataset.ts";
import type { Metrics } from "../src/core/evaluate.ts";
import { type Mask, maskToBytes } from "../src/core/mask.ts";
import type { Network } from "../src/core/network.ts";
import { Rng } from "../src/core/rng.ts";
import { createSharedEvaluator, makeEvaluator, type SharedEvaluator } from "../src/evaluator/index.ts";
import {
  type BenchArgs,
  type BenchDataset,
  type BenchDatasetName,
  benchArch,
  type Contender,
  createReporter,
  errorText,
  loadBenchDataset,
  measureRates,
  randomMasks,
  round,
  runMain,
  sameMetrics,
  type WindowOptions,
  wantDataset,
  windowFields,
  withTempDir,
} from "./common.ts";

const DATASETS: readonly { name: BenchDatasetName; samples: number; population: number }[] = [
  { name: "moons", samples: 50_000, population: 100 },
  { name: "digits-10", samples: 1347, population: 100 },
  // one evaluation takes a second or more: a small batch keeps the benchmark short
  { name: "mnist", samples: 60_000, population: 4 },
];
const THREADS = [0, 1, 2];
const PEER_THREADS = [1, 2];
const PEER_SCRIPT = path.resolve(import.meta.dirname, "numpy-peer.py");
/** the peer agrees if no mask's accuracy differs by more than this many rows, and the loss by at most LOSS_TOL (relative) */
const AGREE_ROWS = 5;
const LOSS_TOL = 1e-4;

async function main(args: BenchArgs): Promise<void> {
  const out = createReporter("full-eval", args);
  for (const d of DATASETS) {
    if (!wantDataset(args, d.name)) continue;
    const big = d.name === "mnist";
    const population = args.quick ? (big ? 2 : d.population) : d.population;
    // mnist: one batch per window (the cross-check batch warms it up)
    const windows: WindowOptions = big
      ? { windows: args.quick ? 1 : 2, windowMs: 0, warmup: 0 }
      : args.quick
        ? { windows: 2, windowMs: 300, warmup: 0 }
        : { windows: 5, windowMs: 2000, warmup: 1 };
    let data: Awaited<ReturnType<typeof loadBenchDataset>>;
    try {
      out.log(`loading ${d.name}`);
      data = await loadBenchDataset(d.name);
    } catch (e) {
      for (const threads of THREADS)
        out.figure({
          dataset: d.name,
          arch: benchArch(d.name),
          samples: d.samples,
          population,
          threads,
          skipped: `cannot load dataset ${d.name}: ${errorText(e)}`,
        });
      continue;
    }
    const { net, split } = data;
    const rng = Rng.derive(1, "bench-full-eval", d.name);
    const pools: SharedEvaluator[] = [];
    let checked: { masks: Mask[]; metrics: Metrics[] } | null = null;
    try {
      const evaluators: {
        threads: number;
        mode: string;
        batch: (m: readonly Mask[]) => Promise<Metrics[]>;
      }[] = [];
      for (const threads of THREADS) {
        if (threads === 0) {
          const batch = makeEvaluator(net, split);
          evaluators.push({ threads, mode: "in-process (makeEvaluator)", batch: async (m) => batch(m) });
        } else {
          const pool = await createSharedEvaluator(net, split, { threads });
          pools.push(pool);
          evaluators.push({ threads, mode: "worker pool (createSharedEvaluator)", batch: pool.batch });
        }
      }
      // cross-check: every evaluator gives the same metrics for the same masks
      const first = randomMasks(population, net.genomeLength, rng);
      out.log(`${d.name}: cross-checking ${evaluators.length} evaluators on ${population} masks`);
      const results = [];
      for (const e of evaluators) results.push(await e.batch(first));
      for (const [i, r] of results.entries()) {
        if (!sameMetrics(r, results[0]))
          throw new Error(`${d.name}: threads ${evaluators[i].threads} disagrees with threads 0`);
      }
      out.log(`${d.name}: timing ${evaluators.length} evaluators (${windows.windows} windows each)`);
      const contenders: Contender[] = evaluators.map((e) => {
        let masks: Mask[] = [];
        return {
          name: `threads ${e.threads}`,
          prepare() {
            masks = randomMasks(population, net.genomeLength, rng);
          },
          async run() {
            return (await e.batch(masks)).length;
          },
        };
      });
      const rates = await measureRates(contenders, windows);
      for (const [i, e] of evaluators.entries()) {
        out.figure({
          dataset: d.name,
          arch: data.arch,
          samples: split.n,
          population,
          threads: e.threads,
          mode: e.mode,
          evals_per_s: round(rates[i].best),
          evals_per_s_median: round(rates[i].median),
          ms_per_eval: round(1000 / rates[i].best, 3),
          loss: true,
          density: 0.5,
          data: data.source,
          ...windowFields(windows),
        });
      }
      checked = { masks: first, metrics: results[0] };
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
    // after our pools are closed, so that the peer has the machine to itself
    if (checked !== null) await numpyPeer(out, data, checked, peerWindows(args, big));
  }
}

// ---- the NumPy peer ----

function peerWindows(args: BenchArgs, big: boolean): WindowOptions {
  if (args.quick) return { windows: big ? 1 : 2, windowMs: 300, warmup: 1 };
  return { windows: big ? 3 : 5, windowMs: 2000, warmup: 1 };
}

/** Why the peer cannot run here (no Python, no NumPy), or null with NumPy's version. */
function numpyMissing(python: string): string | null {
  const r = spawnSync(python, ["-c", "import numpy"], { encoding: "utf8", timeout: 60_000 });
  if (r.error) return `${python} not runnable: ${errorText(r.error)}`;
  if (r.status !== 0) return `${python} cannot import numpy: ${r.stderr.trim().split("\n").at(-1) ?? ""}`;
  return null;
}

/** The peer's input (see bench/numpy-peer.py): the split, the network's weights and the masks. */
function writePeerInput(dir: string, net: Network, split: Split, masks: readonly Mask[]): void {
  const bytes = Math.ceil(net.genomeLength / 8);
  const meta = {
    arch: net.architecture,
    n: split.n,
    features: split.features,
    masks: masks.length,
    genome_length: net.genomeLength,
    mask_bytes: bytes,
  };
  writeFileSync(path.join(dir, "meta.json"), JSON.stringify(meta));
  const raw = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(path.join(dir, "x.f32"), raw(split.x));
  writeFileSync(path.join(dir, "y.i32"), raw(split.y));
  net.layers.forEach((layer, l) => {
    writeFileSync(path.join(dir, `w${l}.f32`), raw(layer.weight));
    writeFileSync(path.join(dir, `b${l}.f32`), raw(layer.bias));
  });
  const packed = new Uint8Array(bytes * masks.length);
  for (const [i, m] of masks.entries()) packed.set(maskToBytes(m), i * bytes);
  writeFileSync(path.join(dir, "masks.u8"), packed);
}

/** How the peer's metrics compare with ours on the same masks. */
function peerAgreement(
  ours: readonly Metrics[],
  theirs: readonly (readonly [number, number])[],
  rows: number,
): {
  masks: number;
  accuracy_equal: number;
  max_accuracy_diff_rows: number;
  max_loss_diff: number;
  agrees: boolean;
} {
  let equal = 0;
  let maxRows = 0;
  let maxLoss = 0;
  let lossOk = ours.length === theirs.length;
  ours.forEach((m, i) => {
    const [acc, loss] = theirs[i] ?? [Number.NaN, Number.NaN];
    const diffRows = Math.round(Math.abs(acc - m.accuracy) * rows);
    if (diffRows === 0) equal++;
    maxRows = Math.max(maxRows, Number.isNaN(diffRows) ? Infinity : diffRows);
    const d = Math.abs(loss - m.loss);
    maxLoss = Math.max(maxLoss, Number.isNaN(d) ? Infinity : d);
    if (!(d <= LOSS_TOL * Math.max(1, Math.abs(m.loss)))) lossOk = false;
  });
  return {
    masks: ours.length,
    accuracy_equal: equal,
    max_accuracy_diff_rows: maxRows,
    max_loss_diff: Number(maxLoss.toPrecision(3)),
    agrees: lossOk && maxRows <= AGREE_ROWS,
  };
}

/** Runs bench/numpy-peer.py on the cross-check masks with 1 and 2 BLAS threads; one line each. */
async function numpyPeer(
  out: ReturnType<typeof createReporter>,
  data: BenchDataset,
  checked: { masks: Mask[]; metrics: Metrics[] },
  windows: WindowOptions,
): Promise<void> {
  const { net, split } = data;
  const base = { dataset: data.name, arch: data.arch, samples: split.n, path: "numpy" };
  const python = process.env.SLT_BENCH_PYTHON ?? "python3";
  const missing = numpyMissing(python);
  if (missing !== null) {
    out.figure({ ...base, skipped: missing });
    return;
  }
  await withTempDir("slt-numpy-peer-", async (dir) => {
    writePeerInput(dir, net, split, checked.masks);
    for (const threads of PEER_THREADS) {
      out.log(`${data.name}: timing the NumPy peer, ${threads} BLAS thread${threads > 1 ? "s" : ""}`);
      const r = spawnSync(
        python,
        [PEER_SCRIPT, dir, "--threads", String(threads), "--windows", String(windows.windows)]
          .concat(["--window-s", String(windows.windowMs / 1000), "--warmup", String(windows.warmup)])
          .concat(["--check", String(checked.masks.length)]),
        { encoding: "utf8", maxBuffer: 64 << 20 },
      );
      const lines =
        r.status === 0
          ? r.stdout
              .trim()
              .split("\n")
              .map((l) => JSON.parse(l))
          : [];
      const metrics = lines.find((l) => l.kind === "metrics");
      const fig = lines.find((l) => l.kind === "figure");
      if (!metrics || !fig) {
        out.figure({
          ...base,
          threads,
          error: `numpy-peer.py failed: ${(r.stderr ?? "").trim() || r.error}`,
        });
        process.exitCode = 1;
        continue;
      }
      const agreement = peerAgreement(checked.metrics, metrics.metrics, split.n);
      if (!agreement.agrees) process.exitCode = 1;
      out.figure({
        ...base,
        population: checked.masks.length,
        threads,
        mode: "NumPy/OpenBLAS peer (bench/numpy-peer.py)",
        evals_per_s: round(fig.evals_per_s),
        evals_per_s_median: round(fig.evals_per_s_median),
        ms_per_eval: round(fig.ms_per_eval, 3),
        loss: true,
        density: 0.5,
        agreement,
        numpy: fig.numpy,
        python: fig.python,
        blas: fig.blas,
        blas_threads: fig.blas_threads,
        data: data.source,
        ...windowFields(windows),
      });
    }
  });
}

runMain("full-eval", main);
