// The Link's records: refusals and socket errors are logged as structured records on the logger it is
// given (where: side, remote, peer and its role; what: code, close code, reason), never as text lines.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { CLOSE_CODES } from "../../src/core/protocol/index.ts";
import { Link, type LinkOptions, type LinkSelf, PRE_AUTH_FRAME_BYTES } from "../../src/io/link.ts";
import { captureLogger } from "../../src/io/log.ts";
import { AUTHENTICATED } from "../../src/io/server.ts";

const secret = randomBytes(16).toString("hex");
const self = (name: string, role: LinkSelf["role"], s = secret): LinkSelf => ({
  runId: "link-test",
  secret: s,
  name,
  role,
  island: role === "island" ? 0 : null,
  host: "localhost",
  pid: process.pid,
  listen: role === "island" ? "ws://127.0.0.1:1" : null,
});

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A coordinator-side server whose one Link logs on `logger`; resolves its address and the Link. */
async function server(options: Partial<LinkOptions>) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  cleanup.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  const link = new Promise<Link>((resolve) =>
    wss.once("connection", (ws, req) =>
      resolve(
        new Link(ws, "server", {
          self: self("coordinator", "coordinator"),
          limits: { genomeLength: null, maxMigrants: 0 },
          peerRole: "island",
          accept: ["heartbeat"],
          label: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
          ...options,
        }),
      ),
    ),
  );
  return { url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, link };
}

function client(url: string, options: Partial<LinkOptions>): Link {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const link = new Link(ws, "client", {
    self: self("island-0", "island"),
    limits: { genomeLength: null, maxMigrants: 0 },
    peerRole: "coordinator",
    accept: ["heartbeat"],
    label: url,
    ...options,
  });
  cleanup.push(() => link.close());
  return link;
}

const settled = (p: Promise<unknown>) =>
  p.then(
    () => {},
    () => {},
  );

