// The commit read from .git without the git binary: plain checkouts, worktrees, packed and detached refs.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../src/io/datasets.ts";
import { gitCommit } from "../../src/io/versions.ts";

const work = mkdtempSync(join(tmpdir(), "slt-ver-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const A = "a".repeat(40);
const B = "b".repeat(40);

/** Writes `files` (path relative to a fresh folder → text) and returns the folder. */
function tree(name: string, files: Record<string, string>): string {
  const root = join(work, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  mkdirSync(root, { recursive: true });
  return root;
}

describe("gitCommit", () => {
  it("follows HEAD to a loose ref", () => {
    const root = tree("loose", { ".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": `${A}\n` });
    expect(gitCommit(root)).toBe(A);
  });

  it("finds a packed ref", () => {
    const root = tree("packed", {
      ".git/HEAD": "ref: refs/heads/dev\n",
      ".git/packed-refs": `# pack-refs with: peeled fully-peeled sorted\n${B} refs/heads/main\n${A} refs/heads/dev\n`,
    });
    expect(gitCommit(root)).toBe(A);
  });

  it("reads a detached HEAD", () => {
    expect(gitCommit(tree("detached", { ".git/HEAD": `${B}\n` }))).toBe(B);
  });

  it("follows a worktree's .git file to its own HEAD and the shared refs", () => {
    const main = tree("main", {
      ".git/HEAD": "ref: refs/heads/main\n",
      ".git/refs/heads/main": `${A}\n`,
      ".git/refs/heads/side": `${B}\n`,
      ".git/worktrees/side/HEAD": "ref: refs/heads/side\n",
      ".git/worktrees/side/commondir": "../..\n",
    });
    const side = tree("side", { ".git": `gitdir: ${join(main, ".git", "worktrees", "side")}\n` });
    expect(gitCommit(side)).toBe(B);
    expect(gitCommit(main)).toBe(A);
  });

  it("is null for a folder that is no checkout, even inside one", () => {
    const inner = tree("outer/inner", { "file.txt": "x" });
    tree("outer", { ".git/HEAD": `${A}\n` });
    expect(gitCommit(inner)).toBeNull();
  });

  it("agrees with git rev-parse on this repository, when git is installed", () => {
    let expected: string;
    try {
      expected = execFileSync("git", ["rev-parse", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    } catch {
      return; // no git binary, or not a checkout: nothing to compare with
    }
    expect(gitCommit()).toBe(expected);
  });
});
