// Variation operators (reference §3).
// - "negligent": uniform crossover; mutation flips exactly one bit, position uniform over the genome.
// - "path-aware": mutation picks a layer uniformly, then a weight in it, flips it, and retries from the
//   unmodified parent until the result is lax-connected; crossover is resampled until the child is
//   lax-connected.
// The reference retries without limit. Here both retry at most `maxTries` times; then:
//   mutation  → the last attempted mutant is returned (still exactly one bit flipped, possibly invalid);
//   crossover → a copy of the first lax-connected parent (a, else b) is returned — a legitimate outcome
//               of uniform crossover — or, if neither parent is valid, the last sampled child.
// Such a result has `fallback: true`; the step counts them. A fallback can only happen when a parent
// is itself not lax-connected (or in degenerate tiny networks): from a valid parent, flipping a 0 to a 1
// always stays valid, so retries end quickly.
import { cloneMask, type Mask, uniformCrossover, withFlipped } from "../mask.ts";
import type { Rng } from "../rng.ts";
import { isLaxConnected, type NetworkShape } from "./connectivity.ts";

export type OperatorKind = "negligent" | "path-aware";

export interface OperatorResult {
  readonly mask: Mask;
  /** true if the retry cap was hit and the documented fallback was used */
  readonly fallback: boolean;
}

export interface Operators {
  readonly kind: OperatorKind;
  crossover(a: Mask, b: Mask, rng: Rng): OperatorResult;
  mutate(parent: Mask, rng: Rng): OperatorResult;
}

/** Default retry cap of the path-aware operators. */
export const DEFAULT_MAX_OPERATOR_TRIES = 1000;

export function negligentCrossover(a: Mask, b: Mask, rng: Rng): OperatorResult {
  return { mask: uniformCrossover(a, b, rng), fallback: false };
}

export function negligentMutation(parent: Mask, rng: Rng): OperatorResult {
  if (parent.length === 0) throw new RangeError("cannot mutate an empty mask");
  return { mask: withFlipped(parent, rng.int(parent.length)), fallback: false };
}

export function pathAwareCrossover(
  net: NetworkShape,
  a: Mask,
  b: Mask,
  rng: Rng,
  maxTries = DEFAULT_MAX_OPERATOR_TRIES,
): OperatorResult {
  let child = uniformCrossover(a, b, rng);
  if (isLaxConnected(net, child)) return { mask: child, fallback: false };
  for (let t = 1; t < maxTries; t++) {
    child = uniformCrossover(a, b, rng);
    if (isLaxConnected(net, child)) return { mask: child, fallback: false };
  }
  if (isLaxConnected(net, a)) return { mask: cloneMask(a), fallback: true };
  if (isLaxConnected(net, b)) return { mask: cloneMask(b), fallback: true };
  return { mask: child, fallback: true };
}

/** One path-aware flip: a layer uniformly, then a weight of that layer uniformly. */
function layerUniformFlip(net: NetworkShape, parent: Mask, rng: Rng): Mask {
  const layer = net.layers[rng.int(net.layers.length)];
  const k = rng.int(layer.inputs * layer.outputs);
  return withFlipped(parent, layer.offset + k);
}

export function pathAwareMutation(
  net: NetworkShape,
  parent: Mask,
  rng: Rng,
  maxTries = DEFAULT_MAX_OPERATOR_TRIES,
): OperatorResult {
  if (parent.length !== net.genomeLength) {
    throw new RangeError(`mask has ${parent.length} bits but the network has ${net.genomeLength} weights`);
  }
  let mutant = layerUniformFlip(net, parent, rng);
  if (isLaxConnected(net, mutant)) return { mask: mutant, fallback: false };
  for (let t = 1; t < maxTries; t++) {
    mutant = layerUniformFlip(net, parent, rng);
    if (isLaxConnected(net, mutant)) return { mask: mutant, fallback: false };
  }
  return { mask: mutant, fallback: true };
}

export function makeOperators(
  kind: OperatorKind,
  net: NetworkShape,
  maxTries = DEFAULT_MAX_OPERATOR_TRIES,
): Operators {
  if (kind === "negligent") return { kind, crossover: negligentCrossover, mutate: negligentMutation };
  return {
    kind,
    crossover: (a, b, rng) => pathAwareCrossover(net, a, b, rng, maxTries),
    mutate: (parent, rng) => pathAwareMutation(net, parent, rng, maxTries),
  };
}
