// `slt run --islands N ...` and `slt island` as a user runs them, in child processes on loopback.
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, scratchDir } from "../cli/helpers.ts";

const work = scratchDir("slt-cluster-cli-");
const slt = (args: string[], env?: NodeJS.ProcessEnv) => runCli(work, args, env);

describe("slt run --islands", () => {
  it("runs local islands on a ring until the wall-clock limit and prints the cluster summary", () => {
    const r = slt([
      "run",
      "--dataset",
      "digits-3",
      "--population",
      "20",
      "--islands",
      "2",
      "--topology",
      "ring",
      "--interval",
      "2",
      "--migrants",
      "3",
      "--mode",
      "async",
      "--generations",
      "1000000",
      "--time-limit",
      "3",
      "--prune",
      "none",
      "--name",
      "cli2",
      "--out",
      work,
      "--json",
    ]);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout.trim());
    expect(s.stopReason).toBe("wall-clock");
    expect(s.topology).toBe("ring");
    expect(s.islands).toHaveLength(2);
    for (const i of s.islands) {
      expect(Object.keys(i)).toEqual(
        expect.arrayContaining(["id", "host", "pid", "bestFitness", "generations", "evaluations"]),
      );
      expect(i.generations).toBeGreaterThan(0);
    }
    expect(Object.keys(s.migrations)).toEqual(
      expect.arrayContaining(["sent", "accepted", "rejected", "dropped"]),
    );
    const config = JSON.parse(readFileSync(join(s.runDir, "config.json"), "utf8"));
    expect(config.cluster).toMatchObject({ islands: 2, topology: "ring", interval: 2, migrants: 3 });
    // the cluster's ticket is an ordinary ticket: `slt check` reproduces it from the file alone
    const check = slt(["check", s.ticket, "--json"]);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).ok).toBe(true);
  });

  it("plain slt run starts one island per core on a ring, async, with per-island progress", () => {
    const cores = availableParallelism();
    const r = slt([
      "run",
      "--dataset",
      "digits-3",
      "--population",
      "20",
      "--generations",
      "12",
      "--prune",
      "none",
      "--out",
      work,
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout.trim());
    const config = JSON.parse(readFileSync(join(s.runDir, "config.json"), "utf8"));
    expect(config.cluster.islands).toBe(cores);
    if (cores === 1) return; // one core: one population in-process, nothing more to see
    expect(config.cluster).toMatchObject({ topology: "ring", mode: "async" });
    expect(s.islands).toHaveLength(cores);
    expect(s.islands.every((i: { generations: number }) => i.generations === 12)).toBe(true);
    // the last progress block has one line per island at the cap
    for (let id = 0; id < cores; id++)
      expect(r.stderr).toMatch(new RegExp(`^\\s*island ${id}\\s.*gen\\s+12\\b`, "m"));
  });

  it("refuses bad topologies and policies before starting anything", () => {
    const bad = slt([
      "run",
      "--dataset",
      "digits-3",
      "--islands",
      "2",
      "--topology",
      "moebius",
      "--out",
      work,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/topology "moebius"/);
    const sel = slt([
      "run",
      "--dataset",
      "digits-3",
      "--islands",
      "2",
      "--selection",
      "worst",
      "--out",
      work,
    ]);
    expect(sel.code).toBe(2);
    expect(sel.stderr).toMatch(/selection policy "worst" is unknown/);
  });

  it("--launcher ssh loads under plain Node and names the bad field of a hosts file", () => {
    const none = slt(["run", "--launcher", "ssh", "--out", work]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--launcher ssh needs --hosts FILE/);
    const hosts = join(work, "hosts.json");
    writeFileSync(hosts, JSON.stringify([{ host: "10.0.0.5", user: "slt", key: "k", islands: 0 }]));
    const bad = slt(["run", "--launcher", "ssh", "--hosts", hosts, "--out", work]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/entry 0 \(10\.0\.0\.5\): "islands" must be an integer from 1/);
    const listen = slt(["run", "--islands", "2", "--listen", "nowhere", "--out", work]);
    expect(listen.code).not.toBe(0);
    expect(listen.stderr).toMatch(/expected HOST:PORT/);
  });

  it("slt island takes its secret only from SLT_TOKEN", () => {
    const env = { ...process.env };
    delete env.SLT_TOKEN;
    const r = slt(["island", "--join", "ws://127.0.0.1:1/?run=x"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/SLT_TOKEN/);
  });
});
