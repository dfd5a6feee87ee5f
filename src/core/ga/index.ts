// The GA of the reference papers as pure functions over explicit state: individuals and orderings,
// lax connectivity, generators, operators, the generation step, termination and post-pruning.
export { isLaxConnected, type LayerShape, reachableUnits, type Topology } from "./connectivity.ts";
export {
  BOUND_FLOOR,
  boundDecrement,
  DEFAULT_GENERATOR_MAX_TRIES,
  DEFAULT_SECONDS_PER_TRY,
  type Generated,
  type GenerateResult,
  type GeneratorContext,
  type GeneratorKind,
  type GeneratorSpec,
  type GeneratorState,
  generate,
  initialAccuracyBound,
  initialGeneratorState,
  laxRandomMask,
  type ResolvedGeneratorSpec,
  resolveGeneratorSpec,
  tryBudgets,
} from "./generators.ts";
export {
  bestIndividual,
  compareFitness,
  compareSurvivors,
  type FitnessMode,
  fitnessKey,
  fitnessOf,
  type Individual,
  isBetterFitness,
  makeIndividual,
  type Origin,
  rankParents,
  selectSurvivors,
} from "./individual.ts";
export {
  DEFAULT_MAX_OPERATOR_TRIES,
  makeOperators,
  negligentCrossover,
  negligentMutation,
  type OperatorKind,
  type OperatorResult,
  type Operators,
  pathAwareCrossover,
  pathAwareMutation,
} from "./operators.ts";
export {
  eliteCount,
  type GaParams,
  type GaParamsInput,
  newcomerCount,
  PAPER_GA_PARAMS,
  resolveGaParams,
} from "./params.ts";
export {
  type AccuracyBatchFn,
  type AccuracyFn,
  type PostPruneDeps,
  type PostPruneResult,
  type PruneMode,
  type PruneOptions,
  type PruneResult,
  postPrune,
  pruneMask,
} from "./prune.ts";
export {
  type Child,
  evolve,
  type GaDeps,
  type GaRngStates,
  type GaState,
  type GenerationStats,
  generationStats,
  initRun,
  type Mutant,
  type Offspring,
  step,
  vary,
} from "./run.ts";
export { type GaStateJSON, gaStateFromJSON, gaStateToJSON, type IndividualJSON } from "./serialize.ts";
export {
  ruleCapOf,
  type TerminationEntry,
  type TerminationParams,
  type TerminationReason,
  type TerminationRule,
  terminationReason,
} from "./termination.ts";
