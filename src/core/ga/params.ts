// GA parameters with the papers' values as defaults (reference §2). The field names match the `ga`
// section of the run configuration, so a resolved config's `ga` object can be passed as it is.
import { type GeneratorSpec, type ResolvedGeneratorSpec, resolveGeneratorSpec } from "./generators.ts";
import type { FitnessMode } from "./individual.ts";
import { DEFAULT_MAX_OPERATOR_TRIES, type OperatorKind } from "./operators.ts";

export interface GaParamsInput {
  /** N (default 100) */
  readonly population?: number;
  /** probability that an individual gets a crossover child (default 0.3) */
  readonly crossoverRate?: number;
  /** mates are drawn uniformly from ranks 0 … ⌊eliteFraction·N⌋−1 (default 0.3) */
  readonly eliteFraction?: number;
  /** probability that an individual gets a one-bit mutant (default 0.1) */
  readonly mutationRate?: number;
  /** ⌊newcomerFraction·N⌋ newcomers per generation (default 0.1) */
  readonly newcomerFraction?: number;
  readonly fitness?: FitnessMode;
  readonly generator?: GeneratorSpec | ResolvedGeneratorSpec;
  /** the adaptive-bound generator's time per try (the config's `ga.boundSecondsPerTry`), unless its spec has one */
  readonly boundSecondsPerTry?: number;
  readonly operators?: OperatorKind;
  /** retry cap of the path-aware operators before their documented fallback (default 1000) */
  readonly maxOperatorTries?: number;
}

export interface GaParams {
  readonly population: number;
  readonly crossoverRate: number;
  readonly eliteFraction: number;
  readonly mutationRate: number;
  readonly newcomerFraction: number;
  readonly fitness: FitnessMode;
  readonly generator: ResolvedGeneratorSpec;
  readonly operators: OperatorKind;
  readonly maxOperatorTries: number;
}

/** The papers' settings ("GA": negligent generator and operators, accuracy fitness). */
export const PAPER_GA_PARAMS: GaParams = {
  population: 100,
  crossoverRate: 0.3,
  eliteFraction: 0.3,
  mutationRate: 0.1,
  newcomerFraction: 0.1,
  fitness: "accuracy",
  generator: { kind: "negligent" },
  operators: "negligent",
  maxOperatorTries: DEFAULT_MAX_OPERATOR_TRIES,
};

function probability(name: string, v: number): number {
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${v}`);
  return v;
}

function withSecondsPerTry(
  spec: GeneratorSpec | ResolvedGeneratorSpec,
  secondsPerTry: number | undefined,
): GeneratorSpec {
  if (spec.kind !== "adaptive-bound" || spec.secondsPerTry !== undefined || secondsPerTry === undefined)
    return spec as GeneratorSpec;
  return { ...spec, secondsPerTry };
}

/** Fills defaults and validates; throws RangeError naming the field. Idempotent. */
export function resolveGaParams(input: GaParamsInput = {}): GaParams {
  const d = PAPER_GA_PARAMS;
  const population = input.population ?? d.population;
  if (!Number.isInteger(population) || population < 1) {
    throw new RangeError(`population must be a positive integer, got ${population}`);
  }
  const eliteFraction = input.eliteFraction ?? d.eliteFraction;
  if (!(eliteFraction > 0 && eliteFraction <= 1))
    throw new RangeError(`eliteFraction must be in (0, 1], got ${eliteFraction}`);
  const fitness = input.fitness ?? d.fitness;
  if (fitness !== "accuracy" && fitness !== "loss")
    throw new RangeError(`fitness must be "accuracy" or "loss", got ${fitness}`);
  const operators = input.operators ?? d.operators;
  if (operators !== "negligent" && operators !== "path-aware") {
    throw new RangeError(`operators must be "negligent" or "path-aware", got ${operators}`);
  }
  const maxOperatorTries = input.maxOperatorTries ?? d.maxOperatorTries;
  if (!Number.isInteger(maxOperatorTries) || maxOperatorTries < 1) {
    throw new RangeError(`maxOperatorTries must be a positive integer, got ${maxOperatorTries}`);
  }
  return {
    population,
    crossoverRate: probability("crossoverRate", input.crossoverRate ?? d.crossoverRate),
    eliteFraction,
    mutationRate: probability("mutationRate", input.mutationRate ?? d.mutationRate),
    newcomerFraction: probability("newcomerFraction", input.newcomerFraction ?? d.newcomerFraction),
    fitness,
    generator: resolveGeneratorSpec(
      withSecondsPerTry(input.generator ?? d.generator, input.boundSecondsPerTry),
    ),
    operators,
    maxOperatorTries,
  };
}

/** Size of the mate pool: ⌊eliteFraction·N⌋, but at least 1 so that tiny populations still recombine. */
export function eliteCount(p: GaParams): number {
  return Math.max(1, Math.floor(p.eliteFraction * p.population));
}

/** ⌊newcomerFraction·N⌋ */
export function newcomerCount(p: GaParams): number {
  return Math.floor(p.newcomerFraction * p.population);
}
