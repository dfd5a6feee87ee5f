// `slt check`: recompute a ticket's accuracy from the file alone (its own weights, not regenerated
// ones) with the reference evaluator, and compare with the metrics recorded in it.
import { readFileSync } from "node:fs";
import type { ConfigPatch } from "../core/config.ts";
import { SltError } from "../core/errors.ts";
import { evaluate } from "../core/evaluate.ts";
import { initNetwork } from "../core/network.ts";
import { sameWeights, ticketFromJson } from "../core/ticket.ts";
import { loadDataset } from "../io/datasets.ts";

export interface CheckResult {
  ok: boolean;
  ticket: string;
  trainAccuracy: number;
  testAccuracy: number;
  recordedTrainAccuracy: number | null;
  recordedTestAccuracy: number | null;
  weightsRegenerate: boolean;
  lines: string[];
}

function recorded(metrics: Record<string, unknown>, key: string): number | null {
  const v = metrics[key];
  return typeof v === "number" ? v : null;
}

export async function checkTicket(path: string, dataset?: ConfigPatch["dataset"]): Promise<CheckResult> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SltError(
      "E_TICKET",
      code
        ? `cannot read ticket ${path}: ${code}`
        : `ticket ${path} is not valid JSON: ${(e as Error).message}`,
    );
  }
  const ticket = ticketFromJson(doc, path);
  const d = ticket.dataset as unknown as Record<string, unknown>;
  const data = loadDataset(
    dataset ?? {
      dataset: typeof d.name === "string" && d.name !== "csv" ? d.name : undefined,
      variant: d.variant as "2024" | "2025" | undefined,
      train: d.trainFile as string | undefined,
      test: d.testFile as string | undefined,
      scale: d.scale as "none" | "paper" | "standard" | undefined,
      dataSeed: typeof d.dataSeed === "number" ? d.dataSeed : undefined,
    },
  );
  const train = evaluate(ticket.network, ticket.mask, data.train);
  const test = evaluate(ticket.network, ticket.mask, data.test);
  const recTrain = recorded(ticket.metrics, "trainAccuracy");
  const recTest = recorded(ticket.metrics, "testAccuracy");
  // Accuracies are counts over a fixed split, so a faithful re-evaluation matches exactly.
  const matches = (a: number, b: number | null) => b === null || Math.abs(a - b) < 1e-12;
  const ok = matches(train.accuracy, recTrain) && matches(test.accuracy, recTest);
  let weightsRegenerate = false;
  try {
    weightsRegenerate = sameWeights(
      ticket.network,
      initNetwork(ticket.network.architecture, ticket.network.init, ticket.network.seed),
    );
  } catch {
    weightsRegenerate = false;
  }
  const fmt = (v: number | null) => (v === null ? "not recorded" : v.toFixed(6));
  const lines = [
    `ticket ${path}: [${ticket.network.architecture}] ${ticket.mask.length} weights, prune mode ${ticket.pruneMode}`,
    `  training accuracy  recomputed ${fmt(train.accuracy)}  recorded ${fmt(recTrain)}`,
    `  test accuracy      recomputed ${fmt(test.accuracy)}  recorded ${fmt(recTest)}`,
    `  weights regenerate from (architecture, init, seed): ${weightsRegenerate ? "yes" : ticket.metrics.weights === "trained" ? "no: trained (slt baseline dense)" : "no"}`,
    ok
      ? "OK: the ticket reproduces its recorded accuracy"
      : "MISMATCH: recomputed accuracy differs from the recorded one",
  ];
  return {
    ok,
    ticket: path,
    trainAccuracy: train.accuracy,
    testAccuracy: test.accuracy,
    recordedTrainAccuracy: recTrain,
    recordedTestAccuracy: recTest,
    weightsRegenerate,
    lines,
  };
}
