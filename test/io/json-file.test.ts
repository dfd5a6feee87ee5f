import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readJsonFile } from "../../src/io/json-file.ts";
import { scratchDir } from "../cli/helpers.ts";

const work = scratchDir("slt-json-file-");

describe("readJsonFile", () => {
  it("parses a file, and names the kind, the path and the cause when it cannot", () => {
    const good = join(work, "good.json");
    writeFileSync(good, '{"a": [1, 2]}');
    expect(readJsonFile(good, "config file")).toEqual({ a: [1, 2] });
    const bad = join(work, "bad.json");
    writeFileSync(bad, "{oops");
    expect(() => readJsonFile(bad, "hosts file")).toThrow(`hosts file ${bad} is not valid JSON: `);
    const missing = join(work, "missing.json");
    expect(() => readJsonFile(missing, "sweep spec")).toThrow(`cannot read sweep spec ${missing}: ENOENT`);
  });
});
