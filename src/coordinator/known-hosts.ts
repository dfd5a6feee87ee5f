// Host key checking for the ssh launcher, as OpenSSH's `StrictHostKeyChecking=yes` (or `accept-new`,
// when the user opts in) does it with a known_hosts file.
//
// A known_hosts line is `[marker] patterns keytype base64-key [comment]`:
// - patterns: a comma-separated list; each a host name or address (`[host]:port` when the port is not
//   22), with `*` and `?` wildcards and a leading `!` negating, or a hashed name `|1|salt|hash` (the
//   HMAC-SHA1 of the name under the salt, as `HashKnownHosts yes` writes them);
// - marker: `@revoked` (that key is refused for the hosts it names) or `@cert-authority`. CA-signed
//   host keys are not supported: `@cert-authority` lines are skipped, so a host known only through a CA
//   counts as unknown.
// Comments (`#`) and blank lines are skipped, and so are lines that do not parse (as OpenSSH does).
//
// The key a server presents is accepted when a line for that host holds the same key; refused when it is
// revoked, or when the host has lines but none with this key (a changed key, or a key of another type:
// possibly a man in the middle); an unknown host is refused unless new keys are accepted, in which case
// the key is appended to the file in use (created mode 0600), so the next connection checks it.
// A fingerprint pinned in the hosts file (`hostKey`) takes the place of the files for that host.
import { createHash, createHmac } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { ServerHostKeyAlgorithm } from "ssh2";
import { E_CLUSTER, SltError } from "../core/errors.ts";
import type { Logger } from "../io/log.ts";

/** One usable line of a known_hosts file. */
export interface KnownHostsEntry {
  /** 1-based line number */
  readonly line: number;
  readonly revoked: boolean;
  readonly patterns: string;
  readonly keyType: string;
  readonly key: Buffer;
}

/** The lines of a known_hosts file that name a host key (not comments, blanks, CA lines or garbage). */
export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const out: KnownHostsEntry[] = [];
  text.split("\n").forEach((raw, i) => {
    const words = raw.trim().split(/\s+/);
    if (words[0] === "" || words[0].startsWith("#")) return;
    let revoked = false;
    if (words[0].startsWith("@")) {
      if (words[0] !== "@revoked") return; // @cert-authority (unsupported) or an unknown marker
      revoked = true;
      words.shift();
    }
    const [patterns, keyType, b64] = words;
    if (patterns === undefined || keyType === undefined || b64 === undefined) return;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    const key = Buffer.from(b64, "base64");
    // the blob names its own type; a line whose type says otherwise is corrupt
    if (blobKeyType(key) !== keyType) return;
    out.push({ line: i + 1, revoked, patterns, keyType, key });
  });
  return out;
}

/** The key type a public key blob names (its first SSH string), or null when it has none. */
export function blobKeyType(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const n = blob.readUInt32BE(0);
  if (n === 0 || 4 + n > blob.length) return null;
  return blob.subarray(4, 4 + n).toString("latin1");
}

/** The name known_hosts files use for a host: `host`, or `[host]:port` when the port is not 22. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

function globMatches(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${re}$`, "i").test(name);
}

function hashedMatches(pattern: string, name: string): boolean {
  const [, , salt, hash] = pattern.split("|");
  if (salt === undefined || hash === undefined) return false;
  return createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64") === hash;
}

/** Whether a line's host patterns name `name`: one pattern matches and no negated one does. */
export function hostMatches(patterns: string, name: string): boolean {
  let matched = false;
  for (const p of patterns.split(",")) {
    if (p.startsWith("|1|")) {
      if (hashedMatches(p, name)) matched = true;
    } else if (p.startsWith("!")) {
      if (globMatches(p.slice(1), name)) return false;
    } else if (globMatches(p, name)) matched = true;
  }
  return matched;
}

export type KnownHostsVerdict =
  | { readonly kind: "known"; readonly line: number }
  | { readonly kind: "revoked"; readonly line: number }
  | { readonly kind: "changed"; readonly line: number; readonly keyType: string }
  | { readonly kind: "unknown" };

/** What a known_hosts file says about `blob` presented by the host known there as `name`. */
export function checkKnownHosts(text: string, name: string, blob: Buffer): KnownHostsVerdict {
  const entries = parseKnownHosts(text);
  // a revoked key is refused whatever else the file says (OpenSSH checks revocation first)
  const revoked = entries.find((e) => e.revoked && e.key.equals(blob) && hostMatches(e.patterns, name));
  if (revoked) return { kind: "revoked", line: revoked.line };
  const mine = entries.filter((e) => !e.revoked && hostMatches(e.patterns, name));
  const same = mine.find((e) => e.key.equals(blob));
  if (same) return { kind: "known", line: same.line };
  // a line with a key of the same type is the closer evidence of a changed key
  const type = blobKeyType(blob);
  const other = mine.find((e) => e.keyType === type) ?? mine[0];
  if (other) return { kind: "changed", line: other.line, keyType: other.keyType };
  return { kind: "unknown" };
}

/**
 * The host key algorithms ssh2 (1.17) offers by default, in its order. A host whose known_hosts lines
 * hold keys of some types is asked for those first (as OpenSSH does), so that a host known by its ECDSA
 * key is not refused as changed because it would also have offered an Ed25519 one.
 */
