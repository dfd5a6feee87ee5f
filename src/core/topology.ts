// Island topologies as data: a directed graph of which island sends migrants to which, built by pure
// functions from a spec and checked by one validator. Nothing here knows about processes or sockets;
// the coordinator builds a Topology once, hands each island its in- and out-neighbours, repairs
// the graph with `removeIsland` when an island is lost for good, and grows it with `addIsland` when an
// island joins a running (async) search.
//
// A Topology is plain JSON-able data, so it can be written to a checkpoint and read back through
// `validateTopology`. Edges are always sorted by (from, to), have no self-loops and no duplicates.
//
// Edge weights are either all migrant counts or all probabilities (`weights`):
//   "count"       integer ≥ 1: the edge carries weight × k migrants per migration, where k is the run's
//                 migrants-per-edge setting (weight 1, the default, means exactly k);
//   "probability" 0 < p ≤ 1: each of the k migrants is sent along the edge independently with probability p.
// `emigrantsPerEdge` in migration.ts resolves a weight into the migrants actually sent.
//
// Ids are island identities for the whole run: a lost island keeps its id and is listed in `removed`,
// with no edges; connectivity analysis ignores removed islands.
import { E_TOPOLOGY, SltError } from "./errors.ts";
import type { Rng } from "./rng.ts";

export type TopologyKind =
  | "isolated"
  | "ring"
  | "ring2"
  | "full"
  | "star"
  | "torus"
  | "hypercube"
  | "regular"
  | "er"
  | "custom";

export const TOPOLOGY_KINDS: readonly TopologyKind[] = [
  "isolated",
  "ring",
  "ring2",
  "full",
  "star",
  "torus",
  "hypercube",
  "regular",
  "er",
  "custom",
];

export type WeightKind = "count" | "probability";

export interface Edge {
  readonly from: number;
  readonly to: number;
  readonly weight: number;
}

export interface Topology {
  /** how the graph was built (kept after removeIsland repairs it) */
  readonly kind: TopologyKind;
  /** number of island ids, 0 … n−1, including removed ones */
  readonly n: number;
  readonly weights: WeightKind;
  /** directed edges sorted by (from, to); no self-loops, no duplicates, none touching a removed island */
  readonly edges: readonly Edge[];
  /** lost islands, ascending */
  readonly removed: readonly number[];
}

/** What to build, without the island count (see parseTopologySpec / buildTopology). */
export type TopologySpec =
  | { readonly kind: "isolated" | "ring" | "ring2" | "full" | "star" | "hypercube" }
  /** rows × cols must equal n; both omitted = the most nearly square factorisation of n */
  | { readonly kind: "torus"; readonly rows?: number; readonly cols?: number }
  | { readonly kind: "regular"; readonly degree: number }
  | { readonly kind: "er"; readonly p: number; readonly directed: boolean };

export interface WeightOptions {
  /** default "count" */
  readonly weights?: WeightKind;
  /** the weight of every generated edge; default 1 */
  readonly weight?: number;
}

export interface BuildOptions extends WeightOptions {
  /** required for the random kinds ("regular", "er") */
  readonly rng?: Rng;
}

/** Largest island count accepted (a guard against typos such as n = 1e9, not a design limit). */
export const MAX_ISLANDS = 4096;
/** Largest edge count a topology may have. */
export const MAX_EDGES = 1 << 22;

function fail(message: string): never {
  throw new SltError(E_TOPOLOGY, message);
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined)
    return String(value);
  try {
    const s = JSON.stringify(value);
    return s === undefined ? String(value) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(value);
  }
}

function checkN(n: unknown, what = "topology"): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_ISLANDS)
    fail(`${what}: n (the number of islands) must be an integer from 1 to ${MAX_ISLANDS}, got ${show(n)}`);
  return n;
}

function checkWeightKind(w: unknown, field: string): WeightKind {
  if (w !== "count" && w !== "probability") fail(`${field} must be "count" or "probability", got ${show(w)}`);
  return w;
}

/** Throws unless w is a valid weight of this kind. */
export function checkWeight(w: unknown, kind: WeightKind, field: string): number {
  if (kind === "count") {
    if (typeof w !== "number" || !Number.isSafeInteger(w) || w < 1)
      fail(`${field} = ${show(w)} is not a valid migrant count; count weights are integers ≥ 1`);
  } else if (typeof w !== "number" || !Number.isFinite(w) || !(w > 0) || w > 1) {
    fail(`${field} = ${show(w)} is not a valid probability; probability weights satisfy 0 < p ≤ 1`);
  }
  return w;
}

function resolveWeights(o: WeightOptions | undefined): { weights: WeightKind; weight: number } {
  const weights = checkWeightKind(o?.weights ?? "count", "topology option weights");
  const weight = checkWeight(o?.weight ?? 1, weights, "topology option weight");
  return { weights, weight };
}

function compareEdges(a: { from: number; to: number }, b: { from: number; to: number }): number {
  return a.from - b.from || a.to - b.to;
}

