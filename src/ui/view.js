// The one view of a run, for the live dashboard and for `slt report`'s HTML: it takes the events that
// events.jsonl holds, a batch at a time (view.add(events)), keeps per-island series and states, and draws
// them with uPlot (the global `uPlot`, served or inlined from node_modules) and an SVG topology graph.
// Plain browser JavaScript with no build step; it reads only the events, never the network.
// A module script (its names stay its own); it sets window.SltView.
// Memory is bounded: each island keeps at most MAX_POINTS points, halved (every other point) when full.
const MAX_POINTS = 4000;
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const SVG = "http://www.w3.org/2000/svg";

/** The charts: a title, the metric's key in a point, and how its values read. */
const CHARTS = [
  { key: "bestFitness", title: "best fitness" },
  { key: "bestAccuracy", title: "best accuracy" },
  { key: "sparsity", title: "sparsity of the best" },
  { key: "diversity", title: "diversity (mean pairwise Hamming distance)" },
  { key: "evaluationsPerSecond", title: "evaluations per second" },
  { key: "cpuPercent", title: "host CPU %" },
  { key: "memoryPercent", title: "host memory used %" },
  { key: "rssMB", title: "island process memory (RSS, MB)" },
];

/** The most islands the graph draws (the protocol's island ids are bounded far below this anyway). */
const MAX_DRAWN = 1024;
const islandCount = (n) => (Number.isInteger(n) && n > 0 ? Math.min(n, MAX_DRAWN) : 0);
const listOf = (v) => (Array.isArray(v) ? v : []);
const colour = (id) => COLOURS[id % COLOURS.length];

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

const finite = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const fmt = (v, digits) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "–");

/** One chart's point from a report or generation event: every metric, null where absent. */
function pointOf(e) {
  const host = e.host && typeof e.host === "object" ? e.host : {};
  const used = finite(host.memoryUsedBytes);
  const total = finite(host.memoryTotalBytes);
  const rss = finite(host.rssBytes);
  return {
    t: finite(e.t),
    evaluations: finite(e.evaluations),
    bestFitness: finite(e.bestFitness),
    bestAccuracy: finite(e.bestAccuracy),
    sparsity: finite(e.sparsity),
    diversity: finite(e.diversity),
    evaluationsPerSecond: finite(e.evaluationsPerSecond),
    cpuPercent: finite(host.cpuPercent),
    memoryPercent: used !== null && total ? (100 * used) / total : null,
    rssMB: rss !== null ? rss / 2 ** 20 : null,
  };
}

/** An island's record: its points, its state and what the status table shows. */
function newIsland(id) {
  return { id, points: [], state: "starting", host: "", pid: null, restarts: 0, last: null, note: "" };
}

function pushPoint(island, point) {
  island.points.push(point);
  if (island.points.length > MAX_POINTS) island.points = island.points.filter((_, k) => k % 2 === 1);
}

/** The run's state as the events so far say. */
function newModel() {
  return {
    run: {},
    islands: new Map(),
    topology: null,
    /** per edge "from>to": the largest counts reported (an island's counts restart with its process) */
    edges: new Map(),
    ended: null,
    count: 0,
  };
}

function islandOf(model, id) {
  if (!model.islands.has(id)) model.islands.set(id, newIsland(id));
  return model.islands.get(id);
}

function edgeOf(model, from, to) {
  const key = `${from}>${to}`;
  if (!model.edges.has(key)) model.edges.set(key, { from, to, sent: 0, accepted: 0, rejected: 0 });
  return model.edges.get(key);
}

/** Counts are kept for the topology's edges only, so a forged report cannot grow the page's memory. */
function inTopology(model, from, to) {
  return model.topology?.edges.some((e) => e.from === from && e.to === to) ?? false;
}

