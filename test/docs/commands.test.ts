// Every command in the fenced `sh` blocks of README.md, docs/*.md and deploy/README.md runs as written
// from the root of a fresh clone (doc-commands.ts says what is checked and how). A small sample first
// shows that the check fails on a broken command and on a missing path.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { blockCommands, checkBlock, repoRoot, shBlocks, sltCommandCount } from "./doc-commands.ts";

const DOCS = [
  "README.md",
  "deploy/README.md",
  ...readdirSync(path.join(repoRoot, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

const block = (text: string) => ({ file: "sample.md", line: 1, text });

describe("the docs checker (a sample)", () => {
  it("finds the sh blocks, joins continuations, drops comments, runs a loop body once with its first value", () => {
    const md = [
      "text",
      "```sh",
      "for s in 4 5; do   # two seeds",
      "  SLT_X=1 npm run --silent slt -- run --seed $s \\",
      "    --name 'a b' > out.txt",
      "done",
      "```",
      "```json",
      "{}",
      "```",
    ].join("\n");
    const blocks = shBlocks(md, "x.md");
    expect(blocks).toHaveLength(1);
    expect(blocks[0].line).toBe(3);
    const commands = blockCommands(blocks[0].text);
    expect(commands.map((c) => c.argv)).toEqual([
      ["npm", "run", "--silent", "slt", "--", "run", "--seed", "4", "--name", "a b"],
    ]);
    expect(commands[0].writes).toEqual(["out.txt"]);
  });

  it("passes a good block: a run, then a check of the ticket that run makes, then other tools' repo paths", () => {
    const good = block(
      [
        "npm run slt -- run --islands 1 --dataset digits-3 --seed 9 --name sample-run  # a comment",
        "npm run slt -- check runs/sample-run/ticket.json",
        "python3 docs/check_ticket.py runs/sample-run/ticket.json data/moons-test.csv.gz --scale paper",
        "npm run slt -- resume runs/sample-run --generations 400 --islands 2",
      ].join("\n"),
    );
    expect(checkBlock(good)).toEqual([]);
  });

  it("a resume: of a run the block makes, with options that parse", () => {
    const problems = checkBlock(
      block(
        [
          "npm run slt -- run --islands 1 --dataset digits-3 --seed 9 --name sample-run",
          "npm run slt -- resume runs/sample-run --bogus",
          "npm run slt -- resume runs/never-made",
        ].join("\n"),
      ),
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /--bogus`: slt resume fails before reading its run directory \(exit 2\).*unknown option/,
    );
    expect(problems[1]).toContain("runs/never-made does not exist in a fresh clone");
  });

  it("fails on a command that does not validate, an unknown option, an unknown script and missing paths", () => {
    const problems = checkBlock(
      block(
        [
          "npm run slt -- run --islands 1 --dataset digits-3 --arch 3,4,2",
          "npm run slt -- run --bogus",
          "npm run no-such-script",
          "python3 docs/no-such-file.py",
          "npm run slt -- check runs/never-made/ticket.json",
          "node src/cli.ts run --islands 1",
          "python3 docs/check_ticket.py ../elsewhere/ticket.json",
        ].join("\n"),
      ),
    );
    expect(problems).toHaveLength(7);
    expect(problems[0]).toMatch(/--arch 3,4,2`: slt run --dry-run fails \(exit 2\).*E_CONFIG.*does not fit/);
    expect(problems[1]).toMatch(/--bogus`: slt run --dry-run fails \(exit 2\).*unknown option/);
    expect(problems[2]).toContain('package.json has no script "no-such-script"');
    expect(problems[3]).toContain("docs/no-such-file.py does not exist");
    expect(problems[4]).toContain("runs/never-made/ticket.json does not exist in a fresh clone");
    expect(problems[5]).toContain("plain `node`");
    expect(problems[6]).toContain("../elsewhere/ticket.json is outside the repository");
  });
});

describe("the docs checker and slt report (a sample)", () => {
  it("passes a report of runs the block makes, fails one of runs it does not, or with a bad option", () => {
    const run = "npm run slt -- run --islands 1 --dataset moons --seed 1 --out runs/cmp --name a";
    expect(checkBlock(block([run, "npm run slt -- report runs/cmp --format md"].join("\n")))).toEqual([]);
    const problems = checkBlock(
      block(
        [
          run,
          "npm run slt -- report runs/elsewhere",
          "npm run slt -- report data",
          "npm run slt -- report runs/cmp --format xml",
        ].join("\n"),
      ),
    );
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain("runs/elsewhere does not exist in a fresh clone");
    // a folder of the repository: the report would be written into it
    expect(problems[1]).toContain("slt report needs run directories an earlier command of the block makes");
    expect(problems[2]).toMatch(/slt report fails before reading its directories \(exit 2\)/);
  });
});

describe("the commands in the docs run as written", () => {
  const all = DOCS.flatMap((file) => shBlocks(readFileSync(path.join(repoRoot, file), "utf8"), file));

  it("the README's blocks hold slt commands (the parser found them)", () => {
    expect(
      all.filter((b) => b.file === "README.md").reduce((n, b) => n + sltCommandCount(b), 0),
    ).toBeGreaterThan(0);
  });

  for (const b of all) {
    it(`${b.file}:${b.line}`, { timeout: 300_000 }, () => {
      expect(checkBlock(b)).toEqual([]);
    });
  }
});
