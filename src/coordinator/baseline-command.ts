// The `slt baseline edge-popup|dense` commands (run/baseline.ts runs them). They take `slt run`'s own
// data, network, seed and output options (the very Option objects of its command, so the two cannot
// drift apart) and add the training settings; `--dry-run` checks as `slt run --dry-run` does
// (dry-run.ts). cli.ts registers them with addBaselineCommands.
import type { Command, Option, OptionValues } from "commander";
import { type ConfigPatch, resolveConfig } from "../core/config.ts";
import type { BaselineMethod, BaselineSettings } from "../core/train/trainer.ts";
import type { Logger } from "../io/log.ts";
import { onStopRequest } from "../io/stop-request.ts";
import {
  BASELINE_DEFAULTS,
  BASELINE_METHODS,
  type BaselineEvaluatorFactory,
  type BaselineSummary,
  baselineConfig,
  checkBaselineSettings,
  runBaseline,
} from "../run/baseline.ts";
import { finiteArg } from "./cli-args.ts";
import { dryRun } from "./dry-run.ts";

/** A number flag: any finite number here; its range is checkBaselineSettings'. */
const numberArg = finiteArg("a number");

/** `slt run`'s options a baseline takes as they are. */
const RUN_FLAGS = [
  "--dataset",
  "--variant",
  "--train",
  "--test",
  "--scale",
  "--data-seed",
  "--arch",
  "--init",
  "--seed",
  "--preset",
  "--name",
  "--out",
  "--json",
  "--quiet",
  "--progress-interval",
  "--log-level",
];

/** What the commands need from the CLI (cli.ts owns them). */
export interface BaselineCommandDeps {
  /** the command's logger from its flags (--log-level) */
  readonly logger: (o: OptionValues) => Logger;
  /** the flags' dataset layer, as `slt run` makes it */
  readonly dataPatch: (o: OptionValues) => ConfigPatch["dataset"];
  readonly makeEvaluator: BaselineEvaluatorFactory;
}

function runOption(run: Command, flag: string): Option {
  const option = run.options.find((o) => o.long === flag);
  if (option === undefined) throw new Error(`slt run has no ${flag} option`);
  return option;
}

function printSummary(s: BaselineSummary): void {
  const f = (v: number) => v.toFixed(4);
  process.stdout.write(
    [
      `${s.method} finished after ${s.epochs} epochs (${s.stopReason}), ${s.wallSeconds.toFixed(1)} s`,
      `  training accuracy  ${f(s.trainAccuracy)}   loss ${f(s.trainLoss)}`,
      `  test accuracy      ${f(s.testAccuracy)}`,
      `  sparsity           ${f(s.sparsity)}`,
      `  ticket             ${s.ticket}`,
      "",
    ].join("\n"),
  );
}

async function baselineAction(
  method: BaselineMethod,
  o: OptionValues,
  deps: BaselineCommandDeps,
): Promise<void> {
  const settings: BaselineSettings = {
    method,
    keep: method === "edge-popup" ? (o.keep ?? BASELINE_DEFAULTS.keep) : 1,
    epochs: o.epochs ?? BASELINE_DEFAULTS.epochs,
    batchSize: o.batchSize ?? BASELINE_DEFAULTS.batchSize,
    lr: o.lr ?? BASELINE_DEFAULTS.lr,
    momentum: o.momentum ?? BASELINE_DEFAULTS.momentum,
    weightDecay: o.weightDecay ?? BASELINE_DEFAULTS.weightDecay,
  };
  const patch: ConfigPatch = {
    name: o.name,
    preset: o.preset,
    seed: o.seed,
    out: o.out,
    dataset: deps.dataPatch(o),
    network: { architecture: o.arch, init: o.init },
    cluster: { islands: 1 },
  };
  const resolved = resolveConfig({ source: "command line", patch });
  // a GA run of the same data and seed is named without the suffix: the two never share a directory name
  const config = o.name === undefined ? { ...resolved, name: `${resolved.name}-${method}` } : resolved;
  if (o.dryRun) {
    checkBaselineSettings(settings);
    const d = { ...dryRun(baselineConfig(config, settings), null), mode: `baseline ${method}` };
    process.stdout.write(
      o.json
        ? `${JSON.stringify(d)}\n`
        : `slt: dry run: the settings and the data are valid; nothing was written\n  would create   ${d.runDir}\n  network        [${d.config.network.architecture}], ${d.genomeLength} weights; init ${JSON.stringify(d.config.network.init)}, weight seed ${d.config.network.seed}\n  training       ${JSON.stringify(d.config.baseline)}\n`,
    );
    return;
  }
  let stop = false;
  onStopRequest(
    () => {
      stop = true;
    },
    // the shared stop message speaks of generations; a baseline stops after its epoch
    (line) => process.stderr.write(line.replace("this generation", "this epoch")),
  );
  const summary = await runBaseline(config, settings, {
    logger: deps.logger(o),
    progress: o.quiet ? undefined : process.stderr,
    progressIntervalMs: o.progressInterval === undefined ? undefined : o.progressInterval * 1000,
    makeEvaluator: deps.makeEvaluator,
    shouldStop: () => stop,
  });
  if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else printSummary(summary);
}

/** Adds `slt baseline edge-popup` and `slt baseline dense` to the program (after its `run` command). */
export function addBaselineCommands(program: Command, deps: BaselineCommandDeps): void {
  const run = program.commands.find((c) => c.name() === "run");
  if (run === undefined) throw new Error("slt baseline takes its options from slt run: register run first");
  const group = program
    .command("baseline")
    .description(
      "train a gradient baseline on the GA's fixed network and data, written as a ticket: edge-popup (a trained top-k mask) or dense (all weights trained)",
    );
  const d = BASELINE_DEFAULTS;
  for (const method of BASELINE_METHODS) {
    const cmd = group
      .command(method)
      .description(
        method === "edge-popup"
          ? "edge-popup (Ramanujan et al. 2020): frozen weights, a trained score per weight, each layer's top-k of |score| kept"
          : "the same network with every weight and bias trained from its initial values",
      );
    for (const flag of RUN_FLAGS) cmd.addOption(runOption(run, flag));
    if (method === "edge-popup")
      cmd.option(
        "--keep <fraction>",
        `fraction of each layer's weights kept (default ${d.keep}: "EP (50%)")`,
        numberArg,
      );
    cmd
      .option("--epochs <n>", `epochs (default ${d.epochs})`, numberArg)
      .option("--batch-size <n>", `rows per SGD step (default ${d.batchSize})`, numberArg)
      .option("--lr <rate>", `base learning rate of the cosine schedule (default ${d.lr})`, numberArg)
      .option("--momentum <m>", `SGD momentum (default ${d.momentum})`, numberArg)
      .option(
        "--weight-decay <wd>",
        `L2 weight decay (default ${d.weightDecay}; ${method === "dense" ? "on weights and biases" : "on the scores"})`,
        numberArg,
      )
      .option("--dry-run", "check the settings and the data, print what would run and where; write nothing")
      .action((o: OptionValues) => baselineAction(method, o, deps));
  }
}
