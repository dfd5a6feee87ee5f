// The local launcher: islands as child processes of the coordinator on this host. Each gets the run
// secret in SLT_TOKEN, its index in SLT_ISLAND_INDEX, the coordinator's log level in SLT_LOG_LEVEL and,
// in a wss:// run, the certificate's pin in SLT_TLS_PIN (the environment, never argv). An island sends its records over its coordinator link
// (island/log-link.ts); what still arrives on its stdout or stderr (a crash trace, a Node warning,
// records from before its link was open) becomes one warn record per line on the coordinator's logger,
// { island, stream, line }: the island is its launcher index until the coordinator relabels it with its id.
import { type ChildProcess, spawn } from "node:child_process";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { E_CLUSTER, SltError } from "../core/errors.ts";
import { REPO_ROOT } from "../io/datasets.ts";
import { type Logger, stderrLogger } from "../io/log.ts";
import { type IslandExit, type IslandHandle, type Launcher, labelFields } from "./launcher.ts";

/** The island entry point, run by path (the coordinator never imports island code). */
export const ISLAND_MAIN = resolve(REPO_ROOT, "src", "island", "main.ts");

export interface LocalLauncherOptions {
  /** where island output lines and launch failures go, as records (default: stderr) */
  readonly logger?: Logger;
  /** the node binary (default: this process's) */
  readonly nodePath?: string;
}

/** One island child process and its handle (the launcher's index, SIGKILL to end it). */
function spawnIsland(
  index: number,
  run: Started,
  logger: Logger,
  nodePath: string,
): { child: ChildProcess; exited: Promise<IslandExit>; handle: IslandHandle } {
  const child = spawn(nodePath, [ISLAND_MAIN, "--join", run.joinUrl], {
    env: {
      ...process.env,
      SLT_TOKEN: run.secret,
      SLT_ISLAND_INDEX: String(index),
      SLT_LOG_LEVEL: logger.level,
      ...(run.tlsPin !== undefined ? { SLT_TLS_PIN: run.tlsPin } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
    // its own process group: a Ctrl-C at the terminal reaches only the coordinator, which then
    // asks every island for its ticket (islands still end with the coordinator: close() kills
    // them, and an island whose coordinator connection closes ends by itself)
    detached: true,
  });
  let who: Record<string, unknown> = { island: index };
  for (const [name, stream] of [
    ["stdout", child.stdout],
    ["stderr", child.stderr],
  ] as const) {
    createInterface({ input: stream }).on("line", (line) =>
      logger.warn({ ...who, stream: name, line }, "island output"),
    );
  }
  const exited = new Promise<IslandExit>((done) => {
    child.once("exit", (code, signal) => done({ code, signal }));
    child.once("error", (e) => {
      logger.error({ island: index, reason: e.message }, "island could not start");
      done({ code: null, signal: null });
    });
  });
  const handle: IslandHandle = {
    index,
    host: hostname(),
    pid: child.pid ?? null,
    exited,
    setLabel(text) {
      who = labelFields(index, text);
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
  return { child, exited, handle };
}

/** What start() was given, for restarts. */
interface Started {
  readonly joinUrl: string;
  readonly secret: string;
  readonly tlsPin?: string;
}

export function localLauncher(options: LocalLauncherOptions = {}): Launcher {
  const logger = options.logger ?? stderrLogger();
  const nodePath = options.nodePath ?? process.execPath;
  const children: { child: ChildProcess; exited: Promise<IslandExit> }[] = [];
  let started: Started | null = null;
  const one = (index: number): IslandHandle => {
    const c = spawnIsland(index, started as Started, logger, nodePath);
    children.push(c);
    return c.handle;
  };
  return {
    name: "local",
    async start(n, joinUrl, secret, launch) {
      started = { joinUrl, secret, tlsPin: launch?.tlsPin };
      return Array.from({ length: n }, (_, index) => one(index));
    },
    // a restart is the same spawn again, with the same index
    async restart(index) {
      if (started === null)
        throw new SltError(E_CLUSTER, "the local launcher restarts only islands it started");
      return one(index);
    },
    async close() {
      for (const { child } of children) {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
      await Promise.all(children.map((c) => c.exited));
    },
  };
}
