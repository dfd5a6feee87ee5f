import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { formatWsAddress, WsServer } from "../../src/io/server.ts";

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

async function server(onConnection: (ws: WebSocket) => void = () => {}): Promise<WsServer> {
  const s = await WsServer.listen({ host: "127.0.0.1", port: 0, onConnection });
  cleanup.push(() => s.close());
  return s;
}

/** The HTTP status of a refused upgrade, or "open" when the upgrade succeeds. */
function upgrade(address: string): Promise<number | "open"> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(address, { perMessageDeflate: false });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("open", () => {
      resolve("open");
      ws.close();
    });
    ws.once("error", (e) => {
      if (!/Unexpected server response/.test(e.message)) reject(e);
    });
  });
}

describe("formatWsAddress", () => {
  it("brackets IPv6 literals and leaves names and IPv4 as they are", () => {
    expect(formatWsAddress("127.0.0.1", 80)).toBe("ws://127.0.0.1:80");
    expect(formatWsAddress("::1", 4000)).toBe("ws://[::1]:4000");
    expect(formatWsAddress("fe80::1:2", 1)).toBe("ws://[fe80::1:2]:1");
    expect(formatWsAddress("node-3.example", 9)).toBe("ws://node-3.example:9");
  });
});

describe("WsServer", () => {
  it("listens on a free port when asked for port 0 and reports its address", async () => {
    const s = await server();
    expect(s.port).toBeGreaterThan(0);
    expect(s.address).toBe(`ws://127.0.0.1:${s.port}`);
  });

  it("answers upgrades with 503 until accept(), then upgrades them", async () => {
    const connected: WebSocket[] = [];
    const s = await server((ws) => connected.push(ws));
    expect(s.accepting).toBe(false);
    expect(await upgrade(s.address)).toBe(503);
    expect(connected).toHaveLength(0);
    s.accept(1024);
    expect(s.accepting).toBe(true);
    expect(await upgrade(s.address)).toBe("open");
    expect(connected).toHaveLength(1);
    expect(() => s.accept(1024)).toThrow(/twice/);
  });

  it("answers a plain HTTP request with 426", async () => {
    const s = await server();
    const res = await fetch(`http://127.0.0.1:${s.port}/`);
    expect(res.status).toBe(426);
  });

  it("closes a connection whose frame exceeds maxPayload (1009)", async () => {
    // the server side reports the oversized frame as a socket error; its owner (a Link) logs it
    const s = await server((ws) => ws.on("error", () => {}));
    s.accept(100);
    const ws = new WebSocket(s.address, { perMessageDeflate: false });
    cleanup.push(() => ws.terminate());
    await new Promise<void>((resolve) => ws.once("open", () => resolve()));
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.send(new Uint8Array(101));
    expect(await closed).toBe(1009);
  });

  it("refuses to listen on an address it cannot bind", async () => {
    const s = await server();
    await expect(
      WsServer.listen({ host: "127.0.0.1", port: s.port, onConnection: () => {} }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
