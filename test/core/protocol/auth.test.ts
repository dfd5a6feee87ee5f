import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  authProof,
  checkProof,
  closeFrameFor,
  decode,
  encode,
  FrameSigner,
  FrameVerifier,
  HANDSHAKE_TYPES,
  makeMessage,
  NONCE_BYTES,
  type ProofInput,
  proofText,
  R_AUTH_FAILED,
  R_BAD_TAG,
  type Role,
  sessionKeys,
  TAG_BYTES,
  Transcript,
} from "../../../src/core/protocol/index.ts";
import { ctx, RUN } from "./fixtures.ts";

const SECRET = "per-run secret: 3f9a1c0d7e";
const nonceA = new Uint8Array(NONCE_BYTES).fill(0xa1);
const nonceB = new Uint8Array(NONCE_BYTES).fill(0xb2);
const digest1 = new Uint8Array(32).fill(0xd1);
const digest2 = new Uint8Array(32).fill(0xd2);

/** B's proof in its challenge to A. */
const bInput: ProofInput = {
  runId: RUN,
  role: "coordinator",
  from: "coordinator",
  theirNonce: nonceA,
  myNonce: nonceB,
  transcript: digest1,
};
/** A's proof in its auth to B. */
const aInput: ProofInput = {
  runId: RUN,
  role: "island",
  from: "island-3",
  theirNonce: nonceB,
  myNonce: nonceA,
  transcript: digest2,
};

