// The run configuration: one schema, the papers' settings as defaults, named presets for the papers'
// experiments. Resolution order: schema defaults < preset < config file < command-line flags.
// Every invalid value is rejected with the field, the value and what is allowed (code E_CONFIG).
import { z } from "zod";
import { defaultDataSeed, parseDatasetName } from "./datasets/builtin.ts";
import { SltError } from "./errors.ts";
import { referenceBoundSecondsPerTry } from "./ga/generators.ts";
import { PRUNE_ORDERS } from "./ga/prune.ts";
import { FITNESS_MODE_MINI_BATCH, type FitnessSubset } from "./ga/subset.ts";
import { migrationOffsets, migrationsUpTo } from "./migration.ts";
import { planTopology, type TopologyPlan } from "./topology.ts";

const positiveInt = z.number().int().positive();
const probability = z.number().min(0).max(1);

const InitSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("uniform"), range: z.number().positive().finite().default(1) }),
  z.strictObject({ kind: z.literal("kaiming-normal"), prunedFraction: z.number().min(0).lt(1).default(0.5) }),
  z.strictObject({
    kind: z.literal("signed-constant"),
    prunedFraction: z.number().min(0).lt(1).default(0.5),
  }),
]);

const GeneratorSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("negligent") }),
  z.strictObject({ kind: z.literal("lax") }),
  z.strictObject({ kind: z.literal("adaptive-bound") }),
  z.strictObject({
    kind: z.literal("static-bound"),
    threshold: probability.default(0.15),
    maxTries: positiveInt.default(10_000),
  }),
]);

const DatasetSchema = z
  .strictObject({
    /** built-in: moons, circles, blobs-<c>, digits-<c>; omit when train/test files are given */
    name: z.string().min(1).optional(),
    variant: z.enum(["2024", "2025"]).default("2025"),
    train: z.string().min(1).optional(),
    test: z.string().min(1).optional(),
    /** omitted: the built-in dataset's own scaling from the papers, "none" for CSV files */
    scale: z.enum(["none", "paper", "standard"]).optional(),
    /**
     * seed of the data generators; independent of the run seed. Omitted: the reference's random_state for
     * the dataset (blobs 10, the others 42), filled in by resolveConfig
     */
    dataSeed: z.number().int().optional(),
    /** written by a run into config.json (rows, classes, ...); ignored on input */
    resolved: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((d, ctx) => {
    const files = d.train !== undefined || d.test !== undefined;
    if (files && (d.train === undefined || d.test === undefined)) {
      ctx.addIssue({
        code: "custom",
        message: "train and test files must be given together",
        path: [d.train ? "test" : "train"],
      });
    }
    if (files && d.name !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: "give either a built-in dataset name or train/test files, not both",
        path: ["name"],
      });
    }
    if (!files && d.name === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "a dataset name or train/test files are required",
        path: ["name"],
      });
    }
  });

/**
 * Mini-batch fitness, a NON-PAPER mode (core/ga/subset.ts): the GA scores individuals on `size` seeded
 * training rows instead of the whole split — one subset for the run ("fixed") or a new one every
 * generation ("rotating"); the reported training metrics are re-scored on the full split.
 */
const FitnessSubsetSchema = z.strictObject({
  size: z
    .number()
    .int("must be a whole number of training rows, 1 … the training split's row count")
    .min(1, "must be a whole number of training rows, 1 … the training split's row count"),
  mode: z.enum(["fixed", "rotating"]).default("fixed"),
  /** the label results carry; written into config.json so that the file says so */
  fitnessMode: z.literal(FITNESS_MODE_MINI_BATCH).default(FITNESS_MODE_MINI_BATCH),
});

