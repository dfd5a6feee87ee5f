import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildDataset,
  dataStream,
  linspace,
  makeBlobs,
  makeCircles,
  makeMoons,
  type RawSplit,
} from "../../../src/core/datasets/index.ts";
import { Rng } from "../../../src/core/rng.ts";
import { classStats, dataDir, radiusStats, readGzCsv } from "./helpers.ts";

const f64 = (s: { x: Float32Array; y: Int32Array; n: number; features: number }): RawSplit => ({
  n: s.n,
  features: s.features,
  x: Float64Array.from(s.x),
  y: s.y,
});

function labelCounts(s: RawSplit): number[] {
  const counts: number[] = [];
  for (let i = 0; i < s.n; i++) counts[s.y[i]] = (counts[s.y[i]] ?? 0) + 1;
  return counts;
}

/** Longest run of equal consecutive labels: small when rows are shuffled, n/2 when not. */
function longestRun(y: Int32Array): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < y.length; i++) {
    run = i > 0 && y[i] === y[i - 1] ? run + 1 : 1;
    best = Math.max(best, run);
  }
  return best;
}

describe("linspace", () => {
  it("matches numpy for endpoint true and false", () => {
    expect([...linspace(0, 1, 5)]).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect([...linspace(0, 1, 4, false)]).toEqual([0, 0.25, 0.5, 0.75]);
    expect([...linspace(0, Math.PI, 1)]).toEqual([0]);
    expect([...linspace(0, 1, 0)]).toEqual([]);
    expect(linspace(0, Math.PI, 7)[6]).toBe(Math.PI);
  });
});

describe("makeMoons", () => {
  it("puts ⌊n/2⌋ points in class 0 and the rest in class 1 (sklearn's split)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 301 }), (n) => {
        const s = makeMoons(n, 0.07, Rng.derive(1, "moons-test", n));
        expect(s.n).toBe(n);
        expect(s.x.length).toBe(2 * n);
        const counts = labelCounts(s);
        expect(counts[0] ?? 0).toBe(Math.floor(n / 2));
        expect(counts[1]).toBe(n - Math.floor(n / 2));
      }),
    );
  });

  it("without noise lies exactly on the two half circles at evenly spaced angles", () => {
    const s = makeMoons(101, 0, Rng.derive(1, "moons-exact"));
    const out: number[] = [];
    const inn: number[] = [];
    for (let i = 0; i < s.n; i++) {
      const [a, b] = [s.x[2 * i], s.x[2 * i + 1]];
      if (s.y[i] === 0) {
        expect(Math.hypot(a, b)).toBeCloseTo(1, 12);
        expect(b).toBeGreaterThanOrEqual(-1e-12);
        out.push(Math.atan2(b, a));
      } else {
        expect(Math.hypot(a - 1, b - 0.5)).toBeCloseTo(1, 12);
        expect(b).toBeLessThanOrEqual(0.5 + 1e-12);
        inn.push(Math.atan2(0.5 - b, 1 - a));
      }
    }
    const sorted = (v: number[]) => [...v].sort((p, q) => p - q);
    const expectAngles = (got: number[], want: Float64Array) =>
      sorted(got).forEach((t, i) => {
        expect(Math.abs(t - want[i])).toBeLessThan(1e-9);
      });
    expectAngles(out, linspace(0, Math.PI, 50));
    expectAngles(inn, linspace(0, Math.PI, 51));
  });

  it("shuffles the rows", () => {
    const s = makeMoons(2000, 0.07, Rng.derive(1, "moons-shuffle"));
    expect(longestRun(s.y)).toBeLessThan(30);
  });

  it("adds noise of the requested std to every coordinate", () => {
    const s = makeMoons(20000, 0.2, Rng.derive(1, "moons-noise"));
    expect(radiusStats(s, 0).std).toBeGreaterThan(0.18);
    expect(radiusStats(s, 0).std).toBeLessThan(0.22);
  });

  it("is deterministic for a stream and differs between streams", () => {
    const a = makeMoons(500, 0.07, Rng.derive(3, "m"));
    const b = makeMoons(500, 0.07, Rng.derive(3, "m"));
    const c = makeMoons(500, 0.07, Rng.derive(4, "m"));
    expect(a.x).toEqual(b.x);
    expect(a.y).toEqual(b.y);
    expect(a.x).not.toEqual(c.x);
  });

  it("rejects bad arguments", () => {
    expect(() => makeMoons(0, 0.1, Rng.derive(1))).toThrow(/n must be an integer ≥ 1, got 0/);
    expect(() => makeMoons(10.5, 0.1, Rng.derive(1))).toThrow(/got 10.5/);
    expect(() => makeMoons(10, -1, Rng.derive(1))).toThrow(/noise/);
  });

  it("builds 66000 rows in well under a second", () => {
    const t = performance.now();
    makeMoons(66000, 0.07, Rng.derive(1, "moons-speed"));
    expect(performance.now() - t).toBeLessThan(500);
  });
});