describe("protocol handshake proofs", () => {
  it("signs runId|role|from|theirNonce|myNonce|transcript with HMAC-SHA256", () => {
    expect(proofText(aInput)).toBe(
      `${RUN}|island|island-3|${"b2".repeat(32)}|${"a1".repeat(32)}|${"d2".repeat(32)}`,
    );
    const p = authProof(SECRET, aInput);
    expect(p).toHaveLength(32);
    expect(checkProof(SECRET, aInput, p)).toEqual({ ok: true });
    // the same proof from a Uint8Array secret
    expect(authProof(new TextEncoder().encode(SECRET), aInput)).toEqual(p);
  });

  it("a full handshake through the codec authenticates both sides and gives them the same frame keys", () => {
    const aT = new Transcript(); // A's view of the handshake
    const bT = new Transcript(); // B's
    // A → B hello
    const helloFrame = encode(
      makeMessage(
        "hello",
        { runId: RUN, from: "island-3", epoch: 0, seq: 0 },
        { role: "island", island: 3, host: "node-a", pid: 100, listen: "ws://10.0.0.2:7001", nonce: nonceA },
      ),
    );
    aT.add(helloFrame);
    const h = decode(helloFrame, ctx({ accept: HANDSHAKE_TYPES }));
    if (!h.ok || h.message.type !== "hello") throw new Error("hello refused");
    bT.add(helloFrame);
    // B → A challenge, proving B knows the secret over A's nonce and the hello
    const challengeFrame = encode(
      makeMessage(
        "challenge",
        { runId: RUN, from: "coordinator", epoch: 0, seq: 0 },
        {
          role: "coordinator",
          nonce: nonceB,
          proof: authProof(SECRET, { ...bInput, theirNonce: h.message.body.nonce, transcript: bT.digest() }),
        },
      ),
    );
    bT.add(challengeFrame);
    const c = decode(challengeFrame, ctx({ accept: HANDSHAKE_TYPES }));
    if (!c.ok || c.message.type !== "challenge") throw new Error("challenge refused");
    const bProof = {
      runId: RUN,
      role: c.message.body.role,
      from: c.message.from,
      theirNonce: nonceA,
      myNonce: c.message.body.nonce,
      transcript: aT.digest(),
    };
    expect(checkProof(SECRET, bProof, c.message.body.proof).ok).toBe(true);
    aT.add(challengeFrame);
    // A → B auth
    const authFrame = encode(
      makeMessage(
        "auth",
        { runId: RUN, from: "island-3", epoch: 0, seq: 1 },
        {
          proof: authProof(SECRET, { ...aInput, theirNonce: c.message.body.nonce, transcript: aT.digest() }),
        },
      ),
    );
    aT.add(authFrame);
    const a = decode(authFrame, ctx({ accept: HANDSHAKE_TYPES, expectedFrom: "island-3", lastSeq: 0 }));
    if (!a.ok || a.message.type !== "auth") throw new Error("auth refused");
    const aProof = {
      runId: RUN,
      role: h.message.body.role,
      from: a.message.from,
      theirNonce: nonceB,
      myNonce: h.message.body.nonce,
      transcript: bT.digest(),
    };
    expect(checkProof(SECRET, aProof, a.message.body.proof).ok).toBe(true);
    bT.add(authFrame);
    // both sides saw the same three frames, so they derive the same keys
    expect(aT.digest()).toEqual(bT.digest());
    expect(sessionKeys(SECRET, RUN, aT.digest())).toEqual(sessionKeys(SECRET, RUN, bT.digest()));
  });

  it("binds the transcript: a hello altered on the way breaks the challenge's proof", () => {
    const sent = new Transcript();
    const received = new Transcript();
    const hello = new Uint8Array([1, 2, 3, 4]);
    sent.add(hello);
    received.add(new Uint8Array([1, 2, 3, 5]));
    const proof = authProof(SECRET, { ...bInput, transcript: received.digest() });
    expect(checkProof(SECRET, { ...bInput, transcript: sent.digest() }, proof)).toMatchObject({
      ok: false,
      code: R_AUTH_FAILED,
    });
    // frame boundaries count too: [1,2] + [3,4] is not [1,2,3,4]
    const split = new Transcript();
    split.add(new Uint8Array([1, 2]));
    split.add(new Uint8Array([3, 4]));
    expect(split.digest()).not.toEqual(sent.digest());
    // digest() does not end the transcript
    expect(sent.digest()).toEqual(sent.digest());
  });

  it("fails with auth-failed (close 4001) for a wrong secret, a missing proof or a short proof", () => {
    const wrong = checkProof(SECRET, aInput, authProof("another secret", aInput));
    expect(wrong).toMatchObject({ ok: false, code: R_AUTH_FAILED, reason: /wrong proof from island-3/ });
    if (!wrong.ok) expect(closeFrameFor(wrong).code).toBe(4001);
    expect(checkProof(SECRET, aInput, undefined)).toMatchObject({
      ok: false,
      code: R_AUTH_FAILED,
      reason: /no proof/,
    });
    expect(checkProof(SECRET, aInput, new Uint8Array(31))).toMatchObject({ ok: false, code: R_AUTH_FAILED });
    expect(checkProof(SECRET, aInput, new Uint8Array(32))).toMatchObject({ ok: false, code: R_AUTH_FAILED });
  });

  it("binds every input: changing run, role, sender or either nonce breaks the proof", () => {
    const p = authProof(SECRET, aInput);
    const other = new Uint8Array(NONCE_BYTES).fill(0xc3);
    const variants: ProofInput[] = [
      { ...aInput, runId: "other-run" },
      { ...aInput, role: "peer" },
      { ...aInput, from: "island-4" },
      { ...aInput, theirNonce: other },
      { ...aInput, myNonce: other },
      { ...aInput, theirNonce: aInput.myNonce, myNonce: aInput.theirNonce }, // nonces swapped
      { ...aInput, transcript: digest1 },
    ];
    for (const v of variants) expect(checkProof(SECRET, v, p).ok).toBe(false);
  });

  it("a proof cannot be reflected: B's challenge proof is not a valid auth for A", () => {
    const bProof = authProof(SECRET, bInput);
    expect(checkProof(SECRET, bInput, bProof).ok).toBe(true);
    expect(checkProof(SECRET, aInput, bProof).ok).toBe(false);
    // nor can an attacker who echoes B's nonce back as its own
    const echoed: ProofInput = { ...aInput, myNonce: nonceB };
    expect(checkProof(SECRET, echoed, authProof(SECRET, echoed))).toMatchObject({
      ok: false,
      code: R_AUTH_FAILED,
    });
  });

  it("only the secret's holder can prove (property: random secrets, roles and nonces)", () => {
    const role = fc.constantFrom<Role>("island", "coordinator", "peer");
    const nonce = fc.uint8Array({ minLength: NONCE_BYTES, maxLength: NONCE_BYTES });
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        role,
        nonce,
        nonce,
        (s1, s2, r, n1, n2) => {
          fc.pre(Buffer.compare(Buffer.from(n1), Buffer.from(n2)) !== 0);
          const input: ProofInput = {
            runId: RUN,
            role: r,
            from: "island-1",
            theirNonce: n1,
            myNonce: n2,
            transcript: digest1,
          };
          expect(checkProof(s1, input, authProof(s1, input)).ok).toBe(true);
          expect(checkProof(s1, input, authProof(s2, input)).ok).toBe(s1 === s2);
        },
      ),
    );
  });

  it("refuses an empty local secret loudly (a launcher bug, not peer input)", () => {
    expect(() => authProof("", aInput)).toThrow(/secret is empty/);
  });
});

