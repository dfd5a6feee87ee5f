// The run secret stays secret, with real processes: a local cluster run whose islands get the secret
// in their environment (SLT_TOKEN, read here from /proc/<pid>/environ) never has it on an island's
// command line, and after the run no file of the run directory holds it, log.jsonl included (every
// record at trace level, island output too, and the refusals of two intruders, one at the coordinator
// and one at an island).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { runCluster } from "../../src/coordinator/cluster.ts";
import { localLauncher } from "../../src/coordinator/launcher-local.ts";
import { resolveConfig } from "../../src/core/config.ts";
import { makeEvaluator } from "../../src/evaluator/index.ts";
import { createLogger } from "../../src/io/log.ts";
import { scratchDir } from "../cli/helpers.ts";

const work = scratchDir("slt-secret-");

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

/** Sends garbage to a WebSocket server and resolves when it has closed the connection (bad-msgpack). */
function garbage(url: string): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on("error", () => {});
    ws.on("open", () => ws.send(Buffer.from([0xc1, 0xff])));
    ws.on("close", () => resolve());
  });
}

/** NAME=value pairs of a process's initial environment. */
function environ(pid: number): Map<string, string> {
  const pairs = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
  return new Map(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
}

describe("the run secret", () => {
  it.skipIf(process.platform !== "linux")(
    "reaches islands only through their environment, and no file of the run directory",
    async () => {
      const logger = createLogger({ level: "trace", stderr: false });
      const seen: { pid: number; token: string | undefined; level: string | undefined; cmdline: string }[] =
        [];
      const config = resolveConfig({
        source: "test",
        patch: {
          name: "secret",
          out: work,
          seed: 3,
          dataset: { name: "moons" },
          ga: { population: 16 },
          prune: "none",
          termination: { maxGenerations: 6 },
          cluster: { islands: 2, topology: "ring", interval: 2, migrants: 1 },
        },
      });
      const summary = await runCluster(config, {
        makeEvaluator,
        launcher: localLauncher({ logger }),
        logger,
        hooks: {
          async beforeStop(control) {
            await garbage(control.joinUrl);
            await garbage(control.islands()[0].listen as string);
          },
          onEvent(e) {
            // joined: the island is up and has said hello, so its process is the island's own
            if (e.type === "joined") {
              const pid = e.pid as number;
              const env = environ(pid);
              seen.push({
                pid,
                token: env.get("SLT_TOKEN"),
                level: env.get("SLT_LOG_LEVEL"),
                cmdline: readFileSync(`/proc/${pid}/cmdline`, "utf8"),
              });
            }
          },
        },
      });
      expect(summary.stopReason).toBe("max-generations");
      expect(seen).toHaveLength(2);
      const token = seen[0].token as string;
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      for (const s of seen) {
        expect(s.token).toBe(token); // one secret per run, handed to every island
        expect(s.level).toBe("trace"); // the coordinator's level, through the environment
        expect(s.cmdline).toContain("--join");
        expect(s.cmdline).not.toContain(token);
      }
      const written = files(summary.runDir);
      expect(written.map((f) => f.slice(summary.runDir.length + 1)).sort()).toEqual(
        expect.arrayContaining(["config.json", "events.jsonl", "log.jsonl", "ticket.json"]),
      );
      for (const f of written) expect(readFileSync(f, "utf8"), f).not.toContain(token);
      const records = readFileSync(join(summary.runDir, "log.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      // each intruder's refusal, whichever way it reached the log (a record's fields, or a line)
      const refusals = records.map((r) => JSON.stringify(r)).filter((r) => /connection refused/.test(r));
      expect(refusals.some((r) => /peerRole\W+island/.test(r))).toBe(true); // at the coordinator
      expect(refusals.some((r) => /"island":0\b|\[island 0\]/.test(r) && /peerRole\W+peer/.test(r))).toBe(
        true,
      );
    },
  );
});
