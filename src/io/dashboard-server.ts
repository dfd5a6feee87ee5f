// The live dashboard's HTTP server: read-only, GET only. It serves a fixed set of files (the page and its
// scripts, given by the caller) and one Server-Sent Events stream, /events, of the run's events: a browser
// that connects gets the events kept so far (replay-buffer.ts; after a reconnect only those it has not
// seen, by Last-Event-ID), then the live ones, in batches at most every BATCH_MS.
//
// Bounds, so that no browser can slow or break the run: at most MAX_STREAMS streams and MAX_SOCKETS
// sockets at once (more get 503 or are refused); a stream whose unsent output passes MAX_BACKLOG_BYTES
// (a slow or stalled browser) is dropped; nothing here is ever awaited by the run. Bound to an address
// other than loopback, every request needs the random token printed at start (?token=...): none is
// 401, a wrong one 403.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isIP } from "node:net";
import { E_CONFIG, SltError } from "../core/errors.ts";
import { cannotListenReason } from "./listen-error.ts";
import type { Logger } from "./log.ts";
import { REPLAY_LIMITS, ReplayBuffer, type ReplayLimits, type Sequenced } from "./replay-buffer.ts";

export const MAX_STREAMS = 16;
export const MAX_SOCKETS = 64;
export const MAX_BACKLOG_BYTES = 4 << 20;
const BATCH_MS = 100;
/** Events per SSE message when a stream catches up. */
const REPLAY_CHUNK = 500;

export interface DashboardAddress {
  readonly host: string;
  readonly port: number;
}

/** One file the server answers a GET of `path` with. */
export interface StaticFile {
  readonly type: string;
  readonly body: string;
}

export interface DashboardOptions extends DashboardAddress {
  /** the files by path ("/", "/view.js", ...); `page(token)` may embed the token in links */
  readonly files: (token: string | null) => Record<string, StaticFile>;
  readonly logger?: Logger;
  readonly limits?: { readonly backlogBytes?: number; readonly replay?: ReplayLimits };
}

/** `[HOST:]PORT` (IPv6 as [ADDR]:PORT); a port alone is on 127.0.0.1; port 0 is any free port. */
export function parseDashboardAddress(spec: string): DashboardAddress {
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([\w.-]+)):)?(\d{1,5})$/.exec(spec.trim());
  if (!m || Number(m[3]) > 65535)
    throw new SltError(
      E_CONFIG,
      `--dashboard ${JSON.stringify(spec)}: expected [HOST:]PORT such as 8080 or 0.0.0.0:8080 (port 0: any free port)`,
    );
  return { host: m[1] ?? m[2] ?? "127.0.0.1", port: Number(m[3]) };
}