describe("frame tags after the handshake", () => {
  const transcript = new Uint8Array(32).fill(7);
  const keys = sessionKeys(SECRET, RUN, transcript);
  const heartbeat = (seq: number) =>
    makeMessage("heartbeat", { runId: RUN, from: "island-3", epoch: 0, seq }, {});

  /** n frames as a Link sends them: encoded with room for the tag, then signed in order. */
  function signed(key: Uint8Array, n: number): Uint8Array[] {
    const signer = new FrameSigner(key);
    return Array.from({ length: n }, (_, i) => {
      const frame = encode(heartbeat(i), TAG_BYTES);
      signer.sign(frame);
      return frame;
    });
  }

  it("one key per direction, fresh for each handshake, run and secret", () => {
    expect(keys.clientToServer).toHaveLength(32);
    expect(keys.clientToServer).not.toEqual(keys.serverToClient);
    const others = [
      sessionKeys(SECRET, RUN, new Uint8Array(32).fill(8)),
      sessionKeys(SECRET, "other-run", transcript),
      sessionKeys("another secret", RUN, transcript),
    ];
    for (const o of others) {
      expect(o.clientToServer).not.toEqual(keys.clientToServer);
      expect(o.serverToClient).not.toEqual(keys.serverToClient);
    }
  });

  it("a signed frame is the frame and its tag; the verifier gives the frame back, in order", () => {
    const frames = signed(keys.clientToServer, 3);
    const verifier = new FrameVerifier(keys.clientToServer);
    for (const [i, tagged] of frames.entries()) {
      expect(tagged.subarray(0, tagged.length - TAG_BYTES)).toEqual(encode(heartbeat(i)));
      const r = verifier.verify(tagged);
      expect(r.ok && r.frame).toEqual(encode(heartbeat(i)));
    }
  });

  it("refuses (bad-tag, close 4025) a frame altered anywhere, short, replayed, reordered, dropped or reflected", () => {
    const [f0, f1, f2] = signed(keys.clientToServer, 3);
    for (let i = 0; i < f0.length; i++) {
      const altered = f0.slice();
      altered[i] ^= 1;
      expect(new FrameVerifier(keys.clientToServer).verify(altered), `byte ${i}`).toMatchObject({
        ok: false,
        code: R_BAD_TAG,
      });
    }
    expect(new FrameVerifier(keys.clientToServer).verify(f0.subarray(0, TAG_BYTES - 1))).toMatchObject({
      ok: false,
      code: R_BAD_TAG,
      reason: /has no 16-byte tag/,
    });
    const replayed = new FrameVerifier(keys.clientToServer);
    expect(replayed.verify(f0).ok).toBe(true);
    expect(replayed.verify(f0)).toMatchObject({ ok: false, code: R_BAD_TAG, reason: /frame 1's tag/ });
    expect(new FrameVerifier(keys.clientToServer).verify(f1).ok).toBe(false); // reordered, or f0 dropped
    const dropped = new FrameVerifier(keys.clientToServer);
    expect(dropped.verify(f0).ok).toBe(true);
    expect(dropped.verify(f2).ok).toBe(false); // f1 dropped
    // reflected: the server checks what it receives with the client-to-server key
    const [fromServer] = signed(keys.serverToClient, 1);
    const reflected = new FrameVerifier(keys.clientToServer).verify(fromServer);
    expect(reflected).toMatchObject({ ok: false, code: R_BAD_TAG });
    if (!reflected.ok) expect(closeFrameFor(reflected).code).toBe(4025);
  });

  it("property: any frame round-trips, any change of one byte is refused", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (f, at, x) => {
          const room = new Uint8Array(f.length + TAG_BYTES);
          room.set(f);
          new FrameSigner(keys.serverToClient).sign(room);
          const r = new FrameVerifier(keys.serverToClient).verify(room);
          expect(r.ok && Buffer.from(r.frame).equals(Buffer.from(f))).toBe(true);
          const altered = room.slice();
          altered[at % altered.length] ^= x;
          expect(new FrameVerifier(keys.serverToClient).verify(altered).ok).toBe(false);
        },
      ),
    );
  });
});
