import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeIndividual } from "../../../src/core/ga/individual.ts";
import { maskHash, masksEqual, zeros } from "../../../src/core/mask.ts";
import {
  decode,
  encode,
  individualFromMigrant,
  makeMessage,
  migrantFromIndividual,
  R_REPLAY,
  SequenceCounter,
  SequenceTracker,
} from "../../../src/core/protocol/index.ts";
import { ctx, GENOME, header, patternMask } from "./fixtures.ts";

describe("SequenceTracker", () => {
  it("accepts strictly increasing seqs per key and refuses replays and reordering", () => {
    const t = new SequenceTracker();
    expect(t.last("a")).toBeUndefined();
    expect(t.accept("a", 0)).toBe(true);
    expect(t.accept("a", 0)).toBe(false);
    expect(t.accept("a", 5)).toBe(true);
    expect(t.accept("a", 3)).toBe(false);
    expect(t.check("a", 5)).toMatchObject({
      ok: false,
      code: R_REPLAY,
      reason: /seq 5 from a is not after .* 5/,
    });
    expect(t.accept("b", 1)).toBe(true); // keys are independent
    expect(t.last("a")).toBe(5);
    expect(t.check("a", 6)).toEqual({ ok: true });
    expect(t.last("a")).toBe(5); // check does not record
    expect(t.accept("a", -1)).toBe(false);
    expect(t.accept("a", 1.5)).toBe(false);
    t.forget("a");
    expect(t.accept("a", 0)).toBe(true); // a new connection is a new sequence
    expect(SequenceTracker.restore(t.snapshot()).snapshot()).toEqual({ a: 0, b: 1 });
  });

  it("agrees with decode's lastSeq check (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 50 }), { maxLength: 40 }), (seqs) => {
        const t = new SequenceTracker();
        let last: number | undefined;
        for (const seq of seqs) {
          const r = decode(
            encode(makeMessage("heartbeat", header({ seq }), {})),
            ctx({ lastSeq: t.last("p") }),
          );
          const accepted = t.accept("p", seq);
          expect(r.ok).toBe(accepted);
          expect(accepted).toBe(last === undefined || seq > last);
          if (accepted) last = seq;
        }
      }),
    );
  });

  it("SequenceCounter numbers 0, 1, 2, ...", () => {
    const c = new SequenceCounter();
    expect([c.next(), c.next(), c.next()]).toEqual([0, 1, 2]);
  });
});

describe("migrants ⇄ individuals", () => {
  const ind = makeIndividual(patternMask(GENOME, 9), { accuracy: 0.8125, loss: 0.4375 }, "child", 12);

  it("migrantFromIndividual keeps the mask and the metrics", () => {
    const m = migrantFromIndividual(ind);
    expect(m).toEqual({ mask: ind.mask, hash: ind.hash, accuracy: 0.8125, loss: 0.4375, zeros: ind.zeros });
  });

  it("an immigrant has the migrant's own metrics and a mask that shares nothing with the frame", () => {
    const frame = encode(makeMessage("migrants", header(), { migrants: [migrantFromIndividual(ind)] }));
    const r = decode(frame, ctx());
    if (!r.ok || r.message.type !== "migrants") throw new Error("expected migrants");
    const received = r.message.body.migrants[0];
    const imm = individualFromMigrant(received, 30);
    expect(imm).toMatchObject({
      accuracy: 0.8125,
      loss: 0.4375,
      zeros: zeros(ind.mask),
      origin: "immigrant",
      born: 30,
    });
    expect(imm.hash).toBe(maskHash(imm.mask));
    expect(masksEqual(imm.mask, ind.mask)).toBe(true);
    // decode copied the mask out of the frame: overwriting the frame changes nothing
    expect(imm.mask.words.buffer).not.toBe(frame.buffer);
    frame.fill(0);
    expect(masksEqual(imm.mask, ind.mask)).toBe(true);
  });
});
