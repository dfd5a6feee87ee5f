import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { E_TOPOLOGY, isSltError } from "../../src/core/errors.ts";
import { Rng } from "../../src/core/rng.ts";
import {
  addIsland,
  analyzeTopology,
  buildPlannedTopology,
  buildTopology,
  customTopology,
  degreeStats,
  erdosRenyiTopology,
  formatTopologySpec,
  fullTopology,
  hypercubeTopology,
  inNeighbours,
  isolatedTopology,
  liveIslands,
  MAX_ISLANDS,
  outNeighbours,
  parseTopologySpec,
  planTopology,
  regularTopology,
  removeIsland,
  ringTopology,
  squarestDims,
  starTopology,
  stronglyConnectedComponents,
  type Topology,
  type TopologySpec,
  torusTopology,
  twoWayRingTopology,
  validateTopology,
} from "../../src/core/topology.ts";

const seedArb = fc.integer({ min: 0, max: 2 ** 31 });

/** Runs f and returns the SltError it throws (failing the test if it does not throw one of code E_TOPOLOGY). */
function topologyError(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    expect(isSltError(e, E_TOPOLOGY), `expected SltError ${E_TOPOLOGY}, got ${String(e)}`).toBe(true);
    return e as Error;
  }
  throw new Error("expected an E_TOPOLOGY error, but nothing was thrown");
}

function expectTopologyError(f: () => unknown, ...patterns: RegExp[]): void {
  const e = topologyError(f);
  for (const p of patterns) expect(e.message).toMatch(p);
}

/** Structural invariants every topology must satisfy. */
function expectWellFormed(t: Topology): void {
  const keys = new Set<string>();
  for (let i = 0; i < t.edges.length; i++) {
    const e = t.edges[i];
    expect(Number.isInteger(e.from) && e.from >= 0 && e.from < t.n).toBe(true);
    expect(Number.isInteger(e.to) && e.to >= 0 && e.to < t.n).toBe(true);
    expect(e.from).not.toBe(e.to);
    const key = `${e.from}>${e.to}`;
    expect(keys.has(key), `duplicate edge ${key}`).toBe(false);
    keys.add(key);
    if (i > 0) {
      const p = t.edges[i - 1];
      expect(p.from < e.from || (p.from === e.from && p.to < e.to), "edges sorted by (from, to)").toBe(true);
    }
  }
  // the validator accepts it, including after a JSON round trip
  expect(validateTopology(JSON.parse(JSON.stringify(t)))).toEqual(t);
}

function hasEdge(t: Topology, from: number, to: number): boolean {
  return t.edges.some((e) => e.from === from && e.to === to);
}

/** Reachability by BFS among live islands. */
function reachable(t: Topology, from: number): Set<number> {
  const seen = new Set([from]);
  const queue = [from];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of outNeighbours(t, v))
      if (!seen.has(w)) {
        seen.add(w);
        queue.push(w);
      }
  }
  return seen;
}

