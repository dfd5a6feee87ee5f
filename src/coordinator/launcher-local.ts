// The local launcher: islands as child processes of the coordinator on this host. Each gets the run
// secret in SLT_TOKEN and its index in SLT_ISLAND_INDEX; its stderr (and stdout) are streamed into the
// coordinator's log line by line, prefixed with the island's index until the coordinator relabels it
// with its id.
import { type ChildProcess, spawn } from "node:child_process";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { REPO_ROOT } from "../io/datasets.ts";
import type { IslandExit, IslandHandle, Launcher } from "./launcher.ts";

/** The island entry point, run by path (the coordinator never imports island code). */
export const ISLAND_MAIN = resolve(REPO_ROOT, "src", "island", "main.ts");

export interface LocalLauncherOptions {
  /** where island output lines go (default: stderr) */
  readonly log?: (line: string) => void;
  /** the node binary (default: this process's) */
  readonly nodePath?: string;
}

export function localLauncher(options: LocalLauncherOptions = {}): Launcher {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const children: { child: ChildProcess; exited: Promise<IslandExit> }[] = [];
  return {
    name: "local",
    async start(n, joinUrl, secret) {
      const host = hostname();
      const handles: IslandHandle[] = [];
      for (let index = 0; index < n; index++) {
        const child = spawn(options.nodePath ?? process.execPath, [ISLAND_MAIN, "--join", joinUrl], {
          env: { ...process.env, SLT_TOKEN: secret, SLT_ISLAND_INDEX: String(index) },
          stdio: ["ignore", "pipe", "pipe"],
          // its own process group: a Ctrl-C at the terminal reaches only the coordinator, which then
          // asks every island for its ticket (islands still end with the coordinator: close() kills
          // them, and an island whose coordinator connection closes ends by itself)
          detached: true,
        });
        let label = `island ${index}`;
        for (const stream of [child.stdout, child.stderr]) {
          if (stream) createInterface({ input: stream }).on("line", (line) => log(`[${label}] ${line}`));
        }
        const exited = new Promise<IslandExit>((done) => {
          child.once("exit", (code, signal) => done({ code, signal }));
          child.once("error", (e) => {
            log(`[island ${index}] could not start: ${e.message}`);
            done({ code: null, signal: null });
          });
        });
        children.push({ child, exited });
        handles.push({
          index,
          host,
          pid: child.pid ?? null,
          exited,
          setLabel(text) {
            label = text;
          },
          kill() {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
          },
        });
      }
      return handles;
    },
    async close() {
      for (const { child } of children) {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
      await Promise.all(children.map((c) => c.exited));
    },
  };
}
