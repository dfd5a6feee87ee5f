// A stranger's flood against a running coordinator, in a child process under a low file limit
// (`ulimit -n 256`): connections that send one unfinished megabyte frame each must not grow its memory
// (admission: pending caps and the pre-authentication byte bound, io/server.ts), and 300+ silent
// connections that exhaust its file descriptors (EMFILE on accept) must not end the run: it finishes
// with its ticket.
// (The run is ended by SIGTERM once the flood is over, so the test takes seconds, not a time limit.)
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type RunEvent, runEvents } from "../cli/helpers.ts";
import { rss, silentFlood, unfinishedFrame } from "./flood-client.ts";
import { startLongRun, underWay, whenStderr } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "slt-flood-"));
const sockets: Socket[] = [];
afterAll(() => {
  for (const s of sockets) s.destroy();
  rmSync(work, { recursive: true, force: true });
});

type Event = RunEvent;

const events = (name: string): Event[] => runEvents(work, name);

describe("a connection flood", () => {
  it("under ulimit -n 256: unfinished frames cost little memory, 300 silent sockets do not end the run", async () => {
    const name = "flood";
    const run = startLongRun(work, name, { ulimit: 256 });
    const { child, out, closed } = run;
    await underWay(run);
    const start = events(name).find((e) => e.type === "start") as unknown as {
      coordinator: { pid: number; address: string };
    };
    const pid = start.coordinator.pid;
    const port = Number(new URL(start.coordinator.address).port);

    // 1. 200 connections (more than the pending caps) each sending an unfinished 1 MiB frame
    const before = rss(pid);
    await Promise.all(Array.from({ length: 200 }, () => unfinishedFrame(port, sockets)));
    const grown = rss(pid) - before;
    expect(grown, `the coordinator grew by ${grown} bytes`).toBeLessThan(64 << 20);
    for (const s of sockets.splice(0)) s.destroy();

    // 2. 320 silent connections: more than the file limit, so accepts fail with EMFILE (libuv then
    // accepts and closes the connections it has no descriptor for: their sockets close at once)
    const flood = silentFlood(port, 320);
    await flood.firstClosed; // before the test destroys them: the server closed one
    flood.stop();

    // the run goes on (its islands keep reporting), and a SIGTERM ends it with its ticket
    const reports = () => events(name).filter((e) => e.type === "report").length;
    const after = reports();
    await whenStderr(child, () => reports() > after + 4);
    child.kill("SIGTERM");
    expect(await closed, out.stderr.slice(-3000)).toBe(0);
    expect(JSON.parse(out.stdout).stopReason).toBe("interrupted");
    expect(existsSync(join(work, name, "ticket.json"))).toBe(true);
    expect(out.stderr).not.toMatch(/unexpected error|EMFILE/);
    // refusals were logged as counts, not one line each
    const refusalLines = out.stderr.split("\n").filter((l) => /refused/.test(l)).length;
    expect(refusalLines).toBeLessThan(100);
  }, 90_000);
});