function freeze(
  kind: TopologyKind,
  n: number,
  weights: WeightKind,
  edges: Edge[],
  removed: number[],
): Topology {
  edges.sort(compareEdges);
  for (const e of edges) Object.freeze(e);
  return Object.freeze({
    kind,
    n,
    weights,
    edges: Object.freeze(edges),
    removed: Object.freeze(removed),
  });
}

/** From generated (from, to) pairs: drops self-loops and repeats (small dimensions), applies one weight. */
function assemble(
  kind: TopologyKind,
  n: number,
  pairs: Iterable<readonly [number, number]>,
  o: WeightOptions | undefined,
): Topology {
  const { weights, weight } = resolveWeights(o);
  const seen = new Set<number>();
  const edges: Edge[] = [];
  for (const [from, to] of pairs) {
    if (from === to) continue;
    const key = from * n + to;
    if (seen.has(key)) continue;
    seen.add(key);
    edges.push({ from, to, weight });
  }
  if (edges.length > MAX_EDGES)
    fail(`${kind} topology would have ${edges.length} edges; at most ${MAX_EDGES}`);
  return freeze(kind, n, weights, edges, []);
}

function checkEdgeBudget(kind: string, n: number, worst: number): void {
  if (worst > MAX_EDGES)
    fail(`${kind} topology on ${n} islands can have ${worst} edges; at most ${MAX_EDGES} are allowed`);
}

// ---------------------------------------------------------------------------------------------
// Builders

/** No edges: every island evolves alone (connectivity warnings are expected). */
export function isolatedTopology(n: number, o?: WeightOptions): Topology {
  return assemble("isolated", checkN(n), [], o);
}

/** One-way ring: i → i+1 (mod n). n edges for n ≥ 2. */
export function ringTopology(n: number, o?: WeightOptions): Topology {
  checkN(n);
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) pairs.push([i, (i + 1) % n]);
  return assemble("ring", n, pairs, o);
}

/** Two-way ring: i ↔ i+1 (mod n). 2n edges for n ≥ 3 (2 for n = 2). */
export function twoWayRingTopology(n: number, o?: WeightOptions): Topology {
  checkN(n);
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) pairs.push([i, (i + 1) % n], [i, (i + n - 1) % n]);
  return assemble("ring2", n, pairs, o);
}

/** Every island sends to every other: n(n−1) edges. */
export function fullTopology(n: number, o?: WeightOptions): Topology {
  checkN(n);
  checkEdgeBudget("full", n, n * (n - 1));
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) pairs.push([i, j]);
  return assemble("full", n, pairs, o);
}

/** Hub 0 ↔ every other island: 2(n−1) edges. */
export function starTopology(n: number, o?: WeightOptions): Topology {
  checkN(n);
  const pairs: [number, number][] = [];
  for (let i = 1; i < n; i++) pairs.push([0, i], [i, 0]);
  return assemble("star", n, pairs, o);
}

/** The most nearly square rows × cols = n with rows ≤ cols. */
export function squarestDims(n: number): { rows: number; cols: number } {
  checkN(n);
  let rows = 1;
  for (let r = 1; r * r <= n; r++) if (n % r === 0) rows = r;
  return { rows, cols: n / rows };
}

/**
 * 2-D torus: island r·cols + c sends to its 4 neighbours (r±1, c) and (r, c±1), wrapping around.
 * With rows, cols ≥ 3 that is 4n edges; a dimension of 2 makes both neighbours along it the same island
 * and a dimension of 1 makes them the island itself, so those repeats and self-loops are dropped.
 */
export function torusTopology(
  n: number,
  dims?: { rows?: number; cols?: number },
  o?: WeightOptions,
): Topology {
  checkN(n);
  let rows = dims?.rows;
  let cols = dims?.cols;
  if (rows === undefined && cols === undefined) ({ rows, cols } = squarestDims(n));
  else if (rows === undefined || cols === undefined)
    fail(`torus: give both rows and cols or neither, got rows = ${show(rows)}, cols = ${show(cols)}`);
  if (typeof rows !== "number" || !Number.isInteger(rows) || rows < 1)
    fail(`torus: rows must be an integer ≥ 1, got ${show(rows)}`);
  if (typeof cols !== "number" || !Number.isInteger(cols) || cols < 1)
    fail(`torus: cols must be an integer ≥ 1, got ${show(cols)}`);
  if (rows * cols !== n)
    fail(`torus: ${rows}x${cols} has ${rows * cols} islands but n = ${n}; rows × cols must equal n`);
  const pairs: [number, number][] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      pairs.push(
        [i, ((r + rows - 1) % rows) * cols + c],
        [i, ((r + 1) % rows) * cols + c],
        [i, r * cols + ((c + cols - 1) % cols)],
        [i, r * cols + ((c + 1) % cols)],
      );
    }
  }
  return assemble("torus", n, pairs, o);
}

