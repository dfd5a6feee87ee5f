// Scoring logits that are known only to within ±eps of the reference's (incremental logits,
// incremental-logits.ts). A row's prediction is certain when its largest stored logit
// (first on ties) exceeds every other by more than `gap` = 2·eps: the reference's logits then keep the
// same strict order, so the reference's argmax is the same class. Every other row is listed for an
// exact recompute. Only accuracy is scored: the loss needs the logits themselves.
import type { Totals } from "./kernel.ts";

/**
 * Adds the certain rows' correct predictions to `totals.correct` and writes the uncertain rows
 * (block-relative) to `out`; returns how many. lg[cls[c] + r] is logit c of row r; labels y[yOff + r].
 */
export function marginScore(
  lg: Float32Array,
  cls: Int32Array,
  classes: number,
  y: Int32Array,
  yOff: number,
  len: number,
  gap: number,
  out: Int32Array,
  totals: Totals,
): number {
  if (classes === 2) return marginTwo(lg, cls[0], cls[1], y, yOff, len, gap, out, totals);
  let correct = totals.correct;
  let m = 0;
  for (let r = 0; r < len; r++) {
    let best = 0;
    let max = lg[cls[0] + r];
    for (let c = 1; c < classes; c++) {
      const v = lg[cls[c] + r];
      if (v > max) {
        max = v;
        best = c;
      }
    }
    let sure = true;
    for (let c = 0; c < classes && sure; c++) if (c !== best && !(max - lg[cls[c] + r] > gap)) sure = false;
    if (!sure) out[m++] = r;
    else if (y[yOff + r] === best) correct++;
  }
  totals.correct = correct;
  return m;
}

/**
 * Two classes, branch-free on the common path: labels are 0 or 1 and which side wins is unpredictable,
 * so a branch per row mispredicts about half the time (measured: about 4× slower on moons).
 */
function marginTwo(
  lg: Float32Array,
  a: number,
  b: number,
  y: Int32Array,
  yOff: number,
  len: number,
  gap: number,
  out: Int32Array,
  totals: Totals,
): number {
  let correct = totals.correct;
  let m = 0;
  for (let r = 0; r < len; r++) {
    const d = lg[b + r] - lg[a + r];
    const one = +(d > gap);
    const zero = +(-d > gap);
    const label = y[yOff + r];
    correct += (one & label) | (zero & (label ^ 1));
    if ((one | zero) === 0) out[m++] = r;
  }
  totals.correct = correct;
  return m;
}