describe("Link records", () => {
  it("a wrong secret: both sides log the refusal with where, who and why", async () => {
    const s = captureLogger();
    const c = captureLogger();
    const srv = await server({ logger: s.logger });
    const cl = client(srv.url, { logger: c.logger, self: self("island-0", "island", "not-the-secret") });
    const link = await srv.link;
    await Promise.all([settled(link.ready), settled(cl.ready)]);
    await new Promise<void>((resolve) =>
      cl.state === "closed" && cl.ws.readyState === cl.ws.CLOSED
        ? resolve()
        : cl.ws.once("close", () => resolve()),
    );
    // the client checks the server's proof first and refuses it: the server never gets an auth
    expect(c.records).toEqual([
      expect.objectContaining({
        level: 40,
        msg: "connection refused",
        side: "client",
        remote: srv.url,
        peer: null,
        peerRole: "coordinator",
        authenticated: false,
        code: "auth-failed",
        close: CLOSE_CODES["auth-failed"],
        reason: expect.stringMatching(/proof/),
      }),
    ]);
    expect(s.records).toEqual([]); // a peer closing on it is no refusal of its own
    expect(JSON.stringify(c.records)).not.toContain(secret);
    expect(JSON.stringify(s.records)).not.toContain(secret);
  });

  it("garbage from an unauthenticated peer: the server logs bad-msgpack with the remote address", async () => {
    const s = captureLogger();
    const srv = await server({ logger: s.logger });
    const ws = new WebSocket(srv.url, { perMessageDeflate: false });
    ws.on("error", () => {});
    ws.on("open", () => ws.send(Buffer.from([0xc1, 0xff])));
    const link = await srv.link;
    await settled(link.ready);
    expect(s.records).toEqual([
      expect.objectContaining({
        msg: "connection refused",
        side: "server",
        remote: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        peer: null,
        peerRole: "island",
        authenticated: false,
        code: "bad-msgpack",
        close: CLOSE_CODES["bad-msgpack"],
      }),
    ]);
  });

  it("before authentication, a frame is held to the plain limit whatever snapshot room the link has", async () => {
    const s = captureLogger();
    // a server that would take 4 MiB snapshots from an authenticated island
    const srv = await server({
      logger: s.logger,
      limits: { genomeLength: 64, maxMigrants: 1, maxSnapshotBytes: 4 << 20 },
    });
    const ws = new WebSocket(srv.url, { perMessageDeflate: false });
    ws.on("error", () => {});
    // one msgpack bin of 1.5 MB: beyond maxFrameBytes(64, 1), within the snapshot room
    const frame = Buffer.alloc(1_500_005);
    frame[0] = 0xc6;
    frame.writeUInt32BE(1_500_000, 1);
    ws.on("open", () => ws.send(frame));
    const link = await srv.link;
    await settled(link.ready);
    expect(s.records).toEqual([
      expect.objectContaining({ msg: "connection refused", authenticated: false, code: "frame-too-large" }),
    ]);
  });

  it("before authentication, a frame above PRE_AUTH_FRAME_BYTES is refused unread, whatever the link's limits", async () => {
    const s = captureLogger();
    // limits that would take megabyte migrant frames once authenticated
    const srv = await server({ logger: s.logger, limits: { genomeLength: 1 << 20, maxMigrants: 8 } });
    const ws = new WebSocket(srv.url, { perMessageDeflate: false });
    ws.on("error", () => {});
    ws.on("open", () => ws.send(Buffer.alloc(PRE_AUTH_FRAME_BYTES + 1)));
    const link = await srv.link;
    await settled(link.ready);
    expect(s.records).toEqual([
      expect.objectContaining({
        msg: "connection refused",
        authenticated: false,
        code: "frame-too-large",
        reason: expect.stringMatching(/before authentication/),
      }),
    ]);
  });

  it("emits AUTHENTICATED on its socket once the other side has proved the secret", async () => {
    const srv = await server({});
    const cl = client(srv.url, {});
    const link = await srv.link;
    const authenticated = new Promise<void>((resolve) => link.ws.once(AUTHENTICATED, () => resolve()));
    await Promise.all([link.ready, cl.ready, authenticated]);
    expect(link.state).toBe("open");
  });

  it("refusals before authentication are rate-limited per logger: a few records, then a count", async () => {
    const s = captureLogger();
    // all servers first, then the strangers at once: their refusals fall within one period
    const servers = await Promise.all(Array.from({ length: 12 }, () => server({ logger: s.logger })));
    for (const srv of servers) {
      const ws = new WebSocket(srv.url, { perMessageDeflate: false });
      ws.on("error", () => {});
      ws.on("open", () => ws.send("text"));
    }
    const links = await Promise.all(servers.map((srv) => srv.link));
    await Promise.all(links.map((l) => settled(l.ready)));
    const refused = s.records.filter((r) => r.msg === "connection refused");
    expect(refused.length).toBeLessThanOrEqual(6);
    expect(refused.every((r) => r.code === "bad-msgpack")).toBe(true);
  });

  it("a socket error is a record too, unless the caller retries connections quietly", async () => {
    const loud = captureLogger();
    const quiet = captureLogger();
    // nothing listens on port 1
    const a = client("ws://127.0.0.1:1", { logger: loud.logger });
    const b = client("ws://127.0.0.1:1", { logger: quiet.logger, quietConnectErrors: true });
    await Promise.all([settled(a.ready), settled(b.ready)]);
    await Promise.all(
      [a, b].map(
        (l) =>
          new Promise<void>((resolve) =>
            l.ws.readyState === l.ws.CLOSED ? resolve() : l.ws.once("close", () => resolve()),
          ),
      ),
    );
    expect(loud.records).toEqual([
      expect.objectContaining({
        level: 40,
        msg: "socket error",
        side: "client",
        remote: "ws://127.0.0.1:1",
        reason: expect.stringMatching(/ECONNREFUSED/),
      }),
    ]);
    expect(quiet.records).toEqual([]);
  });
});