const GaSchema = z.strictObject({
  population: z.number().int().min(2).default(100),
  crossoverRate: probability.default(0.3),
  /** mates are drawn from the top ⌊eliteFraction·N⌋ ranks */
  eliteFraction: z.number().gt(0).max(1).default(0.3),
  mutationRate: probability.default(0.1),
  newcomerFraction: probability.default(0.1),
  fitness: z.enum(["accuracy", "loss"]).default("accuracy"),
  generator: GeneratorSchema.prefault({ kind: "negligent" }),
  /**
   * the adaptive-bound generator's time per try in seconds, which sets its try budgets n_r = ⌊4/t⌋ and
   * n_g = ⌊5/t⌋. The reference measures it with a clock; here it is a parameter, so runs replay. Omitted:
   * referenceBoundSecondsPerTry, written into config.json by the run (withBoundSecondsPerTry)
   */
  boundSecondsPerTry: z
    .number()
    .refine((v) => Number.isFinite(v) && v > 0, "must be a finite number of seconds > 0, e.g. 0.021")
    .optional(),
  operators: z.enum(["negligent", "path-aware"]).default("negligent"),
  /** absent (the papers): fitness on the whole training split */
  fitnessSubset: FitnessSubsetSchema.optional(),
});

const TerminationSchema = z.strictObject({
  /**
   * "2024": ≥100 generations and best fitness unchanged over the last 50;
   * "2025-binary": stop at 100% training accuracy; "2025-multiclass": plateau of the loss logged every
   * 50 generations over `plateauLogs` equal logs; "none": only the cap.
   */
  rule: z.enum(["2024", "2025-binary", "2025-multiclass", "none"]).default("2025-binary"),
  plateauLogs: positiveInt.default(2),
  /**
   * generation cap; always applies. null: none (the reference's 2024 "GA" and "GA (static AB)" have none;
   * such a run ends by its rule, an evaluation budget, a time limit or Ctrl-C)
   */
  maxGenerations: positiveInt.nullable().default(300),
  /**
   * evaluation budget of the whole run (optional): a single population stops after the generation that
   * reaches it; each of k islands stops at its share, ⌈budget/k⌉ or ⌊budget/k⌋ (async mode only)
   */
  maxEvaluations: positiveInt.optional(),
});

/**
 * The island model (`slt run --islands N ...`). One island runs the plain single-population search;
 * more run as a cluster: each island evolves `ga.population` individuals and every `interval`
 * generations sends its best `migrants` per out-edge to its neighbours in `topology`.
 */
const ClusterSchema = z.strictObject({
  islands: z.number().int().min(1).max(4096).default(1),
  /**
   * a topology spec (core/topology.ts parseTopologySpec): ring, ring2, full, star, torus, ...; or a custom
   * edge list inline, {"n": 4, "weights": "count", "edges": [[0, 1, 2], ...]} (customTopology), which
   * `--topology custom:FILE` reads from a file
   */
  topology: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).default("ring"),
  /** built-in topologies: every edge carries each of the `migrants` with this probability (0 < p ≤ 1) */
  migrationProbability: z.number().gt(0).max(1).optional(),
  /** generations per epoch (between migrations) */
  interval: positiveInt.default(5),
  /** migrants per out-edge and migration (times a count edge's weight) */
  migrants: z.number().int().min(0).max(1024).default(2),
  mode: z.enum(["async", "lockstep"]).default("async"),
  /** emigrant selection: best, random, diverse, tournament, tournament:T */
  selection: z.string().min(1).default("best"),
  replacement: z.enum(["worst", "random", "only-if-better", "most-similar"]).default("worst"),
  /** "staggered" spreads the islands' migration generations over the interval */
  stagger: z.enum(["none", "staggered"]).default("none"),
  /** wall-clock limit of the whole run; the run stops and gathers tickets when it passes */
  timeLimitSeconds: z.number().positive().finite().optional(),
  /**
   * how many times a lost island is restarted from its latest checkpoint (with backoff) before the
   * topology is repaired around it
   */
  maxRestarts: z.number().int().min(0).max(1000).default(3),
  /**
   * an island that hears nothing from its coordinator (which sends a heartbeat every second) for this
   * long gives up on it and ends (default 300 s, so that a pause of a minute or two — a long GC, a VM
   * migration, a laptop lid — does not end a run; at least 3 s)
   */
  coordinatorTimeoutSeconds: z.number().min(3).max(86_400).optional(),
  /**
   * serve the cluster's links as wss:// with this PEM certificate and its unencrypted PEM key (file
   * paths; `slt run --tls-cert --tls-key`); islands pin the certificate's SHA-256 fingerprint
   */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
});