/** Hypercube: n = 2^k; island i sends to i XOR 2^b for each bit b. n·k edges. */
export function hypercubeTopology(n: number, o?: WeightOptions): Topology {
  checkN(n);
  if ((n & (n - 1)) !== 0) {
    const lo = 2 ** Math.floor(Math.log2(n));
    fail(`hypercube: n must be a power of two, got ${n} (nearest: ${lo} or ${lo * 2})`);
  }
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) for (let b = 1; b < n; b <<= 1) pairs.push([i, i ^ b]);
  return assemble("hypercube", n, pairs, o);
}

function checkRng(rng: unknown, kind: string): Rng {
  if (
    typeof rng !== "object" ||
    rng === null ||
    typeof (rng as Rng).next !== "function" ||
    typeof (rng as Rng).int !== "function"
  )
    fail(`${kind}: a seeded Rng is required for a random topology`);
  return rng as Rng;
}

/**
 * Random d-regular graph: undirected, simple, every island has d neighbours; each undirected edge
 * becomes two directed edges, so every in- and out-degree is d. Needs 0 ≤ d < n and n·d even (then
 * such a graph always exists).
 *
 * Construction (deterministic for a given Rng state, never fails, bounded time): start from a
 * circulant graph (i ~ i±1 … i±⌊d/2⌋, plus i ~ i+n/2 when d is odd) and apply 20·|E| attempts of the
 * switch Markov chain (pick two edges {a,b}, {c,d}, rewire to {a,d}, {c,b} if that stays simple). The
 * chain is symmetric and irreducible on simple graphs with a fixed degree sequence, so its limit is
 * the uniform distribution; after 20·|E| attempts the result is approximately uniform. For d > (n−1)/2
 * the complement, an (n−1−d)-regular graph, is built that way and complemented. For d ≥ 3 the result
 * is connected with high probability; disconnection is reported by `analyzeTopology`, not hidden.
 */
export function regularTopology(n: number, degree: number, rng: Rng, o?: WeightOptions): Topology {
  checkN(n);
  if (typeof degree !== "number" || !Number.isInteger(degree) || degree < 0 || degree >= n)
    fail(`regular: degree d must be an integer with 0 ≤ d < n = ${n}, got ${show(degree)}`);
  if ((n * degree) % 2 !== 0)
    fail(`regular: n·d must be even for a d-regular graph, got n = ${n}, d = ${degree}`);
  checkEdgeBudget("regular", n, n * degree);
  const r = checkRng(rng, "regular");
  const pairs: [number, number][] = [];
  for (const [u, v] of regularEdges(n, degree, r)) pairs.push([u, v], [v, u]);
  return assemble("regular", n, pairs, o);
}

/** Undirected edges [u, v] with u < v of a random d-regular graph (see regularTopology). */
function regularEdges(n: number, d: number, rng: Rng): [number, number][] {
  const complement = 2 * d > n - 1;
  const dd = complement ? n - 1 - d : d;
  const key = (u: number, v: number) => (u < v ? u * n + v : v * n + u);
  const edges: [number, number][] = [];
  for (let s = 1; s <= dd >> 1; s++) for (let i = 0; i < n; i++) edges.push([i, (i + s) % n]);
  if (dd % 2 === 1) for (let i = 0; i < n / 2; i++) edges.push([i, i + n / 2]);
  const present = new Set<number>();
  for (const [u, v] of edges) present.add(key(u, v));
  const m = edges.length;
  if (m >= 2) {
    for (let t = 20 * m; t > 0; t--) {
      const i = rng.int(m);
      const j = rng.int(m);
      if (i === j) continue;
      const [a, b] = edges[i];
      let [c, e] = edges[j];
      if (rng.int(2) === 1) [c, e] = [e, c];
      if (a === e || c === b || present.has(key(a, e)) || present.has(key(c, b))) continue;
      present.delete(key(a, b));
      present.delete(key(c, e));
      present.add(key(a, e));
      present.add(key(c, b));
      edges[i] = [a, e];
      edges[j] = [c, b];
    }
  }
  const out: [number, number][] = [];
  if (complement) {
    for (let u = 0; u < n; u++) for (let v = u + 1; v < n; v++) if (!present.has(u * n + v)) out.push([u, v]);
  } else {
    for (const [u, v] of edges) out.push(u < v ? [u, v] : [v, u]);
  }
  return out;
}

/**
 * Erdős–Rényi G(n, p), 0 ≤ p ≤ 1. Directed: each ordered pair i ≠ j is an edge with probability p.
 * Undirected: each pair i < j with probability p, as two directed edges. Pairs are visited in
 * (i, j) order with one draw each, so the graph is a function of the Rng state.
 */
