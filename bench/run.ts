// Runs the benchmarks: `npm run bench -- --json` (or node_modules/.bin/node bench/run.ts --json).
//   --json            one JSON object per line on stdout per figure; progress on stderr
//   --quick           a short smoke run (smaller workloads, fewer and shorter windows; not for figures)
//   --only A,B        only these benchmarks (see --list); default: all of the standard ones
//   --datasets A,B    only these datasets in the benchmarks that take several (moons, digits-10, mnist)
//   --list            the benchmarks, one per line
// Each benchmark is its own file under bench/ and runs in its own child process (a fresh heap and JIT,
// no worker threads or islands left over from the one before); a benchmark that fails is reported
// and the others still run; the exit code is 1 if any failed. Every line carries `cores` and `node`.
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { flagValue, listValue } from "./common.ts";

interface Entry {
  readonly name: string;
  readonly file: string;
  readonly description: string;
  /** run without --only (the figures of issue 4); the others are micro-benchmarks on synthetic data */
  readonly standard: boolean;
  /** how the runner marks the lines of a benchmark that is not standard (default "micro") */
  readonly suite?: string;
}

const BENCHES: readonly Entry[] = [
  {
    name: "full-eval",
    file: "full-eval.ts",
    description:
      "full evaluations/s of random masks: moons, digits-10, mnist; in-process, 1-2 worker threads, NumPy peer",
    standard: true,
  },
  {
    name: "offspring-eval",
    file: "offspring-eval.ts",
    description:
      "offspring evaluations: mutants and children (batch, pool, delta API); cost by Hamming distance 1-256 (moons, digits-10, mnist); a generation; mnist targets",
    standard: true,
  },
  {
    name: "ga",
    file: "ga.ts",
    description: "seconds for 300 generations of the paper presets on one island (moons, digits-10)",
    standard: true,
  },
  {
    name: "migration",
    file: "migration.ts",
    description: "latency and throughput of 64 masks of 100,000 bits between two islands on loopback",
    standard: true,
  },
  {
    name: "islands-scaling",
    file: "islands-scaling.ts",
    description: "total evaluations/s of 1 vs 2 island processes",
    standard: true,
  },
  {
    name: "coordinator-capacity",
    file: "coordinator-capacity.ts",
    description:
      "one coordinator against 8-256 simulated islands: CPU per report, report latency, memory (about 6 minutes)",
    standard: true,
  },
  {
    name: "kernels",
    file: "evaluator.ts",
    description: "micro: fast-evaluator kernels on synthetic data (reference, memo, mutants)",
    standard: false,
  },
  {
    name: "shared-pool",
    file: "shared-pool.ts",
    description: "micro: the worker pool on synthetic moons-like data, threads 0, 1, 2",
    standard: false,
  },
  {
    name: "hostile",
    file: "hostile.ts",
    description:
      "issue 10 at full scale: connection floods, a paused and a silenced coordinator (about 8 minutes)",
    standard: false,
    suite: "hostile",
  },
];

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const quick = argv.includes("--quick");

if (argv.includes("--help") || argv.includes("-h")) {
  process.stdout.write(
    "usage: npm run bench -- [--json] [--quick] [--only NAME,...] [--datasets NAME,...] [--list]\n",
  );
  process.exit(0);
}
if (argv.includes("--list")) {
  for (const b of BENCHES)
    process.stdout.write(`${b.name.padEnd(16)} ${b.standard ? "" : "(only with --only) "}${b.description}\n`);
  process.exit(0);
}

const only = listValue(argv, "--only");
const unknown = (only ?? []).filter((n) => !BENCHES.some((b) => b.name === n));
if (unknown.length > 0) {
  process.stderr.write(
    `bench: unknown benchmark ${unknown.join(", ")}; known: ${BENCHES.map((b) => b.name).join(", ")}\n`,
  );
  process.exit(2);
}
const selected =
  only === null ? BENCHES.filter((b) => b.standard) : BENCHES.filter((b) => only.includes(b.name));

const datasets = flagValue(argv, "--datasets");
const childArgs = [
  ...(json ? ["--json"] : []),
  ...(quick ? ["--quick"] : []),
  ...(datasets !== undefined ? ["--datasets", datasets] : []),
];

const machine = { cores: os.availableParallelism(), node: process.version };

/** Runs one benchmark file; resolves with its exit code and the number of figures it printed. */
function runOne(b: Entry): Promise<{ code: number; figures: number; bad: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, b.file), ...childArgs], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let figures = 0;
    let bad = 0;
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      if (line.trim() === "") return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      const isObject = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
      if (!isObject) {
        if (json) {
          // stdout must stay pure JSON lines
          bad++;
          process.stderr.write(`[${b.name}] not a JSON line: ${line}\n`);
        } else {
          figures++;
          process.stdout.write(`${line}\n`);
        }
        return;
      }
      figures++;
      const figure = parsed as Record<string, unknown>;
      // the micro-benchmarks predate the common line format: mark them (and the other non-standard
      // ones), and fill in the machine fields
      const line2 = {
        ...figure,
        ...(b.standard ? {} : { suite: b.suite ?? "micro" }),
        cores: figure.cores ?? machine.cores,
        node: figure.node ?? machine.node,
      };
      process.stdout.write(`${JSON.stringify(line2)}\n`);
    });
    child.on("error", (e) => {
      process.stderr.write(`[${b.name}] could not start: ${e.message}\n`);
      resolve({ code: 1, figures, bad });
    });
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), figures, bad }));
  });
}

const started = performance.now();
const failed: string[] = [];
let total = 0;
for (const b of selected) {
  process.stderr.write(`bench: ${b.name} (${b.file})${quick ? " --quick" : ""}\n`);
  const t0 = performance.now();
  const r = await runOne(b);
  total += r.figures;
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  if (r.code !== 0 || r.bad > 0) {
    failed.push(b.name);
    process.stderr.write(
      `bench: ${b.name} FAILED (exit code ${r.code}, ${r.bad} bad lines) after ${seconds} s\n`,
    );
  } else {
    process.stderr.write(`bench: ${b.name} done: ${r.figures} figures in ${seconds} s\n`);
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
process.stderr.write(
  `bench: ${total} figures from ${selected.length} benchmarks in ${seconds} s${failed.length > 0 ? `; failed: ${failed.join(", ")}` : ""}\n`,
);
process.exitCode = failed.length > 0 ? 1 : 0;