describe("topology builders: edge counts and degrees", () => {
  const nArb = fc.integer({ min: 1, max: 40 });

  it("isolated has no edges", () => {
    fc.assert(
      fc.property(nArb, (n) => {
        const t = isolatedTopology(n);
        expect(t.edges).toEqual([]);
        expect(t.kind).toBe("isolated");
        expectWellFormed(t);
      }),
    );
  });

  it("one-way ring: n edges, i → i+1, every in- and out-degree 1, strongly connected", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 60 }), (n) => {
        const t = ringTopology(n);
        expect(t.edges.length).toBe(n);
        for (let i = 0; i < n; i++) expect(outNeighbours(t, i)).toEqual([(i + 1) % n]);
        const s = degreeStats(t);
        expect([s.minIn, s.maxIn, s.minOut, s.maxOut]).toEqual([1, 1, 1, 1]);
        expect(analyzeTopology(t).warnings).toEqual([]);
        expectWellFormed(t);
      }),
    );
    expect(ringTopology(1).edges).toEqual([]);
  });

  it("two-way ring: 2n edges for n ≥ 3 (2 for n = 2), symmetric, degree 2", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 60 }), (n) => {
        const t = twoWayRingTopology(n);
        expect(t.edges.length).toBe(2 * n);
        for (const e of t.edges) expect(hasEdge(t, e.to, e.from)).toBe(true);
        for (let i = 0; i < n; i++)
          expect(outNeighbours(t, i)).toEqual([(i + n - 1) % n, (i + 1) % n].sort((a, b) => a - b));
        expect(analyzeTopology(t).stronglyConnected).toBe(true);
        expectWellFormed(t);
      }),
    );
    expect(twoWayRingTopology(2).edges.length).toBe(2);
  });

  it("fully connected: n(n−1) edges, every degree n−1", () => {
    fc.assert(
      fc.property(nArb, (n) => {
        const t = fullTopology(n);
        expect(t.edges.length).toBe(n * (n - 1));
        const s = degreeStats(t);
        expect([s.minIn, s.maxIn, s.minOut, s.maxOut]).toEqual([n - 1, n - 1, n - 1, n - 1]);
        expectWellFormed(t);
      }),
    );
  });

  it("star: 2(n−1) edges between hub 0 and every leaf, both ways", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 60 }), (n) => {
        const t = starTopology(n);
        expect(t.edges.length).toBe(2 * (n - 1));
        expect(outNeighbours(t, 0)).toEqual(Array.from({ length: n - 1 }, (_, i) => i + 1));
        expect(inNeighbours(t, 0)).toEqual(Array.from({ length: n - 1 }, (_, i) => i + 1));
        for (let i = 1; i < n; i++) {
          expect(outNeighbours(t, i)).toEqual([0]);
          expect(inNeighbours(t, i)).toEqual([0]);
        }
        expect(analyzeTopology(t).stronglyConnected).toBe(true);
        expectWellFormed(t);
      }),
    );
  });

  it("torus: 4n edges and degree 4 when rows, cols ≥ 3; small dimensions de-duplicated", () => {
    const along = (d: number) => (d === 1 ? 0 : d === 2 ? 1 : 2);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), (rows, cols) => {
        const n = rows * cols;
        const t = torusTopology(n, { rows, cols });
        const deg = along(rows) + along(cols);
        expect(t.edges.length).toBe(n * deg);
        if (rows >= 3 && cols >= 3) expect(t.edges.length).toBe(4 * n);
        const s = degreeStats(t);
        expect([s.minIn, s.maxIn, s.minOut, s.maxOut]).toEqual([deg, deg, deg, deg]);
        if (n > 1) expect(analyzeTopology(t).stronglyConnected).toBe(true);
        expectWellFormed(t);
      }),
    );
    // island 5 = (1, 1) of a 3x4 torus: up (0,1)=1, down (2,1)=9, left (1,0)=4, right (1,2)=6
    expect(outNeighbours(torusTopology(12, { rows: 3, cols: 4 }), 5)).toEqual([1, 4, 6, 9]);
    // island 0 of a 3x4 torus wraps: up (2,0)=8, down 4, left (0,3)=3, right 1
    expect(outNeighbours(torusTopology(12, { rows: 3, cols: 4 }), 0)).toEqual([1, 3, 4, 8]);
  });

  it("torus without dimensions uses the squarest factorisation", () => {
    expect(squarestDims(12)).toEqual({ rows: 3, cols: 4 });
    expect(squarestDims(16)).toEqual({ rows: 4, cols: 4 });
    expect(squarestDims(7)).toEqual({ rows: 1, cols: 7 });
    expect(torusTopology(16)).toEqual(torusTopology(16, { rows: 4, cols: 4 }));
  });

  it("hypercube: n·log2(n) edges, neighbours differ in exactly one bit", () => {
    for (let k = 0; k <= 7; k++) {
      const n = 2 ** k;
      const t = hypercubeTopology(n);
      expect(t.edges.length).toBe(n * k);
      for (const e of t.edges) {
        const x = e.from ^ e.to;
        expect(x & (x - 1)).toBe(0);
      }
      const s = degreeStats(t);
      expect([s.minIn, s.maxOut]).toEqual([k, k]);
      if (n > 1) expect(analyzeTopology(t).stronglyConnected).toBe(true);
      expectWellFormed(t);
    }
  });

  it("random d-regular: every in- and out-degree is d, undirected, simple", () => {
    const arb = fc
      .tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 39 }), seedArb)
      .filter(([n, d]) => d < n && (n * d) % 2 === 0);
    fc.assert(
      fc.property(arb, ([n, d, seed]) => {
        const t = regularTopology(n, d, Rng.derive(seed, "regular"));
        expect(t.edges.length).toBe(n * d);
        const s = degreeStats(t);
        expect([s.minIn, s.maxIn, s.minOut, s.maxOut]).toEqual([d, d, d, d]);
        for (const e of t.edges) expect(hasEdge(t, e.to, e.from)).toBe(true);
        expectWellFormed(t);
      }),
    );
    // d = n − 1 can only be the complete graph
    expect(regularTopology(7, 6, Rng.derive(1, "r")).edges).toEqual(fullTopology(7).edges);
  });

  it("random d-regular: determined by the seed, varies with it", () => {
    const a = regularTopology(30, 3, Rng.derive(11, "topology"));
    const b = regularTopology(30, 3, Rng.derive(11, "topology"));
    const c = regularTopology(30, 3, Rng.derive(12, "topology"));
    expect(a).toEqual(b);
    expect(c.edges).not.toEqual(a.edges);
    // also for the complement branch (d > (n−1)/2)
    expect(regularTopology(12, 8, Rng.derive(3, "t"))).toEqual(regularTopology(12, 8, Rng.derive(3, "t")));
    expect(regularTopology(12, 8, Rng.derive(3, "t")).edges).not.toEqual(
      regularTopology(12, 8, Rng.derive(4, "t")).edges,
    );
  });

  it("random d-regular samples all shapes about uniformly (2-regular on 6 islands: 60 hexagons, 10 triangle pairs)", () => {
    // Uniform over the 70 labelled 2-regular graphs on 6 vertices means two triangles with p = 1/7.
    const trials = 700;
    let triangles = 0;
    const distinct = new Set<string>();
    for (let seed = 0; seed < trials; seed++) {
      const t = regularTopology(6, 2, Rng.derive(seed, "uniformity"));
      distinct.add(JSON.stringify(t.edges));
      if (stronglyConnectedComponents(t).length === 2) triangles++;
    }
    // mean 100, sd ≈ 9.3: a 5-sd band
    expect(triangles).toBeGreaterThan(53);
    expect(triangles).toBeLessThan(147);
    expect(distinct.size).toBe(70);
  });

  it("Erdős–Rényi: edge count within 5 sd of p·n(n−1) for a given seed; undirected is symmetric", () => {
    const n = 60;
    const p = 0.3;
    const pairs = n * (n - 1);
    const d = erdosRenyiTopology(n, p, true, Rng.derive(2024, "er"));
    const sd = Math.sqrt(pairs * p * (1 - p));
    expect(Math.abs(d.edges.length - pairs * p)).toBeLessThan(5 * sd);
    expectWellFormed(d);

    const u = erdosRenyiTopology(n, p, false, Rng.derive(2024, "er"));
    for (const e of u.edges) expect(hasEdge(u, e.to, e.from)).toBe(true);
    const sdU = Math.sqrt((pairs / 2) * p * (1 - p));
    expect(Math.abs(u.edges.length / 2 - (pairs / 2) * p)).toBeLessThan(5 * sdU);
    expectWellFormed(u);

    expect(erdosRenyiTopology(9, 0, true, Rng.derive(1, "er")).edges).toEqual([]);
    expect(erdosRenyiTopology(9, 1, true, Rng.derive(1, "er")).edges).toEqual(fullTopology(9).edges);
    expect(erdosRenyiTopology(9, 1, false, Rng.derive(1, "er")).edges).toEqual(fullTopology(9).edges);
  });

  it("Erdős–Rényi: determined by the seed (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        seedArb,
        (n, p, seed) => {
          const a = erdosRenyiTopology(n, p, seed % 2 === 0, Rng.derive(seed, "er"));
          const b = erdosRenyiTopology(n, p, seed % 2 === 0, Rng.derive(seed, "er"));
          expect(a).toEqual(b);
          expectWellFormed(a);
        },
      ),
    );
  });

  it("weights: count 1 by default; a uniform weight or probability can be given", () => {
    const t = ringTopology(4);
    expect(t.weights).toBe("count");
    expect(t.edges.every((e) => e.weight === 1)).toBe(true);
    const c = fullTopology(3, { weight: 3 });
    expect(c.edges.every((e) => e.weight === 3)).toBe(true);
    const p = starTopology(4, { weights: "probability", weight: 0.25 });
    expect(p.weights).toBe("probability");
    expect(p.edges.every((e) => e.weight === 0.25)).toBe(true);
  });

  it("topologies are frozen data", () => {
    const t = ringTopology(4);
    expect(() => {
      (t.edges[0] as { from: number }).from = 3;
    }).toThrow(TypeError);
    expect(() => {
      (t.edges as unknown[]).push({ from: 0, to: 2, weight: 1 });
    }).toThrow(TypeError);
  });
});