describe("makeCircles", () => {
  it("puts ⌊n/2⌋ points on the outer circle and the rest on the inner one", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 301 }),
        fc.double({ min: 0, max: 0.95, noNaN: true }),
        (n, factor) => {
          const s = makeCircles(n, 0, Rng.derive(1, "circles-test", n), factor);
          const counts = labelCounts(s);
          expect(counts[0] ?? 0).toBe(Math.floor(n / 2));
          expect(counts[1]).toBe(n - Math.floor(n / 2));
          for (let i = 0; i < n; i++) {
            const r = Math.hypot(s.x[2 * i], s.x[2 * i + 1]);
            expect(r).toBeCloseTo(s.y[i] === 0 ? 1 : factor, 12);
          }
        },
      ),
    );
  });

  it("uses evenly spaced angles on [0, 2π) (endpoint excluded)", () => {
    const s = makeCircles(8, 0, Rng.derive(1, "circles-angles"));
    const angles = (label: number) => {
      const a: number[] = [];
      for (let i = 0; i < s.n; i++)
        if (s.y[i] === label) a.push((Math.atan2(s.x[2 * i + 1], s.x[2 * i]) + 2 * Math.PI) % (2 * Math.PI));
      return a.sort((p, q) => p - q);
    };
    for (const label of [0, 1])
      angles(label).forEach((t, i) => {
        expect(t).toBeCloseTo((i * Math.PI) / 2, 9);
      });
  });

  it("defaults to factor 0.8 and shuffles", () => {
    const s = makeCircles(4000, 0.07, Rng.derive(1, "circles-default"));
    expect(radiusStats(s, 1).mean).toBeGreaterThan(0.79);
    expect(radiusStats(s, 1).mean).toBeLessThan(0.82);
    expect(longestRun(s.y)).toBeLessThan(30);
  });

  it("rejects a factor outside [0, 1)", () => {
    expect(() => makeCircles(10, 0, Rng.derive(1), 1)).toThrow(/factor/);
  });
});

describe("makeBlobs", () => {
  it("splits n as sklearn does: ⌊n/c⌋ each, the first n mod c blobs one more", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 9 }), (n, c) => {
        const s = makeBlobs(n, c, Rng.derive(1, "blobs-count", n, c));
        const counts = labelCounts(s);
        for (let i = 0; i < c; i++) expect(counts[i] ?? 0).toBe(Math.floor(n / c) + (i < n % c ? 1 : 0));
        expect(s.centers.length).toBe(2 * c);
      }),
    );
  });

  it("draws centres in the box and points around their centre with the cluster std", () => {
    const s = makeBlobs(15000, 3, Rng.derive(1, "blobs-stats"));
    for (const v of s.centers) {
      expect(v).toBeGreaterThanOrEqual(-20);
      expect(v).toBeLessThan(40);
    }
    const stats = classStats(s);
    for (let c = 0; c < 3; c++) {
      const st = stats.get(c)!;
      expect(st.count).toBe(5000);
      for (let j = 0; j < 2; j++) {
        expect(Math.abs(st.mean[j] - s.centers[2 * c + j])).toBeLessThan(0.06);
        expect(Math.abs(st.std[j] - 1)).toBeLessThan(0.04);
      }
    }
    expect(longestRun(s.y)).toBeLessThan(30);
  });

  it("honours centerBox, clusterStd and features", () => {
    const s = makeBlobs(3000, 2, Rng.derive(1, "blobs-opts"), [5, 6], 0.5, 3);
    expect(s.features).toBe(3);
    expect(s.x.length).toBe(9000);
    for (const v of s.centers) expect(v >= 5 && v < 6).toBe(true);
    const st = classStats(s).get(0)!;
    for (let j = 0; j < 3; j++) expect(Math.abs(st.std[j] - 0.5)).toBeLessThan(0.04);
  });
});