export const ConfigSchema = z.strictObject({
  /** run directory name under `out`; default made from dataset, architecture and seed */
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' and '-' only")
    .optional(),
  preset: z.string().optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(1),
  dataset: DatasetSchema,
  network: z
    .strictObject({
      architecture: z.array(positiveInt).min(2).optional(),
      init: InitSchema.prefault({ kind: "uniform" }),
      /** seed of the fixed random weights; default: the run seed */
      seed: z.number().int().min(0).optional(),
    })
    .prefault({}),
  ga: GaSchema.prefault({}),
  termination: TerminationSchema.prefault({}),
  prune: z.enum(["none", "clean", "published"]).default("none"),
  /**
   * the pruning walk's bit order: "reference" visits the weights as the reference's [in][out] genome
   * ascends, "genome" as ours ([out][in]) does (core/ga/prune.ts)
   */
  pruneOrder: z.enum(PRUNE_ORDERS).default("reference"),
  cluster: ClusterSchema.prefault({}),
  /**
   * generations between checkpoints (every island's state, into the run directory's checkpoint.json);
   * unset: the run's default (README, "Long runs")
   */
  checkpointEvery: positiveInt.optional(),
  out: z.string().min(1).default("runs"),
  // Written by a run into config.json, so that file can be passed back with --config; ignored on input.
  runDir: z.string().optional(),
  /** the run's start, ISO 8601 UTC with milliseconds (events.jsonl's `time` minus its `t`) */
  startTime: z.string().optional(),
  versions: z.record(z.string(), z.string().nullable()).optional(),
  /**
   * written by `slt baseline` into its config.json: the method and its training settings, so that a
   * report sets its runs apart from the GA's; `slt run` does not read it
   */
  baseline: z.record(z.string(), z.unknown()).optional(),
});

export type ConfigInput = z.input<typeof ConfigSchema>;
export type Config = z.output<typeof ConfigSchema>;
/** A config whose derived fields (architecture, network seed, name) are filled in. */
export type ResolvedConfig = Config & {
  network: Config["network"] & { architecture: number[]; seed: number };
  name: string;
};

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K];
};
export type ConfigPatch = DeepPartial<ConfigInput>;

/** Equal loss logs that make a blobs plateau under the 2025 multi-class rule (digits: 2, the default). */
export const BLOBS_PLATEAU_LOGS = 5;