function applyEdges(model, id, edges) {
  if (!edges || typeof edges !== "object") return;
  const list = (v) => (Array.isArray(v) ? v : []);
  for (const o of list(edges.out)) {
    if (!inTopology(model, id, o?.island)) continue;
    const edge = edgeOf(model, id, o.island);
    edge.sent = Math.max(edge.sent, finite(o.sent) ?? 0);
  }
  for (const i of list(edges.in)) {
    if (!inTopology(model, i?.island, id)) continue;
    const edge = edgeOf(model, i.island, id);
    edge.accepted = Math.max(edge.accepted, finite(i.accepted) ?? 0);
    edge.rejected = Math.max(edge.rejected, finite(i.rejected) ?? 0);
  }
}

function onReport(model, e) {
  const island = islandOf(model, e.island);
  pushPoint(island, pointOf(e));
  island.last = e;
  if (island.state !== "lost" && island.state !== "at cap" && island.state !== "done")
    island.state = "running";
  const restarts = island.restarts > 0 ? `restarted ${island.restarts}×` : "";
  island.note = [e.verdict ? `verdict: ${e.verdict}` : "", restarts].filter(Boolean).join(", ");
  applyEdges(model, e.island, e.edges);
}

const HANDLERS = {
  start(model, e) {
    model.run = { ...model.run, ...e };
  },
  resume(model, e) {
    model.run = { ...model.run, resumed: e };
  },
  generation(model, e) {
    model.run.single = true;
    const island = islandOf(model, 0);
    pushPoint(island, { ...pointOf(e), sparsity: finite(e.sparsity) });
    island.last = e;
    island.state = "running";
  },
  report: onReport,
  assigned(model, e) {
    const island = islandOf(model, e.island);
    island.index = e.index;
    island.host = e.host;
    island.pid = e.pid;
  },
  topology(model, e) {
    model.topology = {
      n: islandCount(e.n),
      edges: listOf(e.edges),
      removed: listOf(e.removed),
      spec: e.spec,
    };
  },
  "topology-repaired"(model, e) {
    if (model.topology)
      model.topology = { ...model.topology, edges: listOf(e.edges), removed: listOf(e.removed) };
  },
  "island-added"(model, e) {
    if (model.topology)
      model.topology = {
        ...model.topology,
        n: islandCount(Math.max(model.topology.n, e.island + 1)),
        edges: listOf(e.edges),
      };
    const island = islandOf(model, e.island);
    island.host = e.host;
    island.pid = e.pid;
  },
  lost(model, e) {
    const island = islandOf(model, e.island);
    island.state = "lost";
    island.note = e.reason || "";
  },
  "island-restarted"(model, e) {
    const island = islandOf(model, e.island);
    island.state = "restarted";
    island.restarts = e.attempt;
    island.pid = e.pid;
    island.note = `restart ${e.attempt} from generation ${e.fromGeneration}`;
  },
  ticket(model, e) {
    const island = islandOf(model, e.island);
    if (!e.afterStop && island.state !== "lost") {
      island.state = "at cap";
      island.note = `ticket at generation ${e.generation}`;
    }
  },
  end(model, e) {
    model.ended = e;
    for (const island of model.islands.values()) if (island.state !== "lost") island.state = "done";
  },
};

/** Aligned uPlot data for one metric: the union of the islands' x values, null where an island has none. */
function alignedData(islands, xKey, key) {
  const rows = [];
  islands.forEach((island, s) => {
    for (const p of island.points) if (p[xKey] !== null && p[key] !== null) rows.push([p[xKey], s, p[key]]);
  });
  rows.sort((a, b) => a[0] - b[0]);
  const xs = [];
  const ys = islands.map(() => []);
  for (const [x, s, y] of rows) {
    if (xs.length === 0 || xs[xs.length - 1] !== x) {
      xs.push(x);
      for (const col of ys) col.push(null);
    }
    ys[s][xs.length - 1] = y;
  }
  return { data: [xs, ...ys], points: rows.length };
}

function chartOptions(title, islands, xLabel, width) {
  return {
    title,
    width,
    height: 220,
    scales: { x: { time: false } },
    axes: [{ label: xLabel }, {}],
    series: [
      { label: xLabel },
      ...islands.map((island) => ({
        label: islands.length === 1 && island.id === 0 ? "population" : `island ${island.id}`,
        stroke: colour(island.id),
        width: 1.5,
        spanGaps: true,
        points: { show: false },
      })),
    ],
  };
}

