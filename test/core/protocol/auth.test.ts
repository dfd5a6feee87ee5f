import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  authProof,
  checkProof,
  closeFrameFor,
  decode,
  encode,
  HANDSHAKE_TYPES,
  makeMessage,
  NONCE_BYTES,
  type ProofInput,
  proofText,
  R_AUTH_FAILED,
  type Role,
} from "../../../src/core/protocol/index.ts";
import { ctx, RUN } from "./fixtures.ts";

const SECRET = "per-run secret: 3f9a1c0d7e";
const nonceA = new Uint8Array(NONCE_BYTES).fill(0xa1);
const nonceB = new Uint8Array(NONCE_BYTES).fill(0xb2);

/** B's proof in its challenge to A. */
const bInput: ProofInput = {
  runId: RUN,
  role: "coordinator",
  from: "coordinator",
  theirNonce: nonceA,
  myNonce: nonceB,
};
/** A's proof in its auth to B. */
const aInput: ProofInput = {
  runId: RUN,
  role: "island",
  from: "island-3",
  theirNonce: nonceB,
  myNonce: nonceA,
};

describe("protocol handshake proofs", () => {
  it("signs runId|role|from|theirNonce|myNonce with HMAC-SHA256", () => {
    expect(proofText(aInput)).toBe(`${RUN}|island|island-3|${"b2".repeat(32)}|${"a1".repeat(32)}`);
    const p = authProof(SECRET, aInput);
    expect(p).toHaveLength(32);
    expect(checkProof(SECRET, aInput, p)).toEqual({ ok: true });
    // the same proof from a Uint8Array secret
    expect(authProof(new TextEncoder().encode(SECRET), aInput)).toEqual(p);
  });

  it("a full handshake through the codec authenticates both sides", () => {
    // A → B hello
    const hello = makeMessage(
      "hello",
      { runId: RUN, from: "island-3", epoch: 0, seq: 0 },
      {
        role: "island",
        island: 3,
        host: "node-a",
        pid: 100,
        listen: "ws://10.0.0.2:7001",
        nonce: nonceA,
      },
    );
    const h = decode(encode(hello), ctx({ accept: HANDSHAKE_TYPES }));
    if (!h.ok || h.message.type !== "hello") throw new Error("hello refused");
    // B → A challenge, proving B knows the secret over A's nonce
    const challenge = makeMessage(
      "challenge",
      { runId: RUN, from: "coordinator", epoch: 0, seq: 0 },
      {
        role: "coordinator",
        nonce: nonceB,
        proof: authProof(SECRET, {
          runId: RUN,
          role: "coordinator",
          from: "coordinator",
          theirNonce: h.message.body.nonce,
          myNonce: nonceB,
        }),
      },
    );
    const c = decode(encode(challenge), ctx({ accept: HANDSHAKE_TYPES }));
    if (!c.ok || c.message.type !== "challenge") throw new Error("challenge refused");
    const bProof = {
      runId: RUN,
      role: c.message.body.role,
      from: c.message.from,
      theirNonce: nonceA,
      myNonce: c.message.body.nonce,
    };
    expect(checkProof(SECRET, bProof, c.message.body.proof).ok).toBe(true);
    // A → B auth
    const auth = makeMessage(
      "auth",
      { runId: RUN, from: "island-3", epoch: 0, seq: 1 },
      {
        proof: authProof(SECRET, { ...aInput, theirNonce: c.message.body.nonce }),
      },
    );
    const a = decode(encode(auth), ctx({ accept: HANDSHAKE_TYPES, expectedFrom: "island-3", lastSeq: 0 }));
    if (!a.ok || a.message.type !== "auth") throw new Error("auth refused");
    const aProof = {
      runId: RUN,
      role: h.message.body.role,
      from: a.message.from,
      theirNonce: nonceB,
      myNonce: h.message.body.nonce,
    };
    expect(checkProof(SECRET, aProof, a.message.body.proof).ok).toBe(true);
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
          const input: ProofInput = { runId: RUN, role: r, from: "island-1", theirNonce: n1, myNonce: n2 };
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
