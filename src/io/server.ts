// The WebSocket server of coordinator and island: a plain HTTP server listening on host:port (port 0:
// any free port) that upgrades to WebSocket only once its owner calls accept(maxPayload). Until then an
// upgrade request gets 503 and the client's backoff retries: an island learns its genome length, which
// bounds its frames, only from its assignment, so it cannot size maxPayload when it starts listening.
// A request that is not an upgrade gets 426. Frames are never compressed (perMessageDeflate: false):
// migrant frames are random bits, and deflate would only cost time and memory.
//
// TLS (wss://): with `tls` the server is an https server with that certificate and key; everything else
// (admission, upgrades, limits) is the same code, only the factory and the connection event differ
// (an https server's sockets are ready for HTTP at "secureConnection", after the TLS handshake, which is
// bounded by the same upgradeMs). An island's peer server starts before it has the certificate (it comes
// with the assignment): it listens with `tls: {}`, fails every TLS handshake until useCertificate(),
// and the senders' backoff retries as for the 503 before accept().
//
// Admission: a stranger must not be able to end a run or fill its memory before it has proved the
// secret, so everything before authentication is bounded here, cheaply and for every owner.
// - A connection is "pending" from its upgrade until its Link authenticates (the Link emits
//   AUTHENTICATED on the socket) or it closes. Pending connections are capped globally (503) and per
//   remote address (429), refused at the upgrade, before any WebSocket is made; a refused socket is
//   destroyed once its answer is written, so that nothing more is read from it.
// - An HTTP connection must deliver its whole upgrade request within upgradeMs, and a pending one must
//   authenticate within handshakeMs; else its socket is destroyed (partial requests, silent sockets).
// - A pending connection may send at most preAuthBytes: ws buffers a frame whole up to the server's
//   maxPayload (the post-authentication limit, megabytes), so the bound is on the socket's bytes.
// - Refusals are logged rate-limited (io/log.ts RateLimited), never one record each.
// - An accept that fails (EMFILE: no file descriptor left) refuses that connection only: the server's
//   error is logged like a refusal; the process and the other connections go on.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { isIPv6, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { type Logger, RateLimited, stderrLogger } from "./log.ts";
import type { TlsIdentity } from "./tls.ts";

/** The event a Link emits on its socket once the other side has authenticated (see io/link.ts). */
export const AUTHENTICATED = "slt:authenticated";

