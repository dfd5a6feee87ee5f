// known_hosts parsing and matching (the ssh launcher's host key checks against a live server are in
// launcher-ssh.test.ts): plain, wildcard, negated and hashed patterns, markers, bad lines, and the
// checker's verdicts, refusals and accept-new appends.
import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { utils } from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import {
  blobKeyType,
  checkKnownHosts,
  fingerprint,
  HostKeyChecker,
  hostKeyAlgorithms,
  hostMatches,
  knownHostName,
  knownHostsLine,
  parseKnownHosts,
} from "../../src/coordinator/known-hosts.ts";
import { captureLogger } from "../../src/io/log.ts";
import { keyPair } from "./ssh-keys.ts";

const work = mkdtempSync(join(tmpdir(), "slt-known-hosts-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fresh public key blob of `type`. */
function blob(type: "ed25519" | "ecdsa" = "ed25519"): Buffer {
  const k = type === "ed25519" ? keyPair() : keyPair("ecdsa", { bits: 256 });
  const parsed = utils.parseKey(k.public);
  if (parsed instanceof Error) throw parsed;
  return parsed.getPublicSSH();
}

const b64 = (b: Buffer) => b.toString("base64");

/** The hashed form of a host name, as `ssh-keygen -H` writes it. */
function hashed(name: string): string {
  const salt = Buffer.from("0123456789abcdefghij");
  return `|1|${b64(salt)}|${createHmac("sha1", salt).update(name).digest("base64")}`;
}

describe("known_hosts lines", () => {
  const k1 = blob();
  const k2 = blob("ecdsa");

  it("keeps key lines and skips comments, blanks, CA lines and garbage", () => {
    const text = [
      "# a comment",
      "",
      `a.example,10.0.0.1 ssh-ed25519 ${b64(k1)} me@there`,
      `@cert-authority *.example ssh-ed25519 ${b64(k1)}`,
      `@revoked * ${blobKeyType(k2)} ${b64(k2)}`,
      "b.example ssh-ed25519 not*base64",
      `c.example ssh-rsa ${b64(k1)}`, // type and blob disagree
      "d.example",
    ].join("\n");
    expect(parseKnownHosts(text).map(({ line, revoked, patterns }) => [line, revoked, patterns])).toEqual([
      [3, false, "a.example,10.0.0.1"],
      [5, true, "*"],
    ]);
  });

  it("names hosts as OpenSSH does: [host]:port unless the port is 22", () => {
    expect(knownHostName("Worker.Example", 22)).toBe("worker.example");
    expect(knownHostName("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222");
  });

  it("matches plain, listed, wildcard, negated and hashed patterns", () => {
    expect(hostMatches("a.example,10.0.0.1", "10.0.0.1")).toBe(true);
    expect(hostMatches("a.example", "b.example")).toBe(false);
    expect(hostMatches("A.Example", "a.example")).toBe(true);
    expect(hostMatches("*.example", "w1.example")).toBe(true);
    expect(hostMatches("w?.example", "w12.example")).toBe(false);
    expect(hostMatches("*.example,!bad.example", "bad.example")).toBe(false);
    expect(hostMatches("a.example", "a-example")).toBe(false); // "." is no wildcard
    expect(hostMatches(hashed("[127.0.0.1]:2222"), "[127.0.0.1]:2222")).toBe(true);
    expect(hostMatches(hashed("[127.0.0.1]:2222"), "127.0.0.1")).toBe(false);
    expect(hostMatches("|1|broken", "x")).toBe(false);
  });

  it("offers the known key types' algorithms first", () => {
    expect(hostKeyAlgorithms(["ecdsa-sha2-nistp256"]).slice(0, 2)).toEqual([
      "ecdsa-sha2-nistp256",
      "ssh-ed25519",
    ]);
    expect(hostKeyAlgorithms(["ssh-rsa", "ssh-ed25519"])).toEqual([
      "ssh-ed25519",
      "rsa-sha2-512",
      "rsa-sha2-256",
      "ssh-rsa",
      "ecdsa-sha2-nistp256",
      "ecdsa-sha2-nistp384",
      "ecdsa-sha2-nistp521",
    ]);
    expect(hostKeyAlgorithms(["ssh-dss"])).toHaveLength(7); // not offered: ssh2's default order
  });

  it("says known, changed (same or other key type), revoked or unknown", () => {
    const name = "[127.0.0.1]:2222";
    const text = [`other.example ssh-ed25519 ${b64(blob())}`, `${name} ssh-ed25519 ${b64(k1)}`].join("\n");
    expect(checkKnownHosts(text, name, k1)).toEqual({ kind: "known", line: 2 });
    expect(checkKnownHosts(text, name, blob())).toEqual({ kind: "changed", line: 2, keyType: "ssh-ed25519" });
    expect(checkKnownHosts(text, name, k2)).toEqual({ kind: "changed", line: 2, keyType: "ssh-ed25519" });
    expect(checkKnownHosts(text, "127.0.0.1", k1)).toEqual({ kind: "unknown" });
    const revoked = `${text}\n@revoked * ssh-ed25519 ${b64(k1)}\n`;
    expect(checkKnownHosts(revoked, name, k1)).toEqual({ kind: "revoked", line: 3 });
    expect(knownHostsLine(name, k1)).toBe(`${name} ssh-ed25519 ${b64(k1)}\n`);
    expect(checkKnownHosts(knownHostsLine(name, k1), name, k1).kind).toBe("known");
  });
});

describe("host key checker", () => {
  const key = blob();
  const policy = (over: Record<string, unknown> = {}) => ({
    host: "127.0.0.1",
    port: 2222,
    hostKey: null,
    knownHosts: null,
    acceptNewHostKeys: false,
    ...over,
  });

  it("reads ~/.ssh/known_hosts of the home it is given, and a pin takes the place of the file", () => {
    const home = mkdtempSync(join(work, "home-"));
    const checker = new HostKeyChecker(captureLogger().logger, home);
    expect(checker.fileOf(policy())).toBe(join(home, ".ssh/known_hosts"));
    expect(checker.fileOf(policy({ knownHosts: "~/kh" }))).toBe(join(home, "kh"));
    expect(checker.verify(policy(), key)?.message).toMatch(
      /^host key for \[127.0.0.1\]:2222 \(ssh-ed25519 SHA256:.{43}\) is not in .*\/\.ssh\/known_hosts: add it after checking it \(ssh-keyscan -p 2222 127.0.0.1 >> .*known_hosts\), pin it \("hostKey": "SHA256:.{43}" in the hosts file\), or accept new keys \("acceptNewHostKeys": true, or --accept-new-host-keys\)$/,
    );
    expect(checker.verify(policy({ hostKey: fingerprint(key) }), key)).toBeNull();
    // what to ask the host for: ssh2's default without lines for it, or with a pin
    expect(checker.algorithmsFor(policy())).toBeUndefined();
    const ecdsa = blob("ecdsa");
    const kh = join(home, "kh-ecdsa");
    writeFileSync(kh, `[127.0.0.1]:2222 ecdsa-sha2-nistp256 ${b64(ecdsa)}\n`);
    expect(checker.algorithmsFor(policy({ knownHosts: kh }))?.[0]).toBe("ecdsa-sha2-nistp256");
    expect(checker.algorithmsFor(policy({ knownHosts: kh, hostKey: fingerprint(ecdsa) }))).toBeUndefined();
    expect(checker.verify(policy({ hostKey: fingerprint(blob()) }), key)?.message).toMatch(
      /is not the one pinned in the hosts file/,
    );
  });

  it("accepts a new key when asked, appends it (file created 0600) and then knows it", () => {
    const home = mkdtempSync(join(work, "home-"));
    const { logger, records } = captureLogger();
    const checker = new HostKeyChecker(logger, home, true);
    expect(checker.verify(policy({ port: 22 }), key)).toBeNull();
    const file = join(home, ".ssh/known_hosts");
    expect(readFileSync(file, "utf8")).toBe(`127.0.0.1 ssh-ed25519 ${b64(key)}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, ".ssh")).mode & 0o777).toBe(0o700);
    expect(records).toEqual([
      expect.objectContaining({
        level: 40,
        msg: "new host key accepted and added to known_hosts",
        host: "127.0.0.1",
        port: 22,
        fingerprint: fingerprint(key),
        file,
      }),
    ]);
    // a checker that accepts nothing new now knows it; another key for it is a changed key
    const strict = new HostKeyChecker(logger, home);
    expect(strict.verify(policy({ port: 22 }), key)).toBeNull();
    expect(strict.verify(policy({ port: 22 }), blob())?.message).toMatch(
      /does not match .*known_hosts line 1 \(ssh-ed25519\) — possible man-in-the-middle/,
    );
  });

  it("appends after a last line without a newline, and says so when the file cannot be read", () => {
    const file = join(work, "no-newline");
    writeFileSync(file, "# first");
    const checker = new HostKeyChecker(captureLogger().logger, work);
    expect(checker.verify(policy({ knownHosts: file, acceptNewHostKeys: true }), key)).toBeNull();
    expect(readFileSync(file, "utf8").split("\n")).toEqual([
      "# first",
      `[127.0.0.1]:2222 ssh-ed25519 ${b64(key)}`,
      "",
    ]);
    expect(checker.verify(policy({ knownHosts: work }), key)?.message).toMatch(
      /^cannot read the known hosts file .*: EISDIR$/,
    );
  });
});
