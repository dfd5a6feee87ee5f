import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { captureLogger } from "../../src/io/log.ts";
import { type AdmissionLimits, AUTHENTICATED, formatWsAddress, WsServer } from "../../src/io/server.ts";
import { isWss, type TlsIdentity, tlsClientOptions, tlsPinOf } from "../../src/io/tls.ts";

/** The throwaway test certificate of test/fixtures/tls. */
const A: TlsIdentity = {
  cert: readFileSync(new URL("../fixtures/tls/a.crt", import.meta.url), "utf8"),
  key: readFileSync(new URL("../fixtures/tls/a.key", import.meta.url), "utf8"),
};

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

async function server(
  onConnection: (ws: WebSocket) => void = () => {},
  admission: AdmissionLimits = {},
  logger = captureLogger().logger,
  tls?: Partial<TlsIdentity>,
): Promise<WsServer> {
  const s = await WsServer.listen({ host: "127.0.0.1", port: 0, onConnection, admission, logger, tls });
  cleanup.push(() => s.close());
  return s;
}

/** The HTTP status of a refused upgrade, or "open" when the upgrade succeeds (`keep`: left open). */
function upgrade(address: string, keep = false): Promise<number | "open"> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(address, {
      perMessageDeflate: false,
      ...(isWss(address) ? tlsClientOptions(address, { pin: tlsPinOf(A.cert) }) : {}),
    });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once("open", () => {
      resolve("open");
      if (keep) cleanup.push(() => ws.terminate());
      else ws.close();
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

/** A raw TCP connection to the server, destroyed after the test; `closed` resolves when it closes. */
function tcp(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve({ socket, closed }));
    // flowing, so the server's FIN ends it: a paused socket may never read its EOF, nor close
    socket.resume();
    const closed = new Promise<void>((done) => socket.once("close", () => done()));
    socket.once("error", reject);
    cleanup.push(() => socket.destroy());
  });
}

describe("WsServer with TLS", () => {
  it("serves wss://, answers 503 until accept(), then upgrades; admission caps are the same", async () => {
    const pending: WebSocket[] = [];
    const s = await server((ws) => pending.push(ws), { maxPendingPerAddress: 1 }, undefined, A);
    expect(s.address).toBe(`wss://127.0.0.1:${s.port}`);
    expect(await upgrade(s.address)).toBe(503);
    s.accept(1024);
    expect(await upgrade(s.address, true)).toBe("open");
    expect(s.pending).toBe(1);
    expect(await upgrade(s.address)).toBe(429);
    pending[0].emit(AUTHENTICATED);
    expect(await upgrade(s.address, true)).toBe("open");
  });

  it("listens before it has a certificate, fails TLS handshakes (unlogged) until useCertificate()", async () => {
    const { logger, records } = captureLogger();
    const s = await server(() => {}, {}, logger, {});
    expect(s.address).toMatch(/^wss:/);
    s.accept(1024);
    await expect(upgrade(s.address)).rejects.toThrow();
    // a failed handshake (plain HTTP on the TLS port) is a refusal logged only once there is a certificate
    const garbage = async () => {
      const { socket, closed } = await tcp(s.port);
      socket.write("GET / HTTP/1.1\r\n\r\n");
      await closed;
    };
    await garbage();
    s.useCertificate(A);
    expect(await upgrade(s.address)).toBe("open");
    await garbage();
    s.close(); // flushes the rate-limited refusals
    expect(records.filter((r) => /TLS handshake failed/.test(String(r.reason)))).toHaveLength(1);
  });
});

