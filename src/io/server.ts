// The WebSocket server of coordinator and island: a plain HTTP server listening on host:port (port 0:
// any free port) that upgrades to WebSocket only once its owner calls accept(maxPayload). Until then an
// upgrade request gets 503 and the client's backoff retries: an island learns its genome length, which
// bounds its frames, only from its assignment, so it cannot size maxPayload when it starts listening.
// A request that is not an upgrade gets 426. Frames are never compressed (perMessageDeflate: false):
// migrant frames are random bits, and deflate would only cost time and memory.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { isIPv6 } from "node:net";
import { type WebSocket, WebSocketServer } from "ws";

/** `ws://host:port`, with an IPv6 literal in brackets. */
export function formatWsAddress(host: string, port: number): string {
  return `ws://${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

export interface WsServerOptions {
  readonly host: string;
  /** 0 (default): any free port */
  readonly port?: number;
  /** called for every upgraded connection */
  readonly onConnection: (ws: WebSocket, req: IncomingMessage) => void;
}

export class WsServer {
  /** `ws://host:port` of the listening socket (the port filled in when 0 was asked for) */
  readonly address: string;
  readonly port: number;
  readonly #http: Server;
  readonly #onConnection: WsServerOptions["onConnection"];
  #wss: WebSocketServer | null = null;

  private constructor(http: Server, host: string, options: WsServerOptions) {
    this.#http = http;
    this.#onConnection = options.onConnection;
    this.port = (http.address() as { port: number }).port;
    this.address = formatWsAddress(host, this.port);
    http.on("upgrade", (req, socket, head) => {
      // Node's http server has dropped its own error listener from an upgrade's socket, and ws's come
      // and go with the handshake and the connection: a reset (a neighbour killed) must never find the
      // socket without one, which would end the process
      socket.on("error", () => socket.destroy());
      const wss = this.#wss;
      if (wss === null) {
        socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n");
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, req));
    });
  }

  /** Listens on host:port; rejects when the address cannot be bound. Upgrades wait for accept(). */
  static async listen(options: WsServerOptions): Promise<WsServer> {
    const http = createServer((_req, res) => {
      res.writeHead(426).end();
    });
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(options.port ?? 0, options.host, () => {
        http.off("error", reject);
        resolve();
      });
    });
    return new WsServer(http, options.host, options);
  }

  /** Whether upgrade requests are accepted yet. */
  get accepting(): boolean {
    return this.#wss !== null;
  }

  /** From now on, upgrades are accepted, with frames of at most `maxPayload` bytes. Once only. */
  accept(maxPayload: number): void {
    if (this.#wss !== null) throw new Error("WsServer.accept called twice");
    this.#wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });
  }

  /** Stops listening and ends every HTTP connection; upgraded sockets are their owners' to close. */
  close(): void {
    this.#wss?.close();
    this.#http.close();
    this.#http.closeAllConnections();
  }
}
