// Versions recorded in every config.json and printed by `slt --version`, so a result can be traced to
// the code that made it.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "./datasets.ts";

const HASH = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

/** The git directory of a checkout at `root`: `.git` itself, or where a worktree's `.git` file points. */
function gitDirOf(root: string): string | null {
  const dotGit = join(root, ".git");
  if (!existsSync(dotGit)) return null;
  if (statSync(dotGit).isDirectory()) return dotGit;
  const pointer = /^gitdir:\s*(.+)$/m.exec(readText(dotGit) ?? "");
  return pointer ? resolve(root, pointer[1]) : null;
}

/** `ref` (e.g. refs/heads/main) as a loose ref in a worktree's or the shared git directory, else packed. */
function resolveRef(gitDir: string, ref: string): string | null {
  const common = resolve(gitDir, readText(join(gitDir, "commondir")) ?? ".");
  for (const dir of [gitDir, common]) {
    const loose = readText(join(dir, ref));
    if (loose && HASH.test(loose)) return loose;
  }
  for (const line of (readText(join(common, "packed-refs")) ?? "").split("\n")) {
    const [hash, name] = line.split(" ");
    if (name === ref && HASH.test(hash)) return hash;
  }
  return null;
}

/**
 * The commit checked out at `root`, read from its `.git` without the git binary; `git rev-parse` only
 * when `.git` is there but not readable so (e.g. another ref storage). Null when `root` is no checkout:
 * git itself would then report an enclosing repository's commit.
 */
export function gitCommit(root: string = REPO_ROOT): string | null {
  const gitDir = gitDirOf(root);
  if (gitDir === null) return null;
  const head = readText(join(gitDir, "HEAD")) ?? "";
  if (HASH.test(head)) return head;
  const ref = /^ref:\s*(\S+)$/.exec(head);
  const found = ref ? resolveRef(gitDir, ref[1]) : null;
  if (found) return found;
  try {
    const out = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return HASH.test(out) ? out : null;
  } catch {
    return null;
  }
}

export function softwareVersions(): Record<string, string | null> {
  const pkg = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, "utf8")) as { version: string };
  return { "slt-islands": pkg.version, node: process.versions.node, commit: gitCommit() };
}

/** What `slt --version` prints. */
export function versionText(): string {
  const v = softwareVersions();
  return [
    `slt-islands ${v["slt-islands"]}`,
    `commit ${v.commit ?? "unknown (not a git checkout)"}`,
    `node ${v.node}`,
  ].join("\n");
}
