// Island process entry: `node src/island/main.ts --join ws://HOST:PORT/?run=ID [--listen HOST|auto]`.
// --listen is the address of the island's peer server (default 127.0.0.1); islands on other hosts use
// an address their neighbours reach, or "auto": the local address of the interface toward the coordinator.
// --exit-with-stdin ends the island when its stdin closes: the SSH launcher keeps the session's stdin
// open, so closing the session (or losing the connection) ends the remote island.
// A wss:// join URL needs a way to trust the coordinator's certificate: its SHA-256 fingerprint (the pin:
// SLT_TLS_PIN, as the launchers hand it over, or --tls-pin) or a CA certificate (--tls-ca FILE, normal
// verification). Joining retries a busy or refusing coordinator, then fails with one line (island.ts #join).
// The run secret comes from the environment (SLT_TOKEN), never from argv; SLT_ISLAND_INDEX is the
// launcher's index for this island (default 0). Records (pino, io/log.ts; level from SLT_LOG_LEVEL) go to
// stderr as readable lines until the coordinator link is open, then to the coordinator as `log` messages
// (island/log-link.ts); each carries the island's index. Exit codes: 0 stopped by the coordinator, 1 failed,
// 2 bad usage (or a runtime too old to run the project: E_RUNTIME).
import "../runtime-guard.mjs";
import { SltError } from "../core/errors.ts";
import { type LogLevel, parseLogLevel } from "../io/log.ts";
import { isWss, loadTlsCa, parseTlsPin, type TlsTrust } from "../io/tls.ts";
import { runIsland } from "./island.ts";
import { islandLogger } from "./log-link.ts";

function usage(text: string): never {
  process.stderr.write(
    `slt island: ${text}\nusage: SLT_TOKEN=... node src/island/main.ts --join ws[s]://HOST:PORT/?run=ID [--listen HOST|auto] [--tls-pin SHA256 | --tls-ca FILE] [--exit-with-stdin]\n`,
  );
  process.exit(2);
}

/** How to trust a wss:// coordinator: a pin or a CA, exactly one; none for ws://. */
function tlsTrustOf(join: string, pin: string | undefined, ca: string | undefined): TlsTrust | null {
  if (!isWss(join)) return null;
  if (pin && ca)
    throw new Error("give either a certificate pin (--tls-pin, SLT_TLS_PIN) or --tls-ca, not both");
  if (ca) return { ca: loadTlsCa(ca) };
  if (pin) return { pin: parseTlsPin(pin, "the certificate pin (--tls-pin, SLT_TLS_PIN)") };
  throw new Error(
    `the join URL ${join} is wss://: give the coordinator certificate's SHA-256 fingerprint (SLT_TLS_PIN or --tls-pin, printed in the run's start event) or --tls-ca FILE`,
  );
}

/** Parses `--join URL` (or `--join=URL`) and the environment; exported for `slt island`. */
export async function islandMain(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let join: string | undefined;
  let listenHost: string | undefined;
  let exitWithStdin = false;
  let tlsPin: string | undefined;
  let tlsCa: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--join") join = argv[++i];
    else if (argv[i] === "--tls-pin") tlsPin = argv[++i];
    else if (argv[i] === "--tls-ca") tlsCa = argv[++i];
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
  let tls: TlsTrust | null = null;
  try {
    tls = tlsTrustOf(join, tlsPin ?? env.SLT_TLS_PIN, tlsCa);
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
  try {
    await runIsland({ join, secret, index, listenHost, logger, toCoordinator, tls });
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
