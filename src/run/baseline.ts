// `slt baseline edge-popup|dense`: the gradient baselines the GA is compared with, on the GA's own fixed
// network and data. It starts like every run (prepare.ts: the data loaded and checked, the network built
// from --arch, --init and --seed exactly as `slt run` builds it, the run directory, config.json with a
// `baseline` field), trains epoch by epoch (core/train/trainer.ts) with an `epoch` event and a progress
// line per epoch, and ends like every run (finish.ts) with its one candidate: the ticket, the `end` event
// and the summary `slt run --json` prints. A dense net is a ticket whose mask keeps every weight and whose
// weights are the trained ones. The ticket's metrics come from the evaluator the CLI hands over (the
// fast one, bit for bit the reference evaluator's figures), so `slt check` reproduces them.
import type { ResolvedConfig } from "../core/config.ts";
import type { Split } from "../core/dataset.ts";
import { E_CONFIG, SltError } from "../core/errors.ts";
import { type BatchEvaluator, referenceEvaluator } from "../core/evaluate.ts";
import { makeIndividual } from "../core/ga/index.ts";
import type { Network } from "../core/network.ts";
import {
  type BaselineMethod,
  type BaselineSettings,
  type EpochStats,
  finalMask,
  finalNetwork,
  initTraining,
  type TrainState,
  trainEpoch,
} from "../core/train/trainer.ts";
import { yieldToEventLoop } from "../io/event-loop.ts";
import type { Logger } from "../io/log.ts";
import { countProgress, formatDuration } from "../io/progress.ts";
import { finishRun, type RunSummary } from "./finish.ts";
import { type PreparedRun, prepareRun } from "./prepare.ts";

export const BASELINE_METHODS: readonly BaselineMethod[] = ["edge-popup", "dense"];

/**
 * The defaults: edge-popup's own (allenai/hidden-networks) as the GA papers' authors ran it on moons
 * (julianscher/SLTN-GA, experiments/edge_popup_performance_comparison, configs/smallscale/fc: SGD lr 0.1,
 * momentum 0.9, weight decay 1e-4, cosine, 100 epochs, batch 128), and the same for dense, as edge-popup's
 * own dense fc baseline (configs/smallscale_baselines/dense/fc/fc_sgd_baseline.yml) is trained.
 */
export const BASELINE_DEFAULTS = {
  keep: 0.5,
  epochs: 100,
  batchSize: 128,
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 1e-4,
} as const;

/** How a baseline's run stopped: every epoch trained, or Ctrl-C/SIGTERM after an epoch. */
export type BaselineStop = "epochs" | "interrupted";

/** The `--json` line: `slt run`'s fields (generations and evaluations count epochs) and the baseline's settings. */
export interface BaselineSummary extends Omit<RunSummary<BaselineStop>, "fitnessMode"> {
  fitnessMode: string;
  method: BaselineMethod;
  /** edge-popup's keep fraction per layer; 1 for dense */
  keep: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
}

/** What the summary and the ticket say a baseline optimises, in place of the GA's fitness mode. */
export const BASELINE_FITNESS_MODE = "gradient training, SGD mini-batches (baseline, not the GA)";

export type BaselineEvaluatorFactory = (net: Network, split: Split) => BatchEvaluator;

export interface BaselineRunOptions {
  /** the command's logger; its records also go to the run directory's log.jsonl */
  readonly logger?: Logger;
  /** where a progress line per epoch goes (stderr in the CLI); none when undefined */
  readonly progress?: NodeJS.WritableStream;
  /** at most one progress line per this many ms, besides the last (default 1000; 0: every epoch) */
  readonly progressIntervalMs?: number;
  /** the ticket's evaluator (default the reference evaluator) */
  readonly makeEvaluator?: BaselineEvaluatorFactory;
  /** when it returns true the run stops after the current epoch and still writes its ticket */
  readonly shouldStop?: () => boolean;
}

/** Throws E_CONFIG, naming the flag, for a setting out of range. */
export function checkBaselineSettings(s: BaselineSettings): void {
  const fail = (flag: string, value: number, allowed: string): never => {
    throw new SltError(E_CONFIG, `slt baseline ${s.method}: ${flag} ${value}: expected ${allowed}`);
  };
  if (!(s.keep > 0 && s.keep <= 1)) fail("--keep", s.keep, "a fraction of each layer's weights in (0, 1]");
  if (!Number.isInteger(s.epochs) || s.epochs < 1) fail("--epochs", s.epochs, "a whole number ≥ 1");
  if (!Number.isInteger(s.batchSize) || s.batchSize < 1)
    fail("--batch-size", s.batchSize, "a whole number of rows ≥ 1");
  if (!(s.lr > 0 && Number.isFinite(s.lr))) fail("--lr", s.lr, "a finite learning rate > 0");
  if (!(s.momentum >= 0 && s.momentum < 1)) fail("--momentum", s.momentum, "a number in [0, 1)");
  if (!(s.weightDecay >= 0 && Number.isFinite(s.weightDecay)))
    fail("--weight-decay", s.weightDecay, "a finite number ≥ 0");
}