/** `ws://host:port` (`wss://` with TLS), with an IPv6 literal in brackets. */
export function formatWsAddress(host: string, port: number, tls = false): string {
  return `${tls ? "wss" : "ws"}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

export interface AdmissionLimits {
  /** unauthenticated connections at once, over all addresses (default 256) */
  readonly maxPending?: number;
  /** unauthenticated connections at once from one remote address (default 64) */
  readonly maxPendingPerAddress?: number;
  /** time for an HTTP connection to deliver its whole upgrade request (default 10 s) */
  readonly upgradeMs?: number;
  /** time from the upgrade to authentication (default 15 s; the Link's own deadline is 10 s) */
  readonly handshakeMs?: number;
  /** bytes a connection may send between its upgrade and its authentication (default 64 KiB) */
  readonly preAuthBytes?: number;
}

export const DEFAULT_ADMISSION: Required<AdmissionLimits> = {
  maxPending: 256,
  maxPendingPerAddress: 64,
  upgradeMs: 10_000,
  handshakeMs: 15_000,
  preAuthBytes: 64 << 10,
};

export interface WsServerOptions {
  readonly host: string;
  /** 0 (default): any free port */
  readonly port?: number;
  /** called for every upgraded connection */
  readonly onConnection: (ws: WebSocket, req: IncomingMessage) => void;
  readonly admission?: AdmissionLimits;
  /** where refusals at admission are logged, rate-limited (default: stderr) */
  readonly logger?: Logger;
  /** serve wss:// with this certificate and key ({}: wss://, the certificate to come by useCertificate) */
  readonly tls?: Partial<TlsIdentity>;
}

interface Refusal {
  readonly reason: string;
  readonly remote: string | null;
}

export class WsServer {
  /** `ws://host:port` (`wss://` with TLS) of the listening socket (the port filled in when 0 was asked for) */
  readonly address: string;
  readonly port: number;
  readonly #http: Server | HttpsServer;
  readonly #onConnection: WsServerOptions["onConnection"];
  readonly #limits: Required<AdmissionLimits>;
  readonly #refused: RateLimited<Refusal>;
  /** unauthenticated upgraded connections, per remote address */
  readonly #pending = new Map<string, number>();
  #pendingTotal = 0;
  #wss: WebSocketServer | null = null;
  /** a wss:// server that has its certificate (from listen, or useCertificate) */
  #certified: boolean;
  /** `address:port` of connections accepted before the certificate came (#watchTls) */
  readonly #uncertified = new Set<string>();

  private constructor(http: Server | HttpsServer, host: string, options: WsServerOptions) {
    this.#http = http;
    this.#onConnection = options.onConnection;
    this.#certified = options.tls?.cert !== undefined;
    this.#limits = { ...DEFAULT_ADMISSION, ...options.admission };
    const logger = options.logger ?? stderrLogger();
    this.#refused = new RateLimited((r, count) =>
      logger.warn({ reason: r.reason, remote: r.remote, count }, "connection refused at admission"),
    );
    this.port = (http.address() as { port: number }).port;
    this.address = formatWsAddress(host, this.port, options.tls !== undefined);
    http.on(options.tls !== undefined ? "secureConnection" : "connection", (socket: Socket) => {
      const remote = remoteOf(socket); // read now: a socket that timed out may no longer know it
      // until its upgrade request is complete; the upgrade handler clears it
      socket.setTimeout(this.#limits.upgradeMs, () => {
        this.#refuse("no complete upgrade request in time", remote);
        socket.destroy();
      });
    });
    // an accept that failed (EMFILE, ENFILE): that connection is lost, nothing else
    http.on("error", (e: NodeJS.ErrnoException) =>
      this.#refuse(`accept failed: ${e.code ?? e.message}`, null),
    );
    http.on("upgrade", (req, socket, head) => this.#upgrade(req, socket, head));
    if (options.tls !== undefined) this.#watchTls(http);
  }

  /**
   * A failed TLS handshake (a client that does not trust the certificate, a stranger's garbage): that
   * connection only, counted like a refusal; but not for a connection accepted before there was a
   * certificate (an island's peer server before its assignment), which is as routine as the 503 before
   * accept(): the secure context is fixed when a connection is accepted, so those are told by address.
   */
  #watchTls(http: Server | HttpsServer): void {
    http.on("connection", (socket: Socket) => {
      const remote = remoteOf(socket);
      if (this.#certified || remote === null) return;
      this.#uncertified.add(remote);
      socket.once("close", () => this.#uncertified.delete(remote));
    });
    http.on("tlsClientError", (e: NodeJS.ErrnoException, socket: Socket) => {
      const remote = remoteOf(socket);
      if (remote === null || !this.#uncertified.has(remote))
        this.#refuse(`TLS handshake failed: ${e.code ?? e.message}`, remote);
      socket.destroy();
    });
  }

  /** Listens on host:port; rejects when the address cannot be bound. Upgrades wait for accept(). */
  static async listen(options: WsServerOptions): Promise<WsServer> {
    const upgradeMs = options.admission?.upgradeMs ?? DEFAULT_ADMISSION.upgradeMs;
    // Node's own bounds on a request's headers, checked every connectionsCheckingInterval
    const bounds = {
      headersTimeout: upgradeMs,
      requestTimeout: upgradeMs,
      connectionsCheckingInterval: Math.min(upgradeMs, 1000),
    };
    const notUpgrade = (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(426).end();
    };
    const http =
      options.tls === undefined
        ? createServer(bounds, notUpgrade)
        : createHttpsServer({ ...bounds, ...options.tls, handshakeTimeout: upgradeMs }, notUpgrade);
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(options.port ?? 0, options.host, () => {
        http.off("error", reject);
        resolve();
      });
    });
    return new WsServer(http, options.host, options);
  }

  /** Serves this certificate and key from now on (a server listening with `tls`). */
  useCertificate(identity: TlsIdentity): void {
    if (!("setSecureContext" in this.#http)) throw new Error("WsServer.useCertificate on a ws:// server");
    this.#http.setSecureContext({ cert: identity.cert, key: identity.key });
    this.#certified = true;
  }

  /** Whether upgrade requests are accepted yet. */
  get accepting(): boolean {
    return this.#wss !== null;
  }

  /** Unauthenticated upgraded connections now (for tests and records). */
  get pending(): number {
    return this.#pendingTotal;
  }

  /** From now on, upgrades are accepted, with frames of at most `maxPayload` bytes. Once only. */
  accept(maxPayload: number): void {
    if (this.#wss !== null) throw new Error("WsServer.accept called twice");
    this.#wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });
  }

  /** Stops listening and ends every HTTP connection; upgraded sockets are their owners' to close. */
  close(): void {
    this.#refused.flush();
    this.#wss?.close();
    this.#http.close();
    this.#http.closeAllConnections();
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node's http server has dropped its own error listener from an upgrade's socket, and ws's come
    // and go with the handshake and the connection: a reset (a neighbour killed) must never find the
    // socket without one, which would end the process
    socket.on("error", () => socket.destroy());
    (socket as Socket).setTimeout(0);
    const wss = this.#wss;
    if (wss === null) {
      answerAndClose(socket, "503 Service Unavailable");
      return;
    }
    const address = req.socket.remoteAddress ?? "unknown";
    const fromAddress = this.#pending.get(address) ?? 0;
    const status =
      this.#pendingTotal >= this.#limits.maxPending
        ? "503 Service Unavailable"
        : fromAddress >= this.#limits.maxPendingPerAddress
          ? "429 Too Many Requests"
          : null;
    if (status !== null) {
      this.#refuse(`too many unauthenticated connections (${status.slice(0, 3)})`, remoteOf(req.socket));
      answerAndClose(socket, status, "Retry-After: 1\r\n");
      return;
    }
    this.#admit(address);
    wss.handleUpgrade(req, socket, head, (ws) => {
      this.#guardPending(ws, socket, address);
      this.#onConnection(ws, req);
    });
  }

  #admit(address: string): void {
    this.#pendingTotal++;
    this.#pending.set(address, (this.#pending.get(address) ?? 0) + 1);
  }

  /** Holds `ws` to the pre-authentication bounds until it authenticates or closes. */
  #guardPending(ws: WebSocket, socket: Duplex, address: string): void {
    const remote = remoteOf(socket as Socket);
    let pending = true;
    let bytes = 0;
    const release = () => {
      if (!pending) return;
      pending = false;
      clearTimeout(timer);
      socket.off("data", count);
      this.#pendingTotal--;
      const left = (this.#pending.get(address) ?? 1) - 1;
      if (left > 0) this.#pending.set(address, left);
      else this.#pending.delete(address);
    };
    const drop = (reason: string) => {
      if (!pending) return;
      this.#refuse(reason, remote);
      release();
      socket.destroy();
    };
    // registered after ws's own listener, so a chunk that completes the handshake is read first
    const count = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > this.#limits.preAuthBytes)
        drop(`more than ${this.#limits.preAuthBytes} bytes before authentication`);
    };
    const timer = setTimeout(() => drop("no authentication in time"), this.#limits.handshakeMs);
    timer.unref();
    socket.on("data", count);
    socket.once("close", release);
    ws.once(AUTHENTICATED, release);
  }

  #refuse(reason: string, remote: string | null): void {
    this.#refused.add({ reason, remote });
  }
}

/**
 * Answers a refused upgrade with `status` and destroys the socket once the answer is written: only
 * half-closed, it would go on reading whatever the stranger sends, megabytes each (bench/hostile.ts: 1500
 * connections sending 1 MiB each grew the coordinator by about 100 MB; destroyed, by about 30 MB).
 */
function answerAndClose(socket: Duplex, status: string, headers = ""): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n${headers}\r\n`, () => socket.destroy());
}

/** `address:port` of a socket's other end, for records (null when it is not known). */
function remoteOf(socket: Socket): string | null {
  return socket.remoteAddress !== undefined ? `${socket.remoteAddress}:${socket.remotePort}` : null;
}