/** Creates, updates or (when the islands change) recreates one chart. */
function drawChart(slot, spec, islands, xKey, xLabel) {
  const { data, points } = alignedData(islands, xKey, spec.key);
  slot.points = points;
  slot.box.dataset.points = String(points);
  if (points === 0) {
    slot.box.hidden = true;
    return;
  }
  slot.box.hidden = false;
  const shape = `${xKey}|${islands.map((i) => i.id).join(",")}`;
  if (slot.plot && slot.shape === shape) {
    slot.plot.setData(data);
    return;
  }
  slot.plot?.destroy();
  const width = Math.max(320, Math.min(560, slot.box.parentElement.clientWidth - 8 || 480));
  slot.plot = new uPlot(chartOptions(spec.title, islands, xLabel, width), data, slot.box);
  slot.shape = shape;
}

function edgeLabel(edge) {
  return `${edge.from} → ${edge.to}: sent ${edge.sent}, accepted ${edge.accepted}, rejected ${edge.rejected}`;
}

function drawEdge(g, edge, at, migrated) {
  const a = at(edge.from);
  const b = at(edge.to);
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy) || 1;
  // shortened to the node circles, and offset sideways so a→b and b→a do not overlap
  const ox = (-dy / len) * 4;
  const oy = (dx / len) * 4;
  const x1 = a.x + (dx / len) * 16 + ox;
  const y1 = a.y + (dy / len) * 16 + oy;
  const x2 = b.x - (dx / len) * 18 + ox;
  const y2 = b.y - (dy / len) * 18 + oy;
  const line = svg("line", { x1, y1, x2, y2, class: "edge", "marker-end": "url(#slt-arrow)" });
  line.appendChild(svg("title", {}, edgeLabel(migrated)));
  g.appendChild(line);
  if (migrated.sent + migrated.accepted + migrated.rejected > 0) {
    const label = svg(
      "text",
      { x: (x1 + x2) / 2 + ox * 2, y: (y1 + y2) / 2 + oy * 2, class: "edge-label" },
      `${migrated.sent}/${migrated.accepted}/${migrated.rejected}`,
    );
    label.appendChild(svg("title", {}, edgeLabel(migrated)));
    g.appendChild(label);
  }
}

/** The topology as a graph: islands on a circle, an arrow per edge labelled sent/accepted/rejected. */
function drawTopology(box, model) {
  box.replaceChildren();
  const topo = model.topology;
  if (!topo?.n) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const size = 360;
  const r = size / 2 - 40;
  const at = (id) => {
    const angle = (2 * Math.PI * id) / topo.n - Math.PI / 2;
    return { x: size / 2 + r * Math.cos(angle), y: size / 2 + r * Math.sin(angle) };
  };
  const root = svg("svg", { width: size, height: size, viewBox: `0 0 ${size} ${size}`, role: "img" });
  const defs = svg("defs");
  const marker = svg("marker", {
    id: "slt-arrow",
    viewBox: "0 0 10 10",
    refX: 9,
    refY: 5,
    markerWidth: 6,
    markerHeight: 6,
    orient: "auto",
  });
  marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#666" }));
  defs.appendChild(marker);
  root.appendChild(defs);
  const g = svg("g");
  for (const e of topo.edges) drawEdge(g, e, at, edgeOf(model, e.from, e.to));
  for (let id = 0; id < topo.n; id++) {
    const p = at(id);
    const state = topo.removed.includes(id) ? "lost" : (model.islands.get(id)?.state ?? "starting");
    const node = svg("circle", { cx: p.x, cy: p.y, r: 14, class: `node state-${state.replace(" ", "-")}` });
    node.appendChild(svg("title", {}, `island ${id}: ${state}`));
    g.appendChild(node);
    g.appendChild(svg("text", { x: p.x, y: p.y + 4, class: "node-label" }, String(id)));
  }
  root.appendChild(g);
  box.appendChild(el("h3", {}, `topology ${topo.spec ?? ""} (labels: sent/accepted/rejected)`));
  box.appendChild(root);
}