/** The settings as config.json's `baseline` records them (dense has no keep fraction). */
function settingsRecord(s: BaselineSettings): Record<string, unknown> {
  const { keep, ...rest } = s;
  return s.method === "edge-popup" ? { ...rest, keep } : rest;
}

/** The progress printer: a line per epoch, at most one per interval, the last always. */
function epochProgress(options: BaselineRunOptions, epochs: number, started: number) {
  const progress = countProgress(options.progress, epochs, {
    intervalMs: options.progressIntervalMs,
    startedAt: started,
  });
  return (stats: EpochStats): void =>
    progress(stats.epoch, (elapsed) => {
      const eta = (elapsed / stats.epoch) * (epochs - stats.epoch);
      return `epoch ${String(stats.epoch).padStart(String(epochs).length)}/${epochs}  lr ${stats.lr.toFixed(5)}  loss ${stats.trainLoss.toFixed(5)}  acc ${stats.trainAccuracy.toFixed(4)}  ${elapsed.toFixed(1)}s${stats.epoch < epochs ? `  eta ${formatDuration(eta)}` : ""}`;
    });
}

/** Trains every epoch (or until a stop request), with an `epoch` event per epoch. */
async function train(
  run: PreparedRun,
  settings: BaselineSettings,
  options: BaselineRunOptions,
): Promise<{ state: TrainState; stopReason: BaselineStop }> {
  const { network, dataset, dir, config } = run;
  let state = initTraining(network, settings, config.seed);
  const progress = epochProgress(options, settings.epochs, performance.now());
  let diverged = false;
  while (state.epoch < settings.epochs) {
    if (options.shouldStop?.()) return { state, stopReason: "interrupted" };
    const t = performance.now();
    const { state: next, stats } = trainEpoch(state, network, dataset.train, settings);
    state = next;
    const seconds = (performance.now() - t) / 1000;
    dir.appendEvent({ type: "epoch", ...stats, seconds });
    progress(stats);
    if (!Number.isFinite(stats.trainLoss) && !diverged) {
      diverged = true;
      options.logger?.warn(
        { epoch: stats.epoch, trainLoss: stats.trainLoss, lr: settings.lr },
        "training diverged (the loss is not finite); a smaller --lr may help",
      );
    }
    // lets a stop request (a signal) through between epochs
    await yieldToEventLoop();
  }
  return { state, stopReason: "epochs" };
}

/** The run's configuration, as config.json records it: no post-pruning, and the `baseline` field. */
export function baselineConfig(resolved: ResolvedConfig, settings: BaselineSettings): ResolvedConfig {
  return { ...resolved, prune: "none", baseline: settingsRecord(settings) };
}

/** Runs a baseline on a resolved configuration (its name, data, network and seed) and returns the summary. */
export async function runBaseline(
  resolved: ResolvedConfig,
  settings: BaselineSettings,
  options: BaselineRunOptions = {},
): Promise<BaselineSummary> {
  checkBaselineSettings(settings);
  const started = performance.now();
  const config = baselineConfig(resolved, settings);
  const run = prepareRun(config, started, options.logger);
  run.dir.appendEvent({
    type: "start",
    name: config.name,
    seed: config.seed,
    baseline: settings.method,
    genomeLength: run.network.genomeLength,
    ...settingsRecord(settings),
  });
  const { state, stopReason } = await train(run, settings, options);
  const mask = finalMask(state, run.network, settings);
  const network = finalNetwork(state, run.network);
  const make = options.makeEvaluator ?? referenceEvaluator;
  const evaluators = { train: make(network, run.dataset.train), test: make(network, run.dataset.test) };
  const [metrics] = evaluators.train([mask]);
  const extra = {
    baseline: settings.method,
    epochs: state.epoch,
    weights: settings.method === "dense" ? "trained" : "initial",
    fitnessMode: BASELINE_FITNESS_MODE,
  };
  const { summary } = finishRun({
    run: { ...run, network },
    candidates: [{ individual: makeIndividual(mask, metrics, "initial", state.epoch), island: null }],
    stopReason,
    generations: state.epoch,
    evaluations: state.epoch,
    evaluators,
    extra: () => ({
      ticket: {
        ...extra,
        selectedBy: settings.method === "dense" ? "every weight" : "top-k of |score| per layer",
      },
      end: extra,
    }),
  });
  const keep = settings.method === "dense" ? 1 : settings.keep;
  return { ...summary, ...settings, keep, epochs: state.epoch, fitnessMode: BASELINE_FITNESS_MODE };
}
