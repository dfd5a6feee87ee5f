// Which units of a child mask are changed against its parent (fast-forward.ts § Delta evaluation): a
// unit whose own row of the mask differs, or one that keeps a weight from a changed unit of the layer
// below, propagated layer by layer. It stands apart from the passes because it reads only the network's
// shape and the two masks' bits: what the evaluator then recomputes, and whether a delta pays, follows
// from it and from the child's plan.
import type { Network } from "../core/network.ts";

/**
 * Sets changed[l][o] = 1 for every unit o of activation layer l (weight layer l's outputs, logits last)
 * that is changed in `child` against `parent` (mask words), 0 for the others. `list` is scratch of at
 * least the widest layer's length.
 */
export function markChanged(
  net: Network,
  child: Uint32Array,
  parent: Uint32Array,
  changed: readonly Uint8Array[],
  list: Int32Array,
): void {
  const last = net.layers.length - 1;
  for (const c of changed) c.fill(0);
  // rows whose bits differ
  for (let k = 0; k < child.length; k++) {
    let x = child[k] ^ parent[k];
    while (x !== 0) {
      const g = k * 32 + 31 - Math.clz32(x & -x);
      x &= x - 1;
      let l = last;
      while (g < net.layers[l].offset) l--;
      const L = net.layers[l];
      changed[l][Math.floor((g - L.offset) / L.inputs)] = 1;
    }
  }
  // a changed unit dirties the next layer's units that keep a weight from it
  for (let l = 1; l <= last; l++) {
    const prev = changed[l - 1];
    let m = 0;
    for (let i = 0; i < prev.length; i++) if (prev[i] === 1) list[m++] = i;
    if (m === 0) continue;
    const L = net.layers[l];
    const cur = changed[l];
    for (let o = 0; o < L.outputs; o++) {
      if (cur[o] === 1) continue;
      const row = L.offset + o * L.inputs;
      for (let j = 0; j < m; j++) {
        const g = row + list[j];
        if ((child[g >>> 5] >>> (g & 31)) & 1) {
          cur[o] = 1;
          break;
        }
      }
    }
  }
}
