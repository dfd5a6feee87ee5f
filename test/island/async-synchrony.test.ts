import { describe, expect, it } from "vitest";
import type { Individual } from "../../src/core/ga/index.ts";
import { AsyncSynchrony, inboxCapacity } from "../../src/island/async-synchrony.ts";
import type { Emission } from "../../src/island/synchrony.ts";

// the synchrony only moves individuals around: numbered stand-ins do
const ind = (id: number) => ({ id }) as unknown as Individual;
const ids = (xs: readonly Individual[]) => xs.map((x) => (x as unknown as { id: number }).id);
const counters = () => ({ sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 });

function emission(byNeighbour: [number, number[]][]): Emission {
  return {
    byNeighbour: new Map(byNeighbour.map(([n, xs]) => [n, xs.map(ind)])),
    forEdge: () => [ind(99)],
  };
}

describe("AsyncSynchrony", () => {
  it("sends each out-neighbour its share at once and never resends", () => {
    const sent: [number, number, number[]][] = [];
    const sync = new AsyncSynchrony({
      send: (n, epoch, migrants) => sent.push([n, epoch, ids(migrants)]),
      counters: counters(),
      inNeighbours: [1],
      capacity: 10,
    });
    sync.emit(
      3,
      emission([
        [2, [1, 2]],
        [5, [1]],
      ]),
    );
    sync.resend({ island: 7, weight: 1 });
    expect(sent).toEqual([
      [2, 3, [1, 2]],
      [5, 3, [1]],
    ]);
  });

  it("collects whatever arrived, in arrival order and whatever its epoch, without waiting", async () => {
    const c = counters();
    const sync = new AsyncSynchrony({ send: () => {}, counters: c, inNeighbours: [1, 2], capacity: 10 });
    expect(await sync.collect(1)).toEqual([]);
    sync.arrive(2, 5, [ind(1), ind(2)]);
    sync.arrive(1, 1, [ind(3)]);
    sync.arrive(null, 9, [ind(4)]);
    expect(ids(sync.waiting())).toEqual([1, 2, 3, 4]);
    expect(ids(await sync.collect(2))).toEqual([1, 2, 3, 4]);
    expect(await sync.collect(3)).toEqual([]);
    expect(c.received).toBe(4);
    expect(c.rejected).toBe(0);
  });

  it("bounds the inbox: beyond its capacity the oldest arrivals are dropped and counted as rejected", async () => {
    const c = counters();
    const sync = new AsyncSynchrony({ send: () => {}, counters: c, inNeighbours: [1], capacity: 3 });
    sync.arrive(1, 1, [ind(1), ind(2)]);
    sync.arrive(1, 2, [ind(3), ind(4), ind(5)]);
    expect(ids(await sync.collect(2))).toEqual([3, 4, 5]);
    expect(c).toMatchObject({ received: 5, rejected: 2 });
    expect(inboxCapacity(4, 2)).toBe(32);
    expect(inboxCapacity(0, 0)).toBe(4);
  });

  it("starts with the immigrants a resumed snapshot had waiting", async () => {
    const sync = new AsyncSynchrony({
      send: () => {},
      counters: counters(),
      inNeighbours: [1],
      capacity: 5,
      waiting: [ind(7), ind(8)],
    });
    sync.arrive(1, 4, [ind(9)]);
    expect(ids(await sync.collect(4))).toEqual([7, 8, 9]);
  });
});