describe("against the papers' exact points in data/", () => {
  // Our generator vs scikit-learn's exact points: same class balance, per-class mean and std of each
  // coordinate, and the same shape (radius of the circles / half circles and its spread, i.e. the noise).
  // Tolerances are ~5 standard errors of the difference of two independent draws of this size.
  const cases = [
    { kind: "moons", file: "moons-train.csv.gz", variant: "2024", split: "train", n: 50000 },
    { kind: "moons", file: "moons-test.csv.gz", variant: "2024", split: "test", n: 16000 },
    { kind: "circles", file: "circles-train.csv.gz", variant: "2024", split: "train", n: 50000 },
    { kind: "circles", file: "circles-test.csv.gz", variant: "2024", split: "test", n: 16000 },
  ] as const;

  for (const c of cases) {
    it(`${c.kind} ${c.split} (${c.file}) matches our ${c.kind} 2024 ${c.split} split statistically`, () => {
      const ref = readGzCsv(path.join(dataDir, c.file));
      expect(ref.header).toEqual(["x1", "x2", "label"]);
      expect(ref.n).toBe(c.n);
      const built = buildDataset({ name: c.kind, variant: c.variant, scale: "none" });
      const ours = f64(built[c.split]);
      expect(ours.n).toBe(c.n);

      const a = classStats(ref);
      const b = classStats(ours);
      expect([...a.keys()].sort()).toEqual([0, 1]);
      expect([...b.keys()].sort()).toEqual([0, 1]);
      for (const label of [0, 1]) {
        const ra = a.get(label)!;
        const rb = b.get(label)!;
        expect(rb.count).toBe(ra.count);
        for (let j = 0; j < 2; j++) {
          expect(Math.abs(ra.mean[j] - rb.mean[j])).toBeLessThan(0.006);
          expect(Math.abs(ra.std[j] - rb.std[j])).toBeLessThan(0.006);
        }
        // moons: class 0 around (0, 0), class 1 around (1, 0.5), both radius 1; circles: radii 1 and 0.8
        const [cx, cy] = c.kind === "moons" && label === 1 ? [1, 0.5] : [0, 0];
        const radius = c.kind === "circles" && label === 1 ? 0.8 : 1;
        const sa = radiusStats(ref, label, cx, cy);
        const sb = radiusStats(ours, label, cx, cy);
        expect(Math.abs(sa.mean - radius)).toBeLessThan(0.01);
        expect(Math.abs(sa.mean - sb.mean)).toBeLessThan(0.005);
        expect(Math.abs(sa.std - 0.07)).toBeLessThan(0.003);
        expect(Math.abs(sa.std - sb.std)).toBeLessThan(0.003);
      }
      expect(longestRun(ref.y)).toBeLessThan(40);
      expect(longestRun(ours.y)).toBeLessThan(40);
    });
  }

  it("our generator's moons at the reference size are not a trivially different shape (sanity of the test)", () => {
    const ref = readGzCsv(path.join(dataDir, "moons-train.csv.gz"));
    const wrong = makeMoons(50000, 0.1, dataStream(42, "moons", "train"));
    expect(Math.abs(radiusStats(ref, 0).std - radiusStats(wrong, 0).std)).toBeGreaterThan(0.003);
  });
});
