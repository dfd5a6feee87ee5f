// Termination (reference §4) as a pure function of the per-generation history plus caps.
// history[g] describes the population after g generations (history[0] = the initial population), as
// GaState.history does. All comparisons are exact.
//   "2024"            stop once ≥ minGenerations (100) generations have run and the best training fitness
//                     of the last `window` (50) history entries are all equal (the reference's test:
//                     the last 50 logged values all equal the latest). No cap of its own.
//   "2024-adaptive"   "GA (adaptive AB)": the same, with a cap of 200 generations.
//   "2025-binary"     stop at 100% training accuracy of the best individual; cap 300.
//   "2025-multiclass" the best loss is logged every `logEvery` (50) generations (generation 0 included);
//                     stop once ≥ minGenerations (100) generations have run and the last `plateauLogs`
//                     logs are all equal (blobs 5, digits 2); cap 11 000. The ≥ 100 guard is the
//                     reference's (its check only runs from generation 100 on).
//   "none"            only the caps.
// `maxEvaluations`, an evaluation budget, stops the run after the first generation whose cumulative
// evaluations reach it (so a run may overshoot by at most one generation's evaluations).
// The rule's own cap can be replaced with `ruleCap` (null removes it); `maxGenerations`, the user's
// cap, always applies on top.

export type TerminationRule = "2024" | "2024-adaptive" | "2025-binary" | "2025-multiclass" | "none";

export type TerminationReason =
  | "max-generations"
  | "max-evaluations"
  | "rule-cap"
  | "plateau"
  | "perfect-accuracy";

export interface TerminationParams {
  readonly rule: TerminationRule;
  /** the user's cap; always applies when given (null or absent: none) */
  readonly maxGenerations?: number | null;
  /** evaluation budget: cumulative evaluations after which the run stops; always applies when given */
  readonly maxEvaluations?: number;
  /** replaces the rule's own cap (2024-adaptive 200, 2025-binary 300, 2025-multiclass 11 000); null: none */
  readonly ruleCap?: number | null;
  /** 2025-multiclass: equal logs needed (default 2; blobs 5, digits 2) */
  readonly plateauLogs?: number;
  /** 2024: history entries that must be equal (default 50) */
  readonly window?: number;
  /** 2024 and 2025-multiclass: generations before a plateau may stop the run (default 100) */
  readonly minGenerations?: number;
  /** 2025-multiclass: logging interval in generations (default 50) */
  readonly logEvery?: number;
}

/** What termination needs from each history entry (GenerationStats has these). */
export interface TerminationEntry {
  readonly generation: number;
  readonly bestFitness: number;
  readonly bestAccuracy: number;
  readonly bestLoss: number;
  /** cumulative evaluations after this generation (needed only with `maxEvaluations`) */
  readonly evaluations?: number;
}

const RULE_CAPS: Record<TerminationRule, number | null> = {
  "2024": null,
  "2024-adaptive": 200,
  "2025-binary": 300,
  "2025-multiclass": 11_000,
  none: null,
};

export function ruleCapOf(params: TerminationParams): number | null {
  return params.ruleCap === undefined ? RULE_CAPS[params.rule] : params.ruleCap;
}

function allEqual(values: readonly number[]): boolean {
  for (let i = 1; i < values.length; i++) if (values[i] !== values[0]) return false;
  return true;
}

/** The reason to stop after the last history entry, or null to go on. */
export function terminationReason(
  history: readonly TerminationEntry[],
  params: TerminationParams,
): TerminationReason | null {
  if (!(params.rule in RULE_CAPS))
    throw new RangeError(`unknown termination rule ${JSON.stringify(params.rule)}`);
  if (history.length === 0) return null;
  const last = history[history.length - 1];
  const g = last.generation;
  const window = params.window ?? 50;
  const minGenerations = params.minGenerations ?? 100;
  switch (params.rule) {
    case "2024":
    case "2024-adaptive":
      if (g >= minGenerations && history.length >= window) {
        if (allEqual(history.slice(-window).map((h) => h.bestFitness))) return "plateau";
      }
      break;
    case "2025-binary":
      if (last.bestAccuracy === 1) return "perfect-accuracy";
      break;
    case "2025-multiclass": {
      const logEvery = params.logEvery ?? 50;
      const need = params.plateauLogs ?? 2;
      if (g >= minGenerations) {
        const logs: number[] = [];
        for (let i = history.length - 1; i >= 0 && logs.length < need; i--) {
          if (history[i].generation % logEvery === 0) logs.push(history[i].bestLoss);
        }
        if (logs.length === need && allEqual(logs)) return "plateau";
      }
      break;
    }
    case "none":
      break;
  }
  const cap = ruleCapOf(params);
  if (cap !== null && g >= cap) return "rule-cap";
  if (params.maxGenerations != null && g >= params.maxGenerations) return "max-generations";
  if (params.maxEvaluations !== undefined) {
    if (last.evaluations === undefined)
      throw new RangeError("maxEvaluations needs the cumulative evaluations in the history");
    if (last.evaluations >= params.maxEvaluations) return "max-evaluations";
  }
  return null;
}

/** Island `id`'s share of a run's evaluation budget: the budget split as evenly as whole numbers allow. */
export function evaluationShare(budget: number | undefined, islands: number, id: number): number | undefined {
  if (budget === undefined) return undefined;
  return Math.floor(budget / islands) + (id < budget % islands ? 1 : 0);
}
