// Reads the fenced `sh` blocks of the project's Markdown files and checks that every command in them runs
// as written from the repository root of a fresh clone: each `slt` command (as `slt`, `npm run slt --`,
// `npm start --` or `node_modules/.bin/node src/cli.ts`) is run with `--dry-run`, which resolves the
// whole configuration and loads the data without running or writing anything; each `npm` script exists;
// and every path inside the repository that a command names exists, or is made by a command before it
// in the same block (a run's directory, a redirect's file). `slt resume` of a run the block makes is
// run until it reads the run's directory (which a dry run did not make). Commands of other tools are not run.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export const repoRoot = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(repoRoot, "src", "cli.ts");

export interface Block {
  readonly file: string;
  /** line of the block's first command line in `file` (1-based) */
  readonly line: number;
  readonly text: string;
}

/** The fenced blocks marked `sh` (or bash, shell) of a Markdown text. */
export function shBlocks(markdown: string, file: string): Block[] {
  const blocks: Block[] = [];
  let open: { sh: boolean; line: number; lines: string[] } | null = null;
  markdown.split("\n").forEach((line, i) => {
    const fence = /^\s*```\s*(\S*)\s*$/.exec(line);
    if (open === null && fence)
      open = { sh: ["sh", "bash", "shell"].includes(fence[1]), line: i + 2, lines: [] };
    else if (open !== null && fence && fence[1] === "") {
      if (open.sh) blocks.push({ file, line: open.line, text: open.lines.join("\n") });
      open = null;
    } else open?.lines.push(line);
  });
  return blocks;
}

/** One simple command: its words (quotes removed), and the files it redirects from and to. */
export interface Command {
  readonly argv: string[];
  readonly writes: string[];
  readonly reads: string[];
  /** the statement as written (after substitution) */
  readonly text: string;
}

/** Words of a statement; quotes group and are removed; `#` outside quotes at a word's start ends it. */
function words(statement: string): string[] {
  const out: string[] = [];
  let word: string | null = null;
  let quote: string | null = null;
  for (const ch of statement) {
    if (quote !== null) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      word ??= "";
    } else if (/\s/.test(ch)) {
      if (word !== null) out.push(word);
      word = null;
    } else if (ch === "#" && word === null) break;
    else word = (word ?? "") + ch;
  }
  if (word !== null) out.push(word);
  return out;
}

/** A line cut into statements at `;`, `&&`, `||` and `|` outside quotes, comments removed. */
function statements(line: string): string[] {
  const out: string[] = [];
  let current = "";
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote !== null) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "#" && (current === "" || /\s$/.test(current))) break;
    else if (ch === ";" || ch === "|" || (ch === "&" && line[i + 1] === "&")) {
      out.push(current);
      current = "";
      if (line[i + 1] === ch) i++;
      continue;
    }
    current += ch;
  }
  out.push(current);
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

function command(statement: string): Command | null {
  const argv: string[] = [];
  const writes: string[] = [];
  const reads: string[] = [];
  const all = words(statement);
  for (let i = 0; i < all.length; i++) {
    const redirect = /^(?:\d*|&)(>>?|<)(.*)$/.exec(all[i]);
    if (redirect) {
      const target = redirect[2] !== "" ? redirect[2] : all[++i];
      if (target !== undefined && !target.startsWith("&"))
        (redirect[1] === "<" ? reads : writes).push(target);
    } else argv.push(all[i]);
  }
  while (argv.length > 0 && /^[A-Za-z_]\w*=/.test(argv[0])) argv.shift();
  return argv.length === 0 ? null : { argv, writes, reads, text: statement };
}

/**
 * The commands of a block: line continuations joined, comments dropped, and the body of a
 * `for VAR in A B …; do … done` loop once, with `$VAR` / `${VAR}` replaced by the first value.
 */
export function blockCommands(text: string): Command[] {
  const loops: { name: string; value: string }[] = [];
  const out: Command[] = [];
  for (const line of text.replace(/\\\n/g, " ").split("\n")) {
    for (let s of statements(line)) {
      const loop = /^for\s+(\w+)\s+in\s+(\S+)/.exec(s);
      if (loop) {
        loops.push({ name: loop[1], value: loop[2] });
        continue;
      }
      if (s === "done") {
        loops.pop();
        continue;
      }
      s = s.replace(/^do\s+/, "");
      if (s === "do") continue;
      for (const { name, value } of loops)
        s = s.replaceAll(`\${${name}}`, value).replaceAll(`$${name}`, value);
      const c = command(s);
      if (c) out.push(c);
    }
  }
  return out;
}

/** `a/{x,y}/b` → `a/x/b`, `a/y/b` (one level of braces, as the docs use) */
function expandBraces(word: string): string[] {
  const m = /^(.*?)\{([^{}]*,[^{}]*)\}(.*)$/.exec(word);
  return m ? m[2].split(",").flatMap((alt) => expandBraces(`${m[1]}${alt}${m[3]}`)) : [word];
}

