// `slt baseline edge-popup|dense` as a user runs them: tickets that `slt check` (and the NumPy checker)
// confirm, the summary line, and bad options in one line.
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.ts";
import { runCli, scratchDir } from "./helpers.ts";

const work = scratchDir("slt-baseline-cli-");
const numpy = spawnSync("python3", ["-c", "import numpy"]).status === 0;

const MOONS = [
  "--dataset",
  "moons",
  "--arch",
  "2,75,2",
  "--seed",
  "1",
  "--epochs",
  "2",
  "--json",
  "--out",
  work,
];

describe("slt baseline", () => {
  for (const [method, sparsity, regenerate] of [
    ["edge-popup", 0.5, "yes"],
    ["dense", 0, "no: trained"],
  ] as const)
    it(`${method} on moons writes a ticket that slt check confirms (sparsity ${sparsity})`, () => {
      const r = runCli(work, ["baseline", method, ...MOONS]);
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s.method).toBe(method);
      expect(s.sparsity).toBe(sparsity);
      expect(s.epochs).toBe(2);
      expect(s.runDir).toBe(join(work, `moons-2x75x2-s1-${method}`));
      // slt run's summary fields, all there
      for (const field of [
        "trainAccuracy",
        "testAccuracy",
        "sparsity",
        "wallSeconds",
        "evaluations",
        "ticket",
      ])
        expect(s).toHaveProperty(field);
      // one progress line per epoch on stderr (the last always printed)
      expect(r.stderr).toMatch(/epoch 2\/2 {2}lr 0\.05000 {2}loss \d\.\d{5} {2}acc \d\.\d{4}/);
      const c = runCli(work, ["check", s.ticket, "--json"]);
      expect(c.code, c.stdout).toBe(0);
      const checked = JSON.parse(c.stdout);
      expect(checked.ok).toBe(true);
      expect(checked.testAccuracy).toBe(s.testAccuracy);
      expect(checked.trainAccuracy).toBe(s.trainAccuracy);
      expect(checked.lines.join("\n")).toContain(`regenerate from (architecture, init, seed): ${regenerate}`);
    });

  it.skipIf(!numpy)(
    "dense on CSV files: docs/check_ticket.py (NumPy only) gets the same test accuracy",
    () => {
      const rng = Rng.derive(4, "baseline-cli-data");
      const csv = (n: number) =>
        `${Array.from({ length: n }, (_, i) => {
          const c = i % 2 ? 1 : -1;
          return `${rng.normal(c, 1).toFixed(4)},${rng.normal(-c, 1).toFixed(4)},${i % 2}`;
        }).join("\n")}\n`;
      writeFileSync(join(work, "train.csv"), csv(300));
      writeFileSync(join(work, "test.csv"), csv(200));
      const r = runCli(
        work,
        ["baseline", "dense", "--train", "train.csv", "--test", "test.csv", "--arch", "2,8,2"].concat([
          "--epochs",
          "3",
          "--json",
          "--quiet",
          "--out",
          work,
        ]),
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe("");
      const s = JSON.parse(r.stdout);
      const py = spawnSync(
        "python3",
        [resolve(import.meta.dirname, "../../docs/check_ticket.py"), s.ticket, join(work, "test.csv")],
        { encoding: "utf8" },
      );
      expect(py.status, py.stderr).toBe(0);
      expect(JSON.parse(py.stdout).accuracy).toBe(s.testAccuracy);
    },
  );

  it("--dry-run checks the settings and the data, names the run directory and writes nothing", () => {
    const r = runCli(work, [
      "baseline",
      "dense",
      "--dataset",
      "digits-3",
      "--dry-run",
      "--json",
      "--out",
      join(work, "dry"),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.runDir).toBe(join(work, "dry", "digits-3-64x75x3-s1-dense"));
    expect(d.config.baseline).toEqual({
      method: "dense",
      epochs: 100,
      batchSize: 128,
      lr: 0.1,
      momentum: 0.9,
      weightDecay: 1e-4,
    });
    expect(existsSync(join(work, "dry"))).toBe(false);
  });

  for (const [args, message] of [
    [
      ["edge-popup", "--keep", "1.5"],
      /^slt: error E_CONFIG: slt baseline edge-popup: --keep 1\.5: expected a fraction/,
    ],
    [
      ["dense", "--epochs", "ten"],
      /^slt: error E_CONFIG: option '--epochs <n>' argument 'ten' is invalid. expected a number/,
    ],
    [["dense", "--arch", "2,75,1"], /^slt: error E_CONFIG: network.architecture/],
  ] as const)
    it(`refuses ${args.join(" ")} in one line, exit 2`, () => {
      const r = runCli(work, ["baseline", ...args, "--out", work]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    });
});
