// A stranger's side of a connection flood against a running coordinator, and what is watched of the
// coordinator meanwhile (its memory): used by test/cluster/flood.test.ts and fuzz.test.ts (scaled down
// for CI) and bench/hostile.ts (the full-scale figures of issue 10). Plain Node, no test runner: the
// benchmark imports it too.
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";

/** Resident memory of process `pid` in bytes (Linux). */
export function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

/**
 * Opens a TCP connection to 127.0.0.1:port, kept in `sockets` so that the caller can destroy it;
 * resolves when connected or failed (a refusal counts too).
 */
export function openSocket(port: number, sockets: Socket[]): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    sockets.push(s);
    s.resume(); // flowing, so the server's FIN ends it: a paused socket may never read its EOF
    s.on("error", () => {});
    s.once("connect", () => resolve(s));
    s.once("close", () => resolve(s));
  });
}

const UPGRADE = (port: number) =>
  `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/** The header of a masked binary frame declaring `length` bytes, and one shared megabyte of its body. */
const FRAME_HEAD = Buffer.concat([Buffer.from([0x82, 0xff]), Buffer.alloc(8), Buffer.alloc(4)]);
FRAME_HEAD.writeBigUInt64BE(BigInt(1 << 20), 2);
const MEGABYTE = Buffer.alloc((1 << 20) - 1, 7);

/**
 * Upgrades and sends an unfinished 1 MiB frame; resolves when the server answered or closed it: "sent"
 * (the whole megabyte written, the frame still unfinished), "closed" (the server closed it first) or
 * "refused" (no connection).
 */
export async function unfinishedFrame(
  port: number,
  sockets: Socket[],
): Promise<"sent" | "closed" | "refused"> {
  const s = await openSocket(port, sockets);
  if (s.destroyed) return "refused";
  return new Promise((resolve) => {
    s.once("close", () => resolve("closed"));
    s.once("data", () => {
      s.write(FRAME_HEAD);
      s.write(MEGABYTE, () => resolve("sent"));
    });
    s.write(UPGRADE(port));
  });
}

/** Silent connections (they never send a byte) and what became of them. */
export interface SilentFlood {
  /** connections established */
  readonly connected: () => number;
  /** established connections the server closed before stop() */
  readonly closedByServer: () => number;
  /** connections that failed before they were established (refused, reset) */
  readonly failed: () => number;
  /** resolves when the server has closed (or refused) a first connection */
  readonly firstClosed: Promise<void>;
  /** resolves when every connection has been closed, by either side */
  readonly allClosed: Promise<void>;
  /** destroys the connections still open */
  stop(): void;
}

/** Opens `n` silent TCP connections to 127.0.0.1:port at once. */
export function silentFlood(port: number, n: number): SilentFlood {
  const sockets: Socket[] = [];
  let connected = 0;
  let closedByServer = 0;
  let failed = 0;
  let stopped = false;
  let open = n;
  let first: () => void = () => {};
  let all: () => void = () => {};
  const firstClosed = new Promise<void>((resolve) => {
    first = resolve;
  });
  const allClosed = new Promise<void>((resolve) => {
    all = resolve;
  });
  for (let i = 0; i < n; i++) {
    const s = connect(port, "127.0.0.1");
    sockets.push(s);
    let up = false;
    s.resume(); // see openSocket
    s.on("error", () => {});
    s.once("connect", () => {
      up = true;
      connected++;
    });
    s.once("close", () => {
      if (!stopped) {
        if (up) closedByServer++;
        else failed++;
        first();
      }
      if (--open === 0) all();
    });
  }
  return {
    connected: () => connected,
    closedByServer: () => closedByServer,
    failed: () => failed,
    firstClosed,
    allClosed,
    stop() {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}
