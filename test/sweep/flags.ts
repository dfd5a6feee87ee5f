// The commands and options the pure sweep tests check specs against: a few of `slt run`'s and of the
// baselines', as the CLI describes them (the end-to-end tests use the real lists, which the CLI reads
// from its `run` and `baseline` commands).
import type { CommandFlags, RunFlag } from "../../src/sweep/spec.ts";

const RUN_FLAGS: readonly RunFlag[] = [
  { name: "dataset", takesValue: true },
  { name: "arch", takesValue: true },
  { name: "islands", takesValue: true },
  { name: "topology", takesValue: true },
  { name: "interval", takesValue: true },
  { name: "migrants", takesValue: true },
  { name: "population", takesValue: true },
  { name: "mode", takesValue: true, choices: ["async", "lockstep"] },
  { name: "fitness", takesValue: true, choices: ["accuracy", "loss"] },
  { name: "prune", takesValue: true, choices: ["none", "clean", "published"] },
  { name: "generations", takesValue: true },
  { name: "max-evaluations", takesValue: true },
  { name: "time-limit", takesValue: true },
  { name: "accept-new-host-keys", takesValue: false },
  { name: "name", takesValue: true },
  { name: "seed", takesValue: true },
  { name: "out", takesValue: true },
  { name: "batch-size", takesValue: true, description: "NON-PAPER mini-batch fitness" },
];

const BASELINE_FLAGS: readonly RunFlag[] = [
  { name: "dataset", takesValue: true },
  { name: "arch", takesValue: true },
  { name: "epochs", takesValue: true },
  { name: "lr", takesValue: true },
  { name: "batch-size", takesValue: true, description: "rows per SGD step" },
  { name: "name", takesValue: true },
  { name: "seed", takesValue: true },
  { name: "out", takesValue: true },
];

export const COMMAND_FLAGS: CommandFlags = {
  run: RUN_FLAGS,
  "baseline edge-popup": [...BASELINE_FLAGS, { name: "keep", takesValue: true }],
  "baseline dense": BASELINE_FLAGS,
};