/** The papers' experiments. Dataset-independent: a preset sets the algorithm, not the data. */
export const PRESETS: Record<string, { description: string; patch: ConfigPatch }> = {
  "2024-ga": {
    description:
      'Altmann et al. 2024, "GA": U(-1,1) weights, negligent operators, accuracy, 2024 termination, no cap',
    patch: {
      dataset: { variant: "2024" },
      network: { init: { kind: "uniform", range: 1 } },
      ga: { fitness: "accuracy", generator: { kind: "negligent" }, operators: "negligent" },
      termination: { rule: "2024", maxGenerations: null },
      prune: "none",
    },
  },
  "2024-adaptive": {
    description:
      'Altmann et al. 2024, "GA (adaptive AB)": accuracy-bound generator, path-aware operators, cap 200',
    patch: {
      dataset: { variant: "2024" },
      network: { init: { kind: "uniform", range: 1 } },
      ga: { fitness: "accuracy", generator: { kind: "adaptive-bound" }, operators: "path-aware" },
      termination: { rule: "2024", maxGenerations: 200 },
      prune: "none",
    },
  },
  "2024-static": {
    description:
      'Altmann et al. 2024, "GA (static AB)" for 10-class digits: bound 0.15, path-aware operators, no cap',
    patch: {
      dataset: { variant: "2024" },
      network: { init: { kind: "uniform", range: 1 } },
      ga: {
        fitness: "accuracy",
        generator: { kind: "static-bound", threshold: 0.15 },
        operators: "path-aware",
      },
      termination: { rule: "2024", maxGenerations: null },
      prune: "none",
    },
  },
  "2025-binary": {
    description: "Schönberger et al. 2025, moons/circles: accuracy, cap 300, stop at 100% training accuracy",
    patch: {
      dataset: { variant: "2025" },
      ga: { fitness: "accuracy", generator: { kind: "negligent" }, operators: "negligent" },
      termination: { rule: "2025-binary", maxGenerations: 300 },
      prune: "published",
    },
  },
  "2025-multiclass": {
    description:
      "Schönberger et al. 2025, blobs/digits: cross-entropy fitness, cap 11000, plateau of the logged loss (blobs 5 equal logs, digits 2)",
    patch: {
      dataset: { variant: "2025" },
      ga: { fitness: "loss", generator: { kind: "negligent" }, operators: "negligent" },
      termination: { rule: "2025-multiclass", maxGenerations: 11_000, plateauLogs: 2 },
      prune: "published",
    },
  },
};

/** Default architecture for a built-in dataset, as in the papers; undefined for CSV files. */
export function defaultArchitecture(dataset: string | undefined): number[] | undefined {
  if (dataset === "moons" || dataset === "circles") return [2, 75, 2];
  const blobs = /^blobs-(\d+)$/.exec(dataset ?? "");
  if (blobs) return [2, 100, Number(blobs[1])];
  const digits = /^digits-(\d+)$/.exec(dataset ?? "");
  if (digits) return [64, 75, Number(digits[1])];
  // not a paper setting: the classic fully connected MNIST network (LeCun et al. 1998, "300-100")
  if (dataset === "mnist") return [784, 300, 100, 10];
  const mnist = /^mnist-(\d+)$/.exec(dataset ?? "");
  if (mnist) return [784, 300, 100, Number(mnist[1])];
  return undefined;
}

/** The preset a run gets when none is named: the 2025 series that matches the task. */
export function defaultPreset(dataset: string | undefined): string {
  return dataset && /^(blobs-|digits-|mnist$|mnist-)/.test(dataset) ? "2025-multiclass" : "2025-binary";
}

/**
 * Settings a dataset changes under the preset (the user's config and flags still override them):
 * blobs' loss plateau needs 5 equal logs, digits' (and the others') 2, as in the 2025 reference (slt-ga.md
 * §4); mnist does not post-prune by default, since the pruning walk makes one evaluation per kept weight
 * (about 133,000 for [784,300,100,10]).
 */
export function datasetDefaults(dataset: string | undefined): ConfigPatch {
  if (dataset && /^blobs-/.test(dataset)) return { termination: { plateauLogs: BLOBS_PLATEAU_LOGS } };
  return dataset && /^mnist(-|$)/.test(dataset) ? { prune: "none" } : {};
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; arrays and scalars in `b` replace those in `a`; undefined is ignored. */
export function mergeConfig<T>(a: T, b: unknown): T {
  if (!isPlainObject(a) || !isPlainObject(b)) return (b === undefined ? a : b) as T;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    // A different generator or init kind replaces the whole object, so stale fields don't leak across kinds.
    const replaces =
      isPlainObject(v) &&
      isPlainObject(out[k]) &&
      "kind" in v &&
      v.kind !== (out[k] as { kind?: unknown }).kind;
    out[k] = replaces ? v : mergeConfig(out[k], v);
  }
  return out as T;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (!isPlainObject(v) && !Array.isArray(v)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function describeIssues(input: unknown, error: z.ZodError, source: string): string {
  const lines = error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const at = issue.path.length ? `${issue.path.join(".")}.` : "";
      return `  ${issue.keys.map((k) => at + k).join(", ")}: unknown field (check the spelling against the README's configuration table)`;
    }
    const field = issue.path.length ? issue.path.join(".") : "(top level)";
    const value = valueAt(input, issue.path);
    const shown = value === undefined ? "missing" : JSON.stringify(value);
    return `  ${field}: got ${shown}; ${issue.message}`;
  });
  return `invalid configuration (${source}):\n${lines.join("\n")}`;
}

