// Networks: an architecture plus fixed random weights and biases, fully determined by
// (architecture, init scheme, seed). Genome layout: layers in order, each weight matrix [out][in]
// row-major; biases are never masked.
import { E_CONFIG, SltError } from "./errors.ts";
import { Rng } from "./rng.ts";

export type Architecture = readonly number[];

export type InitScheme =
  /** every weight and bias ~ U(-range, range); range 1 in 2024, 2.5 in the 2025 code's `uniform` */
  | { readonly kind: "uniform"; readonly range: number }
  /** scaled Kaiming normal ("kn"): weights N(0, σ²), σ = √2 / √(fan_in · (1 − prunedFraction)); biases as PyTorch's default */
  | { readonly kind: "kaiming-normal"; readonly prunedFraction: number }
  /** scaled signed Kaiming constant ("sc"): weights ±σ with a random sign, same σ; biases as PyTorch's default */
  | { readonly kind: "signed-constant"; readonly prunedFraction: number };

export interface Layer {
  readonly inputs: number;
  readonly outputs: number;
  /** [outputs][inputs] row-major */
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  /** index of this layer's first weight in the genome */
  readonly offset: number;
}

export interface Network {
  readonly architecture: Architecture;
  readonly init: InitScheme;
  readonly seed: number | string;
  readonly layers: readonly Layer[];
  readonly genomeLength: number;
}

/**
 * Throws E_CONFIG unless `arch` is at least an input and an output layer of positive integer widths with
 * at least 2 output units: a user's --arch or network.architecture reaches here, so it must be one line.
 */
export function validateArchitecture(arch: readonly number[]): void {
  const fail = (why: string): never => {
    throw new SltError(E_CONFIG, `network.architecture (--arch) ${JSON.stringify(arch)}: ${why}`);
  };
  if (!Array.isArray(arch) || arch.length < 2)
    fail("needs at least an input and an output layer, e.g. 2,75,2");
  arch.forEach((w, i) => {
    if (!Number.isInteger(w) || w < 1) fail(`layer ${i} width must be a positive integer, got ${w}`);
  });
  if (arch[arch.length - 1] < 2)
    fail(
      `has ${arch[arch.length - 1]} output unit; needs at least 2 output units (one per class; binary tasks use 2 logits)`,
    );
}

/** Number of genome bits (= weights) of an architecture. */
export function genomeLength(arch: Architecture): number {
  let n = 0;
  for (let l = 1; l < arch.length; l++) n += arch[l - 1] * arch[l];
  return n;
}

/** σ of the scaled Kaiming schemes. */
export function kaimingSigma(fanIn: number, prunedFraction: number): number {
  return Math.SQRT2 / Math.sqrt(fanIn * (1 - prunedFraction));
}

function drawWeight(init: InitScheme, fanIn: number, rng: Rng): number {
  switch (init.kind) {
    case "uniform":
      return rng.uniform(-init.range, init.range);
    case "kaiming-normal":
      return rng.normal(0, kaimingSigma(fanIn, init.prunedFraction));
    case "signed-constant":
      return (rng.next() < 0.5 ? -1 : 1) * kaimingSigma(fanIn, init.prunedFraction);
  }
}

/**
 * A bias. The Kaiming schemes set only the weights (edge-popup's builder re-initialises `weight` alone), so
 * their biases keep PyTorch's nn.Linear default, U(±1/√fan_in); the uniform scheme draws biases like its
 * weights (slt-ga.md §1).
 */
function drawBias(init: InitScheme, fanIn: number, rng: Rng): number {
  if (init.kind === "uniform") return rng.uniform(-init.range, init.range);
  const bound = 1 / Math.sqrt(fanIn);
  return rng.uniform(-bound, bound);
}

/**
 * Builds the network. Draw order (one stream named (seed, "network")): for each layer, its weights
 * row by row, then its biases.
 */
export function initNetwork(arch: Architecture, init: InitScheme, seed: number | string): Network {
  validateArchitecture(arch);
  const rng = Rng.derive(seed, "network");
  const layers: Layer[] = [];
  let offset = 0;
  for (let l = 1; l < arch.length; l++) {
    const inputs = arch[l - 1];
    const outputs = arch[l];
    const weight = new Float32Array(inputs * outputs);
    for (let k = 0; k < weight.length; k++) weight[k] = drawWeight(init, inputs, rng);
    const bias = new Float32Array(outputs);
    for (let k = 0; k < bias.length; k++) bias[k] = drawBias(init, inputs, rng);
    layers.push({ inputs, outputs, weight, bias, offset });
    offset += weight.length;
  }
  return { architecture: [...arch], init, seed, layers, genomeLength: offset };
}

/** Genome index of weight [out][in] of layer l (0-based among weight layers). */
export function weightIndex(net: Network, layer: number, out: number, input: number): number {
  const L = net.layers[layer];
  return L.offset + out * L.inputs + input;
}

/** The weight layer (0-based) that genome bit i belongs to. */
export function layerOfBit(net: Network, i: number): number {
  for (let l = net.layers.length - 1; l >= 0; l--) if (i >= net.layers[l].offset) return l;
  throw new RangeError(`bit ${i} outside genome`);
}
