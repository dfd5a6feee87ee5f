#!/usr/bin/env node
// `slt` entry (what `npm link` installs; it may run under an older Node, e.g. 20): runs src/cli.ts as a
// child under the project's pinned Node (>= 26 strips TypeScript types) and ends as the child ends.
//
// Signals: the child runs in a session of its own, so a signal reaches it once, through here. Were it in
// our process group, a Ctrl-C at the terminal (sent to the whole foreground group) would reach it twice,
// directly and forwarded, and the second SIGINT means "abort" to the CLI. Supervisors that signal a
// whole group or cgroup (timeout, systemd, SLURM) reach only this process through its group; those that
// signal every process send the child a second SIGTERM/SIGHUP, which the CLI takes as the same request.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireRuntime } from "../src/runtime.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pinned = join(root, "node_modules", "node", "bin", "node");
const nodeBin = existsSync(pinned) ? pinned : process.execPath;
// without the pinned runtime, this one will run the .ts files: say so in one line if it cannot
if (nodeBin === process.execPath) requireRuntime();
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

const child = spawn(nodeBin, [join(root, "src", "cli.ts"), ...process.argv.slice(2)], {
  // the IPC channel tells the CLI when this process is gone (even by SIGKILL): it then stops the run
  stdio: ["inherit", "inherit", "inherit", "ipc"],
  detached: true,
});
for (const signal of FORWARDED) process.on(signal, () => child.kill(signal));
// Job control: Ctrl-Z and `fg` reach only this process group, so the child follows this process. It
// gets SIGSTOP, not SIGTSTP, which the kernel discards for a process group with no parent in its session.
process.on("SIGTSTP", () => {
  child.kill("SIGSTOP");
  process.kill(process.pid, "SIGSTOP");
});
process.on("SIGCONT", () => child.kill("SIGCONT"));

child.on("error", (e) => {
  process.stderr.write(`slt: cannot start ${nodeBin}: ${e.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal === null) process.exit(code ?? 1);
  // end by the same signal, so that a shell sees what ended the run; 128 + n if it does not end us
  for (const s of [...FORWARDED, "SIGTSTP", "SIGCONT"]) process.removeAllListeners(s);
  process.kill(process.pid, signal);
  process.exit(128 + (constants.signals[signal] ?? 0));
});