/**
 * Validates layers of configuration (earlier ones are overridden by later ones) and fills in
 * the derived fields. `layers` are plain objects: e.g. the config file, then the command-line flags.
 */
export function resolveConfig(...layers: { source: string; patch: unknown }[]): ResolvedConfig {
  const sources = layers.map((l) => l.source).join(" + ");
  const config = parseWithPreset(mergeLayers(layers), sources);
  checkCombinations(config, sources);
  return withDerivedFields(config);
}

/** Keys that would reach an object's prototype when merged: never a configuration field. */
const PROTOTYPE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * The path of the first prototype key in `value` (JSON.parse makes "__proto__" an own key, which a merge
 * would then assign to a prototype), or null when there is none.
 */
function prototypeKeyPath(value: unknown, at: string): string | null {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = prototypeKeyPath(value[i], `${at}[${i}]`);
      if (p !== null) return p;
    }
  } else if (value !== null && typeof value === "object") {
    for (const key of Object.keys(value)) {
      const path = at === "" ? key : `${at}.${key}`;
      if (PROTOTYPE_KEYS.has(key)) return path;
      const p = prototypeKeyPath((value as Record<string, unknown>)[key], path);
      if (p !== null) return p;
    }
  }
  return null;
}

/** The layers merged in order, with the embedded default dataset and a custom topology's island count. */
function mergeLayers(layers: readonly { source: string; patch: unknown }[]): unknown {
  for (const layer of layers) {
    if (layer.patch !== undefined && !isPlainObject(layer.patch)) {
      throw new SltError(
        "E_CONFIG",
        `invalid configuration (${layer.source}): expected a JSON object, got ${JSON.stringify(layer.patch)}`,
      );
    }
    const bad = prototypeKeyPath(layer.patch, "");
    if (bad !== null)
      throw new SltError(
        "E_CONFIG",
        `invalid configuration (${layer.source}): ${bad}: "__proto__", "constructor" and "prototype" are not allowed as keys (they would change the configuration's object prototypes)`,
      );
  }
  let merged: unknown = {};
  for (const layer of layers) merged = mergeConfig(merged, layer.patch);
  const m = merged as ConfigPatch;
  // The embedded default job: the papers' moons task.
  if (m.dataset?.name === undefined && m.dataset?.train === undefined && m.dataset?.test === undefined) {
    merged = mergeConfig(merged, { dataset: { name: "moons" } });
  }
  // Unknown dataset names fail here, before any preset or architecture is derived from them.
  const datasetName = (merged as ConfigPatch).dataset?.name;
  if (typeof datasetName === "string") parseDatasetName(datasetName);
  // A custom edge list names its island count; it is the run's unless cluster.islands says otherwise.
  const cl = (merged as ConfigPatch).cluster;
  if (isPlainObject(cl?.topology) && cl.islands === undefined && typeof cl.topology.n === "number")
    merged = mergeConfig(merged, { cluster: { islands: cl.topology.n } });
  return merged;
}

