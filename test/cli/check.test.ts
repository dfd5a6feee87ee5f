// `slt check` and the NumPy reader in docs/: a ticket must be checkable from the file alone.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = join(ROOT, "src/cli.ts");
const work = mkdtempSync(join(tmpdir(), "slt-check-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const numpy = spawnSync("python3", ["-c", "import numpy"]).status === 0;

function slt(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd: work });
}

/** Two noisy Gaussian classes in 3 dimensions, as CSV with a header. */
function writeCsv(file: string, n: number, seed: number): void {
  const rng = Rng.derive(seed, "check-test-data");
  const rows = ["f1,f2,f3,label"];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const c = label ? 1 : -1;
    rows.push(
      `${rng.normal(c, 1).toFixed(5)},${rng.normal(-c, 1).toFixed(5)},${rng.normal(0, 1).toFixed(5)},${label}`,
    );
  }
  writeFileSync(join(work, file), `${rows.join("\n")}\n`);
}

let ticketPath = "";
let recorded: { trainAccuracy: number; testAccuracy: number };

beforeAll(() => {
  writeCsv("train.csv", 400, 1);
  writeCsv("test.csv", 300, 2);
  const r = slt(
    "run",
    "--islands",
    "1",
    "--train",
    "train.csv",
    "--test",
    "test.csv",
    "--arch",
    "3,8,2",
    "--generations",
    "10",
    "--prune",
    "clean",
    "--json",
    "--out",
    work,
  );
  expect(r.status, r.stderr).toBe(0);
  ticketPath = JSON.parse(r.stdout).ticket;
  recorded = JSON.parse(readFileSync(ticketPath, "utf8")).metrics;
});

describe("slt check", () => {
  it("recomputes the recorded accuracy from the ticket and its dataset description", () => {
    const r = slt("check", ticketPath, "--json");
    expect(r.status, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c.ok).toBe(true);
    expect(c.trainAccuracy).toBe(recorded.trainAccuracy);
    expect(c.testAccuracy).toBe(recorded.testAccuracy);
  });

  it("reports a mismatch (exit 1) when the mask in the file was changed", () => {
    const doc = JSON.parse(readFileSync(ticketPath, "utf8"));
    const bytes = Buffer.from(doc.mask.bits, "base64");
    bytes[0] ^= 0xff;
    bytes[1] ^= 0xff;
    doc.mask.bits = bytes.toString("base64");
    const tampered = join(work, "tampered.json");
    writeFileSync(tampered, JSON.stringify(doc));
    const r = slt("check", tampered);
    // flipping 16 weights of an 8-unit net moves accuracy on 300 rows, or the check is blind
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/MISMATCH/);
  });

  it("rejects a file that is not a ticket with E_TICKET", () => {
    writeFileSync(join(work, "not-a-ticket.json"), JSON.stringify({ format: "something-else" }));
    const r = slt("check", "not-a-ticket.json");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E_TICKET.*not a valid slt-ticket\/1 document: format/);
  });

  it.skipIf(!numpy)("docs/check_ticket.py (NumPy only) gets the same test accuracy", () => {
    const r = spawnSync("python3", [join(ROOT, "docs/check_ticket.py"), ticketPath, join(work, "test.csv")], {
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).accuracy).toBe(recorded.testAccuracy);
  });
});
