// Island process entry: `node src/island/main.ts --join ws://HOST:PORT/?run=ID [--listen HOST|auto]`.
// --listen is the address of the island's peer server (default 127.0.0.1); islands on other hosts use
// an address their neighbours reach, or "auto": the local address of the interface toward the coordinator.
// --exit-with-stdin ends the island when its stdin closes: the SSH launcher keeps the session's stdin
// open, so closing the session (or losing the connection) ends the remote island.
// The run secret comes from the environment (SLT_TOKEN), never from argv; SLT_ISLAND_INDEX is the
// launcher's index for this island (default 0). Records (pino, io/log.ts; level from SLT_LOG_LEVEL) go to
// stderr as readable lines until the coordinator link is open, then to the coordinator as `log` messages
// (island/log-link.ts); each carries the island's index. Exit codes: 0 stopped by the coordinator, 1 failed,
// 2 bad usage (or a runtime too old to run the project: E_RUNTIME).
import "../runtime-guard.mjs";
import { connect } from "node:net";
import { SltError } from "../core/errors.ts";
import { type LogLevel, parseLogLevel } from "../io/log.ts";
import { runIsland } from "./island.ts";
import { islandLogger } from "./log-link.ts";

/** Attempts at reaching the coordinator before the island gives up, and the waits between them. */
export const JOIN_RETRY_MS = [250, 500, 1000, 2000] as const;
/** How long one attempt may take: a blackholed address fails after this, not after the OS's minutes. */
const JOIN_CONNECT_TIMEOUT_MS = 5000;

/** One TCP connection to the join URL's host and port, closed at once: null when it opened, else why not. */
function probeOnce(host: string, port: number): Promise<string | null> {
  return new Promise((done) => {
    const sock = connect({ host, port });
    sock.setTimeout(JOIN_CONNECT_TIMEOUT_MS, () => {
      sock.destroy();
      done(`no answer within ${JOIN_CONNECT_TIMEOUT_MS / 1000} s`);
    });
    sock.once("connect", () => {
      sock.destroy();
      done(null);
    });
    sock.once("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/**
 * Whether the coordinator at `join` accepts connections, tried 1 + JOIN_RETRY_MS.length times (a
 * coordinator may come up a moment after its islands); null when it does, else the last failure.
 */
export async function reachCoordinator(join: string): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(join);
  } catch {
    return "not a URL";
  }
  const port = Number(url.port) || (url.protocol === "wss:" ? 443 : 80);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let why = await probeOnce(host, port);
  for (const ms of JOIN_RETRY_MS) {
    if (why === null) return null;
    await new Promise((r) => setTimeout(r, ms));
    why = await probeOnce(host, port);
  }
  return why;
}

function usage(text: string): never {
  process.stderr.write(
    `slt island: ${text}\nusage: SLT_TOKEN=... node src/island/main.ts --join ws://HOST:PORT/?run=ID [--listen HOST|auto] [--exit-with-stdin]\n`,
  );
  process.exit(2);
}

/** Parses `--join URL` (or `--join=URL`) and the environment; exported for `slt island`. */
export async function islandMain(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let join: string | undefined;
  let listenHost: string | undefined;
  let exitWithStdin = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--join") join = argv[++i];
    else if (argv[i].startsWith("--join=")) join = argv[i].slice("--join=".length);
    else if (argv[i] === "--listen") listenHost = argv[++i];
    else if (argv[i].startsWith("--listen=")) listenHost = argv[i].slice("--listen=".length);
    else if (argv[i] === "--exit-with-stdin") exitWithStdin = true;
    else usage(`unknown argument ${JSON.stringify(argv[i])}`);
  }
  if (!join) usage("--join URL is required");
  if (listenHost !== undefined && !/^[\w.:-]+$/.test(listenHost))
    usage(`--listen must be a host name, an IP address or "auto", got ${JSON.stringify(listenHost)}`);
  const secret = env.SLT_TOKEN;
  if (!secret) usage("the run secret must be in the environment variable SLT_TOKEN");
  const indexText = env.SLT_ISLAND_INDEX ?? "0";
  if (!/^\d+$/.test(indexText))
    usage(`SLT_ISLAND_INDEX must be an integer >= 0, got ${JSON.stringify(indexText)}`);
  const index = Number(indexText);
  let level: LogLevel = "info";
  try {
    if (env.SLT_LOG_LEVEL) level = parseLogLevel(env.SLT_LOG_LEVEL, "SLT_LOG_LEVEL");
  } catch (e) {
    usage((e as Error).message);
  }
  const { logger, toCoordinator } = islandLogger({ level, secret, index });
  if (exitWithStdin) {
    const bye = () => {
      logger.error({ reason: "stdin closed" }, "the launcher ended this island");
      process.exit(1);
    };
    process.stdin.once("end", bye).once("close", bye).once("error", bye).resume();
  }
  const unreachable = await reachCoordinator(join);
  if (unreachable !== null) {
    logger.error(
      { join, reason: unreachable, attempts: JOIN_RETRY_MS.length + 1 },
      "cannot reach the coordinator at the join URL",
    );
    return 1;
  }
  try {
    await runIsland({ join, secret, index, listenHost, logger, toCoordinator });
    return 0;
  } catch (e) {
    if (e instanceof SltError) logger.error({ code: e.code, reason: e.message }, "island failed");
    else {
      // one line for the user; the trace only for whoever asks for debug records
      logger.error({ reason: (e as Error).message ?? String(e) }, "island failed");
      logger.debug({ stack: (e as Error).stack }, "island failure trace");
    }
    return 1;
  }
}

if (import.meta.main) {
  const env = { ...process.env };
  delete process.env.SLT_TOKEN; // nothing this process starts inherits the secret
  const code = await islandMain(process.argv.slice(2), env);
  process.exit(code);
}
