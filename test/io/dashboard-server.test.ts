// The dashboard's HTTP server: files, SSE replay then live, reconnects by Last-Event-ID, a slow stream
// dropped, GET only, the token off loopback, and a busy port as one E_CONFIG error.
import { once } from "node:events";
import { get, type IncomingMessage, request } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { isSltError } from "../../src/core/errors.ts";
import { DashboardServer, isLoopback, parseDashboardAddress } from "../../src/io/dashboard-server.ts";

const files = () => ({ "/": { type: "text/html; charset=utf-8", body: "<p>page</p>" } });
const opened: DashboardServer[] = [];

async function open(host = "127.0.0.1", backlogBytes?: number): Promise<DashboardServer> {
  const s = await DashboardServer.listen({
    host,
    port: 0,
    files,
    limits: backlogBytes ? { backlogBytes } : {},
  });
  opened.push(s);
  return s;
}

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

/** Port of a server's address. */
const portOf = (s: DashboardServer) => Number(new URL(s.address).port);

function fetchText(
  port: number,
  path: string,
  method = "GET",
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: IncomingMessage["headers"] }> {
  return new Promise((done, fail) => {
    const req = request({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => done({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on("error", fail);
    req.end();
  });
}

/** An SSE client: the event batches it has received, and a wait for a condition on them. */
function stream(port: number, lastEventId?: number) {
  const batches: { id: number; events: Record<string, unknown>[] }[] = [];
  let text = "";
  let wake = () => {};
  let ended = false;
  const req = get(
    {
      host: "127.0.0.1",
      port,
      path: "/events",
      headers: lastEventId ? { "Last-Event-ID": String(lastEventId) } : {},
    },
    (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
        for (let end = text.indexOf("\n\n"); end >= 0; end = text.indexOf("\n\n")) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const id = /^id: (\d+)$/m.exec(block);
          const data = /^data: (.*)$/m.exec(block);
          if (id && data && !/^event:/m.test(block))
            batches.push({ id: Number(id[1]), events: JSON.parse(data[1]) });
        }
        wake();
      });
      res.on("close", () => {
        ended = true;
        wake();
      });
    },
  );
  const events = () => batches.flatMap((b) => b.events);
  const until = async (ok: () => boolean) => {
    while (!ok()) {
      if (ended) throw new Error("stream ended");
      await new Promise<void>((r) => (wake = r));
    }
  };
  return { batches, events, until, close: () => req.destroy() };
}

describe("parseDashboardAddress and isLoopback", () => {
  it("takes [HOST:]PORT, a port alone on 127.0.0.1", () => {
    expect(parseDashboardAddress("8080")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(parseDashboardAddress("0.0.0.0:0")).toEqual({ host: "0.0.0.0", port: 0 });
    expect(parseDashboardAddress("[::1]:9")).toEqual({ host: "::1", port: 9 });
    for (const bad of ["", "host:", "70000", "a b:1"])
      expect(() => parseDashboardAddress(bad)).toThrow(/--dashboard/);
    expect(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost")).toBe(true);
    expect(isLoopback("0.0.0.0") || isLoopback("10.0.0.1")).toBe(false);
  });
});

describe("DashboardServer", () => {
  it("serves its files to GET only: 404 for others, 405 for other methods", async () => {
    const s = await open();
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetchText(portOf(s), "/");
    expect(page.status).toBe(200);
    expect(page.body).toBe("<p>page</p>");
    expect(page.headers["content-security-policy"]).toMatch(/connect-src 'self'/);
    expect((await fetchText(portOf(s), "/secret")).status).toBe(404);
    const post = await fetchText(portOf(s), "/", "POST");
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET");
  });

  it("a late stream gets every event so far, then the live ones; a reconnect only what it missed", async () => {
    const s = await open();
    for (let k = 0; k < 3; k++) s.publish({ type: "report", island: k });
    const late = stream(portOf(s));
    await late.until(() => late.events().length >= 3);
    expect(late.events().map((e) => e.island)).toEqual([0, 1, 2]);
    s.publish({ type: "lost", island: 1 });
    await late.until(() => late.events().length >= 4);
    expect(late.events()[3]).toEqual({ type: "lost", island: 1 });
    const seen = late.batches[0].id;
    late.close();
    const again = stream(portOf(s), seen);
    await again.until(() => again.events().length >= 4 - seen);
    expect(again.events().map((e) => e.type)).toEqual(["report", "report", "report", "lost"].slice(seen));
    again.close();
  });

  it("drops a stream that does not read, and keeps serving others", async () => {
    const s = await open("127.0.0.1", 64 * 1024);
    const socket = connect(portOf(s), "127.0.0.1");
    await once(socket, "connect");
    socket.write("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await once(socket, "data"); // its stream is open
    socket.pause(); // and from now on never read: the kernel's buffers fill, then the server's
    // a stream that reads: each event reaching it means the server has flushed that batch to both
    const reader = stream(portOf(s));
    const big = "x".repeat(256 * 1024);
    expect(s.streams).toBe(1);
    await reader.until(() => s.streams === 2);
    for (let k = 0; k < 400 && s.streams === 2; k++) {
      s.publish({ type: "report", island: k, big });
      await reader.until(() => reader.events().length > k);
    }
    expect(s.streams).toBe(1);
    socket.destroy();
    s.publish({ type: "end" });
    await reader.until(() => reader.events().some((e) => e.type === "end"));
    reader.close();
  });

  it("bound beyond loopback, every request needs the token: none 401, a wrong one 403", async () => {
    const s = await open("0.0.0.0");
    const token = new URL(s.url).searchParams.get("token") as string;
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    expect(s.url).toBe(`http://0.0.0.0:${portOf(s)}/?token=${token}`);
    expect((await fetchText(portOf(s), "/")).status).toBe(401);
    expect((await fetchText(portOf(s), "/events")).status).toBe(401);
    expect((await fetchText(portOf(s), `/?token=${"0".repeat(48)}`)).status).toBe(403);
    expect((await fetchText(portOf(s), `/?token=${token}`)).status).toBe(200);
  });

  it("on loopback, refuses a request that names another host (DNS rebinding)", async () => {
    const s = await open();
    const port = portOf(s);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, "LOCALHOST"])
      expect((await fetchText(port, "/", "GET", { Host: host })).status, host).toBe(200);
    for (const host of [`evil.example:${port}`, "evil.example", `127.0.0.1.evil.example:${port}`]) {
      const r = await fetchText(port, "/events", "GET", { Host: host });
      expect([r.status, r.body], host).toEqual([403, "Host must be a loopback name\n"]);
    }
  });

  it("a busy port is one E_CONFIG error", async () => {
    const s = await open();
    const error = await DashboardServer.listen({ host: "127.0.0.1", port: portOf(s), files }).catch((e) => e);
    expect(isSltError(error) && error.code).toBe("E_CONFIG");
    expect(error.message).toMatch(/^--dashboard 127\.0\.0\.1:\d+: the port is in use/);
  });
});
