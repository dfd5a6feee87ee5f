import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { E_CONFIG } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/io/log.ts";
import { WsServer } from "../../src/io/server.ts";
import { isWss, loadTlsIdentity, parseTlsPin, tlsClientOptions, tlsPinOf } from "../../src/io/tls.ts";

const fixture = (name: string) => new URL(`../fixtures/tls/${name}`, import.meta.url).pathname;
const A = { cert: readFileSync(fixture("a.crt"), "utf8"), key: readFileSync(fixture("a.key"), "utf8") };
const B = { cert: readFileSync(fixture("b.crt"), "utf8"), key: readFileSync(fixture("b.key"), "utf8") };

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

describe("loadTlsIdentity", () => {
  it("reads a certificate and its key, and pins the certificate's SHA-256 fingerprint", () => {
    const id = loadTlsIdentity(fixture("a.crt"), fixture("a.key"));
    expect(id.cert).toBe(A.cert);
    expect(id.pin).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(id.pin).toBe(tlsPinOf(A.cert));
    expect(id.pin).not.toBe(tlsPinOf(B.cert));
  });

  it("refuses missing files, non-PEM files and a key of another certificate: one E_CONFIG line naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "slt-tls-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const junk = join(dir, "junk.pem");
    writeFileSync(junk, "not a certificate\n");
    // a valid certificate followed by more text than an assignment carries
    const long = join(dir, "long.crt");
    writeFileSync(long, `${A.cert}${"# padding\n".repeat(7000)}`);
    const cases: [string, string, RegExp][] = [
      [
        join(dir, "missing.crt"),
        fixture("a.key"),
        /--tls-cert .*missing\.crt: cannot read the certificate \(ENOENT\)/,
      ],
      [fixture("a.crt"), join(dir, "missing.key"), /--tls-key .*missing\.key: cannot read the private key/],
      [junk, fixture("a.key"), /--tls-cert .*junk\.pem: not a PEM certificate/],
      [fixture("a.crt"), junk, /--tls-key .*junk\.pem: not an unencrypted PEM private key/],
      [
        fixture("a.crt"),
        fixture("b.key"),
        /--tls-key .*b\.key: not the private key of the certificate .*a\.crt/,
      ],
      [
        long,
        fixture("a.key"),
        /--tls-cert .*long\.crt: \d+ characters, more than an assignment carries \(65536\)/,
      ],
    ];
    for (const [cert, key, message] of cases) {
      let error: unknown;
      try {
        loadTlsIdentity(cert, key);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: E_CONFIG });
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toMatch(/\n/);
    }
  });
});

describe("parseTlsPin", () => {
  it("takes hex with or without colons, any case, optionally sha256:-prefixed", () => {
    const pin = tlsPinOf(A.cert);
    expect(parseTlsPin(pin.toLowerCase(), "SLT_TLS_PIN")).toBe(pin);
    expect(parseTlsPin(pin.replaceAll(":", ""), "SLT_TLS_PIN")).toBe(pin);
    expect(parseTlsPin(`sha256:${pin}`, "SLT_TLS_PIN")).toBe(pin);
    expect(() => parseTlsPin("abc", "--tls-pin")).toThrow(
      /--tls-pin must be a SHA-256 certificate fingerprint/,
    );
  });
});

/** Opens a ws client to `address` with `options`; "open", or the error's message. */
function attempt(address: string, options: object): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(address, { perMessageDeflate: false, ...options });
    ws.once("open", () => {
      ws.close();
      resolve("open");
    });
    ws.once("error", (e) => resolve(e.message));
  });
}

/** A wss:// WsServer with certificate A, accepting upgrades. */
async function acceptingServerA(): Promise<WsServer> {
  const s = await WsServer.listen({
    host: "127.0.0.1",
    onConnection: () => {},
    tls: A,
    logger: silentLogger(),
  });
  cleanup.push(() => s.close());
  s.accept(1024);
  return s;
}

describe("pinned wss:// clients", () => {
  it("connect to a server whose certificate has the pin", async () => {
    const s = await acceptingServerA();
    expect(await attempt(s.address, tlsClientOptions(s.address, { pin: tlsPinOf(A.cert) }))).toBe("open");
  });

  it("refuse a server with another certificate before sending a single byte", async () => {
    // A bare TLS server with certificate B that counts what it receives after the TLS handshake. TLS 1.2,
    // where the server's side of the handshake completes before the client sees the server's Finished:
    // the server has a secure connection to read from, so anything the client wrote would arrive.
    // The control: the same server with its own pin receives the upgrade request.
    const bare = async (pin: string) => {
      let received = 0;
      let secured = false;
      let outcome: Promise<string> = Promise.resolve("not tried");
      const ended = new Promise<void>((resolve) => {
        const server = createTlsServer({ ...B, maxVersion: "TLSv1.2" }, (socket: TLSSocket) => {
          secured = true;
          socket.on("data", (d: Buffer) => {
            received += d.length;
            socket.destroy(); // the request has come: enough
          });
          socket.on("error", () => {});
          socket.once("close", () => resolve());
        });
        cleanup.push(() => server.close());
        server.listen(0, "127.0.0.1", () => {
          const address = `wss://127.0.0.1:${(server.address() as { port: number }).port}/?run=x`;
          outcome = attempt(address, tlsClientOptions(address, { pin }));
        });
      });
      await ended;
      return { received, secured, why: await outcome };
    };
    const wrong = await bare(tlsPinOf(A.cert));
    expect(wrong.secured).toBe(true);
    expect(wrong.received).toBe(0);
    expect(wrong.why).toMatch(/is not the pinned/);
    const right = await bare(tlsPinOf(B.cert));
    expect(right.received).toBeGreaterThan(0);
  });

  it("with a CA instead of a pin: normal verification, which a self-signed certificate passes only as its own CA", async () => {
    const s = await acceptingServerA();
    expect(await attempt(s.address, tlsClientOptions(s.address, { ca: A.cert }))).toBe("open");
    expect(await attempt(s.address, tlsClientOptions(s.address, { ca: B.cert }))).toMatch(/certificate/);
  });
});

describe("isWss and tlsClientOptions", () => {
  it("take the scheme as ws does, case-insensitively", () => {
    expect(isWss("wss://127.0.0.1:1")).toBe(true);
    expect(isWss("WSS://127.0.0.1:1")).toBe(true);
    expect(isWss("ws://127.0.0.1:1")).toBe(false);
    expect(isWss("not a url")).toBe(false);
  });

  it("never give a plain ws:// address to a run whose links are TLS", () => {
    const pin = { pin: tlsPinOf(A.cert) };
    expect(() => tlsClientOptions("ws://127.0.0.1:1", pin)).toThrow(/is not a wss:\/\/ address/);
    expect(Object.keys(tlsClientOptions("WSS://127.0.0.1:1", pin))).toEqual(["createConnection"]);
    expect(tlsClientOptions("ws://127.0.0.1:1", null)).toEqual({});
  });
});
