// The local launcher's records: what an island writes on stdout or stderr becomes one warn record per
// line, { island, stream, line }, and the coordinator's log level reaches the island in SLT_LOG_LEVEL.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localLauncher } from "../../src/coordinator/launcher-local.ts";
import { createLogger } from "../../src/io/log.ts";

const work = mkdtempSync(join(tmpdir(), "slt-launcher-local-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A stand-in for node: prints what it was given, and one more line when it gets SIGUSR1. */
function fakeNode(): string {
  const path = join(work, "fake-node.sh");
  writeFileSync(
    path,
    [
      "#!/bin/sh",
      'echo "index $SLT_ISLAND_INDEX level $SLT_LOG_LEVEL token-set $([ -n "$SLT_TOKEN" ] && echo yes) args $*" >&2',
      "trap 'echo \"after relabel\" >&2; kill $! 2>/dev/null; exit 3' USR1",
      'echo "to stdout"',
      "while :; do sleep 5 & wait $!; done",
    ].join("\n"),
  );
  chmodSync(path, 0o755);
  return path;
}

describe("local launcher", () => {
  it("turns island output into records of the island and passes the log level in the environment", async () => {
    const records: Record<string, unknown>[] = [];
    const waiters: { n: number; resolve: () => void }[] = [];
    const logger = createLogger({
      level: "debug",
      stderr: false,
      destinations: [
        {
          write(line: string) {
            records.push(JSON.parse(line));
            for (const w of waiters.filter((x) => records.length >= x.n)) w.resolve();
          },
        },
      ],
    });
    const count = (n: number) =>
      new Promise<void>((resolve) => (records.length >= n ? resolve() : waiters.push({ n, resolve })));
    const launcher = localLauncher({ logger, nodePath: fakeNode() });
    const secret = "f00d".repeat(16);
    const [h] = await launcher.start(1, "ws://127.0.0.1:9/?run=x", secret);
    await count(2);
    h.setLabel("island 7");
    process.kill(h.pid as number, "SIGUSR1");
    await count(3);
    expect(await h.exited).toEqual({ code: 3, signal: null });
    await launcher.close();
    const byStream = (s: string) => records.filter((r) => r.stream === s);
    expect(byStream("stderr")[0]).toMatchObject({
      level: 40,
      msg: "island output",
      island: 0,
      stream: "stderr",
      line: expect.stringMatching(
        /^index 0 level debug token-set yes args .*--join ws:\/\/127\.0\.0\.1:9\/\?run=x$/,
      ),
    });
    expect(byStream("stdout")[0]).toMatchObject({ island: 0, stream: "stdout", line: "to stdout" });
    // relabelled with its id: later lines are the island's by id
    expect(byStream("stderr")[1]).toMatchObject({ island: 7, line: "after relabel" });
    expect(JSON.stringify(records)).not.toContain(secret);
  });
});
