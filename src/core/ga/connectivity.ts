// Lax connectivity (reference §3): a mask is valid if at least one input unit reaches at least one
// output unit through kept weights. Computed layer by layer on bit words: the set of reachable units
// of the next layer is every output o whose kept in-weights row [o][*] meets the reachable inputs.
import type { Mask } from "../mask.ts";

/** The part of a network the graph operations need; a `Network` is one. */
export interface LayerShape {
  readonly inputs: number;
  readonly outputs: number;
  /** index of this layer's first weight in the genome; weights are [outputs][inputs] row-major */
  readonly offset: number;
}

/** The layer shapes of a network (not the island graph, which is core/topology.ts's `Topology`). */
export interface NetworkShape {
  readonly layers: readonly LayerShape[];
  readonly genomeLength: number;
}

/** 32 genome bits starting at bit p (bits past the end read as 0). */
function extract32(words: Uint32Array, p: number): number {
  const w = p >>> 5;
  const s = p & 31;
  const lo = words[w] >>> s;
  if (s === 0) return lo;
  const hi = w + 1 < words.length ? words[w + 1] << (32 - s) : 0;
  return (lo | hi) >>> 0;
}

/** Whether bits [start, start+len) of the genome share a set bit with `reach` (bit j ↔ genome bit start+j). */
function rowMeets(words: Uint32Array, start: number, len: number, reach: Uint32Array): boolean {
  for (let k = 0, done = 0; done < len; k++, done += 32) {
    if (reach[k] === 0) continue;
    let bits = extract32(words, start + done);
    const left = len - done;
    if (left < 32) bits &= (1 << left) - 1;
    if ((bits & reach[k]) !== 0) return true;
  }
  return false;
}

function checkMaskLength(shape: NetworkShape, mask: Mask): void {
  if (mask.length !== shape.genomeLength) {
    throw new RangeError(`mask has ${mask.length} bits but the network has ${shape.genomeLength} weights`);
  }
}

/**
 * Units reachable from the inputs, per layer boundary: result[0] = all inputs, result[l+1] = units of
 * layer l's output reachable through kept weights. Stops early (returns fewer entries) once a layer
 * has no reachable unit.
 */
export function reachableUnits(shape: NetworkShape, mask: Mask): Uint32Array[] {
  checkMaskLength(shape, mask);
  if (shape.layers.length === 0) return [];
  const first = shape.layers[0].inputs;
  let reach = new Uint32Array(Math.ceil(first / 32));
  for (let i = 0; i < first; i++) reach[i >>> 5] |= 1 << (i & 31);
  const out = [reach];
  for (const layer of shape.layers) {
    const next = new Uint32Array(Math.ceil(layer.outputs / 32));
    let any = false;
    for (let o = 0; o < layer.outputs; o++) {
      if (rowMeets(mask.words, layer.offset + o * layer.inputs, layer.inputs, reach)) {
        next[o >>> 5] |= 1 << (o & 31);
        any = true;
      }
    }
    if (!any) return out;
    out.push(next);
    reach = next;
  }
  return out;
}

/** True if some input unit reaches some output unit through kept weights. */
export function isLaxConnected(shape: NetworkShape, mask: Mask): boolean {
  return shape.layers.length > 0 && reachableUnits(shape, mask).length === shape.layers.length + 1;
}
