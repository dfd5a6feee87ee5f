// A coordinator in a child process for test/cluster/liveness.test.ts, which pauses it (SIGSTOP) and
// owns its islands, so that it sees them end even while this process is stopped. Argument: a JSON
// { out, name, patch, heartbeatTimeoutMs }. Lines on stdout, one JSON object each: {start: {joinUrl,
// secret, n}} (the islands to start), {kill: index}, {report: {island, generation}}, and at the end
// {summary: {ticket, stopReason, lost, runDir}} or {error: message}. Lines on stdin: {exit: index,
// code, signal} when an island process has ended.
import { createInterface } from "node:readline";
import { runCluster } from "../../src/coordinator/cluster.ts";
import type { IslandExit, IslandHandle, Launcher } from "../../src/coordinator/launcher.ts";
import { makeEvaluator } from "../../src/evaluator/index.ts";
import { silentLogger } from "../../src/io/log.ts";
import { clusterConfig } from "./helpers.ts";

const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const arg = JSON.parse(process.argv[2] as string);
const exits = new Map<number, (e: IslandExit) => void>();
createInterface({ input: process.stdin }).on("line", (line) => {
  const m = JSON.parse(line);
  exits.get(m.exit)?.({ code: m.code, signal: m.signal });
});

/** Islands the parent process starts and ends; this side only hears of them. */
const launcher: Launcher = {
  name: "parent",
  async start(n, joinUrl, secret) {
    say({ start: { joinUrl, secret, n } });
    return Array.from({ length: n }, (_, index): IslandHandle => {
      const exited = new Promise<IslandExit>((resolve) => exits.set(index, resolve));
      return { index, host: "localhost", pid: null, exited, kill: () => say({ kill: index }), setLabel() {} };
    });
  },
  async close() {},
};

try {
  const summary = await runCluster(clusterConfig(arg.out, arg.name, arg.patch), {
    makeEvaluator,
    logger: silentLogger(),
    launcher,
    heartbeatTimeoutMs: arg.heartbeatTimeoutMs,
    hooks: {
      onEvent(e) {
        if (e.type === "report") say({ report: { island: e.island, generation: e.generation } });
      },
    },
  });
  const { ticket, stopReason, lost, runDir } = summary;
  say({ summary: { ticket, stopReason, lost, runDir } });
  process.exit(0);
} catch (e) {
  say({ error: (e as Error).message });
  process.exit(1);
}
