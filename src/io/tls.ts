// TLS for the cluster's links (wss://). The user supplies a certificate and its key (slt run --tls-cert
// FILE --tls-key FILE); the coordinator serves it, hands its SHA-256 fingerprint (the pin) to the islands
// it launches, and sends certificate and key to each island in its assignment so that the islands' peer
// servers serve it too. A client trusts a server by one of:
// - the pin: the server's certificate must have exactly this fingerprint (self-signed certificates; no
//   name or expiry checks, which a pin makes moot: only the holder of the key can complete a handshake
//   with that certificate);
// - a CA (slt island --tls-ca FILE): normal verification of chain and host name.
//
// Pinning is checked in the connection factory, before the socket is handed to the HTTP client: a
// certificate with another fingerprint destroys the socket before one byte of the upgrade request (or of
// anything after it) is written. Node's own verification cannot express a pin on a self-signed certificate
// (checkServerIdentity is not called once the chain check has failed, and the island has only the
// fingerprint, not the certificate to use as its CA), so the chain check is turned off there and the pin
// replaces it.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import type { ClientOptions } from "ws";
import { E_CLUSTER, E_CONFIG, SltError } from "../core/errors.ts";
import { MAX_PEM_CHARS } from "../core/protocol/index.ts";

/** A certificate (PEM, possibly a chain: the server's own first) and its private key (PEM). */
export interface TlsIdentity {
  readonly cert: string;
  readonly key: string;
}

/** How a client trusts a wss:// server: by the certificate's fingerprint, or by a CA (PEM). */
export type TlsTrust = { readonly pin: string } | { readonly ca: string };

/** How long a pinned connection may take to open and finish its TLS handshake without a caller's timeout. */
const PINNED_CONNECT_MS = 10_000;

/** The SHA-256 fingerprint of a PEM certificate's first certificate, as `AB:CD:...` (X509Certificate.fingerprint256). */
export function tlsPinOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/**
 * A pin as given by a user (SLT_TLS_PIN, --tls-pin): 32 bytes in hex, with or without colons, any case,
 * optionally prefixed "sha256:"; returned as fingerprint256 writes it. Throws an E_CONFIG naming `where`.
 */
export function parseTlsPin(text: string, where: string): string {
  const hex = text
    .trim()
    .replace(/^sha256:/i, "")
    .replaceAll(":", "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    throw new SltError(
      E_CONFIG,
      `${where} must be a SHA-256 certificate fingerprint (64 hex digits, colons allowed, e.g. from "openssl x509 -noout -fingerprint -sha256 -in CERT"), got ${JSON.stringify(text.slice(0, 100))}`,
    );
  return hex.toUpperCase().match(/../g)?.join(":") as string;
}

function readPem(file: string, what: string, flag: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new SltError(
      E_CONFIG,
      `${flag} ${file}: cannot read the ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a readable PEM file`,
    );
  }
}

/**
 * Whether a WebSocket address is wss://. ws takes the scheme case-insensitively (new URL lowercases it),
 * so a prefix test would let `WSS://…` connect with TLS while everything else here took it for ws://.
 */
export function isWss(url: string): boolean {
  try {
    return new URL(url).protocol === "wss:";
  } catch {
    return false; // not a URL at all: ws refuses it, and it is no TLS address
  }
}

/** Reads and checks a certificate and its key; every failure is one E_CONFIG line naming the file. */
export function loadTlsIdentity(certFile: string, keyFile: string): TlsIdentity & { readonly pin: string } {
  const cert = readPem(certFile, "certificate", "--tls-cert");
  const key = readPem(keyFile, "private key", "--tls-key");
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new SltError(
      E_CONFIG,
      `--tls-cert ${certFile}: not a PEM certificate (${(e as Error).message}); give a file with "-----BEGIN CERTIFICATE-----"`,
    );
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw new SltError(
      E_CONFIG,
      `--tls-key ${keyFile}: not an unencrypted PEM private key (${(e as Error).message}); give the key of --tls-cert, without a passphrase`,
    );
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new SltError(E_CONFIG, `--tls-key ${keyFile}: not the private key of the certificate ${certFile}`);
  // both travel in every island's assignment, whose fields are bounded
  for (const [flag, file, text] of [
    ["--tls-cert", certFile, cert],
    ["--tls-key", keyFile, key],
  ] as const)
    if (text.length > MAX_PEM_CHARS)
      throw new SltError(
        E_CONFIG,
        `${flag} ${file}: ${text.length} characters, more than an assignment carries (${MAX_PEM_CHARS}); give a single certificate and its key`,
      );
  return { cert, key, pin: x509.fingerprint256 };
}

/** Reads a CA certificate file for normal verification (slt island --tls-ca). */
export function loadTlsCa(file: string): string {
  const ca = readPem(file, "CA certificate", "--tls-ca");
  try {
    new X509Certificate(ca);
  } catch (e) {
    throw new SltError(E_CONFIG, `--tls-ca ${file}: not a PEM certificate (${(e as Error).message})`);
  }
  return ca;
}

type Created = (err: Error | null, socket?: Duplex) => void;

/**
 * A connection factory for ws/http (the `createConnection` option) that opens TLS without chain
 * verification and hands the socket over only when the server's certificate has fingerprint `pin`;
 * otherwise the socket is destroyed before anything is written to it and the request fails with why.
 * It answers through the callback (Node's ClientRequest waits for it), never by returning the socket.
 */
export function pinnedConnection(pin: string) {
  return (options: ConnectionOptions & { timeout?: number }, done: Created): undefined => {
    const host = options.host ?? "localhost";
    const socket = tlsConnect({
      ...options,
      path: undefined, // a path would make it a Unix socket connection (as ws's own tlsConnect does)
      servername: options.servername ?? (isIP(host) ? "" : host),
      rejectUnauthorized: false,
    });
    let answered = false;
    const answer = (err: Error | null) => {
      if (answered) return;
      answered = true;
      socket.setTimeout(0);
      socket.off("error", onError);
      if (err === null) done(null, socket);
      else {
        socket.destroy();
        done(err);
      }
    };
    const onError = (e: Error) => answer(e);
    socket.once("error", onError);
    socket.setTimeout(options.timeout || PINNED_CONNECT_MS, () =>
      answer(new Error(`no TLS handshake with ${host} within ${options.timeout || PINNED_CONNECT_MS} ms`)),
    );
    socket.once("secureConnect", () => {
      const got = socket.getPeerX509Certificate()?.fingerprint256 ?? "none";
      answer(
        got === pin
          ? null
          : Object.assign(new Error(`the server's certificate ${got} is not the pinned ${pin}`), {
              code: "E_TLS_PIN",
            }),
      );
    });
    return undefined;
  };
}

/**
 * The ws client options for a connection to `url` with `trust` (none for ws:// without trust). A ws://
 * address with a trust is refused: in a wss:// run every link must be TLS, so a peer that announced a
 * plain address is not talked to in the clear.
 */
export function tlsClientOptions(url: string, trust: TlsTrust | null): ClientOptions {
  if (trust === null) return {};
  if (!isWss(url))
    throw new SltError(E_CLUSTER, `${url} is not a wss:// address, but this run's links are all TLS`);
  if ("pin" in trust)
    return { createConnection: pinnedConnection(trust.pin) as unknown as ClientOptions["createConnection"] };
  return { ca: trust.ca };
}