describe("topology specs", () => {
  it("parses every CLI form and builds it", () => {
    const cases: [string, TopologySpec][] = [
      ["isolated", { kind: "isolated" }],
      ["ring", { kind: "ring" }],
      ["ring2", { kind: "ring2" }],
      ["full", { kind: "full" }],
      ["star", { kind: "star" }],
      ["hypercube", { kind: "hypercube" }],
      ["torus", { kind: "torus" }],
      ["torus:4x2", { kind: "torus", rows: 4, cols: 2 }],
      ["regular:3", { kind: "regular", degree: 3 }],
      ["er:0.3", { kind: "er", p: 0.3, directed: true }],
      ["er:0.3:undirected", { kind: "er", p: 0.3, directed: false }],
    ];
    for (const [text, spec] of cases) {
      expect(parseTopologySpec(text)).toEqual(spec);
      expect(parseTopologySpec(formatTopologySpec(spec))).toEqual(spec);
      const t = buildTopology(spec, 8, { rng: Rng.derive(1, "topology") });
      expect(t.n).toBe(8);
      expect(t.kind).toBe(spec.kind);
    }
    expect(parseTopologySpec(" ring ")).toEqual({ kind: "ring" });
    expect(parseTopologySpec("er:1:directed")).toEqual({ kind: "er", p: 1, directed: true });
    expect(buildTopology({ kind: "torus", rows: 4, cols: 2 }, 8).edges).toEqual(
      torusTopology(8, { rows: 4, cols: 2 }).edges,
    );
  });

  it("rejects malformed spec text, naming it and listing the allowed forms", () => {
    for (const bad of [
      "",
      "rung",
      "ring:3",
      "torus:4by2",
      "torus:4x",
      "regular",
      "regular:x",
      "regular:-1",
      "er",
      "er:abc",
      "er:1.5",
      "er:0.3:sideways",
      "runs/topo.json",
    ])
      expectTopologyError(
        () => parseTopologySpec(bad),
        /allowed: isolated, ring, ring2/,
        new RegExp(JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")),
      );
  });

  it("random kinds need an Rng", () => {
    expectTopologyError(
      () => buildTopology({ kind: "regular", degree: 2 }, 6),
      /regular: a seeded Rng is required/,
    );
    expectTopologyError(() => buildTopology({ kind: "er", p: 0.5, directed: true }, 6), /er: a seeded Rng/);
    expectTopologyError(
      () => buildTopology({ kind: "mesh" } as unknown as TopologySpec, 6),
      /"mesh" is unknown/,
    );
  });
});

describe("custom topologies", () => {
  it("reads arrays and objects, default weight 1, sorted edges", () => {
    const t = customTopology({
      n: 4,
      edges: [[1, 2, 2], [0, 1], { from: 3, to: 0 }, { from: 2, to: 3, weight: 5 }],
    });
    expect(t.kind).toBe("custom");
    expect(t.weights).toBe("count");
    expect(t.edges).toEqual([
      { from: 0, to: 1, weight: 1 },
      { from: 1, to: 2, weight: 2 },
      { from: 2, to: 3, weight: 5 },
      { from: 3, to: 0, weight: 1 },
    ]);
    expect(analyzeTopology(t).warnings).toEqual([]);
    const p = customTopology({
      n: 3,
      weights: "probability",
      edges: [
        [0, 1, 0.5],
        [1, 0],
      ],
    });
    expect(p.edges.map((e) => e.weight)).toEqual([0.5, 1]);
  });

  it("rejects every kind of bad input with a message naming the field, the value and what is allowed", () => {
    expectTopologyError(() => customTopology(null), /must be a JSON object/);
    expectTopologyError(() => customTopology([[0, 1]]), /must be a JSON object/);
    expectTopologyError(
      () => customTopology({ n: 2, edges: [], extra: 1 }),
      /unknown key "extra"; allowed keys: n, edges, weights/,
    );
    expectTopologyError(
      () => customTopology({ n: 2.5, edges: [] }),
      /n \(the number of islands\) must be an integer from 1 to 4096, got 2.5/,
    );
    expectTopologyError(() => customTopology({ n: 0, edges: [] }), /got 0/);
    expectTopologyError(() => customTopology({ n: "4", edges: [] }), /got "4"/);
    expectTopologyError(() => customTopology({ n: MAX_ISLANDS + 1, edges: [] }), /got 4097/);
    expectTopologyError(() => customTopology({ n: 2 }), /edges must be an array/);
    expectTopologyError(
      () => customTopology({ n: 4, edges: [[0, 4]] }),
      /edges\[0\]\.to = 4 is not an island id; ids are integers from 0 to 3/,
    );
    expectTopologyError(
      () =>
        customTopology({
          n: 4,
          edges: [
            [0, 1],
            [-1, 2],
          ],
        }),
      /edges\[1\]\.from = -1 is not an island id/,
    );
    expectTopologyError(() => customTopology({ n: 4, edges: [[0, 1.5]] }), /edges\[0\]\.to = 1.5/);
    expectTopologyError(() => customTopology({ n: 4, edges: [[2, 2]] }), /edges\[0\] is a self-loop 2→2/);
    expectTopologyError(
      () => customTopology({ n: 4, edges: [[0, 1], [1, 2], { from: 0, to: 1 }] }),
      /edges\[2\] duplicates custom topology: edges\[0\] \(0→1\)/,
    );
    expectTopologyError(
      () => customTopology({ n: 4, edges: [[0, 1, 0]] }),
      /edges\[0\]\.weight = 0 is not a valid migrant count; count weights are integers ≥ 1/,
    );
    expectTopologyError(
      () => customTopology({ n: 4, edges: [[0, 1, 1.5]] }),
      /weight = 1.5 is not a valid migrant count/,
    );
    expectTopologyError(() => customTopology({ n: 4, edges: [[0, 1, "2"]] }), /weight = "2"/);
    expectTopologyError(
      () => customTopology({ n: 4, weights: "probability", edges: [[0, 1, 1.5]] }),
      /weight = 1.5 is not a valid probability; probability weights satisfy 0 < p ≤ 1/,
    );
    expectTopologyError(
      () => customTopology({ n: 4, weights: "probability", edges: [[0, 1, 0]] }),
      /weight = 0 is not a valid probability/,
    );
    expectTopologyError(
      () => customTopology({ n: 4, weights: "fraction", edges: [] }),
      /weights must be "count" or "probability", got "fraction"/,
    );
    expectTopologyError(
      () => customTopology({ n: 4, edges: [[0]] }),
      /edges\[0\] = \[0\] must be \[from, to\] or \[from, to, weight\]/,
    );
    expectTopologyError(() => customTopology({ n: 4, edges: [[0, 1, 1, 1]] }), /must be \[from, to\]/);
    expectTopologyError(() => customTopology({ n: 4, edges: ["0-1"] }), /edges\[0\] = "0-1" must be/);
    expectTopologyError(
      () => customTopology({ n: 4, edges: [{ from: 0, to: 1, w: 2 }] }),
      /unknown key "w"; allowed keys: from, to, weight/,
    );
  });
});

describe("builder validation", () => {
  it("rejects bad island counts", () => {
    for (const n of [0, -1, 2.5, Number.NaN, MAX_ISLANDS + 1])
      expectTopologyError(
        () => ringTopology(n),
        /n \(the number of islands\) must be an integer from 1 to 4096/,
      );
    expectTopologyError(() => fullTopology(3000), /full topology on 3000 islands can have 8997000 edges/);
  });

  it("rejects torus size mismatches", () => {
    expectTopologyError(
      () => torusTopology(6, { rows: 4, cols: 2 }),
      /torus: 4x2 has 8 islands but n = 6; rows × cols must equal n/,
    );
    expectTopologyError(
      () => buildTopology(parseTopologySpec("torus:4x2"), 9),
      /4x2 has 8 islands but n = 9/,
    );
    expectTopologyError(() => torusTopology(8, { rows: 4 }), /give both rows and cols or neither/);
    expectTopologyError(() => torusTopology(8, { rows: 0, cols: 8 }), /rows must be an integer ≥ 1, got 0/);
    expectTopologyError(
      () => torusTopology(8, { rows: 2, cols: 4.5 }),
      /cols must be an integer ≥ 1, got 4.5/,
    );
  });

  it("rejects hypercubes whose size is not a power of two", () => {
    expectTopologyError(
      () => hypercubeTopology(6),
      /hypercube: n must be a power of two, got 6 \(nearest: 4 or 8\)/,
    );
    expectTopologyError(() => hypercubeTopology(12), /got 12/);
  });

  it("rejects impossible regular graphs", () => {
    const rng = Rng.derive(1, "r");
    expectTopologyError(() => regularTopology(5, 3, rng), /n·d must be even .* n = 5, d = 3/);
    expectTopologyError(
      () => regularTopology(5, 5, rng),
      /degree d must be an integer with 0 ≤ d < n = 5, got 5/,
    );
    expectTopologyError(() => regularTopology(5, -2, rng), /got -2/);
    expectTopologyError(() => regularTopology(6, 1.5, rng), /got 1.5/);
  });

  it("rejects bad Erdős–Rényi probabilities and bad generator weights", () => {
    const rng = Rng.derive(1, "er");
    expectTopologyError(
      () => erdosRenyiTopology(5, 1.2, true, rng),
      /er: edge probability p must be a number with 0 ≤ p ≤ 1, got 1.2/,
    );
    expectTopologyError(() => erdosRenyiTopology(5, -0.1, true, rng), /got -0.1/);
    expectTopologyError(() => erdosRenyiTopology(5, Number.NaN, true, rng), /got NaN/);
    expectTopologyError(() => ringTopology(4, { weight: 0 }), /weight = 0 is not a valid migrant count/);
    expectTopologyError(
      () => ringTopology(4, { weights: "probability", weight: 2 }),
      /weight = 2 is not a valid probability/,
    );
  });

  it("validateTopology rejects hand-made topologies that break the rules", () => {
    const good = {
      kind: "ring",
      n: 3,
      weights: "count",
      edges: [{ from: 0, to: 1, weight: 1 }],
      removed: [],
    };
    expect(validateTopology(good).edges.length).toBe(1);
    expectTopologyError(() => validateTopology({ ...good, kind: "mesh" }), /kind = "mesh" is unknown/);
    expectTopologyError(
      () => validateTopology({ ...good, weights: undefined }),
      /weights must be "count" or "probability"/,
    );
    expectTopologyError(
      () => validateTopology({ ...good, removed: [1] }),
      /edges\[0\] \(0→1\) touches island 1, which is listed as removed/,
    );
    expectTopologyError(() => validateTopology({ ...good, removed: [2, 2] }), /removed lists island 2 twice/);
    expectTopologyError(
      () => validateTopology({ ...good, removed: [3] }),
      /removed\[0\] = 3 is not an island id/,
    );
    expectTopologyError(
      () => validateTopology({ ...good, edges: [[0, 1]] }),
      /edges\[0\] = \[0,1\] must be an object/,
    );
  });
});

describe("connectivity analysis", () => {
  it("isolated islands get warnings by design", () => {
    const a = analyzeTopology(isolatedTopology(4));
    expect(a.stronglyConnected).toBe(false);
    expect(a.components).toEqual([[0], [1], [2], [3]]);
    expect(a.warnings).toEqual([
      "islands 0, 1, 2, 3 receive from nobody",
      "islands 0, 1, 2, 3 send to nobody",
      "the graph is not strongly connected (4 components: {0} {1} {2} {3}); migrants cannot reach every island from every other",
    ]);
  });

  it("names a single island that receives from nobody and the components", () => {
    const t = customTopology({
      n: 4,
      edges: [
        [0, 1],
        [1, 2],
        [2, 0],
        [3, 0],
      ],
    });
    const a = analyzeTopology(t);
    expect(a.receiveFromNobody).toEqual([3]);
    expect(a.sendToNobody).toEqual([]);
    expect(a.warnings[0]).toBe("island 3 receives from nobody");
    expect(a.warnings[1]).toMatch(/not strongly connected \(2 components: \{0, 1, 2\} \{3\}\)/);
  });

  it("lists long id sets briefly", () => {
    const a = analyzeTopology(isolatedTopology(30));
    expect(a.warnings[0]).toBe(
      "islands 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 18 more receive from nobody",
    );
  });

  it("strongly connected components agree with reachability (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 14 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        seedArb,
        (n, p, seed) => {
          const t = erdosRenyiTopology(n, p, true, Rng.derive(seed, "scc"));
          const reach = Array.from({ length: n }, (_, i) => reachable(t, i));
          const comps = stronglyConnectedComponents(t);
          expect(comps.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
          for (let u = 0; u < n; u++)
            for (let v = 0; v < n; v++) {
              const same = comps.some((c) => c.includes(u) && c.includes(v));
              expect(same).toBe(reach[u].has(v) && reach[v].has(u));
            }
          expect(analyzeTopology(t).stronglyConnected).toBe(comps.length === 1);
        },
      ),
    );
  });

  it("neighbour lists are sorted by id; degree stats", () => {
    const t = customTopology({
      n: 5,
      edges: [
        [4, 0],
        [2, 0],
        [0, 3],
        [0, 1],
        [3, 0],
      ],
    });
    expect(inNeighbours(t, 0)).toEqual([2, 3, 4]);
    expect(outNeighbours(t, 0)).toEqual([1, 3]);
    const s = degreeStats(t);
    expect(s.inDegrees).toEqual([3, 1, 0, 1, 0]);
    expect(s.outDegrees).toEqual([2, 0, 1, 1, 1]);
    expect([s.minIn, s.maxIn, s.minOut, s.maxOut, s.meanDegree]).toEqual([0, 3, 0, 2, 1]);
    expectTopologyError(
      () => inNeighbours(t, 5),
      /island id = 5 is not an island id; ids are integers from 0 to 4/,
    );
  });
});

