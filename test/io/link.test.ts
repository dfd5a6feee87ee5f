// The Link's records: refusals and socket errors are logged as structured records on the logger it is
// given (where: side, remote, peer and its role; what: code, close code, reason), never as text lines.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { CLOSE_CODES, encode, makeMessage } from "../../src/core/protocol/index.ts";
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

/**
 * Lets `edit` change the bytes of every frame the Link hands to its socket, as something on the path
 * would: the Link itself encoded (and, once open, tagged) the original.
 */
function onTheWire(link: Link, edit: (frame: Uint8Array, index: number) => Uint8Array): void {
  const send = link.ws.send.bind(link.ws) as (data: Uint8Array, ...rest: unknown[]) => void;
  let index = 0;
  (link.ws as unknown as { send: typeof send }).send = (data, ...rest) =>
    send(edit(new Uint8Array(data), index++), ...rest);
}

/** The close code the client's socket sees. */
const closeCode = (link: Link) =>
  new Promise<number>((resolve) => link.ws.once("close", (code) => resolve(code)));

describe("Link frame integrity after the handshake", () => {
  it("messages flow both ways once open", async () => {
    const srv = await server({});
    const cl = client(srv.url, {});
    const link = await srv.link;
    await Promise.all([link.ready, cl.ready]);
    const got = new Promise<string[]>((resolve) => {
      const seen: string[] = [];
      const take = (m: { type: string; from: string }) => {
        seen.push(`${m.type} from ${m.from}`);
        if (seen.length === 2) resolve(seen.sort());
      };
      link.onMessage = take;
      cl.onMessage = take;
    });
    expect(cl.send("heartbeat", {})).toBe(true);
    expect(link.send("heartbeat", {})).toBe(true);
    expect(await got).toEqual(["heartbeat from coordinator", "heartbeat from island-0"]);
  });

  it("a frame altered on the way is refused (bad-tag, 4025), whichever byte changed", async () => {
    for (const at of [0, 5, -1]) {
      const s = captureLogger();
      const srv = await server({ logger: s.logger });
      const cl = client(srv.url, {});
      const link = await srv.link;
      await Promise.all([link.ready, cl.ready]);
      const received: unknown[] = [];
      link.onMessage = (m) => received.push(m);
      onTheWire(cl, (f) => {
        f[at < 0 ? f.length + at : at] ^= 0x01;
        return f;
      });
      const closed = closeCode(cl);
      cl.send("heartbeat", {});
      expect(await closed, `byte ${at}`).toBe(CLOSE_CODES["bad-tag"]);
      expect(received).toEqual([]);
      expect(s.records).toContainEqual(
        expect.objectContaining({ msg: "connection refused", code: "bad-tag", authenticated: true }),
      );
    }
  });

  it("an injected frame (valid msgpack, no tag) and a replayed tagged frame are refused", async () => {
    const srv = await server({});
    const cl = client(srv.url, {});
    const link = await srv.link;
    await Promise.all([link.ready, cl.ready]);
    const closed = closeCode(cl);
    cl.ws.send(
      encode(makeMessage("heartbeat", { runId: "link-test", from: "island-0", epoch: 0, seq: 9 }, {})),
    );
    expect(await closed).toBe(CLOSE_CODES["bad-tag"]);

    const srv2 = await server({});
    const cl2 = client(srv2.url, {});
    const link2 = await srv2.link;
    await Promise.all([link2.ready, cl2.ready]);
    const received: unknown[] = [];
    const arrived = new Promise<void>((resolve) => {
      link2.onMessage = (m) => {
        received.push(m);
        resolve();
      };
    });
    let first: Uint8Array | null = null;
    onTheWire(cl2, (f) => {
      first ??= f.slice();
      return f;
    });
    cl2.send("heartbeat", {});
    const replayed = closeCode(cl2);
    await arrived;
    cl2.ws.send(first as unknown as Uint8Array);
    expect(await replayed).toBe(CLOSE_CODES["bad-tag"]); // its tag was for frame 0, not frame 1
    expect(received).toHaveLength(1);
  });

  it("a hello altered on the way fails the handshake: the proofs bind every handshake frame", async () => {
    const srv = await server({});
    const cl = client(srv.url, {});
    // the hello's last byte is in its nonce: still a well-formed hello, but not the one the client sent
    onTheWire(cl, (f, i) => {
      if (i === 0) f[f.length - 1] ^= 0x01;
      return f;
    });
    const link = await srv.link;
    await expect(cl.ready).rejects.toThrow(/auth-failed: wrong proof from coordinator/);
    await settled(link.ready);
    expect(link.state).not.toBe("open");
  });
});

describe("Link: who answers, and what goes out before the handshake ends", () => {
  it("a client that expects another name refuses the server, though its proof is good", async () => {
    const srv = await server({});
    const cl = client(srv.url, { expectedPeer: "island-9" });
    await expect(cl.ready).rejects.toThrow(/auth-failed: expected island-9, the other side is coordinator/);
    await settled((await srv.link).ready);
  });

  it("sends nothing but handshake messages before it is open", async () => {
    const srv = await server({});
    const cl = client(srv.url, {});
    await new Promise<void>((resolve) => cl.ws.once("open", () => resolve()));
    expect(cl.state).toBe("handshake");
    expect(cl.send("heartbeat", {})).toBe(false); // would join the transcript untagged
    await cl.ready; // and the handshake still completes
    expect(cl.send("heartbeat", {})).toBe(true);
  });
});