/** The merged layers over their preset and the dataset's defaults, checked against the schema. */
function parseWithPreset(merged: unknown, sources: string): Config {
  const datasetName = (merged as ConfigPatch).dataset?.name;
  const presetName = (merged as ConfigPatch).preset ?? defaultPreset(datasetName);
  const preset = PRESETS[presetName];
  if (!preset) {
    throw new SltError(
      "E_CONFIG",
      `invalid configuration: preset: got ${JSON.stringify(presetName)}; allowed: ${Object.keys(PRESETS).join(", ")}`,
    );
  }
  // The preset sits under everything the user said.
  const withPreset = mergeConfig(
    mergeConfig({ ...preset.patch, preset: presetName } as unknown, datasetDefaults(datasetName)),
    merged,
  );
  const parsed = ConfigSchema.safeParse(withPreset);
  if (!parsed.success) throw new SltError("E_CONFIG", describeIssues(withPreset, parsed.error, sources));
  return parsed.data;
}

/**
 * Lockstep islands wait at each migration for all their in-neighbours' emigrants of that epoch, so they
 * must all migrate equally often before the cap: with staggered offsets and a cap that is not a multiple
 * of the interval, one island would wait forever for an epoch its neighbour never reaches.
 */
function checkLockstepEpochs(config: Config, sources: string): void {
  const { mode, islands, interval, stagger } = config.cluster;
  const cap = config.termination.maxGenerations;
  if (mode !== "lockstep" || islands < 2 || stagger !== "staggered" || cap === null || cap === undefined)
    return;
  const counts = migrationOffsets(islands, interval, stagger).map((o) => migrationsUpTo(cap, interval, o));
  const low = Math.min(...counts);
  const high = Math.max(...counts);
  if (low === high) return;
  const below = cap - (cap % interval);
  throw new SltError(
    "E_CONFIG",
    `invalid configuration (${sources}): termination.maxGenerations: lockstep islands with staggered migrations must migrate equally often before the cap, but ${cap} generations at interval ${interval} give ${islands} islands between ${low} and ${high} migrations (one would wait forever for another); use a multiple of the interval, e.g. ${below > 0 ? `${below} or ` : ""}${below + interval}`,
  );
}

/** Settings that are valid one by one but not together. */
function checkCombinations(config: Config, sources: string): void {
  let plan: TopologyPlan;
  try {
    plan = planTopology(config.cluster.topology, config.cluster.migrationProbability);
    if (plan.kind === "custom" && plan.topology.n !== config.cluster.islands)
      throw new SltError(
        "E_CONFIG",
        `cluster.islands is ${config.cluster.islands}, but the custom topology has n = ${plan.topology.n} islands; make them agree (or leave cluster.islands out)`,
      );
  } catch (e) {
    if (!(e instanceof SltError)) throw e;
    throw new SltError("E_CONFIG", `invalid configuration (${sources}): cluster.topology: ${e.message}`);
  }
  checkMigrants(config.cluster.migrants, plan, sources);
  if (
    config.termination.maxEvaluations !== undefined &&
    config.cluster.islands > 1 &&
    config.cluster.mode === "lockstep"
  ) {
    // each island stops at its share, at different generations: lockstep neighbours would wait forever
    throw new SltError(
      "E_CONFIG",
      `invalid configuration (${sources}): termination.maxEvaluations: an evaluation budget needs cluster.mode "async" when islands > 1; lockstep runs end at the generation cap (termination.maxGenerations)`,
    );
  }
  checkLockstepEpochs(config, sources);
  if (config.ga.boundSecondsPerTry !== undefined && config.ga.generator.kind !== "adaptive-bound") {
    throw new SltError(
      "E_CONFIG",
      `invalid configuration (${sources}): ga.boundSecondsPerTry: the time per try is a setting of the adaptive-bound generator only; this run's is "${config.ga.generator.kind}" (use --generator adaptive-bound or --preset 2024-adaptive, or leave it out)`,
    );
  }
  if (config.termination.maxGenerations === null && config.cluster.mode === "lockstep") {
    // lockstep islands apply no rule of their own (core/ga/termination.ts), so only the cap ends them;
    // whatever the island count (a one-island cluster too: --topology, --launcher)
    throw new SltError(
      "E_CONFIG",
      `invalid configuration (${sources}): termination.maxGenerations: lockstep runs end at the generation cap, and this run has none (preset ${config.preset}); give one, e.g. --generations 200`,
    );
  }
  if (config.ga.fitnessSubset !== undefined && config.cluster.islands > 1) {
    throw new SltError(
      "E_CONFIG",
      `invalid configuration (${sources}): ga.fitnessSubset (mini-batch fitness) runs one population only: cluster.islands must be 1, got ${config.cluster.islands}; the island cluster does not support mini-batch fitness`,
    );
  }
}