const HOST_KEY_ALGORITHMS: readonly ServerHostKeyAlgorithm[] = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/** The host key algorithms to offer, those of the key types `known` first. */
export function hostKeyAlgorithms(known: readonly string[]): ServerHostKeyAlgorithm[] {
  const of = (type: string): string[] =>
    type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type];
  const first = HOST_KEY_ALGORITHMS.filter((a) => known.some((t) => of(t).includes(a)));
  return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}

/** A known_hosts line for `blob` as the host `name` presented it (plain, not hashed). */
export function knownHostsLine(name: string, blob: Buffer): string {
  return `${name} ${blobKeyType(blob)} ${blob.toString("base64")}\n`;
}

/** A host key's fingerprint as `ssh-keygen -lf` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** What the checker needs to know of a host entry. */
export interface HostKeyPolicy {
  readonly host: string;
  readonly port: number;
  /** pinned fingerprint, "SHA256:…" */
  readonly hostKey: string | null;
  /** the known_hosts file to use instead of ~/.ssh/known_hosts (a leading ~/ is the home) */
  readonly knownHosts: string | null;
  /** accept (and record) the key of a host the file does not know */
  readonly acceptNewHostKeys: boolean;
}

/** Expands a leading `~/` to `home`. */
export function expandHome(path: string, home: string): string {
  return path.startsWith("~/") ? `${home}${path.slice(1)}` : path;
}

/**
 * Checks servers' host keys against pins and known_hosts files; accepts and records new keys where
 * the policy allows it. `verify` returns null (accepted) or the refusal, a one-line SltError.
 */
export class HostKeyChecker {
  readonly #logger: Logger;
  readonly #home: string;
  /** the run's command-line opt-in, for every host */
  readonly #acceptNew: boolean;

  constructor(logger: Logger, home: string, acceptNew = false) {
    this.#logger = logger;
    this.#home = home;
    this.#acceptNew = acceptNew;
  }

  /** The known_hosts file a host entry uses. */
  fileOf(h: HostKeyPolicy): string {
    return expandHome(h.knownHosts ?? "~/.ssh/known_hosts", this.#home);
  }

  /** The host key algorithms to offer `h`: its known key types first (none: ssh2's default order). */
  algorithmsFor(h: HostKeyPolicy): ServerHostKeyAlgorithm[] | undefined {
    if (h.hostKey !== null) return undefined;
    let text: string;
    try {
      text = readKnownHosts(this.fileOf(h));
    } catch {
      return undefined; // verify() says why it cannot read the file
    }
    const name = knownHostName(h.host, h.port);
    const types = parseKnownHosts(text)
      .filter((e) => !e.revoked && hostMatches(e.patterns, name))
      .map((e) => e.keyType);
    return types.length === 0 ? undefined : hostKeyAlgorithms(types);
  }

  verify(h: HostKeyPolicy, blob: Buffer): SltError | null {
    try {
      return this.#check(h, blob);
    } catch (e) {
      if (e instanceof SltError) return e;
      throw e;
    }
  }

  #check(h: HostKeyPolicy, blob: Buffer): SltError | null {
    const fp = fingerprint(blob);
    const type = blobKeyType(blob);
    const name = knownHostName(h.host, h.port);
    const refuse = (why: string) => new SltError(E_CLUSTER, `host key for ${name} (${type} ${fp}) ${why}`);
    if (h.hostKey !== null)
      return fp === h.hostKey ? null : refuse(`is not the one pinned in the hosts file (${h.hostKey})`);
    const file = this.fileOf(h);
    const text = readKnownHosts(file);
    const verdict = checkKnownHosts(text, name, blob);
    switch (verdict.kind) {
      case "known":
        return null;
      case "revoked":
        return refuse(`is revoked in ${file} line ${verdict.line}; refusing`);
      case "changed":
        return refuse(
          `does not match ${file} line ${verdict.line} (${verdict.keyType}) — possible man-in-the-middle; if the host's key really changed, remove the old one with: ssh-keygen -R '${name}' -f ${file}`,
        );
      case "unknown":
        break;
    }
    if (!h.acceptNewHostKeys && !this.#acceptNew) {
      const keyscan = `ssh-keyscan${h.port === 22 ? "" : ` -p ${h.port}`} ${h.host} >> ${file}`;
      return refuse(
        `is not in ${file}: add it after checking it (${keyscan}), pin it ("hostKey": "${fp}" in the hosts file), or accept new keys ("acceptNewHostKeys": true, or --accept-new-host-keys)`,
      );
    }
    appendKnownHost(file, knownHostsLine(name, blob));
    this.#logger.warn(
      { host: h.host, port: h.port, fingerprint: fp, keyType: type, file },
      "new host key accepted and added to known_hosts",
    );
    return null;
  }
}

function readKnownHosts(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw new SltError(
      E_CLUSTER,
      `cannot read the known hosts file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

function appendKnownHost(file: string, line: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    // mode applies only when the file is created; a line ends the file's last line if it had none
    const text = readKnownHosts(file);
    appendFileSync(file, text === "" || text.endsWith("\n") ? line : `\n${line}`, { mode: 0o600 });
  } catch (e) {
    throw new SltError(
      E_CLUSTER,
      `cannot add a host key to ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}
