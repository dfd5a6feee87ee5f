// GaState ⇄ plain JSON (for checkpoints). Masks travel as base64 of their packed bytes (wire order);
// non-finite numbers (a NaN or infinite loss) as the strings "NaN", "Infinity", "-Infinity" because
// JSON has no such numbers. Loading recomputes hashes and zero counts and checks the mask lengths.
import { maskFromBase64, maskToBase64 } from "../mask.ts";
import type { RngState } from "../rng.ts";
import type { GeneratorState } from "./generators.ts";
import { type Individual, makeIndividual, type Origin } from "./individual.ts";
import { type GaParams, resolveGaParams } from "./params.ts";
import type { GaState, GenerationStats } from "./run.ts";

type Num = number | "NaN" | "Infinity" | "-Infinity";

export interface IndividualJSON {
  readonly mask: string;
  readonly accuracy: Num;
  readonly loss: Num;
  readonly origin: Origin;
  readonly born: number;
}

export interface GaStateJSON {
  readonly format: "slt-ga/1";
  readonly genomeLength: number;
  readonly params: GaParams;
  readonly generation: number;
  readonly population: IndividualJSON[];
  readonly evaluations: number;
  readonly generator: { kind: GeneratorState["kind"]; bound: Num | null; numRec: number; fallbacks: number };
  readonly rng: { crossover: RngState; mutation: RngState; newcomers: RngState };
  readonly history: Record<keyof GenerationStats, Num | null>[];
}

function num(x: number): Num {
  if (Number.isFinite(x)) return x;
  return Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity";
}

function unnum(x: Num, what: string): number {
  if (typeof x === "number") return x;
  if (x === "NaN") return Number.NaN;
  if (x === "Infinity") return Number.POSITIVE_INFINITY;
  if (x === "-Infinity") return Number.NEGATIVE_INFINITY;
  throw new RangeError(`${what}: not a number: ${JSON.stringify(x)}`);
}

export function gaStateToJSON(state: GaState): GaStateJSON {
  const genomeLength = state.population[0]?.mask.length ?? 0;
  return {
    format: state.format,
    genomeLength,
    params: state.params,
    generation: state.generation,
    population: state.population.map((ind) => ({
      mask: maskToBase64(ind.mask),
      accuracy: num(ind.accuracy),
      loss: num(ind.loss),
      origin: ind.origin,
      born: ind.born,
    })),
    evaluations: state.evaluations,
    generator: {
      kind: state.generator.kind,
      bound: state.generator.bound === null ? null : num(state.generator.bound),
      numRec: state.generator.numRec,
      fallbacks: state.generator.fallbacks,
    },
    rng: state.rng,
    history: state.history.map((h) => {
      const out = {} as Record<keyof GenerationStats, Num | null>;
      for (const [k, v] of Object.entries(h))
        out[k as keyof GenerationStats] = v === null ? null : num(v as number);
      return out;
    }),
  };
}

export function gaStateFromJSON(json: GaStateJSON): GaState {
  if (json.format !== "slt-ga/1")
    throw new RangeError(`unknown GA state format ${JSON.stringify(json.format)}`);
  const population: Individual[] = json.population.map((p, k) => {
    const mask = maskFromBase64(p.mask, json.genomeLength);
    return makeIndividual(
      mask,
      {
        accuracy: unnum(p.accuracy, `population[${k}].accuracy`),
        loss: unnum(p.loss, `population[${k}].loss`),
      },
      p.origin,
      p.born,
    );
  });
  const history = json.history.map((h, g) => {
    const out: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(h)) out[k] = v === null ? null : unnum(v, `history[${g}].${k}`);
    return out as unknown as GenerationStats;
  });
  return {
    format: "slt-ga/1",
    params: resolveGaParams(json.params),
    generation: json.generation,
    population,
    evaluations: json.evaluations,
    generator: {
      kind: json.generator.kind,
      bound: json.generator.bound === null ? null : unnum(json.generator.bound, "generator.bound"),
      numRec: json.generator.numRec,
      fallbacks: json.generator.fallbacks,
    },
    rng: json.rng,
    history,
  };
}