export function erdosRenyiTopology(
  n: number,
  p: number,
  directed: boolean,
  rng: Rng,
  o?: WeightOptions,
): Topology {
  checkN(n);
  if (typeof p !== "number" || !Number.isFinite(p) || p < 0 || p > 1)
    fail(`er: edge probability p must be a number with 0 ≤ p ≤ 1, got ${show(p)}`);
  if (typeof directed !== "boolean") fail(`er: directed must be true or false, got ${show(directed)}`);
  checkEdgeBudget("er", n, n * (n - 1));
  const r = checkRng(rng, "er");
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    for (let j = directed ? 0 : i + 1; j < n; j++) {
      if (i === j) continue;
      if (r.next() < p) {
        pairs.push([i, j]);
        if (!directed) pairs.push([j, i]);
      }
    }
  }
  return assemble("er", n, pairs, o);
}

/** Builds the topology a spec describes on n islands. */
export function buildTopology(spec: TopologySpec, n: number, o?: BuildOptions): Topology {
  if (typeof spec !== "object" || spec === null) fail(`topology spec must be an object, got ${show(spec)}`);
  switch (spec.kind) {
    case "isolated":
      return isolatedTopology(n, o);
    case "ring":
      return ringTopology(n, o);
    case "ring2":
      return twoWayRingTopology(n, o);
    case "full":
      return fullTopology(n, o);
    case "star":
      return starTopology(n, o);
    case "torus":
      return torusTopology(n, spec, o);
    case "hypercube":
      return hypercubeTopology(n, o);
    case "regular":
      return regularTopology(n, spec.degree, o?.rng as Rng, o);
    case "er":
      return erdosRenyiTopology(n, spec.p, spec.directed, o?.rng as Rng, o);
    default:
      return fail(
        `topology spec kind ${show((spec as { kind: unknown }).kind)} is unknown; allowed: ${SPEC_FORMS}`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Spec text (the CLI's --topology), custom edge lists, validation

const SPEC_FORMS =
  "isolated, ring, ring2, full, star, hypercube, torus, torus:RxC, regular:D, er:P, er:P:directed, er:P:undirected, " +
  "custom:FILE (a JSON edge list; the command line reads the file)";

const INT = /^\d+$/;
const FLOAT = /^(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i;

/**
 * Parses a CLI topology string: "isolated", "ring", "ring2", "full", "star", "hypercube", "torus"
 * (square-ish), "torus:4x2", "regular:3", "er:0.3" (directed), "er:0.3:undirected". Sizes are checked
 * later by buildTopology, which knows n.
 */
export function parseTopologySpec(text: string): TopologySpec {
  if (typeof text !== "string") fail(`topology must be a string, got ${show(text)}`);
  const s = text.trim();
  const parts = s.split(":");
  const head = parts[0];
  const bad = (why: string): never => fail(`topology ${show(text)}: ${why}; allowed: ${SPEC_FORMS}`);
  switch (head) {
    case "isolated":
    case "ring":
    case "ring2":
    case "full":
    case "star":
    case "hypercube":
      if (parts.length !== 1) bad(`${head} takes no parameters`);
      return { kind: head };
    case "torus": {
      if (parts.length === 1) return { kind: "torus" };
      const m = parts.length === 2 ? /^(\d+)x(\d+)$/i.exec(parts[1]) : null;
      if (!m) return bad("torus dimensions are written ROWSxCOLS, e.g. torus:4x2");
      return { kind: "torus", rows: Number(m[1]), cols: Number(m[2]) };
    }
    case "regular":
      if (parts.length !== 2 || !INT.test(parts[1]))
        return bad("regular needs an integer degree, e.g. regular:3");
      return { kind: "regular", degree: Number(parts[1]) };
    case "er": {
      if (parts.length < 2 || parts.length > 3 || !FLOAT.test(parts[1]))
        return bad("er needs an edge probability, e.g. er:0.3");
      const p = Number(parts[1]);
      if (p > 1) return bad(`er edge probability must be in [0, 1], got ${parts[1]}`);
      const dir = parts[2] ?? "directed";
      if (dir !== "directed" && dir !== "undirected")
        return bad(`er direction must be directed or undirected`);
      return { kind: "er", p, directed: dir === "directed" };
    }
    case "custom":
      // the file is I/O, which core does not do: the CLI reads it and passes the edge list as an object
      return bad(
        parts.length > 1
          ? "custom:FILE is read by the command line (slt run --topology custom:FILE); in a configuration, give the edge list itself as cluster.topology"
          : "custom needs a file, e.g. custom:edges.json",
      );
    default:
      return bad("unknown topology");
  }
}

/** The spec as parseTopologySpec text (parseTopologySpec(formatTopologySpec(s)) equals s). */
export function formatTopologySpec(spec: TopologySpec): string {
  switch (spec.kind) {
    case "torus":
      return spec.rows === undefined || spec.cols === undefined ? "torus" : `torus:${spec.rows}x${spec.cols}`;
    case "regular":
      return `regular:${spec.degree}`;
    case "er":
      return `er:${spec.p}${spec.directed ? "" : ":undirected"}`;
    default:
      return spec.kind;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkId(v: unknown, n: number, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= n)
    fail(`${field} = ${show(v)} is not an island id; ids are integers from 0 to ${n - 1}`);
  return v;
}

function checkEdges(
  raw: readonly { from: unknown; to: unknown; weight: unknown; field: string }[],
  n: number,
  weights: WeightKind,
  removed: ReadonlySet<number>,
): Edge[] {
  const where = new Map<number, string>();
  const edges: Edge[] = [];
  for (const r of raw) {
    const from = checkId(r.from, n, `${r.field}.from`);
    const to = checkId(r.to, n, `${r.field}.to`);
    if (from === to) fail(`${r.field} is a self-loop ${from}→${to}; an island does not migrate to itself`);
    for (const id of [from, to])
      if (removed.has(id))
        fail(`${r.field} (${from}→${to}) touches island ${id}, which is listed as removed`);
    const weight = checkWeight(r.weight, weights, `${r.field}.weight`);
    const key = from * n + to;
    const before = where.get(key);
    if (before !== undefined)
      fail(`${r.field} duplicates ${before} (${from}→${to}); each edge may appear once`);
    where.set(key, r.field);
    edges.push({ from, to, weight });
  }
  if (edges.length > MAX_EDGES) fail(`topology has ${edges.length} edges; at most ${MAX_EDGES} are allowed`);
  return edges;
}

/**
 * A custom topology from a parsed JSON edge list:
 *   {"n": 4, "weights": "count", "edges": [[0, 1], [1, 2, 2], {"from": 2, "to": 3, "weight": 1}]}
 * `weights` is optional ("count" by default); an edge is [from, to], [from, to, weight] or an object
 * {from, to, weight?}; a missing weight is 1. Ids run from 0 to n−1. Unknown keys are rejected.
 */
export function customTopology(json: unknown): Topology {
  if (!isRecord(json))
    fail(`custom topology must be a JSON object like {"n": 4, "edges": [[0, 1], [1, 2]]}, got ${show(json)}`);
  for (const k of Object.keys(json))
    if (k !== "n" && k !== "edges" && k !== "weights")
      fail(`custom topology: unknown key ${show(k)}; allowed keys: n, edges, weights`);
  const n = checkN(json.n, "custom topology");
  const weights = checkWeightKind(json.weights ?? "count", "custom topology: weights");
  if (!Array.isArray(json.edges))
    fail(
      `custom topology: edges must be an array of [from, to] or [from, to, weight], got ${show(json.edges)}`,
    );
  const raw = json.edges.map((e: unknown, i: number) => {
    const field = `custom topology: edges[${i}]`;
    if (Array.isArray(e)) {
      if (e.length !== 2 && e.length !== 3)
        fail(`${field} = ${show(e)} must be [from, to] or [from, to, weight]`);
      return { from: e[0], to: e[1], weight: e.length === 3 ? e[2] : 1, field };
    }
    if (isRecord(e)) {
      for (const k of Object.keys(e))
        if (k !== "from" && k !== "to" && k !== "weight")
          fail(`${field} has unknown key ${show(k)}; allowed keys: from, to, weight`);
      return { from: e.from, to: e.to, weight: e.weight ?? 1, field };
    }
    return fail(`${field} = ${show(e)} must be [from, to], [from, to, weight] or {from, to, weight}`);
  });
  return freeze("custom", n, weights, checkEdges(raw, n, weights, new Set()), []);
}

/**
 * Checks any value claiming to be a Topology (hand-built, or read back from a checkpoint) and returns
 * a frozen copy with edges sorted. Throws SltError(E_TOPOLOGY) naming the field at fault.
 */
export function validateTopology(value: unknown): Topology {
  if (!isRecord(value)) fail(`topology must be an object, got ${show(value)}`);
  const kind = value.kind;
  if (typeof kind !== "string" || !(TOPOLOGY_KINDS as readonly string[]).includes(kind))
    fail(`topology: kind = ${show(kind)} is unknown; allowed: ${TOPOLOGY_KINDS.join(", ")}`);
  const n = checkN(value.n);
  const weights = checkWeightKind(value.weights, "topology: weights");
  const removedRaw = value.removed ?? [];
  if (!Array.isArray(removedRaw))
    fail(`topology: removed must be an array of island ids, got ${show(removedRaw)}`);
  const removed = removedRaw.map((id: unknown, i: number) => checkId(id, n, `topology: removed[${i}]`));
  removed.sort((a, b) => a - b);
  for (let i = 1; i < removed.length; i++)
    if (removed[i] === removed[i - 1]) fail(`topology: removed lists island ${removed[i]} twice`);
  if (!Array.isArray(value.edges)) fail(`topology: edges must be an array, got ${show(value.edges)}`);
  const raw = value.edges.map((e: unknown, i: number) => {
    if (!isRecord(e)) fail(`topology: edges[${i}] = ${show(e)} must be an object {from, to, weight}`);
    return { from: e.from, to: e.to, weight: e.weight, field: `topology: edges[${i}]` };
  });
  return freeze(kind as TopologyKind, n, weights, checkEdges(raw, n, weights, new Set(removed)), removed);
}

// ---------------------------------------------------------------------------------------------
// Queries

function checkIsland(t: Topology, id: number): void {
  checkId(id, t.n, "island id");
}

/** Edges arriving at island id, sorted by sender id. */
export function inEdges(t: Topology, id: number): Edge[] {
  checkIsland(t, id);
  return t.edges.filter((e) => e.to === id).sort((a, b) => a.from - b.from);
}

/** Edges leaving island id, sorted by receiver id. */
export function outEdges(t: Topology, id: number): Edge[] {
  checkIsland(t, id);
  return t.edges.filter((e) => e.from === id).sort((a, b) => a.to - b.to);
}

/** Ids of the islands that send to id, ascending. */
export function inNeighbours(t: Topology, id: number): number[] {
  return inEdges(t, id).map((e) => e.from);
}

/** Ids of the islands id sends to, ascending. */
export function outNeighbours(t: Topology, id: number): number[] {
  return outEdges(t, id).map((e) => e.to);
}

/** Ids of the islands that are not removed, ascending. */
export function liveIslands(t: Topology): number[] {
  const gone = new Set(t.removed);
  const out: number[] = [];
  for (let i = 0; i < t.n; i++) if (!gone.has(i)) out.push(i);
  return out;
}

export interface DegreeStats {
  /** live (not removed) islands */
  readonly islands: number;
  readonly edges: number;
  /** indexed by island id; 0 for removed islands */
  readonly inDegrees: readonly number[];
  readonly outDegrees: readonly number[];
  readonly minIn: number;
  readonly maxIn: number;
  readonly minOut: number;
  readonly maxOut: number;
  /** edges / live islands (the mean in-degree equals the mean out-degree); 0 without live islands */
  readonly meanDegree: number;
}

export function degreeStats(t: Topology): DegreeStats {
  const inDegrees = new Array<number>(t.n).fill(0);
  const outDegrees = new Array<number>(t.n).fill(0);
  for (const e of t.edges) {
    outDegrees[e.from]++;
    inDegrees[e.to]++;
  }
  const live = liveIslands(t);
  const ins = live.map((i) => inDegrees[i]);
  const outs = live.map((i) => outDegrees[i]);
  const min = (xs: number[]) => (xs.length === 0 ? 0 : Math.min(...xs));
  const max = (xs: number[]) => (xs.length === 0 ? 0 : Math.max(...xs));
  return {
    islands: live.length,
    edges: t.edges.length,
    inDegrees,
    outDegrees,
    minIn: min(ins),
    maxIn: max(ins),
    minOut: min(outs),
    maxOut: max(outs),
    meanDegree: live.length === 0 ? 0 : t.edges.length / live.length,
  };
}

/** Strongly connected components of the live islands: each ascending, ordered by smallest id. */
export function stronglyConnectedComponents(t: Topology): number[][] {
  const out: number[][] = Array.from({ length: t.n }, () => []);
  const inn: number[][] = Array.from({ length: t.n }, () => []);
  for (const e of t.edges) {
    out[e.from].push(e.to);
    inn[e.to].push(e.from);
  }
  const live = liveIslands(t);
  // Kosaraju, iteratively: post-order on the graph, then sweep the reverse graph in reverse post-order.
  const visited = new Uint8Array(t.n);
  const order: number[] = [];
  for (const s of live) {
    if (visited[s]) continue;
    visited[s] = 1;
    const stack: [number, number][] = [[s, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [v, k] = top;
      if (k < out[v].length) {
        top[1]++;
        const w = out[v][k];
        if (!visited[w]) {
          visited[w] = 1;
          stack.push([w, 0]);
        }
      } else {
        stack.pop();
        order.push(v);
      }
    }
  }
  const comp = new Int32Array(t.n).fill(-1);
  const comps: number[][] = [];
  for (let x = order.length - 1; x >= 0; x--) {
    const s = order[x];
    if (comp[s] !== -1) continue;
    const c: number[] = [];
    comp[s] = comps.length;
    const stack = [s];
    while (stack.length > 0) {
      const v = stack.pop()!;
      c.push(v);
      for (const w of inn[v]) {
        if (comp[w] === -1) {
          comp[w] = comps.length;
          stack.push(w);
        }
      }
    }
    c.sort((a, b) => a - b);
    comps.push(c);
  }
  return comps.sort((a, b) => a[0] - b[0]);
}

export interface TopologyAnalysis {
  readonly stronglyConnected: boolean;
  readonly components: readonly (readonly number[])[];
  /** live islands with no in-edges, ascending */
  readonly receiveFromNobody: readonly number[];
  /** live islands with no out-edges, ascending */
  readonly sendToNobody: readonly number[];
  /** human-readable, e.g. "island 3 receives from nobody" */
  readonly warnings: readonly string[];
}

const LIST_LIMIT = 12;

function listIds(ids: readonly number[]): string {
  const shown = ids.slice(0, LIST_LIMIT).join(", ");
  return ids.length > LIST_LIMIT ? `${shown} and ${ids.length - LIST_LIMIT} more` : shown;
}

/**
 * Connectivity problems as warnings, never errors: an island no one sends to never gets migrants, an
 * island that sends to no one never spreads its elite, and a graph that is not strongly connected
 * splits the run into groups some of which can never hear from others. Isolated topologies and
 * single islands get these warnings by design.
 */
export function analyzeTopology(t: Topology): TopologyAnalysis {
  const stats = degreeStats(t);
  const live = liveIslands(t);
  const receiveFromNobody = live.filter((i) => stats.inDegrees[i] === 0);
  const sendToNobody = live.filter((i) => stats.outDegrees[i] === 0);
  const components = stronglyConnectedComponents(t);
  const warnings: string[] = [];
  if (live.length === 0) warnings.push("no islands are left: every island has been removed");
  if (receiveFromNobody.length === 1) warnings.push(`island ${receiveFromNobody[0]} receives from nobody`);
  else if (receiveFromNobody.length > 1)
    warnings.push(`islands ${listIds(receiveFromNobody)} receive from nobody`);
  if (sendToNobody.length === 1) warnings.push(`island ${sendToNobody[0]} sends to nobody`);
  else if (sendToNobody.length > 1) warnings.push(`islands ${listIds(sendToNobody)} send to nobody`);
  if (components.length > 1) {
    const shown = components
      .slice(0, LIST_LIMIT)
      .map((c) => `{${listIds(c)}}`)
      .join(" ");
    const more = components.length > LIST_LIMIT ? ` and ${components.length - LIST_LIMIT} more` : "";
    warnings.push(
      `the graph is not strongly connected (${components.length} components: ${shown}${more}); ` +
        "migrants cannot reach every island from every other",
    );
  }
  return {
    stronglyConnected: components.length <= 1,
    components,
    receiveFromNobody,
    sendToNobody,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// Repair

/**
 * The topology with island id lost and the graph repaired around it. Every edge touching id is
 * dropped; then for each in-neighbour u and out-neighbour v of id with u ≠ v, the edge u → v is added
 * if absent, with weight max(w(u→id), w(id→v)); existing edges are left as they are. So every path
 * that went through the lost island still exists with it skipped: a one-way ring closes into a
 * smaller ring, a two-way ring stays two-way, losing a star's hub joins its leaves all to all, and
 * reachability among the remaining islands is exactly what it was. The id stays reserved (listed in
 * `removed`); `kind` still says how the graph was first built.
 */
export function removeIsland(t: Topology, id: number): Topology {
  checkIsland(t, id);
  if (t.removed.includes(id)) fail(`island ${id} was already removed from the topology`);
  const ins = inEdges(t, id);
  const outs = outEdges(t, id);
  const edges: Edge[] = t.edges.filter((e) => e.from !== id && e.to !== id).map((e) => ({ ...e }));
  const present = new Set(edges.map((e) => e.from * t.n + e.to));
  for (const a of ins) {
    for (const b of outs) {
      const u = a.from;
      const v = b.to;
      if (u === v || present.has(u * t.n + v)) continue;
      present.add(u * t.n + v);
      edges.push({ from: u, to: v, weight: Math.max(a.weight, b.weight) });
    }
  }
  if (edges.length > MAX_EDGES)
    fail(`repaired topology would have ${edges.length} edges; at most ${MAX_EDGES}`);
  const removed = [...t.removed, id].sort((x, y) => x - y);
  return freeze(t.kind, t.n, t.weights, edges, removed);
}

// ---------------------------------------------------------------------------------------------
// Growth (elastic join)

/** A two-way edge pair between a and b, each with weight w. */
function bothWays(a: number, b: number, w: number): Edge[] {
  return [
    { from: a, to: b, weight: w },
    { from: b, to: a, weight: w },
  ];
}

/**
 * The fallback rule: two-way edges to the d live islands with the fewest edges (in + out; ties to the
 * lower id), d = the mean out-degree of the live islands rounded (at least 1, at most every live island).
 */
function fallbackEdges(t: Topology, live: readonly number[], id: number, w: number): Edge[] {
  if (live.length === 0) return [];
  const degree = new Map<number, number>(live.map((i) => [i, 0]));
  for (const e of t.edges) {
    degree.set(e.from, (degree.get(e.from) ?? 0) + 1);
    degree.set(e.to, (degree.get(e.to) ?? 0) + 1);
  }
  const d = Math.min(live.length, Math.max(1, Math.round(t.edges.length / live.length)));
  const chosen = [...live].sort((a, b) => (degree.get(a) ?? 0) - (degree.get(b) ?? 0) || a - b).slice(0, d);
  return chosen.flatMap((i) => bothWays(i, id, w));
}

/**
 * The topology with one more island, the next id (n), wired by a rule per kind (`kind` says how the
 * graph was first built; removed islands get no edges):
 * - isolated: no edges;
 * - ring: inserted between the last live island L and the first F: L → new → F, the edge L → F dropped;
 * - ring2: the same both ways (L ↔ new ↔ F, L ↔ F dropped);
 * - full: both ways to every live island;
 * - star: a leaf, both ways to the hub 0 (when the hub was removed: the fallback);
 * - torus, hypercube, regular, er, custom (their structure has no slot for one more): the fallback,
 *   both ways to the d live islands with the fewest edges, d = their mean out-degree rounded (≥ 1).
 * New edges carry `weight` (default 1; it must fit the topology's weight kind). Existing edges keep theirs.
 */
export function addIsland(t: Topology, o: { weight?: number } = {}): Topology {
  const id = checkN(t.n + 1, "topology after a join") - 1;
  const w = checkWeight(o.weight ?? 1, t.weights, "the new island's edge weight");
  const live = liveIslands(t);
  const first = live[0];
  const last = live[live.length - 1];
  let edges: Edge[] = t.edges.map((e) => ({ ...e }));
  const drop = (from: number, to: number) => {
    edges = edges.filter((e) => !(e.from === from && e.to === to));
  };
  if (live.length > 0 && t.kind === "ring") {
    drop(last, first);
    edges.push({ from: last, to: id, weight: w }, { from: id, to: first, weight: w });
  } else if (live.length > 0 && t.kind === "ring2") {
    drop(last, first);
    drop(first, last);
    edges.push(...bothWays(last, id, w), ...(first === last ? [] : bothWays(first, id, w)));
  } else if (t.kind === "full") {
    edges.push(...live.flatMap((i) => bothWays(i, id, w)));
  } else if (t.kind === "star" && live.includes(0)) {
    edges.push(...bothWays(0, id, w));
  } else if (t.kind !== "isolated") {
    edges.push(...fallbackEdges(t, live, id, w));
  }
  if (edges.length > MAX_EDGES)
    fail(`topology after a join would have ${edges.length} edges; at most ${MAX_EDGES}`);
  return freeze(t.kind, t.n + 1, t.weights, edges, [...t.removed]);
}

// ---------------------------------------------------------------------------------------------
// A run's topology setting: config cluster.topology (spec text, or a custom edge list inline) plus
// cluster.migrationProbability (probability weights for the built-in kinds)

export type TopologyPlan =
  | {
      readonly kind: "spec";
      readonly spec: TopologySpec;
      readonly weights: WeightKind;
      /** the weight of every edge: 1, or the migration probability */
      readonly weight: number;
      /** e.g. "ring", "ring p=0.5" */
      readonly label: string;
    }
  | {
      readonly kind: "custom";
      /** built on its own n; ids are the launchers' island indices */
      readonly topology: Topology;
      readonly weights: WeightKind;
      readonly label: string;
    };

/**
 * Checks a run's topology setting without building anything that needs the island count.
 * `setting` is spec text (parseTopologySpec) or a custom edge list (customTopology); a migration
 * probability p gives every edge of a built-in kind the probability weight p (custom lists carry
 * their own weights, so the two do not mix).
 */
export function planTopology(setting: unknown, migrationProbability?: number): TopologyPlan {
  if (isRecord(setting)) {
    if (migrationProbability !== undefined)
      fail(
        "a migration probability applies to built-in topologies; a custom edge list gives its own weights " +
          '(write "weights": "probability" and a weight per edge instead)',
      );
    const topology = customTopology(setting);
    return {
      kind: "custom",
      topology,
      weights: topology.weights,
      label: `custom (${topology.n} islands, ${topology.edges.length} edges, ${topology.weights} weights)`,
    };
  }
  const spec = parseTopologySpec(setting as string);
  if (migrationProbability === undefined)
    return { kind: "spec", spec, weights: "count", weight: 1, label: formatTopologySpec(spec) };
  const weight = checkWeight(migrationProbability, "probability", "migration probability");
  return {
    kind: "spec",
    spec,
    weights: "probability",
    weight,
    label: `${formatTopologySpec(spec)} p=${weight}`,
  };
}

/**
 * The planned topology on n islands. A custom edge list must have exactly n islands; its ids that are
 * missing from `present` (islands that never joined) are removed as if lost.
 */
export function buildPlannedTopology(
  plan: TopologyPlan,
  n: number,
  o: { rng?: Rng; present?: readonly number[] } = {},
): Topology {
  if (plan.kind === "spec")
    return buildTopology(plan.spec, n, { rng: o.rng, weights: plan.weights, weight: plan.weight });
  if (plan.topology.n !== n)
    fail(`custom topology has n = ${plan.topology.n} islands, but the run has ${n}; the two must agree`);
  let t = plan.topology;
  if (o.present) {
    const here = new Set(o.present);
    for (let id = 0; id < n; id++) if (!here.has(id)) t = removeIsland(t, id);
  }
  return t;
}
