// `slt sweep` end to end, as a user runs it: a small spec of 2 topologies × 2 seeds on 2 moons islands
// with a tiny budget; the same command again; a sweep stopped by SIGINT and continued.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, type CliResult, runCli, scratchDir } from "../cli/helpers.ts";

const work = scratchDir("slt-sweep-");

function writeSpec(file: string, budget: number, extra: Record<string, unknown> = {}): string {
  const spec = {
    name: "tiny",
    base: { dataset: "moons", islands: 2, prune: "none", termination: "none", ...extra },
    grid: { topology: ["ring", "full"] },
    seeds: [1, 2],
    budget: { evaluations: budget },
  };
  const path = join(work, file);
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

/** Writes a spec as `<work>/<name>.json` and returns its path. */
function specFile(spec: { name: string } & Record<string, unknown>): string {
  const path = join(work, `${spec.name}.json`);
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

const records = (out: string) =>
  readFileSync(join(out, "sweep.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

const RUNS = ["topology-ring-s1", "topology-full-s1", "topology-ring-s2", "topology-full-s2"];

/** Modification times of the sweep's folder, its files and every file of its run directories. */
function mtimes(out: string): Record<string, number> {
  const times: Record<string, number> = {};
  const walk = (dir: string) => {
    times[dir] = statSync(dir).mtimeMs;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else times[p] = statSync(p).mtimeMs;
    }
  };
  walk(out);
  return times;
}

/** Resolves once `condition` holds, looking every 50 ms (a state on disk and in a child's output). */
async function until(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("timed out waiting for the condition");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function expectOneLineError(r: CliResult, words: RegExp): void {
  expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("slt: error"));
  expect(errors, r.stderr).toHaveLength(1);
  expect(errors[0]).toMatch(words);
  expect(r.code).toBe(2);
}

describe("slt sweep", () => {
  it("writes one line per run to sweep.jsonl; the same command again runs nothing", () => {
    const spec = writeSpec("tiny.json", 300);
    // a relative --out (the default one is too): the records still name every run absolutely
    const out = join(work, "tiny");
    const r = runCli(work, ["sweep", spec, "--out", "tiny", "--parallel", "2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = records(out);
    expect(lines.map((l) => l.run).sort()).toEqual([...RUNS].sort());
    for (const l of lines) {
      expect(l).toMatchObject({ status: "ok", resumed: false, runDir: join(out, l.run) });
      expect(l.setting).toMatch(/^topology=(ring|full)$/);
      expect(l.fields).toMatchObject({ dataset: "moons", islands: 2, topology: l.setting.slice(9) });
      expect(l.summary).toMatchObject({
        stopReason: "max-evaluations",
        seed: l.seed,
        topology: l.fields.topology,
      });
      expect(l.summary.evaluations).toBeGreaterThanOrEqual(300);
      expect(existsSync(join(out, l.run, "ticket.json"))).toBe(true);
    }
    expect(JSON.parse(r.stdout)).toMatchObject({ sweep: "tiny", runs: 4, alreadyDone: 0, ok: 4, failed: 0 });
    expect(r.stderr).toMatch(
      /^\[4\/4\] topology=\w+ s2: ok test 0\.\d{4}, \d+ evaluations \(max-evaluations\) in \d+ s$/m,
    );
    expect(JSON.parse(readFileSync(join(out, "spec.json"), "utf8")).name).toBe("tiny");
    // it ends with the comparison of its runs: both settings, every run
    expect(r.stderr).toContain(`report: ${join(out, "report.html")}`);
    const page = readFileSync(join(out, "report.html"), "utf8");
    expect(page).toContain("slt report: 4 runs in 2 settings");
    for (const setting of ["topology=ring", "topology=full"]) expect(page).toContain(setting);

    const before = mtimes(out);
    const again = runCli(work, ["sweep", spec, "--out", out, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("4 of 4 runs already done");
    expect(again.stderr).not.toMatch(/^start /m);
    expect(JSON.parse(again.stdout)).toMatchObject({ runs: 4, alreadyDone: 4, ok: 0, failed: 0 });
    expect(records(out)).toEqual(lines);
    // spec.json is written again (the same text), and the report; nothing else was touched
    const after = mtimes(out);
    for (const [path, t] of Object.entries(before))
      if (!/(spec\.json|report\.html)$/.test(path) && path !== out) expect(after[path], path).toBe(t);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
  });

  it("a sweep stopped by SIGINT says how to continue; the same command continues it to 4 runs, none twice", async () => {
    const spec = writeSpec("stopped.json", 1200, { "checkpoint-every": 1 });
    const out = join(work, "stopped");
    const second = join(out, "topology-full-s1");
    const child = spawn(process.execPath, [CLI, "sweep", spec, "--out", out, "--parallel", "1"], {
      cwd: work,
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const closed = new Promise<number | null>((done) => child.on("close", (c) => done(c)));
    // the first run is recorded and the second has written a checkpoint: stop the sweep there
    await until(() => /^\[1\/4\]/m.test(stderr) && existsSync(join(second, "checkpoint.json")));
    child.kill("SIGINT");
    const code = await closed;
    expect(code, stderr).toBe(130);
    expect(stderr).toContain("stopped topology=full s1: not recorded; the next sweep continues it");
    expect(stderr).toContain("run the same command again to continue");
    expect(records(out).map((l) => l.run)).toEqual(["topology-ring-s1"]);
    // a run directory without a checkpoint (a run stopped as it started) is moved aside and run again
    mkdirSync(join(out, "topology-ring-s2"));
    writeFileSync(join(out, "topology-ring-s2", "events.jsonl"), "");

    const r = runCli(work, ["sweep", spec, "--out", out, "--parallel", "1", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("1 of 4 runs already done");
    expect(r.stderr).toContain("start topology=full s1 (resuming from its checkpoint)");
    expect(r.stderr).toContain(
      `start topology=ring s2 (again; the partial run is in ${out}/topology-ring-s2.partial-1)`,
    );
    expect(existsSync(join(out, "topology-ring-s2.partial-1", "events.jsonl"))).toBe(true);
    const lines = records(out);
    expect(lines.map((l) => l.run).sort()).toEqual([...RUNS].sort());
    expect(lines.every((l) => l.status === "ok")).toBe(true);
    expect(lines.filter((l) => l.resumed).map((l) => l.run)).toEqual(["topology-full-s1"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ runs: 4, alreadyDone: 1, ok: 3, resumed: 1, failed: 0 });
    // the resumed run continued its own events after a resume event, and spent its budget
    const events = readFileSync(join(second, "events.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === "resume")).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: "end", stopReason: "max-evaluations" });
  });

  it("a failed run is recorded with its error line and the sweep goes on; the next sweep tries it again", async () => {
    // a port in use passes the dry run (which does not listen) and fails the run at once
    const busy = createServer();
    await new Promise<void>((done) => busy.listen(0, "127.0.0.1", done));
    try {
      const port = (busy.address() as { port: number }).port;
      const spec = join(work, "failing.json");
      writeFileSync(
        spec,
        JSON.stringify({
          name: "failing",
          base: { dataset: "moons", islands: 2, prune: "none", termination: "none" },
          grid: { listen: ["127.0.0.1:0", `127.0.0.1:${port}`] },
          seeds: 1,
          budget: { evaluations: 300 },
        }),
      );
      const out = join(work, "failing");
      const r = runCli(work, ["sweep", spec, "--out", out, "--json"]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/FAILED: slt: error E_CONFIG: --listen 127\.0\.0\.1:\d+: the port is in use/);
      expect(r.stderr).toContain("slt: 1 of 2 runs failed; their error lines are in");
      expect(JSON.parse(r.stdout)).toMatchObject({ runs: 2, ok: 1, failed: 1 });
      const lines = records(out);
      expect(lines.map((l) => [l.setting, l.status])).toEqual(
        expect.arrayContaining([
          ["listen=127.0.0.1:0", "ok"],
          [`listen=127.0.0.1:${port}`, "failed"],
        ]),
      );
      expect(lines.find((l) => l.status === "failed").error).toMatch(/the port is in use .*\(exit code 2\)$/);
      const again = runCli(work, ["sweep", spec, "--out", out]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain("1 of 2 runs already done");
      expect(records(out)).toHaveLength(3);
    } finally {
      await new Promise<void>((done) => busy.close(() => done()));
    }
  });

  it("runs baselines beside the GA: a dense and an edge-popup setting are rows of its report", () => {
    const spec = specFile({
      name: "vs",
      base: { dataset: "moons", arch: [2, 16, 2] },
      settings: [
        { name: "ga", islands: 1, population: 20, prune: "none", termination: "none" },
        { name: "edge-popup", command: "baseline edge-popup", keep: 0.5, epochs: 2 },
        { name: "dense", command: "baseline dense", epochs: 2 },
      ],
      seeds: [1],
      budget: { evaluations: 100 },
    });
    const out = join(work, "vs");
    const dry = runCli(work, ["sweep", spec, "--out", out, "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).settings).toMatchObject([
      { name: "ga", command: "run", cost: 1, unbudgeted: false },
      { name: "edge-popup", command: "baseline edge-popup", cost: 1, unbudgeted: true },
      {
        name: "dense",
        command: "baseline dense",
        cost: 1,
        unbudgeted: true,
        args: expect.not.arrayContaining(["--max-evaluations"]),
      },
    ]);
    // a baseline stopped half-trained (a directory, no record) has no checkpoint: it starts from scratch
    mkdirSync(join(out, "dense-s1"), { recursive: true });
    writeFileSync(join(out, "dense-s1", "events.jsonl"), '{"type":"start","t":0}\n');
    const r = runCli(work, ["sweep", spec, "--out", out, "--parallel", "2", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "checking 3 settings with slt run --dry-run, slt baseline edge-popup --dry-run, slt baseline dense --dry-run",
    );
    expect(r.stderr).toContain("dense (no budget: the budget is slt run's; a baseline trains its epochs)");
    expect(r.stderr).toContain(
      `start dense s1 (again from scratch, a baseline has no checkpoint; the partial run is in ${out}/dense-s1.partial-1)`,
    );
    expect(r.stderr).toMatch(/^\[\d\/3\] edge-popup s1: ok test 0\.\d{4}, 2 epochs \(epochs\) in \d+ s/m);
    const lines = records(out);
    expect(lines.map((l) => [l.setting, l.status, l.fields.command]).sort()).toEqual([
      ["dense", "ok", "baseline dense"],
      ["edge-popup", "ok", "baseline edge-popup"],
      ["ga", "ok", undefined],
    ]);
    const summary = (setting: string) => lines.find((l) => l.setting === setting).summary;
    expect(summary("ga")).toMatchObject({ stopReason: "max-evaluations" });
    expect(summary("dense")).toMatchObject({ method: "dense", epochs: 2, sparsity: 0 });
    expect(summary("edge-popup")).toMatchObject({ method: "edge-popup", keep: 0.5, sparsity: 0.5 });
    // the sweep's own report and slt report on its folder: a row per setting, the GA the reference
    expect(readFileSync(join(out, "report.html"), "utf8")).toContain("slt report: 3 runs in 3 settings");
    const md = runCli(work, ["report", out, "--format", "json"]);
    expect(md.code, md.stderr).toBe(0);
    const report = JSON.parse(md.stdout);
    expect(report.baseline).toBe("ga");
    const row = (label: string) => report.settings.find((x: { label: string }) => x.label === label);
    for (const label of ["ga", "edge-popup", "dense"]) {
      expect(row(label).runs).toBe(1);
      expect(row(label).testAccuracy.mean).toBe(summary(label).testAccuracy);
      expect(row(label).sparsity.mean).toBe(summary(label).sparsity);
    }
  });

  it("a baseline stopped with its sweep is not recorded, and the sweep says the next one trains it again", async () => {
    const spec = specFile({
      name: "long",
      base: { dataset: "moons", arch: [2, 8, 2] },
      settings: [{ name: "dense", command: "baseline dense", epochs: 100000 }],
      seeds: 1,
    });
    const out = join(work, "long");
    const events = join(out, "dense-s1", "events.jsonl");
    const child = spawn(process.execPath, [CLI, "sweep", spec, "--out", out], { cwd: work });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const closed = new Promise<number | null>((done) => child.on("close", (c) => done(c)));
    // stop the sweep once the baseline has trained an epoch
    await until(() => existsSync(events) && readFileSync(events, "utf8").includes('"type":"epoch"'));
    child.kill("SIGINT");
    expect(await closed, stderr).toBe(130);
    expect(stderr).toContain("stopped dense s1: not recorded; the next sweep trains it again from scratch");
    expect(existsSync(join(out, "sweep.jsonl"))).toBe(false);
    // it stopped after its epoch and said so in its own run directory
    expect(readFileSync(events, "utf8")).toMatch(/"type":"end".*"stopReason":"interrupted"/);
  });

  it("--dry-run checks every setting and lists the runs, writing nothing", () => {
    const spec = writeSpec("dry.json", 300);
    const out = join(work, "dry");
    const r = runCli(work, ["sweep", spec, "--out", out, "--dry-run", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      dryRun: true,
      out,
      runs: 4,
      alreadyDone: 0,
      settings: [
        { name: "topology=ring", slug: "topology-ring", cost: 2, runs: 2 },
        { name: "topology=full", slug: "topology-full", cost: 2, runs: 2 },
      ],
    });
    expect(existsSync(out)).toBe(false);
  });

  it("one sweep per folder: a running sweep's lock is refused, a dead one's taken over", () => {
    const out = join(work, "tiny");
    const spec = join(work, "tiny.json");
    writeFileSync(join(out, "sweep.lock"), `${process.pid}\n`);
    expectOneLineError(
      runCli(work, ["sweep", spec, "--out", out]),
      new RegExp(
        `E_CONFIG: --out .*tiny: another slt sweep \\(pid ${process.pid}\\) is running in this folder`,
      ),
    );
    const gone = spawnSync(process.execPath, ["-e", "process.pid"]).pid;
    writeFileSync(join(out, "sweep.lock"), `${gone}\n`);
    const r = runCli(work, ["sweep", spec, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("4 of 4 runs already done");
    expect(existsSync(join(out, "sweep.lock"))).toBe(false);
  });

  it("refuses another spec for the same folder, naming the field", () => {
    const out = join(work, "tiny");
    const r = runCli(work, ["sweep", writeSpec("other.json", 400), "--out", out]);
    expectOneLineError(r, /E_CONFIG: --out .*tiny holds the sweep of another spec .* in "budget"/);
  });

  it.each([
    [["sweep", "missing.json"], /E_CONFIG: cannot read sweep spec missing\.json: ENOENT/],
    [["sweep", "bad.json"], /E_CONFIG: sweep spec bad\.json is not valid JSON/],
    [
      ["sweep", "typo.json"],
      /E_CONFIG: sweep spec typo\.json: base\.topolgy: "topolgy" is not an option of slt run/,
    ],
    [
      ["sweep", "choice.json"],
      /E_CONFIG: sweep spec choice\.json: grid\.prune\[0\]: got "some"; --prune is one of none, clean, published/,
    ],
    [["sweep", "value.json"], /E_CONFIG: sweep spec value\.json: setting "topology=rnig": .*rnig/],
    [["sweep", "seeds.json", "--parallel", "0"], /E_CONFIG: --parallel 0: expected at least 1/],
    [
      ["sweep", "islands.json"],
      /E_CONFIG: sweep spec islands\.json: settings\[0\]\.islands: "islands" is not an option of slt baseline dense, which settings\[0\] runs/,
    ],
    [
      ["sweep", "keep.json"],
      /E_CONFIG: sweep spec keep\.json: base\.keep: "keep" is not an option of slt run, which base runs/,
    ],
    // the baselines' own dry run, before anything runs: a data file that is not there
    [
      ["sweep", "data.json"],
      /E_CONFIG: sweep spec data\.json: setting "ep": E_DATASET_FILE: dataset file not found: .*no-such\.csv \(exit code 2\)$/,
    ],
    // a child's error that details itself over several lines is one line
    [
      ["sweep", "config.json"],
      /E_CONFIG: sweep spec config\.json: setting "dense": E_CONFIG: invalid configuration \(command line\): dataset\.test: got missing; train and test files must be given together; dataset\.name: /,
    ],
  ])("a bad spec is one line, exit 2, nothing run (%#)", (args, words) => {
    writeFileSync(join(work, "bad.json"), "{ name: ");
    const spec = (fields: object) => JSON.stringify({ name: "bad", seeds: 1, ...fields });
    writeFileSync(join(work, "typo.json"), spec({ base: { topolgy: "ring" } }));
    writeFileSync(join(work, "choice.json"), spec({ grid: { prune: ["some"] } }));
    writeFileSync(
      join(work, "value.json"),
      spec({ base: { dataset: "moons" }, grid: { topology: ["rnig", "ring"] } }),
    );
    writeFileSync(join(work, "seeds.json"), spec({}));
    writeFileSync(
      join(work, "islands.json"),
      spec({ settings: [{ command: "baseline dense", islands: 2 }] }),
    );
    writeFileSync(join(work, "keep.json"), spec({ base: { keep: 0.5 } }));
    writeFileSync(
      join(work, "data.json"),
      spec({
        settings: [
          { dataset: "moons" },
          {
            name: "ep",
            command: "baseline edge-popup",
            train: "no-such.csv",
            test: "no-such.csv",
            arch: "2,8,2",
          },
        ],
      }),
    );
    writeFileSync(
      join(work, "config.json"),
      spec({
        base: { dataset: "moons" },
        settings: [{ name: "dense", command: "baseline dense", train: "x.csv" }],
      }),
    );
    const out = join(work, `bad-${args[1]}`);
    const r = spawnSync(process.execPath, [CLI, ...args, "--out", out], { cwd: work, encoding: "utf8" });
    expectOneLineError({ code: r.status, stdout: r.stdout, stderr: r.stderr }, words);
    // no run directory: at most the sweep's folder with its spec
    if (existsSync(out)) expect(readdirSync(out).filter((f) => f !== "spec.json")).toEqual([]);
  });
});