describe("WsServer admission before authentication", () => {
  it("caps pending connections per address (429) and in all (503); authentication frees a place", async () => {
    const pending: WebSocket[] = [];
    const perAddress = await server((ws) => pending.push(ws), { maxPendingPerAddress: 2 });
    perAddress.accept(1024);
    expect(await upgrade(perAddress.address, true)).toBe("open");
    expect(await upgrade(perAddress.address, true)).toBe("open");
    expect(perAddress.pending).toBe(2);
    expect(await upgrade(perAddress.address)).toBe(429);
    pending[0].emit(AUTHENTICATED); // what a Link does once the other side has proved the secret
    expect(perAddress.pending).toBe(1);
    expect(await upgrade(perAddress.address, true)).toBe("open");

    const all = await server(() => {}, { maxPending: 1 });
    all.accept(1024);
    expect(await upgrade(all.address, true)).toBe("open");
    expect(await upgrade(all.address)).toBe(503);
  });

  it("a pending connection that closes frees its place", async () => {
    const pending: WebSocket[] = [];
    const s = await server((ws) => pending.push(ws), { maxPendingPerAddress: 1 });
    s.accept(1024);
    expect(await upgrade(s.address)).toBe("open"); // closed again by the client
    await new Promise<void>((resolve) =>
      s.pending === 0 ? resolve() : pending[0].once("close", () => resolve()),
    );
    expect(s.pending).toBe(0);
    expect(await upgrade(s.address)).toBe("open");
  });

  it("closes a refused connection once answered, though the stranger keeps its side open and sends on", async () => {
    const s = await server(() => {}, { maxPending: 0 });
    s.accept(1 << 20);
    const socket = connect({ port: s.port, host: "127.0.0.1", allowHalfOpen: true });
    cleanup.push(() => socket.destroy());
    socket.on("error", () => {}); // a reset is a close too
    let answer = "";
    socket.on("data", (d) => {
      answer += d;
    });
    const closed = new Promise<void>((done) => socket.once("close", () => done()));
    socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    // after the server's FIN the stranger sends on: a socket the server still reads takes it all (and
    // never closes); a destroyed one answers with a reset
    const chunk = Buffer.alloc(64 << 10, 7);
    const pump = (e?: Error | null) => {
      if (!e && !socket.destroyed) socket.write(chunk, pump);
    };
    socket.once("end", () => pump());
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
  });

  it("closes sockets that never complete their upgrade request, and silent ones", async () => {
    const s = await server(() => {}, { upgradeMs: 200 });
    s.accept(1024);
    const partial = await tcp(s.port);
    partial.socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n");
    const silent = await tcp(s.port);
    await Promise.all([partial.closed, silent.closed]);
  });

  it("closes an upgraded connection that does not authenticate in time", async () => {
    const s = await server((ws) => ws.on("error", () => {}), { handshakeMs: 200 });
    s.accept(1024);
    const ws = new WebSocket(s.address, { perMessageDeflate: false });
    cleanup.push(() => ws.terminate());
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    await closed;
    expect(s.pending).toBe(0);
  });

  it("destroys a pending connection past preAuthBytes, though its frame is within maxPayload", async () => {
    const s = await server((ws) => ws.on("error", () => {}), { preAuthBytes: 1000 });
    s.accept(1 << 20);
    const ws = new WebSocket(s.address, { perMessageDeflate: false });
    cleanup.push(() => ws.terminate());
    ws.on("error", () => {});
    await new Promise<void>((resolve) => ws.once("open", () => resolve()));
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.send(new Uint8Array(4000));
    expect(await closed).toBe(1006); // no close frame: the socket was destroyed
    expect(s.pending).toBe(0);
  });

  it("logs refusals as rate-limited counts, not one record each", async () => {
    const { logger, records } = captureLogger();
    const s = await server(() => {}, { maxPending: 1 }, logger);
    s.accept(1024);
    expect(await upgrade(s.address, true)).toBe("open");
    for (let i = 0; i < 20; i++) expect(await upgrade(s.address)).toBe(503);
    s.close(); // reports the count held back
    const refused = records.filter((r) => r.msg === "connection refused at admission");
    expect(refused.length).toBeLessThanOrEqual(6);
    expect(refused.reduce((n, r) => n + (r.count as number), 0)).toBe(20);
    expect(refused[0]).toMatchObject({ level: 40, reason: expect.stringMatching(/unauthenticated/) });
  });
});