function drawStatus(box, model) {
  const table = el("table", { class: "status" });
  const head = el("tr");
  for (const h of ["island", "state", "host", "pid", "generation", "evaluations", "best fitness", "note"])
    head.appendChild(el("th", {}, h));
  table.appendChild(head);
  for (const island of [...model.islands.values()].sort((a, b) => a.id - b.id)) {
    const row = el("tr", { "data-island": String(island.id), "data-state": island.state });
    const last = island.last || {};
    const cells = [
      model.run.single ? "population" : String(island.id),
      island.state,
      island.host || "",
      island.pid ?? "",
      last.generation ?? "",
      last.evaluations ?? "",
      fmt(last.bestFitness, 4),
      island.note,
    ];
    for (const c of cells) row.appendChild(el("td", {}, String(c)));
    table.appendChild(row);
  }
  box.replaceChildren(table);
}

function drawHeader(box, model) {
  const run = model.run;
  const parts = [
    run.name ? `run ${run.name}` : "run",
    run.seed !== undefined ? `seed ${run.seed}` : "",
    run.islands ? `${run.islands} islands, ${run.topology}, ${run.mode}` : run.single ? "one population" : "",
    model.ended ? `ended: ${model.ended.stopReason} after ${model.ended.evaluations} evaluations` : "running",
  ];
  box.textContent = parts.filter(Boolean).join(" · ");
  box.dataset.ended = model.ended ? "true" : "false";
}

function layout(root) {
  root.replaceChildren();
  const header = el("p", { class: "slt-header" });
  const controls = el("p", { class: "slt-controls" });
  const select = el("select", { "aria-label": "x axis" });
  select.appendChild(el("option", { value: "t" }, "against time (s)"));
  select.appendChild(el("option", { value: "evaluations" }, "against evaluations"));
  controls.append("charts ", select);
  const status = el("div", { class: "slt-status" });
  const topology = el("div", { class: "slt-topology" });
  const grid = el("div", { class: "slt-charts" });
  const slots = CHARTS.map((spec) => {
    const box = el("div", { class: "slt-chart", "data-chart": spec.key });
    box.hidden = true;
    grid.appendChild(box);
    return { spec, box, plot: null, shape: "", points: 0 };
  });
  root.append(header, status, topology, controls, grid);
  return { header, select, status, topology, slots };
}

/** A view drawn into `root`; add(events) takes a batch and redraws at most every 200 ms. */
function create(root) {
  const model = newModel();
  const parts = layout(root);
  let timer = null;
  const render = () => {
    timer = null;
    const islands = [...model.islands.values()].sort((a, b) => a.id - b.id);
    const xKey = parts.select.value;
    const xLabel = xKey === "t" ? "seconds" : "evaluations";
    for (const slot of parts.slots) drawChart(slot, slot.spec, islands, xKey, xLabel);
    drawHeader(parts.header, model);
    drawStatus(parts.status, model);
    drawTopology(parts.topology, model);
  };
  const schedule = () => {
    if (timer === null) timer = setTimeout(render, 200);
  };
  parts.select.addEventListener("change", render);
  return {
    add(events) {
      for (const e of Array.isArray(events) ? events : [events]) {
        if (!e || typeof e !== "object" || typeof e.type !== "string") continue;
        // an island id is a small whole number (the protocol's bound); anything else is no island's
        if ("island" in e && !(Number.isInteger(e.island) && e.island >= 0 && e.island < MAX_DRAWN)) continue;
        model.count++;
        const handle = Object.hasOwn(HANDLERS, e.type) ? HANDLERS[e.type] : null;
        if (handle) handle(model, e);
      }
      schedule();
    },
    /** draws now (a report draws once, at load) */
    render,
    /** read-only hooks for tests: points drawn in the best-fitness chart, events taken, an island's state */
    pointCount: () => parts.slots[0].points,
    eventCount: () => model.count,
    islandState: (id) => model.islands.get(id)?.state ?? null,
  };
}

window.SltView = { create };
