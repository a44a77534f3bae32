// tilectl gui: the topology graph and the tile table, fed by /api/v1/stream
// (SSE) after one GET of /api/v1/snapshot. Names from the server go into the
// DOM as text, never as markup.
(() => {
'use strict';

const AGGREGATE_ABOVE = 12; // a kind with more tiles is drawn as one node
const NODE_W = 184, NODE_H = 66, GAP_Y = 14, COL_GAP = 168, PAD = 14;
const BAR_X = 10, BAR_W = NODE_W - 20; // the busy bar along a node's foot
const LABEL_GAP = 15; // least vertical distance between two edge labels
const SPARK_W = 120, SPARK_H = 20;
const SVGNS = 'http://www.w3.org/2000/svg';
const SYM = { running: '✓', booting: '↻', shutdown: '■', unknown: '?', stale: '⚠' };
const SEVERITY = { running: 0, booting: 1, unknown: 2, shutdown: 3, stale: 4 };
const STATUS_WORDS = { running: 'running', booting: 'booting', shutdown: 'shut down', unknown: 'unknown' };

const $ = (id) => document.getElementById(id);
const body = document.body;
const reduceMotion = window.matchMedia('(prefers-reduced-motion: reduce)');

const st = {
  snap: null, shape: '', updates: 0, seq: null,
  lastMsgAt: 0, connection: 'connecting', es: null, reconnectTimer: 0,
  ringCap: 240, rings: new Map(),
  rows: new Map(), nodes: [], nodeOfTile: new Map(), edges: [],
  sortKey: 'order', sortDir: 1, order: [], selected: null,
  sparkDrawnAt: 0, bannerKey: '',
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function sv(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  if (attrs) for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}
function setText(e, s) { if (e.textContent !== s) e.textContent = s; }
function setAttr(e, k, v) { v = String(v); if (e.getAttribute(k) !== v) e.setAttribute(k, v); }
function num(x) { return typeof x === 'number' && isFinite(x) ? x : 0; }
function clamp01(x) { return Math.min(1, Math.max(0, num(x))); }
function pct(x) { return Math.round(clamp01(x) * 100) + '%'; }
// 1.2k, 12k, 3.4M: human units
function human(n, small) {
  n = num(n);
  for (const [u, v] of [['G', 1e9], ['M', 1e6], ['k', 1e3]]) {
    if (n >= v) { const x = n / v; return (x < 9.95 ? x.toFixed(1) : Math.round(x)) + u; }
  }
  return n < 10 && small ? String(Math.round(n * 10) / 10) : String(Math.round(n));
}
const fmtRate = (n) => human(n, true) + '/s';
const fmtCount = (n) => (num(n) < 1e4 ? String(Math.round(num(n))) : human(n, false));
function fmtAge(ms) {
  ms = num(ms);
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + Math.floor((ms % 60000) / 1000) + ' s';
  return (ms / 3600000).toFixed(1) + ' h';
}
function statusOf(t) { return Object.prototype.hasOwnProperty.call(STATUS_WORDS, t.status) ? t.status : 'unknown'; }
function shownStatus(t) { return t.stale ? 'stale' : statusOf(t); }
function busyOf(t) {
  if (typeof t.busy === 'number') return clamp01(t.busy);
  const r = t.regime_shares;
  return r ? clamp01(1 - num(r.caught_up)) : 0;
}

function ringFor(name) {
  const old = st.rings.get(name);
  if (old && old.buf.length === st.ringCap) return old;
  const r = { buf: new Float32Array(st.ringCap), n: 0, i: 0 };
  if (old) for (let k = 0; k < old.n; k++) pushRing(r, ringAt(old, k));
  st.rings.set(name, r);
  return r;
}
function pushRing(r, v) { r.buf[r.i] = v; r.i = (r.i + 1) % r.buf.length; if (r.n < r.buf.length) r.n++; }
function ringAt(r, k) { return r.buf[(r.i - r.n + k + r.buf.length * 2) % r.buf.length]; }

function shapeOf(s) {
  const parts = [String(st.ringCap)];
  for (const t of s.tiles) parts.push(t.name + '\u0001' + t.kind);
  parts.push('\u0002');
  for (const l of s.links) parts.push(l.link + '\u0001' + l.producer + '\u0001' + l.consumer);
  return parts.join('\u0003');
}

function build(s) {
  buildGraph(s);
  buildTable(s);
}

function buildGraph(s) {
  const svg = $('graph');
  svg.textContent = '';
  const defs = sv('defs');
  const hatch = sv('pattern', { id: 'hatch', width: 8, height: 8, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' });
  hatch.append(sv('rect', { class: 'hatch-bg', width: 8, height: 8 }), sv('line', { class: 'hatch-line', x1: 0, y1: 0, x2: 0, y2: 8 }));
  defs.append(hatch);
  for (const [id, cls] of [['arrow', 'arrow'], ['arrow-lost', 'arrow-lost']]) {
    const m = sv('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto' });
    m.append(sv('path', { d: 'M0,0 L10,5 L0,10 z', class: cls }));
    defs.append(m);
  }
  svg.append(defs);

  // nodes: one per tile, or one per kind with many tiles
  const byKind = new Map();
  for (const t of s.tiles) {
    if (!byKind.has(t.kind)) byKind.set(t.kind, []);
    byKind.get(t.kind).push(t.name);
  }
  const nodes = [];
  const nodeOfTile = new Map();
  for (const [kind, names] of byKind) {
    if (names.length > AGGREGATE_ABOVE) {
      const n = { agg: true, kind, tiles: names, label: kind + ' ×' + names.length, ins: [], outs: [] };
      nodes.push(n);
      for (const nm of names) nodeOfTile.set(nm, n);
    } else {
      for (const nm of names) {
        const n = { agg: false, kind, tiles: [nm], label: nm, ins: [], outs: [] };
        nodes.push(n);
        nodeOfTile.set(nm, n);
      }
    }
  }
  nodes.forEach((n, i) => { n.index = i; n.depth = 0; });

  // edges: one per (producer node, consumer node, link)
  const edgeMap = new Map();
  const edges = [];
  s.links.forEach((l, i) => {
    const a = nodeOfTile.get(l.producer), b = nodeOfTile.get(l.consumer);
    if (!a || !b || a === b) return;
    const key = a.index + ',' + b.index + ',' + l.link;
    let e = edgeMap.get(key);
    if (!e) {
      e = { src: a, dst: b, link: l.link, links: [] };
      edgeMap.set(key, e);
      edges.push(e);
      a.outs.push(e);
      b.ins.push(e);
    }
    e.links.push(i);
  });

  // columns: longest path from the nodes without inputs (bounded, so a cycle ends)
  for (let it = 0; it < nodes.length; it++) {
    let changed = false;
    for (const e of edges) {
      const d = e.src.depth + 1;
      if (d > e.dst.depth && d < nodes.length) { e.dst.depth = d; changed = true; }
    }
    if (!changed) break;
  }
  const cols = [];
  for (const n of nodes) (cols[n.depth] = cols[n.depth] || []).push(n);
  for (let c = 0; c < cols.length; c++) cols[c] = cols[c] || [];
  const isolated = (n) => n.ins.length === 0 && n.outs.length === 0;
  const place = () => cols.forEach((col) => col.forEach((n, i) => { n.pos = i - (col.length - 1) / 2; }));
  for (const col of cols) col.sort((a, b) => (isolated(a) - isolated(b)) || (a.index - b.index));
  place();
  // a few barycentre sweeps reduce crossings
  const sweep = (col, pick) => {
    for (const n of col) {
      const nb = pick(n);
      n.bc = isolated(n) ? Infinity : nb.length ? nb.reduce((acc, m) => acc + m.pos, 0) / nb.length : n.pos;
    }
    col.sort((a, b) => (a.bc - b.bc) || (a.index - b.index));
  };
  for (let pass = 0; pass < 4; pass++) {
    for (let c = 1; c < cols.length; c++) { sweep(cols[c], (n) => n.ins.map((e) => e.src)); place(); }
    for (let c = cols.length - 2; c >= 0; c--) { sweep(cols[c], (n) => n.outs.map((e) => e.dst)); place(); }
  }

  const colHeight = (k) => k * NODE_H + Math.max(0, k - 1) * GAP_Y;
  const tallest = Math.max(1, ...cols.map((c) => c.length));
  const H = colHeight(tallest);
  cols.forEach((col, ci) => {
    const off = (H - colHeight(col.length)) / 2;
    col.forEach((n, i) => { n.x = PAD + ci * (NODE_W + COL_GAP); n.y = PAD + off + i * (NODE_H + GAP_Y); });
  });

  const gEdges = sv('g', { class: 'edges' });
  const gLabels = sv('g', { class: 'labels' });
  const gNodes = sv('g', { class: 'nodes' });
  svg.append(gEdges, gNodes, gLabels);

  // edges and their labels
  let maxY = PAD + H;
  const labelCols = new Map();
  for (const e of edges) {
    const x1 = e.src.x + NODE_W, y1 = e.src.y + NODE_H / 2, x2 = e.dst.x - 2, y2 = e.dst.y + NODE_H / 2;
    const dx = Math.max(40, Math.abs(x2 - x1) / 2);
    e.path = sv('path', { class: 'edge', d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`, 'marker-end': 'url(#arrow)' });
    gEdges.append(e.path);
    // the label sits just above the curve, toward the end that fewer edges share
    const t = e.src.outs.length > e.dst.ins.length ? 0.7 : e.src.outs.length < e.dst.ins.length ? 0.3 : 0.5;
    const bez = (a, b, c, d) => (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t * t * c + t ** 3 * d;
    const lx = Math.round(bez(x1, x1 + dx, x2 - dx, x2));
    e.ly = Math.max(PAD, bez(y1, y1, y2, y2) - 8);
    e.lx = lx;
    if (!labelCols.has(lx)) labelCols.set(lx, []);
    labelCols.get(lx).push(e);
  }
  for (const list of labelCols.values()) {
    list.sort((a, b) => a.ly - b.ly);
    for (let i = 1; i < list.length; i++) if (list[i].ly < list[i - 1].ly + LABEL_GAP) list[i].ly = list[i - 1].ly + LABEL_GAP;
    maxY = Math.max(maxY, list[list.length - 1].ly + LABEL_GAP);
  }
  for (const e of edges) {
    const g = sv('g');
    const one = (n) => (n.agg ? '' : n.label);
    e.title = sv('title');
    // what the tests read: the link, its ends (a group's label for a group), the rate
    e.text = sv('text', {
      class: 'elabel', x: e.lx, y: e.ly, 'data-link': e.link, 'data-producer': e.src.label, 'data-consumer': e.dst.label,
      'data-producer-kind': e.src.kind, 'data-consumer-kind': e.dst.kind, 'data-producer-tile': one(e.src),
      'data-consumer-tile': one(e.dst), 'data-aggregate': e.src.agg || e.dst.agg, 'data-rate': 0,
    });
    g.append(e.title, e.text);
    gLabels.append(g);
  }

  // nodes
  for (const n of nodes) {
    const g = sv('g', {
      class: 'node', transform: `translate(${n.x},${n.y})`, tabindex: 0, role: 'button', 'data-kind': n.kind,
      'data-status': 'unknown', 'data-stale': false,
    });
    if (n.agg) { g.setAttribute('data-aggregate', 'true'); g.setAttribute('data-count', n.tiles.length); }
    else g.setAttribute('data-tile', n.tiles[0]);
    n.title = sv('title');
    n.bg = sv('rect', { class: 'bg', width: NODE_W, height: NODE_H, rx: 6 });
    n.track = sv('rect', { class: 'track', x: BAR_X, y: NODE_H - 9, width: BAR_W, height: 5, rx: 2.5 });
    n.busy = sv('rect', { class: 'busy', x: BAR_X, y: NODE_H - 9, width: 0, height: 5, rx: 2.5 });
    n.ring = sv('rect', { class: 'ring', x: -4, y: -4, width: NODE_W + 8, height: NODE_H + 8, rx: 9 });
    n.l1 = sv('text', { class: 'l1', x: 10, y: n.agg ? 18 : 22 });
    n.sym = sv('tspan', { class: 'sym' });
    n.name = sv('tspan');
    n.l1.append(n.sym, n.name);
    n.l2 = sv('text', { class: 'l2', x: 10, y: n.agg ? 34 : 41 });
    g.append(n.title, n.bg, n.track, n.busy, n.ring, n.l1, n.l2);
    if (n.agg) { n.l3 = sv('text', { class: 'l3', x: 10, y: 49 }); g.append(n.l3); }
    g.addEventListener('click', () => selectNode(n));
    g.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); selectNode(n); }
    });
    n.g = g;
    gNodes.append(g);
  }
  // names that do not fit are cut with an ellipsis (the full name is in the title and aria-label)
  for (const n of nodes) {
    n.sym.textContent = '? ';
    fitText(n.name, n.l1, n.label, NODE_W - 18);
  }

  const width = PAD * 2 + cols.length * NODE_W + Math.max(0, cols.length - 1) * COL_GAP;
  const height = Math.ceil(maxY + PAD);
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  st.nodes = nodes;
  st.nodeOfTile = nodeOfTile;
  st.edges = edges;
}

// a line of a node in words, or in symbols when the words do not fit
function fitLine(n, line, long, short) {
  if (n.lastLong === long) return;
  n.lastLong = long;
  line.textContent = long;
  if (line.getComputedTextLength() > NODE_W - 16) line.textContent = short;
}

// cut in the middle, so that verify:12 and verify:13 stay apart
function fitText(span, line, full, maxW) {
  span.textContent = full;
  const tail = full.slice(-Math.min(6, full.length >> 2));
  for (let n = full.length - tail.length - 1; n > 0 && line.getComputedTextLength() > maxW; n--) span.textContent = full.slice(0, n) + '…' + tail;
}

function buildTable(s) {
  const tbody = $('tiles').tBodies[0];
  tbody.textContent = '';
  st.rows = new Map();
  s.tiles.forEach((t, i) => {
    const tr = el('tr');
    tr.dataset.tile = t.name;
    tr.dataset.kind = t.kind;
    tr.dataset.kindId = t.kind_id;
    tr.setAttribute('aria-selected', 'false');
    const name = el('th', '', t.name); name.scope = 'row'; name.title = t.name;
    const kind = el('td', '', t.kind);
    const status = el('td', 'status');
    const sym = el('span', 'sym'); sym.setAttribute('aria-hidden', 'true');
    const word = el('span');
    status.append(sym, word);
    const [pid, hb, busy, proc, bp, bpev] = ['num', 'num hb', 'num', 'num', 'num', 'num'].map((c) => el('td', c));
    const sparkCell = el('td');
    const spark = sv('svg', { class: 'spark', viewBox: `0 0 ${SPARK_W} ${SPARK_H}`, preserveAspectRatio: 'none', role: 'img' });
    const base = sv('line', { class: 'base', x1: 0, y1: SPARK_H - 0.5, x2: SPARK_W, y2: SPARK_H - 0.5 });
    const line = sv('polyline', { points: '' });
    spark.append(base, line);
    sparkCell.append(spark);
    tr.append(name, kind, pid, status, hb, busy, proc, bp, bpev, sparkCell);
    tr.addEventListener('click', () => select(t.name, false));
    tbody.append(tr);
    st.rows.set(t.name, { tr, pid, status, sym, word, hb, busy, proc, bp, bpev, spark, line, index: i, tile: t });
  });
  st.order = s.tiles.map((t) => t.name);
  if (st.selected && !st.rows.has(st.selected)) st.selected = null;
  observeRows();
}

function update(s) {
  const tiles = new Map();
  for (const t of s.tiles) tiles.set(t.name, t);
  updateGraph(s, tiles);
  updateTable(s);
  updateHeader(s);
  updateBanner(s);
  if (st.selected) markSelected(st.selected, false);
}

function updateGraph(s, tiles) {
  for (const n of st.nodes) {
    const ts = n.tiles.map((nm) => tiles.get(nm)).filter(Boolean);
    let worst = 'running', worstSev = -1, staleAny = false, sum = 0, max = 0;
    const counts = { running: 0, booting: 0, shutdown: 0, unknown: 0, stale: 0 };
    for (const t of ts) {
      const shown = shownStatus(t);
      counts[shown]++;
      if (t.stale) staleAny = true;
      const sev = SEVERITY[shown];
      if (sev > worstSev) { worstSev = sev; worst = statusOf(t); }
      const b = busyOf(t);
      sum += b; if (b > max) max = b;
    }
    const mean = ts.length ? sum / ts.length : 0;
    const shown = staleAny ? 'stale' : worst;
    setAttr(n.g, 'data-status', worst);
    setAttr(n.g, 'data-stale', staleAny);
    setAttr(n.busy, 'width', (BAR_W * (n.agg ? mean : max)).toFixed(1));
    setText(n.sym, SYM[shown] + ' ');
    let label;
    if (n.agg) {
      const parts = [], short = [];
      for (const k of ['running', 'booting', 'shutdown', 'unknown', 'stale']) {
        if (!counts[k]) continue;
        parts.push(counts[k] + ' ' + (k === 'shutdown' ? 'shut down' : k));
        short.push(SYM[k] + counts[k]);
      }
      fitLine(n, n.l2, parts.join(' · '), short.join(' '));
      setText(n.l3, 'busy mean ' + pct(mean) + ' · max ' + pct(max));
      label = `${n.label}: ${parts.join(', ')}; busy mean ${pct(mean)}, max ${pct(max)}`;
    } else {
      const t = ts[0];
      const words = t ? STATUS_WORDS[statusOf(t)] + (t.stale ? ', stale' : '') : 'unknown';
      setText(n.l2, words + ' · busy ' + pct(mean));
      label = `${n.label}: ${words}, busy ${Math.round(mean * 20) * 5}%`;
    }
    setAttr(n.g, 'aria-label', label);
    setText(n.title, label);
  }
  for (const e of st.edges) {
    let rate = 0, lost = 0, lostRate = 0, bytes = 0;
    for (const i of e.links) {
      const l = s.links[i];
      rate += num(l.frags_per_second); lost += num(l.lost); lostRate += num(l.lost_per_second); bytes += num(l.bytes_per_second);
    }
    const isLost = lost > 0;
    setAttr(e.text, 'data-rate', Math.round(rate * 1000) / 1000);
    setAttr(e.text, 'data-lost', lost);
    setText(e.text, fmtRate(rate) + (isLost ? ' ⚠ lost ' + fmtCount(lost) : ''));
    e.text.classList.toggle('lost', isLost);
    e.path.classList.toggle('lost', isLost);
    e.path.classList.toggle('idle', rate === 0 && !isLost);
    setAttr(e.path, 'marker-end', isLost ? 'url(#arrow-lost)' : 'url(#arrow)');
    setText(e.title, `${e.link}: ${e.src.label} → ${e.dst.label}, ${human(bytes)}B/s, lost ${fmtCount(lost)} (${fmtRate(lostRate)})`);
  }
}

const SORTERS = {
  order: (r) => r.index,
  name: (r) => r.tile.name,
  kind: (r) => r.tile.kind + '\u0000' + String(r.tile.kind_id).padStart(8, '0'),
  pid: (r) => num(r.tile.pid),
  status: (r) => SEVERITY[shownStatus(r.tile)],
  hb: (r) => num(r.tile.heartbeat_age_ms),
  busy: (r) => busyOf(r.tile),
  proc: (r) => num(r.tile.regime_shares && r.tile.regime_shares.processing),
  bp: (r) => num(r.tile.regime_shares && r.tile.regime_shares.backpressured),
  bpev: (r) => num(r.tile.backpressure_events),
};

// Status attributes change rarely and are kept current on every row; the
// numbers, which change every update, only on the rows in or near view (a
// text change relays out the table, and a 256-row table is most of the cost).
function updateTable(s) {
  const now = performance.now();
  const drawSparks = now - st.sparkDrawnAt >= 900;
  if (drawSparks) st.sparkDrawnAt = now;
  for (const t of s.tiles) {
    const r = st.rows.get(t.name);
    if (!r) continue;
    r.tile = t;
    renderStatus(r);
    if (r.visible) {
      renderNumbers(r);
      if (drawSparks) drawSpark(r, t.name);
    }
  }
  applySort();
}

function renderStatus(r) {
  const t = r.tile;
  const status = statusOf(t);
  setAttr(r.tr, 'data-stale', !!t.stale);
  setAttr(r.status, 'data-status', status);
  setAttr(r.status, 'data-stale', !!t.stale);
  setText(r.sym, SYM[shownStatus(t)]);
  setText(r.word, STATUS_WORDS[status] + (t.stale ? ', stale' : ''));
}

function renderNumbers(r) {
  const t = r.tile;
  setText(r.pid, t.pid ? String(t.pid) : '–');
  setText(r.hb, fmtAge(t.heartbeat_age_ms));
  setText(r.busy, pct(busyOf(t)));
  const rs = t.regime_shares || {};
  setText(r.proc, pct(rs.processing));
  setText(r.bp, pct(rs.backpressured));
  setText(r.bpev, fmtCount(t.backpressure_events) + (t.in_backpressure ? ' ●' : ''));
}

function observeRows() {
  if (st.observer) st.observer.disconnect();
  if (!('IntersectionObserver' in window)) { for (const r of st.rows.values()) r.visible = true; return; }
  const byTr = new Map();
  for (const r of st.rows.values()) byTr.set(r.tr, r);
  st.observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const r = byTr.get(e.target);
      if (!r) continue;
      r.visible = e.isIntersecting;
      if (r.visible) { renderNumbers(r); drawSpark(r, r.tile.name); }
    }
  }, { root: $('tiles-region'), rootMargin: '300px 0px' });
  for (const tr of byTr.keys()) st.observer.observe(tr);
}

function drawSpark(r, name) {
  const ring = st.rings.get(name);
  if (!ring || ring.n === 0) { setAttr(r.line, 'points', ''); return; }
  const step = SPARK_W / Math.max(1, st.ringCap - 1);
  const x0 = SPARK_W - (ring.n - 1) * step;
  const pts = new Array(ring.n);
  let sum = 0;
  for (let k = 0; k < ring.n; k++) {
    const v = ringAt(ring, k);
    sum += v;
    pts[k] = (x0 + k * step).toFixed(1) + ',' + (SPARK_H - 1 - v * (SPARK_H - 2)).toFixed(1);
  }
  r.line.setAttribute('points', pts.join(' '));
  setAttr(r.spark, 'aria-label', 'busy over the last minute: mean ' + pct(sum / ring.n));
}

function applySort() {
  const key = SORTERS[st.sortKey] || SORTERS.order;
  const rows = [...st.rows.values()];
  const dir = st.sortDir;
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    const c = typeof x === 'string' ? x.localeCompare(y) : x - y;
    return c * dir || a.index - b.index;
  });
  const names = rows.map((r) => r.tile.name);
  if (names.length === st.order.length && names.every((n, i) => n === st.order[i])) return;
  st.order = names;
  const tbody = $('tiles').tBodies[0];
  const frag = document.createDocumentFragment();
  for (const r of rows) frag.append(r.tr);
  tbody.append(frag);
}

function updateHeader(s) {
  const topo = String(s.topology || '');
  setText($('topology'), topo);
  const count = String(s.tiles.length);
  setText($('tile-count'), count);
  setAttr($('tile-count'), 'data-count', count);
  setText($('seq'), String(s.seq));
  setAttr(body, 'data-seq', s.seq);
  setAttr(body, 'data-stale-after-ms', num(s.stale_after_ms));
  const when = new Date(num(s.sampled_at) * 1000);
  setText($('updated'), isNaN(when) ? '–' : when.toLocaleTimeString([], { hour12: false }));
  setText($('updates'), String(st.updates));
  setAttr(body, 'data-updates', st.updates);
  document.title = (s.healthy ? '' : '⚠ ') + 'tilectl: ' + topo;
  showHealth(s.healthy ? 'healthy' : 'unhealthy');
}

function showHealth(h) {
  const pill = $('health');
  setAttr(pill, 'data-health', h);
  setText(pill, h === 'healthy' ? '✓ healthy' : h === 'unhealthy' ? '✗ unhealthy' : h === 'unreachable' ? '✗ unreachable' : 'connecting');
}

// The banner: the announced text (role=alert) changes only when what is
// wrong changes; the heartbeat ages beside it update silently.
function updateBanner(s) {
  const banner = $('banner');
  if (st.connection === 'lost') return;
  const stale = s.tiles.filter((t) => t.stale);
  const down = s.tiles.filter((t) => !t.stale && statusOf(t) !== 'running');
  if (!stale.length && !down.length) {
    st.bannerKey = '';
    if (!banner.hidden) { banner.hidden = true; banner.textContent = ''; }
    return;
  }
  const shown = 12;
  const key = 'T' + stale.map((t) => t.name).join('\u0001') + '\u0002' + down.map((t) => t.name + '=' + t.status).join('\u0001');
  if (key !== st.bannerKey) {
    st.bannerKey = key;
    banner.textContent = '';
    st.bannerAges = [];
    const add = (list, lead, extra) => {
      if (!list.length) return;
      if (banner.childNodes.length) banner.append('; ');
      banner.append(lead);
      list.slice(0, shown).forEach((t, i) => {
        if (i) banner.append(', ');
        banner.append(t.name);
        const span = el('span', 'age');
        span.setAttribute('aria-hidden', 'true');
        banner.append(span);
        st.bannerAges.push([span, t, extra]);
      });
      if (list.length > shown) banner.append(` and ${list.length - shown} more`);
    };
    add(stale, 'stale: ', 'hb');
    add(down, 'not running: ', 'status');
    banner.hidden = false;
  }
  const byName = new Map(s.tiles.map((t) => [t.name, t]));
  for (const a of st.bannerAges || []) {
    const t = byName.get(a[1].name) || a[1];
    setText(a[0], a[2] === 'hb' ? ` (heartbeat ${fmtAge(t.heartbeat_age_ms)} ago)` : ` (${STATUS_WORDS[statusOf(t)]})`);
  }
}

function showUnreachable() {
  if (st.connection === 'lost') return;
  st.connection = 'lost';
  setAttr(body, 'data-connection', 'lost');
  showHealth('unreachable');
  const banner = $('banner');
  st.bannerKey = 'lost';
  st.bannerAges = [];
  banner.textContent = 'topology stopped or unreachable';
  const upd = $('updated').textContent;
  if (st.snap && upd && upd !== '–') {
    const span = el('span', 'age', ` (showing the last data, from ${upd})`);
    banner.append(span);
  }
  banner.hidden = false;
}

function showReachable() {
  if (st.connection === 'live') return;
  st.connection = 'live';
  setAttr(body, 'data-connection', 'live');
  st.bannerKey = '';
  const banner = $('banner');
  banner.hidden = true;
  banner.textContent = '';
}

function selectNode(n) {
  if (!n.agg) { select(n.tiles[0], true); return; }
  // a group: its worst tile (stale, then not running, then the busiest)
  let best = null, bestKey = -1;
  for (const nm of n.tiles) {
    const r = st.rows.get(nm);
    if (!r) continue;
    const k = SEVERITY[shownStatus(r.tile)] * 10 + busyOf(r.tile);
    if (k > bestKey) { bestKey = k; best = nm; }
  }
  if (best) select(best, true);
}

function select(name, scroll) {
  st.selected = name;
  markSelected(name, scroll);
  const r = st.rows.get(name);
  if (r) setText($('selection'), `Selected ${name}. Escape clears.`);
}

function markSelected(name, scroll) {
  for (const [nm, r] of st.rows) {
    const on = nm === name;
    r.tr.classList.toggle('selected', on);
    setAttr(r.tr, 'aria-selected', on);
  }
  const node = name ? st.nodeOfTile.get(name) : null;
  for (const n of st.nodes) {
    const on = n === node;
    n.g.classList.toggle('selected', on);
    setAttr(n.g, 'aria-pressed', on);
  }
  if (scroll && name) {
    const r = st.rows.get(name);
    if (r) r.tr.scrollIntoView({ block: 'nearest', inline: 'nearest', behavior: reduceMotion.matches ? 'auto' : 'smooth' });
  }
}

function clearSelection() {
  if (!st.selected) return;
  st.selected = null;
  markSelected(null, false);
  setText($('selection'), 'Selection cleared.');
}

function setupSort() {
  for (const b of document.querySelectorAll('button.sort')) {
    b.addEventListener('click', () => {
      const key = b.dataset.key;
      if (st.sortKey === key) st.sortDir = -st.sortDir;
      else { st.sortKey = key; st.sortDir = ['busy', 'proc', 'bp', 'bpev', 'hb', 'status'].includes(key) ? -1 : 1; }
      for (const th of document.querySelectorAll('#tiles thead th')) {
        const kb = th.querySelector('button.sort');
        if (kb === b) th.setAttribute('aria-sort', st.sortDir > 0 ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
      }
      applySort();
    });
  }
}

const isStr = (x) => typeof x === 'string';
function valid(s) {
  return s && Array.isArray(s.tiles) && Array.isArray(s.links) && s.tiles.every((t) => t && isStr(t.name) && isStr(t.kind)) &&
    s.links.every((l) => l && isStr(l.producer) && isStr(l.consumer));
}

function apply(s, live) {
  if (!valid(s)) return;
  if (!live && st.snap) return; // the stream was first
  if (live) {
    st.updates++;
    st.lastMsgAt = performance.now();
    showReachable();
  } else if (st.connection !== 'lost') {
    st.connection = 'live';
    setAttr(body, 'data-connection', 'live');
  }
  const interval = Math.max(10, num(s.interval_ms) || 250);
  const cap = Math.min(1200, Math.max(10, Math.ceil(60000 / interval)));
  if (cap !== st.ringCap) st.ringCap = cap;
  for (const t of s.tiles) pushRing(ringFor(t.name), busyOf(t));
  if (st.rings.size > s.tiles.length * 2) {
    const names = new Set(s.tiles.map((t) => t.name));
    for (const k of st.rings.keys()) if (!names.has(k)) st.rings.delete(k);
  }
  const shape = shapeOf(s);
  if (shape !== st.shape) {
    st.shape = shape;
    build(s);
    st.sparkDrawnAt = 0;
  }
  st.snap = s;
  st.seq = s.seq;
  update(s);
}

function connect() {
  clearTimeout(st.reconnectTimer);
  if (st.es) st.es.close();
  const es = new EventSource('/api/v1/stream');
  st.es = es;
  es.addEventListener('snapshot', (ev) => {
    let s;
    try { s = JSON.parse(ev.data); } catch (_) { return; }
    apply(s, true);
  });
  es.onerror = () => {
    showUnreachable();
    // a network error reconnects by itself; an HTTP error closes for good
    if (es.readyState === EventSource.CLOSED) scheduleReconnect();
  };
}

function scheduleReconnect() {
  clearTimeout(st.reconnectTimer);
  st.reconnectTimer = setTimeout(connect, 2000);
}

// the stream is open but silent (a wedged server): say so and reconnect
function watchdog() {
  if (st.connection !== 'live' || !st.lastMsgAt) return;
  const interval = (st.snap && num(st.snap.interval_ms)) || 250;
  if (performance.now() - st.lastMsgAt > Math.max(4 * interval, 3000)) {
    showUnreachable();
    st.lastMsgAt = 0;
    connect();
  }
}

function start() {
  setupSort();
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') clearSelection();
  });
  fetch('/api/v1/snapshot', { cache: 'no-store', credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
    .then((s) => apply(s, false))
    .catch(() => { if (!st.snap) showUnreachable(); });
  connect();
  setInterval(watchdog, 500);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
})();