// A word names a path inside the repository when its first segment is one of the repository's top-level
// folders, or runs/ (which a fresh clone does not have: its paths must be made by an earlier command).
const topLevel = new Set(
  readdirSync(repoRoot, { withFileTypes: true })
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith("."))
    .map((e) => e.name)
    .filter((name) => name !== "runs"),
);

function repoPaths(c: Command): string[] {
  const values = [...c.argv, ...c.reads].map((w) =>
    w.startsWith("--") && w.includes("=") ? w.slice(w.indexOf("=") + 1) : w,
  );
  return values
    .filter((w) => !w.startsWith("-") && !w.includes("://") && !w.includes("$"))
    .flatMap(expandBraces)
    .map((w) => path.normalize(w.replace(/^\.\//, "")))
    .filter((w) => {
      const first = w.split(path.sep)[0];
      return w.includes(path.sep) && (first === "runs" || topLevel.has(first));
    });
}

/** The arguments of the `slt` program in a command, or null when the command is not `slt`. */
function sltArgs(argv: readonly string[], problems: string[]): string[] | null {
  const [cmd, ...rest] = argv;
  if (cmd === "slt") return rest;
  if (cmd === "node_modules/.bin/node" && rest[0] === "src/cli.ts") return rest.slice(1);
  if (cmd !== "npm") return null;
  const dash = rest.indexOf("--");
  const before = (dash === -1 ? rest : rest.slice(0, dash)).filter((a) => a !== "-s" && a !== "--silent");
  const after = dash === -1 ? [] : rest.slice(dash + 1);
  const script = before[0] === "start" ? "start" : before[0] === "run" ? before[1] : null;
  const extra = before.slice(before[0] === "run" ? 2 : 1);
  if (script !== "start" && script !== "slt") return null;
  if (extra.length > 0) problems.push(`npm takes ${extra.join(" ")} for itself: give the options after --`);
  return script === "start" ? ["run", ...after] : after;
}

const scripts = (
  JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string> }
).scripts;

/** The npm script a command runs (`npm test`, `npm start`, `npm run X`), or null. */
function npmScript(argv: readonly string[]): string | null {
  if (argv[0] !== "npm") return null;
  const rest = argv.slice(1).filter((a) => a !== "-s" && a !== "--silent");
  if (rest[0] === "test" || rest[0] === "start") return rest[0];
  return rest[0] === "run" || rest[0] === "run-script" ? (rest[1] ?? null) : null;
}

function slt(args: readonly string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: repoRoot, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

const RUN_FILES = ["config.json", "events.jsonl", "ticket.json", "checkpoint.json"];
const rel = (p: string) => path.relative(repoRoot, path.resolve(repoRoot, p));

/** The value of `--name VALUE` or `--name=VALUE` in args. */
function optionValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i !== -1) return args[i + 1];
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

/**
 * Runs an `slt` command dry, as far as it can be run without its real work; returns the repository
 * paths it would make, and adds what is wrong to `problems`.
 */
function checkSlt(args: readonly string[], made: ReadonlySet<string>, problems: string[]): string[] {
  const fail = (why: string, r: { code: number | null; stderr: string }) =>
    problems.push(`${why} (exit ${r.code}): ${r.stderr.split("\n").slice(-3).join(" / ")}`);
  // help, and the program's own options (e.g. --version): run as they are
  if (args.includes("--help") || args.includes("-h") || args[0] === "help" || !/^[a-z]/.test(args[0] ?? "")) {
    const r = slt(args);
    if (r.code !== 0) fail(`slt ${args.join(" ")} fails`, r);
    return [];
  }
  if (args.some((a) => a.includes("$"))) {
    problems.push(`an unset shell variable in: slt ${args.join(" ")}`);
    return [];
  }
  const [sub, ...rest] = args;
  if (sub === "run" || sub === "baseline") {
    const r = slt([...args, "--dry-run", "--json"]);
    if (r.code !== 0) {
      fail(`slt ${sub} --dry-run fails`, r);
      return [];
    }
    const d = JSON.parse(r.stdout.trim().split("\n").pop() as string) as {
      config: { out: string; name: string };
    };
    const dir = rel(path.join(d.config.out, d.config.name));
    return [rel(d.config.out), dir, ...RUN_FILES.map((f) => path.join(dir, f))];
  }
  if (sub === "reproduce") {
    const r = slt([...args, "--dry-run"]);
    if (r.code !== 0) fail("slt reproduce --dry-run fails", r);
    const out = rel(optionValue(rest, "--out") ?? "runs/reproduce");
    return [out, path.join(out, "results.md")];
  }
  if (sub === "sweep") {
    const r = slt([...args, "--dry-run", "--json"]);
    if (r.code !== 0) {
      fail("slt sweep --dry-run fails", r);
      return [];
    }
    const out = rel((JSON.parse(r.stdout.trim().split("\n").pop() as string) as { out: string }).out);
    return [out, path.join(out, "sweep.jsonl"), path.join(out, "spec.json")];
  }
  if (sub === "check") {
    // A ticket an earlier command of the block makes: the options must get as far as reading it.
    const ticket = rest.find((a) => !a.startsWith("-"));
    if (ticket !== undefined && made.has(rel(ticket)) && !existsSync(path.join(repoRoot, ticket))) {
      const r = slt(args);
      if (r.code !== 1 || !r.stderr.includes(`E_TICKET: cannot read ticket ${ticket}: ENOENT`))
        fail("slt check fails before reading its ticket", r);
      return [];
    }
    const r = slt(args);
    if (r.code !== 0) fail("slt check fails", r);
    return [];
  }
  if (sub === "resume") {
    // A run an earlier command of the block makes: the options must parse and the command get as far as
    // reading the run's directory, which a dry run does not make. A run directory that is there is resumed
    // by nothing here: it would run.
    const dir = rest.find((a) => !a.startsWith("-"));
    if (dir === undefined || !made.has(rel(dir)) || existsSync(path.join(repoRoot, dir))) {
      problems.push(`slt resume needs a run directory an earlier command of the block makes, got ${dir}`);
      return [];
    }
    const r = slt(args);
    if (r.code !== 1 || !r.stderr.includes(`E_CHECKPOINT: cannot resume ${path.resolve(repoRoot, dir)}: `))
      fail("slt resume fails before reading its run directory", r);
    return [];
  }
  if (sub === "report") return checkReport(args, made, problems);
  problems.push(`the docs test cannot dry-run "slt ${sub}"; teach test/docs/doc-commands.ts how`);
  return [];
}

/**
 * `slt report DIR…` of runs an earlier command of the block makes (a run directory, or the folder that
 * holds them): the options must parse and the command get as far as reading the first directory, which a
 * dry run does not make. Returns the HTML file it would write.
 */
function checkReport(args: readonly string[], made: ReadonlySet<string>, problems: string[]): string[] {
  const valued = new Set(["-o", "--output", "--format", "--baseline"]);
  const dirs = args.slice(1).filter((a, i, all) => !a.startsWith("-") && !valued.has(all[i - 1]));
  const makes = (d: string) => [...made].some((m) => m === rel(d) || m.startsWith(`${rel(d)}${path.sep}`));
  if (dirs.length === 0 || !dirs.every(makes) || dirs.some((d) => existsSync(path.join(repoRoot, d)))) {
    problems.push(
      `slt report needs run directories an earlier command of the block makes, got ${dirs.join(" ")}`,
    );
    return [];
  }
  const r = slt(args);
  if (r.code !== 1 || !r.stderr.includes(`E_REPORT: ${dirs[0]} is not a directory`))
    problems.push(`slt report fails before reading its directories (exit ${r.code}): ${r.stderr}`);
  if (args.includes("--format")) return [];
  const out = optionValue(args, "-o") ?? optionValue(args, "--output");
  return [rel(out ?? (dirs.length === 1 ? path.join(dirs[0], "report.html") : "report.html"))];
}

/** What is wrong with a block's commands; [] when every one runs as written. */
export function checkBlock(block: Block): string[] {
  const problems: string[] = [];
  const made = new Set<string>();
  for (const c of blockCommands(block.text)) {
    const mine: string[] = [];
    for (const w of c.argv.filter((w) => /(^|=)\.\.\//.test(w)))
      mine.push(`${w} is outside the repository, which a fresh clone has nothing beside`);
    // the folder `slt run --out DIR` writes its run into is the run's to make
    const out = c.argv.includes("run") ? optionValue(c.argv, "--out") : undefined;
    for (const p of repoPaths(c)) {
      const fresh = p.split(path.sep)[0] !== "runs" && existsSync(path.join(repoRoot, p));
      if (!fresh && !made.has(p) && (out === undefined || p !== rel(out)))
        mine.push(`${p} does not exist in a fresh clone and no command before makes it`);
    }
    if (c.argv[0] === "node" && c.argv[1]?.endsWith(".ts"))
      mine.push(
        "plain `node` may be older than the pinned runtime: use npm run slt -- or node_modules/.bin/node",
      );
    const script = npmScript(c.argv);
    if (script !== null && !(script in scripts)) mine.push(`package.json has no script "${script}"`);
    const args = sltArgs(c.argv, mine);
    if (args !== null && mine.length === 0) for (const p of checkSlt(args, made, mine)) made.add(p);
    for (const w of c.writes) made.add(rel(w));
    problems.push(...mine.map((m) => `${block.file}:${block.line}: \`${c.text}\`: ${m}`));
  }
  return problems;
}

/** How many `slt` commands a block has (so a test can tell that the parser found them). */
export function sltCommandCount(block: Block): number {
  return blockCommands(block.text).filter((c) => sltArgs(c.argv, []) !== null).length;
}