/** The architecture, network seed, data seed and run name the config leaves to their defaults. */
function withDerivedFields(config: Config): ResolvedConfig {
  const architecture = config.network.architecture ?? defaultArchitecture(config.dataset.name);
  if (!architecture) {
    throw new SltError(
      "E_CONFIG",
      "invalid configuration: network.architecture: missing; required for CSV datasets, e.g. --arch 2,75,2",
    );
  }
  const networkSeed = config.network.seed ?? config.seed;
  const { name: dataName, dataSeed } = config.dataset;
  const dataset =
    dataName !== undefined && dataSeed === undefined
      ? { ...config.dataset, dataSeed: defaultDataSeed(parseDatasetName(dataName).kind) }
      : config.dataset;
  const name = config.name ?? `${config.dataset.name ?? "csv"}-${architecture.join("x")}-s${config.seed}`;
  return { ...config, name, dataset, network: { ...config.network, architecture, seed: networkSeed } };
}

/**
 * The config with the adaptive bound's time per try filled in (the reference's figure for the network
 * and training split) when the run uses that generator and the user gave none; else the config as it is.
 */
export function withBoundSecondsPerTry(config: ResolvedConfig, trainRows: number): ResolvedConfig {
  if (config.ga.generator.kind !== "adaptive-bound" || config.ga.boundSecondsPerTry !== undefined)
    return config;
  const boundSecondsPerTry = referenceBoundSecondsPerTry(config.network.architecture, trainRows);
  return { ...config, ga: { ...config.ga, boundSecondsPerTry } };
}

/**
 * 0 migrants make every topology behave as "isolated" while claiming to migrate: a run that silently
 * compares nothing. Allowed only where no edge would carry them.
 */
function checkMigrants(migrants: number, plan: TopologyPlan, sources: string): void {
  const edgeless = plan.kind === "spec" ? plan.spec.kind === "isolated" : plan.topology.edges.length === 0;
  if (migrants === 0 && !edgeless) {
    throw new SltError(
      "E_CONFIG",
      `invalid configuration (${sources}): cluster.migrants: got 0 with topology ${plan.label}, which would migrate nothing; allowed 1..1024, or 0 only with topology "isolated"`,
    );
  }
}

/**
 * Checks a mini-batch fitness subset against the training split it samples (its size is known only once
 * the data is loaded); throws E_CONFIG naming the field and the allowed range.
 */
export function checkFitnessSubset(subset: FitnessSubset, trainRows: number, dataset: string): void {
  if (!Number.isInteger(subset.size) || subset.size < 1 || subset.size > trainRows) {
    throw new SltError(
      "E_CONFIG",
      `invalid configuration: ga.fitnessSubset.size: got ${subset.size}; allowed 1..${trainRows} (the training rows of ${dataset})`,
    );
  }
}

/**
 * True when nothing but a signal can end the run: no generation cap, no evaluation budget, no time limit
 * and no termination rule (2024-ga or 2024-static with `--termination none`). The CLI warns; it is allowed,
 * for runs meant to be stopped by hand.
 */
export function runsUntilStopped(config: ResolvedConfig): boolean {
  const t = config.termination;
  return (
    t.maxGenerations === null &&
    t.maxEvaluations === undefined &&
    t.rule === "none" &&
    config.cluster.timeLimitSeconds === undefined
  );
}