describe("removeIsland", () => {
  it("closes a one-way ring around the lost island", () => {
    const t = removeIsland(ringTopology(5), 2);
    expect(t.removed).toEqual([2]);
    expect(t.kind).toBe("ring");
    expect(hasEdge(t, 1, 3)).toBe(true);
    expect(t.edges.length).toBe(4);
    expect(inNeighbours(t, 2)).toEqual([]);
    expect(outNeighbours(t, 2)).toEqual([]);
    expect(analyzeTopology(t).warnings).toEqual([]);
    expect(liveIslands(t)).toEqual([0, 1, 3, 4]);
    expectWellFormed(t);
  });

  it("keeps a ring one strongly connected cycle whatever islands are lost, in any order (property)", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 30 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: n - 1 }),
            ),
          ),
        fc.boolean(),
        ([n, lost], twoWay) => {
          let t = twoWay ? twoWayRingTopology(n) : ringTopology(n);
          for (const id of lost) t = removeIsland(t, id);
          const live = liveIslands(t);
          const a = analyzeTopology(t);
          expect(a.stronglyConnected).toBe(true);
          const s = degreeStats(t);
          if (live.length >= 2) {
            const d = twoWay && live.length >= 3 ? 2 : 1;
            expect([s.minIn, s.maxIn, s.minOut, s.maxOut]).toEqual([d, d, d, d]);
          }
          // a one-way ring stays the cycle of the live islands in id order
          if (!twoWay && live.length >= 2)
            live.forEach((v, i) => {
              expect(outNeighbours(t, v)).toEqual([live[(i + 1) % live.length]]);
            });
          expectWellFormed(t);
        },
      ),
    );
  });

  it("preserves reachability among the remaining islands of any graph (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.double({ min: 0, max: 0.6, noNaN: true }),
        seedArb,
        (n, p, seed) => {
          const rng = Rng.derive(seed, "remove");
          const t = erdosRenyiTopology(n, p, true, rng);
          const id = rng.int(n);
          const r = removeIsland(t, id);
          expectWellFormed(r);
          for (let u = 0; u < n; u++) {
            if (u === id) continue;
            const before = reachable(t, u);
            const after = reachable(r, u);
            for (let v = 0; v < n; v++) if (v !== id) expect(after.has(v)).toBe(before.has(v));
          }
        },
      ),
    );
  });

  it("a lost star hub joins the leaves all to all; weights are the max of the two bridged edges", () => {
    const t = removeIsland(starTopology(4), 0);
    expect(t.edges.map((e) => [e.from, e.to])).toEqual([
      [1, 2],
      [1, 3],
      [2, 1],
      [2, 3],
      [3, 1],
      [3, 2],
    ]);
    const w = customTopology({
      n: 4,
      edges: [
        [0, 1, 2],
        [1, 2, 5],
        [3, 1, 1],
        [1, 3, 1],
        [3, 2, 7],
      ],
    });
    const r = removeIsland(w, 1);
    // 0→1 (2) + 1→2 (5) → 0→2 weight 5; 0→1 + 1→3 (1) → 0→3 weight 2; 3→1 + 1→2: 3→2 exists, kept at 7
    expect(r.edges).toEqual([
      { from: 0, to: 2, weight: 5 },
      { from: 0, to: 3, weight: 2 },
      { from: 3, to: 2, weight: 7 },
    ]);
  });

  it("rejects an unknown or already removed island", () => {
    const t = removeIsland(ringTopology(4), 1);
    expectTopologyError(() => removeIsland(t, 1), /island 1 was already removed/);
    expectTopologyError(() => removeIsland(t, 4), /island id = 4 is not an island id/);
    let all = t;
    for (const id of [0, 2, 3]) all = removeIsland(all, id);
    expect(analyzeTopology(all).warnings).toEqual(["no islands are left: every island has been removed"]);
  });
});

