// The vendored data files are the ones data/README.md describes: every data/*.gz is listed there, and its
// bytes have the sha256 the README gives. When the team's reference copies (../shared/data) are beside
// the repository, the vendored files must equal them byte for byte.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { dataDir, repoRoot } from "./helpers.ts";

/** file name → sha256, from the rows of data/README.md's table */
function readmeSums(): Map<string, string> {
  const text = readFileSync(path.join(dataDir, "README.md"), "utf8");
  const sums = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^\| `([^`]+)` \|.*\| ([0-9a-f]{64}) \|$/.exec(line);
    if (m) sums.set(m[1], m[2]);
  }
  return sums;
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const vendored = readdirSync(dataDir).filter((f) => f.endsWith(".gz"));

describe("vendored data", () => {
  it("data/README.md lists every data file, with the file's sha256", () => {
    const sums = readmeSums();
    expect([...sums.keys()].sort()).toEqual([...vendored].sort());
    for (const [file, sum] of sums) expect(sha256(path.join(dataDir, file)), file).toBe(sum);
  });

  it("holds the papers' moons and circles splits beside sklearn's digits", () => {
    for (const kind of ["moons", "circles"])
      for (const split of ["train", "test"]) expect(vendored).toContain(`${kind}-${split}.csv.gz`);
    expect(vendored).toContain("digits.csv.gz");
  });

  const shared = path.resolve(repoRoot, "../shared/data");
  it.skipIf(!existsSync(shared))(
    `equals the reference copies in ${shared} byte for byte (when present)`,
    () => {
      for (const file of vendored)
        expect(
          readFileSync(path.join(dataDir, file)).equals(readFileSync(path.join(shared, file))),
          file,
        ).toBe(true);
    },
  );
});
