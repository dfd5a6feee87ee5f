// Per-edge migration counts: sent by out-neighbour, accepted/rejected by the in-neighbour that sent them.
import { describe, expect, it } from "vitest";
import { makeIndividual } from "../../src/core/ga/index.ts";
import { EdgeCounters } from "../../src/island/edge-counters.ts";
import { patternMask } from "../core/protocol/fixtures.ts";

const arrival = (salt: number) =>
  makeIndividual(patternMask(64, salt), { accuracy: 0.5, loss: 1 }, "immigrant", 0);

describe("EdgeCounters", () => {
  it("splits sent, accepted and rejected by neighbour, for the current neighbours only", () => {
    const c = new EdgeCounters();
    c.sent(1, 3);
    c.sent(1, 2);
    c.sent(7, 4); // a neighbour no longer wired: not reported
    const from2 = [arrival(1), arrival(2)];
    const from5 = [arrival(3)];
    c.arrived(2, from2);
    c.arrived(5, from5);
    const unknown = arrival(4); // waiting in a snapshot: no sender known
    c.integrated([...from2, ...from5, unknown], new Set([from2[1].hash, from5[0].hash, unknown.hash]));
    expect(c.report([1], [2, 5, 6])).toEqual({
      out: [{ island: 1, sent: 5 }],
      in: [
        { island: 2, accepted: 1, rejected: 1 },
        { island: 5, accepted: 1, rejected: 0 },
        { island: 6, accepted: 0, rejected: 0 },
      ],
    });
  });

  it("two arrivals with the same mask: only as many accepted as entered the population", () => {
    const c = new EdgeCounters();
    const twins = [arrival(9), arrival(9)];
    c.arrived(0, twins);
    c.integrated(twins, new Set([twins[0].hash]));
    expect(c.report([], [0]).in).toEqual([{ island: 0, accepted: 1, rejected: 1 }]);
  });
});
