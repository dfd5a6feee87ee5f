// scikit-learn's toy generators (make_moons, make_circles, make_blobs, version 1.2.1) with the same
// structure and order of random draws, but using our seeded Rng: statistically equivalent to sklearn's
// output, not bit-identical. Inputs are unscaled.
import type { Rng } from "../rng.ts";
import type { RawSplit } from "./raw.ts";

function checkCount(what: string, n: number, min: number): void {
  if (!Number.isSafeInteger(n) || n < min)
    throw new RangeError(`${what}: n must be an integer ≥ ${min}, got ${n}`);
}

function checkNoise(what: string, noise: number): void {
  if (!Number.isFinite(noise) || noise < 0)
    throw new RangeError(`${what}: noise must be a finite number ≥ 0, got ${noise}`);
}

/** numpy.linspace(start, stop, num, endpoint) as a Float64Array. */
export function linspace(start: number, stop: number, num: number, endpoint = true): Float64Array {
  const out = new Float64Array(num);
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  if (endpoint && num > 1) out[num - 1] = stop;
  return out;
}

/**
 * sklearn.utils.shuffle of rows, then (if noise > 0) Gaussian noise added to every coordinate, as in
 * make_moons / make_circles (shuffle first, then the noise draws).
 */
function shuffleAndNoise(
  x: Float64Array,
  y: Int32Array,
  features: number,
  noise: number,
  rng: Rng,
): RawSplit {
  const n = y.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  rng.shuffle(order);
  const sx = new Float64Array(n * features);
  const sy = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = order[i];
    for (let j = 0; j < features; j++) sx[i * features + j] = x[r * features + j];
    sy[i] = y[r];
  }
  if (noise > 0) for (let k = 0; k < sx.length; k++) sx[k] += rng.normal(0, noise);
  return { n, features, x: sx, y: sy };
}

/**
 * make_moons(n, noise): ⌊n/2⌋ points on the upper half circle (cos θ, sin θ), θ = linspace(0, π), label
 * 0; the other n − ⌊n/2⌋ on (1 − cos θ, 1 − sin θ − 0.5), label 1; rows shuffled; N(0, noise²) added
 * to every coordinate.
 */
export function makeMoons(n: number, noise: number, rng: Rng): RawSplit {
  checkCount("makeMoons", n, 1);
  checkNoise("makeMoons", noise);
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  const x = new Float64Array(2 * n);
  const y = new Int32Array(n);
  const tOut = linspace(0, Math.PI, nOut);
  for (let i = 0; i < nOut; i++) {
    x[2 * i] = Math.cos(tOut[i]);
    x[2 * i + 1] = Math.sin(tOut[i]);
  }
  const tIn = linspace(0, Math.PI, nIn);
  for (let i = 0; i < nIn; i++) {
    const r = nOut + i;
    x[2 * r] = 1 - Math.cos(tIn[i]);
    x[2 * r + 1] = 1 - Math.sin(tIn[i]) - 0.5;
    y[r] = 1;
  }
  return shuffleAndNoise(x, y, 2, noise, rng);
}

/**
 * make_circles(n, noise, factor): ⌊n/2⌋ points on the unit circle at angles linspace(0, 2π,
 * endpoint=False), label 0; the other n − ⌊n/2⌋ on the circle of radius `factor`, label 1; rows
 * shuffled; N(0, noise²) added to every coordinate.
 */
export function makeCircles(n: number, noise: number, rng: Rng, factor = 0.8): RawSplit {
  checkCount("makeCircles", n, 1);
  checkNoise("makeCircles", noise);
  if (!(factor >= 0 && factor < 1))
    throw new RangeError(`makeCircles: factor must be in [0, 1), got ${factor}`);
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  const x = new Float64Array(2 * n);
  const y = new Int32Array(n);
  const tOut = linspace(0, 2 * Math.PI, nOut, false);
  for (let i = 0; i < nOut; i++) {
    x[2 * i] = Math.cos(tOut[i]);
    x[2 * i + 1] = Math.sin(tOut[i]);
  }
  const tIn = linspace(0, 2 * Math.PI, nIn, false);
  for (let i = 0; i < nIn; i++) {
    const r = nOut + i;
    x[2 * r] = factor * Math.cos(tIn[i]);
    x[2 * r + 1] = factor * Math.sin(tIn[i]);
    y[r] = 1;
  }
  return shuffleAndNoise(x, y, 2, noise, rng);
}

export interface Blobs extends RawSplit {
  /** the cluster centres, `centers × features` row-major; blob i has label i */
  readonly centers: Float64Array;
}

/**
 * make_blobs(n, centers=c, center_box, cluster_std, n_features): c centres uniform in the box; blob i
 * gets ⌊n/c⌋ points, the first n mod c blobs one more; each point is its centre plus N(0, std²) per
 * feature; rows shuffled (sklearn's default shuffle=True).
 */
export function makeBlobs(
  n: number,
  centers: number,
  rng: Rng,
  centerBox: readonly [number, number] = [-20, 40],
  clusterStd = 1,
  features = 2,
): Blobs {
  checkCount("makeBlobs", n, 1);
  if (!Number.isSafeInteger(centers) || centers < 1)
    throw new RangeError(`makeBlobs: centers must be an integer ≥ 1, got ${centers}`);
  if (!Number.isSafeInteger(features) || features < 1)
    throw new RangeError(`makeBlobs: features must be an integer ≥ 1, got ${features}`);
  if (!Number.isFinite(clusterStd) || clusterStd < 0)
    throw new RangeError(`makeBlobs: clusterStd must be a finite number ≥ 0, got ${clusterStd}`);
  const [lo, hi] = centerBox;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi))
    throw new RangeError(`makeBlobs: centerBox must be [lo, hi] with lo ≤ hi, got [${lo}, ${hi}]`);

  const c = new Float64Array(centers * features);
  for (let k = 0; k < c.length; k++) c[k] = rng.uniform(lo, hi);

  const x = new Float64Array(n * features);
  const y = new Int32Array(n);
  const base = Math.floor(n / centers);
  const extra = n % centers;
  let row = 0;
  for (let i = 0; i < centers; i++) {
    const count = base + (i < extra ? 1 : 0);
    for (let r = 0; r < count; r++, row++) {
      for (let j = 0; j < features; j++) x[row * features + j] = rng.normal(c[i * features + j], clusterStd);
      y[row] = i;
    }
  }
  return { ...shuffleAndNoise(x, y, features, 0, rng), centers: c };
}