describe("a run's topology setting", () => {
  it("plans built-in kinds with count or probability weights", () => {
    const ring = planTopology("ring");
    expect(ring).toMatchObject({ kind: "spec", weights: "count", weight: 1, label: "ring" });
    expect(buildPlannedTopology(ring, 3).edges).toEqual(ringTopology(3).edges);
    const p = planTopology("torus:2x2", 0.25);
    expect(p).toMatchObject({ weights: "probability", weight: 0.25, label: "torus:2x2 p=0.25" });
    const t = buildPlannedTopology(p, 4);
    expect(t.weights).toBe("probability");
    expect(t.edges.every((e) => e.weight === 0.25)).toBe(true);
    expectTopologyError(
      () => planTopology("ring", 0),
      /migration probability = 0 is not a valid probability/,
    );
    expectTopologyError(() => planTopology("ring", 1.5), /0 < p ≤ 1/);
  });

  it("plans custom edge lists on their own n and removes ids that never joined", () => {
    const plan = planTopology({
      n: 3,
      weights: "probability",
      edges: [
        [0, 1, 0.5],
        [1, 2, 1],
        [2, 0, 1],
      ],
    });
    expect(plan).toMatchObject({
      kind: "custom",
      weights: "probability",
      label: "custom (3 islands, 3 edges, probability weights)",
    });
    expect(buildPlannedTopology(plan, 3).edges).toHaveLength(3);
    // island 1 never joined: the ring closes around it, as when an island is lost
    const without1 = buildPlannedTopology(plan, 3, { present: [0, 2] });
    expect(without1.removed).toEqual([1]);
    expect(without1.edges).toEqual([
      { from: 0, to: 2, weight: 1 },
      { from: 2, to: 0, weight: 1 },
    ]);
    expectTopologyError(() => buildPlannedTopology(plan, 4), /n = 3 islands, but the run has 4/);
    expectTopologyError(
      () => planTopology({ n: 2, edges: [[0, 1]] }, 0.5),
      /a migration probability applies to built-in topologies/,
    );
    expectTopologyError(
      () => planTopology({ n: 2, edges: [[0, 3]] }),
      /edges\[0\]\.to = 3 is not an island id/,
    );
  });

  it("custom:FILE text is the command line's to read", () => {
    expectTopologyError(
      () => parseTopologySpec("custom:edges.json"),
      /custom:FILE is read by the command line/,
    );
    expectTopologyError(() => parseTopologySpec("custom"), /custom needs a file/);
  });
});