/** Loopback only: 127.0.0.0/8, ::1 and localhost. Anything else needs the token. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

const SECURITY_HEADERS = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  // the token is in the page's address: never sent on to anyone
  "Referrer-Policy": "no-referrer",
  // the page talks to this server only
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
};

interface Stream {
  readonly res: ServerResponse;
}

export class DashboardServer {
  readonly #server: Server;
  readonly #token: string | null;
  readonly #files: Record<string, StaticFile>;
  readonly #replay: ReplayBuffer;
  readonly #streams = new Set<Stream>();
  readonly #backlog: number;
  readonly #logger: Logger | undefined;
  #pending: Sequenced[] = [];
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** the address to open, with the token when one is needed */
  readonly url: string;
  /** the address without the token (what the run's start event records) */
  readonly address: string;

  private constructor(server: Server, options: DashboardOptions, token: string | null, port: number) {
    this.#server = server;
    this.#token = token;
    this.#files = options.files(token);
    this.#replay = new ReplayBuffer(options.limits?.replay ?? REPLAY_LIMITS);
    this.#backlog = options.limits?.backlogBytes ?? MAX_BACKLOG_BYTES;
    this.#logger = options.logger;
    const host = isIP(options.host) === 6 ? `[${options.host}]` : options.host;
    this.address = `http://${host}:${port}/`;
    this.url = token === null ? this.address : `${this.address}?token=${token}`;
  }

  /** Listens; an address in use or not of this machine is one E_CONFIG error before anything started. */
  static async listen(options: DashboardOptions): Promise<DashboardServer> {
    const token = isLoopback(options.host) ? null : randomBytes(24).toString("hex");
    let self: DashboardServer | null = null;
    const server = createServer((req, res) => self?.handle(req, res));
    server.maxConnections = MAX_SOCKETS;
    const port = await new Promise<number>((done, fail) => {
      server.once("error", (e: NodeJS.ErrnoException) => fail(listenError(options, e)));
      server.listen({ host: options.host, port: options.port, exclusive: true }, () => {
        const a = server.address();
        done(typeof a === "object" && a !== null ? a.port : options.port);
      });
    });
    server.on("error", (e) => options.logger?.warn({ err: e }, "dashboard server error"));
    self = new DashboardServer(server, options, token, port);
    return self;
  }

  /** Hands one event (as written to events.jsonl) to every stream and keeps it for late ones; never throws. */
  publish(event: Record<string, unknown>): void {
    if (this.#closed) return;
    this.#pending.push(this.#replay.add(event));
    this.#timer ??= setTimeout(() => this.#flush(), BATCH_MS).unref();
  }

  /** The event streams open now. */
  get streams(): number {
    return this.#streams.size;
  }

  /** Ends every stream (telling the page the run is over) and the server; waits for nobody. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    for (const s of this.#streams) s.res.end("event: end\ndata: {}\n\n");
    this.#streams.clear();
    this.#server.close();
    this.#server.closeAllConnections();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    // a browser gone mid-response: the response ends there, never as an uncaught error in the run
    res.on("error", () => res.destroy());
    const url = new URL(req.url ?? "/", "http://dashboard");
    const denied = this.#denied(url.searchParams.get("token"));
    const file = Object.hasOwn(this.#files, url.pathname) ? this.#files[url.pathname] : undefined;
    if (req.method !== "GET") plain(res, 405, "only GET", { Allow: "GET" });
    else if (this.#foreignHost(req.headers.host)) plain(res, 403, "Host must be a loopback name");
    else if (denied !== null) plain(res, denied, denied === 401 ? "token required" : "wrong token");
    else if (url.pathname === "/events") this.#openStream(req, res);
    else if (!file) plain(res, 404, "not found");
    else {
      res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": file.type });
      res.end(file.body);
    }
  }

  /**
   * A loopback dashboard (no token) answers only requests that name a loopback host: a page elsewhere that
   * points its own name at 127.0.0.1 (DNS rebinding) sends its name in Host, and is refused.
   */
  #foreignHost(host: string | undefined): boolean {
    if (this.#token !== null || host === undefined) return false;
    const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d*$/, "");
    return !isLoopback(name.toLowerCase());
  }

  #denied(given: string | null): number | null {
    if (this.#token === null) return null;
    if (given === null || given === "") return 401;
    const a = Buffer.from(given);
    const b = Buffer.from(this.#token);
    return a.length === b.length && timingSafeEqual(a, b) ? null : 403;
  }

  #openStream(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed || this.#streams.size >= MAX_STREAMS) {
      plain(res, 503, "too many dashboard streams", { "Retry-After": "5" });
      return;
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": "text/event-stream; charset=utf-8",
      Connection: "keep-alive",
    });
    const stream: Stream = { res };
    this.#streams.add(stream);
    res.on("close", () => this.#streams.delete(stream));
    const after = Number(req.headers["last-event-id"] ?? 0);
    const missed = this.#replay.since(Number.isSafeInteger(after) ? after : 0);
    // what is still pending goes out with the next batch
    const pendingFrom = this.#pending[0]?.seq ?? Number.POSITIVE_INFINITY;
    const replay = missed.filter((e) => e.seq < pendingFrom);
    for (let k = 0; k < replay.length; k += REPLAY_CHUNK)
      res.write(message(replay.slice(k, k + REPLAY_CHUNK)));
    if (replay.length === 0) res.write(": connected\n\n");
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.length === 0) return;
    const text = message(this.#pending);
    this.#pending = [];
    for (const s of this.#streams) {
      if (s.res.writableLength > this.#backlog) {
        // a browser that does not read: dropped, so that its backlog cannot grow without bound
        this.#logger?.warn({ backlogBytes: s.res.writableLength }, "dashboard stream too slow; dropped");
        this.#streams.delete(s);
        s.res.destroy();
      } else s.res.write(text);
    }
  }
}

/** One SSE message: a batch of events, with the last one's sequence number as its id. */
function message(batch: readonly Sequenced[]): string {
  const id = batch[batch.length - 1].seq;
  return `id: ${id}\ndata: ${JSON.stringify(batch.map((e) => e.event))}\n\n`;
}

function plain(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, "Content-Type": "text/plain; charset=utf-8" });
  res.end(`${text}\n`);
}

function listenError(a: DashboardAddress, e: NodeJS.ErrnoException): SltError {
  return new SltError(
    E_CONFIG,
    `--dashboard ${a.host}:${a.port}: ${cannotListenReason(e.code ?? e.message)}; give a free [HOST:]PORT of this machine (port 0: any free port)`,
  );
}
