import { describe, expect, it } from "vitest";
import type { Individual } from "../../src/core/ga/index.ts";
import { LockstepSynchrony, RESEND_EPOCHS } from "../../src/island/lockstep-synchrony.ts";
import type { Emission } from "../../src/island/synchrony.ts";

const ind = (id: number) => ({ id }) as unknown as Individual;
const ids = (xs: readonly Individual[]) => xs.map((x) => (x as unknown as { id: number }).id);
const counters = () => ({ sent: 0, received: 0, accepted: 0, rejected: 0, dropped: 0 });

function lockstep(inNeighbours: number[], over: { expectMigrants?: boolean; integratedEpoch?: number } = {}) {
  const c = counters();
  const sent: [number, number, number[]][] = [];
  const sync = new LockstepSynchrony({
    send: (n, epoch, migrants) => sent.push([n, epoch, ids(migrants)]),
    counters: c,
    inNeighbours,
    expectMigrants: over.expectMigrants ?? true,
    ...(over.integratedEpoch !== undefined ? { integratedEpoch: over.integratedEpoch } : {}),
  });
  return { sync, c, sent };
}

/** Whether a promise has settled, after the microtasks queued so far have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return done;
}

describe("LockstepSynchrony", () => {
  it("waits for the epoch's emigrants of every in-neighbour and gives them in neighbour-id order", async () => {
    const { sync } = lockstep([5, 2, 9]);
    const got = sync.collect(1);
    sync.arrive(9, 1, [ind(90)]);
    sync.arrive(5, 1, [ind(50), ind(51)]);
    sync.arrive(2, 2, [ind(22)]); // a later epoch does not count for epoch 1
    expect(await settled(got)).toBe(false);
    sync.arrive(2, 1, [ind(20)]);
    expect(ids(await got)).toEqual([20, 50, 51, 90]);
    // epoch 2's early arrival was kept for it
    sync.arrive(5, 2, []);
    sync.arrive(9, 2, [ind(92)]);
    expect(ids(await sync.collect(2))).toEqual([22, 92]);
  });

  it("counts the arrivals it holds for later epochs, which a snapshot leaves out", async () => {
    const { sync, c } = lockstep([1, 2]);
    const got = sync.collect(1);
    sync.arrive(1, 1, [ind(10)]);
    sync.arrive(2, 1, [ind(20)]);
    sync.arrive(1, 2, [ind(11), ind(12)]); // early, for epoch 2
    await got;
    expect(c.received).toBe(4);
    expect(sync.heldForLater()).toBe(2);
    sync.arrive(2, 2, [ind(21)]);
    await sync.collect(2);
    expect(sync.heldForLater()).toBe(0);
  });

  it("never integrates a non-neighbour's batch (rejected), unless a repair makes it an in-neighbour first", async () => {
    const { sync, c } = lockstep([2]);
    sync.arrive(7, 1, [ind(70), ind(71)]); // island 7 is no in-neighbour
    sync.arrive(2, 1, [ind(20)]);
    expect(ids(await sync.collect(1))).toEqual([20]);
    expect(c.rejected).toBe(2);
    sync.arrive(7, 2, [ind(72)]); // arrives before the repair that makes island 7 an in-neighbour
    sync.rewire([2, 7]);
    sync.arrive(2, 2, [ind(22)]);
    expect(ids(await sync.collect(2))).toEqual([22, 72]);
    expect(c.rejected).toBe(2);
  });

  it("a restarted island does not wait for epochs its in-neighbours are past resending", async () => {
    // the island starts afresh at epoch 0; its in-neighbours 3 and 4 resend their last epochs (8, 9, 10)
    const { sync, c } = lockstep([3, 4]);
    const one = sync.collect(1);
    for (const e of [8, 9, 10]) sync.arrive(3, e, [ind(30 + e)]);
    expect(await settled(one)).toBe(false); // island 4 may still send epoch 1
    for (const e of [8, 9, 10]) sync.arrive(4, e, [ind(40 + e)]);
    expect(ids(await one)).toEqual([]);
    for (let e = 2; e <= 7; e++) expect(ids(await sync.collect(e))).toEqual([]);
    expect(ids(await sync.collect(8))).toEqual([38, 48]);
    // at the resent epochs and after, the barrier waits again
    expect(ids(await sync.collect(9))).toEqual([39, 49]);
    expect(ids(await sync.collect(10))).toEqual([40, 50]);
    const eleven = sync.collect(11);
    sync.arrive(3, 11, [ind(311)]);
    expect(await settled(eleven)).toBe(false);
    sync.arrive(4, 11, [ind(411)]);
    expect(ids(await eleven)).toEqual([311, 411]);
    expect(c.rejected).toBe(0);
  });

  it("rejects arrivals for an epoch already integrated and from senders that are not islands", async () => {
    const { sync, c } = lockstep([1]);
    sync.arrive(1, 1, [ind(1)]);
    await sync.collect(1);
    sync.arrive(1, 1, [ind(2), ind(3)]);
    sync.arrive(null, 2, [ind(4)]);
    expect(c).toMatchObject({ received: 4, rejected: 3 });
  });

  it("never waits when nobody sends (k = 0)", async () => {
    const { sync } = lockstep([1, 2], { expectMigrants: false });
    expect(await sync.collect(1)).toEqual([]);
  });

  it("release (stop, coordinator lost) ends a wait at once with what has arrived", async () => {
    const { sync } = lockstep([1, 2]);
    const got = sync.collect(1);
    sync.arrive(2, 1, [ind(2)]);
    expect(await settled(got)).toBe(false);
    sync.release();
    expect(ids(await got)).toEqual([2]);
  });

  it("rewire after a repair: the barrier waits for the new in-neighbours only", async () => {
    const { sync } = lockstep([1, 2]);
    const got = sync.collect(1);
    sync.arrive(1, 1, [ind(1)]);
    expect(await settled(got)).toBe(false);
    sync.rewire([1]); // island 2 was lost
    expect(ids(await got)).toEqual([1]);
  });

  it(`resends the last ${RESEND_EPOCHS} epochs' shares to a new out-neighbour`, () => {
    const { sync, sent } = lockstep([]);
    for (let epoch = 1; epoch <= RESEND_EPOCHS + 1; epoch++) {
      const e: Emission = {
        byNeighbour: new Map([[1, [ind(epoch)]]]),
        forEdge: (edge) => [ind(100 * edge.island + epoch)],
      };
      sync.emit(epoch, e);
    }
    sent.length = 0;
    sync.resend({ island: 4, weight: 1 });
    expect(sent).toEqual(
      Array.from(
        { length: RESEND_EPOCHS },
        (_, i) => [4, i + 2, [400 + i + 2]] as [number, number, number[]],
      ),
    );
  });

  it("a resumed island rejects arrivals up to its snapshot's epoch and has nothing waiting", async () => {
    const { sync, c } = lockstep([1], { integratedEpoch: 4 });
    sync.arrive(1, 4, [ind(1)]);
    sync.arrive(1, 5, [ind(2)]);
    expect(sync.waiting()).toEqual([]);
    expect(c.rejected).toBe(1);
    expect(ids(await sync.collect(5))).toEqual([2]);
  });
});