describe("addIsland", () => {
  const pairs = (t: Topology) => t.edges.map((e) => [e.from, e.to]);

  it("inserts a ring's new island between the last and the first", () => {
    const t = addIsland(ringTopology(4));
    expect(t.n).toBe(5);
    expect(pairs(t)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 0],
    ]);
    expect(analyzeTopology(t).warnings).toEqual([]);
    expectWellFormed(t);
  });

  it("grows a ring of one into a ring of two, and a repaired ring between its live ends", () => {
    expect(pairs(addIsland(ringTopology(1)))).toEqual([
      [0, 1],
      [1, 0],
    ]);
    const t = addIsland(removeIsland(ringTopology(4), 3));
    expect(t.removed).toEqual([3]);
    expect(hasEdge(t, 2, 4) && hasEdge(t, 4, 0) && !hasEdge(t, 2, 0)).toBe(true);
    expect(analyzeTopology(t).warnings).toEqual([]);
  });

  it("keeps a two-way ring two-way", () => {
    const t = addIsland(twoWayRingTopology(4));
    expect(t.edges.length).toBe(10);
    expect(hasEdge(t, 3, 0) || hasEdge(t, 0, 3)).toBe(false);
    for (const [a, b] of [
      [3, 4],
      [4, 0],
    ])
      expect(hasEdge(t, a, b) && hasEdge(t, b, a)).toBe(true);
    expectWellFormed(t);
  });

  it("connects a full topology's new island both ways to every live island", () => {
    const t = addIsland(removeIsland(fullTopology(4), 1));
    expect(inNeighbours(t, 4)).toEqual([0, 2, 3]);
    expect(outNeighbours(t, 4)).toEqual([0, 2, 3]);
  });

  it("makes a star's new island a leaf of the hub, and an isolated one stays alone", () => {
    const star = addIsland(starTopology(3));
    expect(inNeighbours(star, 3)).toEqual([0]);
    expect(outNeighbours(star, 3)).toEqual([0]);
    const alone = addIsland(isolatedTopology(3));
    expect(alone.n).toBe(4);
    expect(alone.edges).toEqual([]);
  });

  it("falls back to two-way edges with the least connected islands (torus, hub-less star)", () => {
    // a 2×3 torus: every island has 3 out-edges, so the new one links to islands 0, 1 and 2
    const torus = addIsland(torusTopology(6));
    expect(outNeighbours(torus, 6)).toEqual([0, 1, 2]);
    expect(inNeighbours(torus, 6)).toEqual([0, 1, 2]);
    const hubless = addIsland(removeIsland(starTopology(4), 0));
    expect(outNeighbours(hubless, 4).length).toBeGreaterThan(0);
    expect(analyzeTopology(hubless).warnings).toEqual([]);
  });

  it("gives new edges the weight asked for, checked against the weight kind", () => {
    const p = addIsland(ringTopology(3, { weights: "probability", weight: 0.5 }), { weight: 0.5 });
    expect(p.edges.filter((e) => e.from === 3 || e.to === 3).map((e) => e.weight)).toEqual([0.5, 0.5]);
    expectTopologyError(() => addIsland(ringTopology(3), { weight: 0.5 }), /weight/);
    expectTopologyError(() => addIsland(isolatedTopology(MAX_ISLANDS)), /4096/);
  });
});
