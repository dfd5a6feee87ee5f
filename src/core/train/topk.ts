// Edge-popup's mask: per layer, keep the weights whose scores have the largest |score|. Pure.
//
// How many: as edge-popup's GetSubnet (allenai/hidden-networks, utils/conv_type.py), which prunes
// j = int((1 − k) · n) of a layer's n weights, computed in double: kept = n − ⌊(1 − keep) · n⌋, which is
// ⌈keep · n⌉ but for the last bit of a product (keep 0.5 of 150 weights keeps 75; keep 0.3 of 10 keeps 3).
// Ties: weights of equal |score| are ranked by genome index, the lower one kept first, so a mask never
// depends on a sort's stability (PyTorch's sort leaves the order of ties unspecified).
import type { Floats } from "./mlp.ts";

/** Weights a layer of `n` keeps at keep fraction `keep` (see the file comment). */
export function keptCount(n: number, keep: number): number {
  return n - Math.trunc((1 - keep) * n);
}

/**
 * Writes into `mask` (0 or 1 per weight) the top `keptCount(n, keep)` of |scores| (ties: lower index
 * first). `scratch` holds at least scores.length values of the scores' precision (Float32 scratch for
 * Float32 scores: half the memory traffic of double, and |score| exactly). The selection is quickselect,
 * O(n) on average, so MNIST's 235 200-weight layer takes milliseconds per batch, not a sort's tens.
 */
export function topKMask(scores: Floats, keep: number, mask: Floats, scratch: Floats): void {
  const n = scores.length;
  const k = keptCount(n, keep);
  if (k >= n) {
    mask.fill(1);
    return;
  }
  if (k <= 0) {
    mask.fill(0);
    return;
  }
  for (let i = 0; i < n; i++) scratch[i] = Math.abs(scores[i]);
  // the k-th largest |score|: all above it are kept, and of those equal to it, the lowest indices
  const threshold = selectKth(scratch, n, n - k);
  let above = 0;
  for (let i = 0; i < n; i++) if (Math.abs(scores[i]) > threshold) above++;
  let ties = k - above;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(scores[i]);
    if (a > threshold) mask[i] = 1;
    else if (a === threshold && ties > 0) {
      mask[i] = 1;
      ties--;
    } else mask[i] = 0;
  }
}

/** The value of rank `rank` (0: the smallest) among a[0 … n), reordering a; Hoare's selection, median-of-three pivots. */
function selectKth(a: Floats, n: number, rank: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as the pivot, so sorted or constant runs do not degrade to n² comparisons
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (rank <= j) hi = j;
    else if (rank >= i) lo = i;
    else return a[rank];
  }
  return a[rank];
}
