/**
 * Renders the matrix results of `npm run bench` as docs/BENCHMARKS.md and its SVG chart: pure
 * functions from data to text, so the report can be regenerated from `bench/results.json`.
 *
 * @module
 */
import { GENERATOR_BOTTLENECK_PERCENT } from '../src/bench/loadgen.js';
import type { BenchDialect } from '../src/bench/dialects.js';
import { formatBytes, formatCount, formatMs } from '../src/bench/render.js';
import type { BenchResult } from '../src/bench/result.js';
import { median } from '../src/bench/stats.js';
import type { MachineFacts } from './machine.js';
import type { ProfileSummary } from './profile.js';

/** A server of the matrix. */
export interface ServerDef {
  id: string;
  label: string;
  dialect: BenchDialect;
  /** Shell command, `{port}` replaced by the bench. */
  command: string;
  kind: 'reference' | 'reference-turn' | 'seed' | 'ncat' | 'c-relay';
  color: string;
}

/** A load shape of the matrix. */
export type Mode = 'full' | 'paced' | 'big';

/** Which load generator measured a run: `chatkit bench` (Node) or bench/c/loadgen.c. */
export type Generator = 'node' | 'c';

/** How the report names each generator. */
export const GENERATOR_LABEL: Record<Generator, string> = {
  node: 'chatkit bench',
  c: 'C generator',
};

/** One run of one server. */
export interface RunRecord {
  server: string;
  members: number;
  mode: Mode;
  rep: number;
  /** The generator that measured it (absent in older results: `chatkit bench`). */
  generator?: Generator;
  /** CPU the rest of the machine used during the run, % of one core. */
  background: number;
  result?: BenchResult;
  error?: string;
}

/** Everything `npm run bench` measured. */
export interface MatrixResults {
  generatedAt: string;
  command: string;
  machine: MachineFacts;
  config: {
    members: number[];
    runs: number;
    modes: Mode[];
    fullMessages: number;
    senders: number;
    pacedRate: number;
    pacedSeconds: number;
    size: number;
    joinConcurrency: number;
    big: number;
    bigJoinConcurrency: number;
    /** Modes measured with the C generator (absent in older results: none). */
    cGeneratorModes?: Mode[];
  };
  servers: ServerDef[];
  runs: RunRecord[];
  profile?: { what: string; summary: ProfileSummary; bench?: BenchResult };
  profileTurn?: { what: string; summary: ProfileSummary; bench?: BenchResult };
  notes: string[];
  durationMs: number;
}

/** Medians over the repetitions of one server in one configuration. */
export interface Cell {
  runs: number;
  failed: number;
  joined: number;
  joinMs: number;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  lost: number;
  expected: number;
  rssAfterJoin: number;
  rssPeak: number;
  serverCpu: number;
  generatorCpu: number;
  /** Threads `chatkit bench` read the members with (`--workers`); 1 for the C generator. */
  generatorThreads: number;
  background: number;
  membersLost: number;
  /** Server CPU time per delivery in the measured window, ns: the stable figure on a shared machine. */
  cpuNs: number;
  /** The generator's CPU time per delivery in the same window, ns. */
  generatorCpuNs: number;
}

/** The generator whose runs make a mode's tables (the C generator where the matrix used it). */
export function primaryGenerator(results: MatrixResults, mode: Mode): Generator {
  return results.config.cGeneratorModes?.includes(mode) === true ? 'c' : 'node';
}

/**
 * The medians of one server's runs in one configuration, measured by `generator` (default: the
 * mode's {@link primaryGenerator}); undefined when none succeeded.
 */
export function cell(
  results: MatrixResults,
  server: string,
  members: number,
  mode: Mode,
  generator: Generator = primaryGenerator(results, mode),
): Cell | undefined {
  const runs = results.runs.filter(
    (r) =>
      r.server === server &&
      r.members === members &&
      r.mode === mode &&
      (r.generator ?? 'node') === generator,
  );
  const ok = runs.filter((r) => r.result !== undefined && r.result.join.joined > 0).map((r) => r.result!);
  if (ok.length === 0) return undefined;
  const m = (f: (r: BenchResult) => number | null | undefined) =>
    median(ok.map(f).filter((v): v is number => typeof v === 'number'));
  return {
    runs: runs.length,
    failed: runs.length - ok.length,
    joined: m((r) => r.join.joined),
    joinMs: m((r) => r.join.ms),
    perSecond: m((r) => r.deliveries.perSecond),
    p50: m((r) => r.latencyMs.p50),
    p90: m((r) => r.latencyMs.p90),
    p99: m((r) => r.latencyMs.p99),
    max: m((r) => r.latencyMs.max),
    lost: m((r) => r.deliveries.lost),
    expected: m((r) => r.deliveries.expected),
    rssAfterJoin: m((r) => r.server?.rssAfterJoinBytes),
    rssPeak: m((r) => r.server?.rssPeakBytes),
    serverCpu: m((r) => r.server?.cpuPercent),
    generatorCpu: m((r) => r.generator.cpuPercent),
    generatorThreads: m((r) => r.generator.workers ?? 1),
    background: median(runs.map((r) => r.background)),
    membersLost: m((r) => r.membersLost),
    cpuNs: m((r) =>
      r.server?.cpuPercent === undefined || r.server.cpuPercent === null || r.deliveries.perSecond === 0
        ? undefined
        : ((r.server.cpuPercent / 100) * 1e9) / r.deliveries.perSecond,
    ),
    generatorCpuNs: m((r) =>
      r.deliveries.perSecond === 0 ? undefined : ((r.generator.cpuPercent / 100) * 1e9) / r.deliveries.perSecond,
    ),
  };
}

const fmtRatio = (x: number) =>
  !Number.isFinite(x) || Number.isNaN(x)
    ? '–'
    : x >= 10
      ? `${Math.round(x)}×`
      : `${x.toFixed(x >= 1 ? 1 : 2)}×`;
const fmtNs = (x: number) => (Number.isFinite(x) ? `${Math.round(x).toLocaleString('en')} ns` : '?');
const fmtPercent = (x: number) => (Number.isNaN(x) ? '?' : `${Math.round(x)} %`);

function modeTitle(results: MatrixResults, mode: Mode, members: number): string {
  const c = results.config;
  const senders = Math.min(c.senders, members);
  if (mode === 'full')
    return `${members} members, ${senders} senders × ${c.fullMessages} messages at full speed`;
  if (mode === 'paced')
    return `${members} members, ${senders} senders × ${c.pacedRate} msg/s for ${c.pacedSeconds} s`;
  return `${members} members, one message from one member to all`;
}

/** The figures of one configuration, one row per server. */
function configTable(results: MatrixResults, members: number, mode: Mode): string {
  const rows = [
    "| server | server CPU per delivery | joined | join time | deliveries/s | p50 | p90 | p99 | max | lost | server RSS after join / peak | server CPU | generator CPU | others' CPU | generator |",
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  const generator = primaryGenerator(results, mode);
  for (const s of results.servers) {
    const c = cell(results, s.id, members, mode, generator);
    const runs = results.runs.filter(
      (r) => r.server === s.id && r.members === members && r.mode === mode && (r.generator ?? 'node') === generator,
    );
    if (runs.length === 0) continue;
    if (c === undefined) {
      const why = runs.find((r) => r.error)?.error ?? 'no member joined';
      rows.push(`| ${s.label} | – | 0/${members} | – | – | – | – | – | – | – | – | – | – | – | ${GENERATOR_LABEL[generator]} |`);
      rows.push(`| ↳ | ${why.replaceAll('|', '\\|').slice(0, 160)} |||||||||||||| `);
      continue;
    }
    const failed = c.failed > 0 ? ` (${c.failed} of ${c.runs} runs failed)` : '';
    rows.push(
      `| ${s.label}${failed} | ${fmtNs(c.cpuNs)} | ${Math.round(c.joined)}/${members} | ${formatMs(c.joinMs)} | ${formatCount(c.perSecond)} | ${formatMs(c.p50)} | ${formatMs(c.p90)} | ${formatMs(c.p99)} | ${formatMs(c.max)} | ${Math.round(c.lost)}${c.lost > 0 ? ` of ${formatCount(c.expected)}` : ''} | ${formatBytes(c.rssAfterJoin)} / ${formatBytes(c.rssPeak)} | ${fmtPercent(c.serverCpu)} | ${fmtPercent(c.generatorCpu)}${c.generatorCpu / c.generatorThreads > GENERATOR_BOTTLENECK_PERCENT ? ' ⚠ the generator was the bottleneck: the figure is a lower bound' : ''} | ${fmtPercent(c.background)} | ${GENERATOR_LABEL[generator]}${c.generatorThreads > 1 ? `, ${c.generatorThreads} threads` : ''} |`,
    );
  }
  return rows.join('\n');
}

/**
 * `chatkit bench` and the C generator on the same servers in the same run: what the product's
 * generator measures against the yardstick, and what each costs per delivery.
 */
function generatorTable(results: MatrixResults): string | undefined {
  const rows: string[] = [];
  const members = Math.max(...results.config.members);
  for (const s of results.servers) {
    const c = cell(results, s.id, members, 'full', 'c');
    const n = cell(results, s.id, members, 'full', 'node');
    if (c === undefined || n === undefined) continue;
    rows.push(
      `| ${s.label} | ${formatCount(c.perSecond)} | ${formatCount(n.perSecond)} | ${fmtRatio(n.perSecond / c.perSecond)} | ${fmtNs(c.generatorCpuNs)} | ${fmtNs(n.generatorCpuNs)} | ${fmtRatio(n.generatorCpuNs / c.generatorCpuNs)} | ${fmtNs(c.cpuNs)} | ${fmtNs(n.cpuNs)} | ${fmtPercent(c.generatorCpu)} / ${fmtPercent(n.generatorCpu)} |`,
    );
  }
  if (rows.length === 0) return undefined;
  return [
    `${members} members, ${Math.min(results.config.senders, members)} senders × ${results.config.fullMessages} messages at full speed, each server measured by both generators in turn within the same repetition (medians).`,
    '',
    '| server | deliveries/s, C generator | deliveries/s, chatkit bench | ratio | generator CPU per delivery, C | generator CPU per delivery, chatkit bench | ratio | server CPU per delivery, C generator | server CPU per delivery, chatkit bench | generator CPU, C / chatkit bench |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...rows,
  ].join('\n');
}

/** Reference against each peer, same configuration, same run: ratios. */
function ratioTable(results: MatrixResults): string {
  const refs = results.servers.filter((s) => s.kind === 'reference' || s.kind === 'reference-turn');
  const peers = results.servers.filter((s) => s.kind === 'seed' || s.kind === 'ncat' || s.kind === 'c-relay');
  const pairs = refs.flatMap((r) =>
    peers
      .filter((p) => p.dialect === r.dialect || p.kind === 'ncat' || p.kind === 'c-relay')
      .map((p) => [r, p] as const),
  );
  const head = `| configuration | ${pairs.map(([r, p]) => `${r.label} vs ${p.label}`).join(' | ')} |`;
  const rows = [head, `|---|${pairs.map(() => '--:').join('|')}|`];
  for (const mode of results.config.modes) {
    for (const members of results.config.members) {
      const cells = pairs.map(([r, p]) => {
        const a = cell(results, r.id, members, mode);
        const b = cell(results, p.id, members, mode);
        if (a === undefined || b === undefined) return '–';
        return `${fmtRatio(a.cpuNs / b.cpuNs)} / ${fmtRatio(a.perSecond / b.perSecond)} / ${fmtRatio(b.p99 / a.p99)}`;
      });
      rows.push(`| ${members} members, ${mode === 'full' ? 'full speed' : 'paced'} | ${cells.join(' | ')} |`);
    }
  }
  return rows.join('\n');
}

/** One target: what is required, what was measured, whether it is met (undefined: not measured). */
export interface TargetRow {
  target: string;
  required: string;
  measured: string;
  met: boolean | undefined;
}

/** The issue's targets (issue 11), evaluated on these results: ratios to the C relay and ncat from the same run. */
export function evaluateTargets(results: MatrixResults): TargetRow[] {
  const rows: TargetRow[] = [];
  const ncat = results.servers.find((s) => s.kind === 'ncat');
  const relay = results.servers.find((s) => s.kind === 'c-relay');
  const at = (s: ServerDef | undefined, members: number, mode: Mode) =>
    s === undefined ? undefined : cell(results, s.id, members, mode);
  const ratioRow = (
    target: string,
    a: number | undefined,
    b: number | undefined,
    bound: number,
    fmt: (x: number) => string,
    peer: string,
  ): TargetRow => ({
    target,
    required: b === undefined ? `≤ ${bound}× ${peer}` : `≤ ${fmt(bound * b)} (${bound}× ${peer}'s ${fmt(b)})`,
    measured: a === undefined || b === undefined ? 'not measured' : `${fmt(a)} = ${fmtRatio(a / b)} ${peer}'s`,
    met: a === undefined || b === undefined ? undefined : a <= bound * b,
  });
  for (const ref of results.servers.filter((s) => s.kind === 'reference' || s.kind === 'reference-turn')) {
    const name = ref.label;
    const full = at(ref, 1000, 'full');
    const paced = at(ref, 1000, 'paced');
    const rFull = at(relay, 1000, 'full');
    const rPaced = at(relay, 1000, 'paced');
    const nFull = at(ncat, 1000, 'full');
    rows.push(ratioRow(`${name}, 1000 members, full speed: server CPU per delivery ≤ 1.15× the C relay's`, full?.cpuNs, rFull?.cpuNs, 1.15, fmtNs, 'C relay'));
    rows.push(ratioRow(`${name}, 1000 members, full speed: server CPU per delivery ≤ 0.5× ncat's`, full?.cpuNs, nFull?.cpuNs, 0.5, fmtNs, 'ncat'));
    rows.push({
      target: `${name}, 1000 members, full speed: nothing lost`,
      required: '0',
      measured: full ? `${Math.round(full.lost)} of ${formatCount(full.expected)}` : 'not measured',
      met: full ? full.lost === 0 : undefined,
    });
    rows.push(ratioRow(`${name}, 1000 members, paced: server CPU per delivery ≤ 1.5× the C relay's`, paced?.cpuNs, rPaced?.cpuNs, 1.5, fmtNs, 'C relay'));
    rows.push(ratioRow(`${name}, 1000 members, paced: p99 ≤ 1.5× the C relay's`, paced?.p99, rPaced?.p99, 1.5, formatMs, 'C relay'));
  }
  const big = results.config.big;
  const rBig = big > 0 ? at(relay, big, 'big') : undefined;
  for (const ref of results.servers.filter((s) => s.kind === 'reference' || s.kind === 'reference-turn')) {
    const c = big > 0 ? cell(results, ref.id, big, 'big') : undefined;
    const label = `${ref.label}, ${big.toLocaleString('en')} members`;
    const all = c !== undefined && c.joined === big;
    rows.push(ratioRow(`${label}: all joined, join time ≤ 1.5× the C relay's`, all ? c.joinMs : undefined, rBig?.joined === big ? rBig.joinMs : undefined, 1.5, formatMs, 'C relay'));
    rows.push({
      target: `${label}: server RSS ≤ 90 MB`,
      required: '≤ 90 MB',
      measured:
        c === undefined
          ? 'not measured'
          : `${formatBytes(c.rssPeak)} peak (${formatBytes(c.rssAfterJoin)} after join)${all ? '' : ', not all joined'}`,
      met: c === undefined ? undefined : all && c.rssPeak <= 90e6,
    });
    rows.push(ratioRow(`${label}: one message to all, p99 ≤ 1.5× the C relay's (nothing lost)`, all && c.lost === 0 ? c.p99 : undefined, rBig?.p99, 1.5, formatMs, 'C relay'));
  }
  const members = Math.max(...results.config.members);
  const cGen = relay === undefined ? undefined : cell(results, relay.id, members, 'full', 'c');
  const nodeGen = relay === undefined ? undefined : cell(results, relay.id, members, 'full', 'node');
  rows.push({
    target: `chatkit bench on the C relay, ${members} members, full speed: deliveries/s ≥ 0.8× the C generator's`,
    required:
      cGen === undefined ? '≥ 0.8× the C generator' : `≥ ${formatCount(0.8 * cGen.perSecond)} (0.8× C generator's ${formatCount(cGen.perSecond)})`,
    measured:
      cGen === undefined || nodeGen === undefined
        ? 'not measured'
        : `${formatCount(nodeGen.perSecond)} = ${fmtRatio(nodeGen.perSecond / cGen.perSecond)} C generator's`,
    met: cGen === undefined || nodeGen === undefined ? undefined : nodeGen.perSecond >= 0.8 * cGen.perSecond,
  });
  rows.push(
    ratioRow(
      `chatkit bench on the C relay, ${members} members, full speed: generator CPU per delivery ≤ 1.5× the C generator's`,
      nodeGen?.generatorCpuNs,
      cGen?.generatorCpuNs,
      1.5,
      fmtNs,
      'C generator',
    ),
  );
  return rows;
}

// ---- the chart ---------------------------------------------------------------------------------------

interface Series {
  label: string;
  color: string;
  dashed: boolean;
  points: { x: number; y: number }[];
}

const esc = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

function niceLogRange(values: number[]): [number, number] {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  if (positive.length === 0) return [1, 10];
  const lo = 10 ** Math.floor(Math.log10(Math.min(...positive)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
  return [lo, hi === lo ? lo * 10 : hi];
}

function panel(
  x0: number,
  y0: number,
  width: number,
  height: number,
  title: string,
  unit: (v: number) => string,
  xs: number[],
  series: Series[],
): string {
  const [ylo, yhi] = niceLogRange(series.flatMap((s) => s.points.map((p) => p.y)));
  const [xlo, xhi] = [Math.min(...xs), Math.max(...xs)];
  const px = (x: number) =>
    x0 +
    (xhi === xlo
      ? width / 2
      : ((Math.log10(x) - Math.log10(xlo)) / (Math.log10(xhi) - Math.log10(xlo))) * width);
  const py = (y: number) =>
    y0 + height - ((Math.log10(y) - Math.log10(ylo)) / (Math.log10(yhi) - Math.log10(ylo))) * height;
  const out: string[] = [];
  out.push(
    `<text x="${x0 + width / 2}" y="${y0 - 14}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`,
  );
  out.push(`<rect x="${x0}" y="${y0}" width="${width}" height="${height}" fill="none" stroke="#999"/>`);
  for (let v = ylo; v <= yhi * 1.0001; v *= 10) {
    out.push(`<line x1="${x0}" x2="${x0 + width}" y1="${py(v)}" y2="${py(v)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x0 - 6}" y="${py(v) + 4}" text-anchor="end">${esc(unit(v))}</text>`);
  }
  for (const x of xs) {
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${y0}" y2="${y0 + height}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${px(x)}" y="${y0 + height + 16}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<text x="${x0 + width / 2}" y="${y0 + height + 34}" text-anchor="middle">members</text>`);
  for (const s of series) {
    const pts = s.points.filter((p) => p.y > 0 && Number.isFinite(p.y));
    if (pts.length === 0) continue;
    const dash = s.dashed ? ' stroke-dasharray="5 4"' : '';
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of pts)
      out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  return out.join('\n');
}

/** The chart: p99 latency and deliveries/s against members, one line per server (hand-written SVG). */
export function chartSvg(results: MatrixResults): string {
  const xs = results.config.members;
  const series = (mode: Mode, metric: (c: Cell) => number, dashed: boolean): Series[] =>
    results.servers.map((s) => ({
      label: s.label,
      color: s.color,
      dashed,
      points: xs.flatMap((m) => {
        const c = cell(results, s.id, m, mode);
        return c === undefined ? [] : [{ x: m, y: metric(c) }];
      }),
    }));
  const ms = (v: number) => (v >= 1000 ? `${v / 1000} s` : `${v} ms`);
  const count = (v: number) => formatCount(v).replace(' ', '');
  const width = 960;
  const legendY = 370;
  const legend = results.servers
    .map((s, i) => {
      const x = 60 + (i % 4) * 225;
      const y = legendY + Math.floor(i / 4) * 20;
      return `<line x1="${x}" x2="${x + 24}" y1="${y - 4}" y2="${y - 4}" stroke="${s.color}" stroke-width="3"/><text x="${x + 30}" y="${y}">${esc(s.label)}</text>`;
    })
    .join('\n');
  const rowsOfLegend = Math.ceil(results.servers.length / 4);
  const height = legendY + rowsOfLegend * 20 + 24;
  const hasPaced = results.config.modes.includes('paced');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
${panel(80, 40, 360, 260, `p99 latency (solid: full speed${hasPaced ? ', dashed: paced' : ''})`, ms, xs, [
  ...series('full', (c) => c.p99, false),
  ...(hasPaced ? series('paced', (c) => c.p99, true) : []),
])}
${panel(
  570,
  40,
  360,
  260,
  'deliveries per second, full speed',
  count,
  xs,
  series('full', (c) => c.perSecond, false),
)}
${legend}
<text x="${width - 10}" y="${height - 8}" text-anchor="end" fill="#777">medians of ${results.config.runs} runs; log scales; ${esc(`${results.machine.cores} cores, ${results.machine.cpuModel}`)}</text>
</svg>
`;
}

// ---- the document ------------------------------------------------------------------------------------

function profileSection(title: string, p: NonNullable<MatrixResults['profile']>): string {
  const lines = [`### ${title}`, '', p.what, ''];
  if (p.bench) {
    lines.push(
      `That run: ${formatCount(p.bench.deliveries.perSecond)} deliveries/s, p99 ${formatMs(p.bench.latencyMs.p99)}, lost ${p.bench.deliveries.lost} (profiling slows the server down).`,
      '',
    );
  }
  lines.push(
    `Busy time sampled: ${formatMs(p.summary.totalMs)}.`,
    '',
    '| self time | % | function |',
    '|--:|--:|---|',
  );
  for (const e of p.summary.self) lines.push(`| ${e.ms} ms | ${e.percent} | \`${e.name}\` |`);
  lines.push('', '| inclusive time (chatkit code) | % | function |', '|--:|--:|---|');
  for (const e of p.summary.inclusive) lines.push(`| ${e.ms} ms | ${e.percent} | \`${e.name}\` |`);
  return lines.join('\n');
}

/** docs/BENCHMARKS.md. `analysis` is the hand-written part (what changed, why, what is missed). */
export function renderReport(results: MatrixResults, analysis: string): string {
  const m = results.machine;
  const c = results.config;
  const targets = evaluateTargets(results);
  const busy = results.runs.map((r) => r.background);
  const out: string[] = [];
  out.push(
    '# Benchmarks',
    '',
    `Generated by \`${results.command}\` on ${results.generatedAt.slice(0, 16).replace('T', ' ')} UTC in ${formatMs(results.durationMs)} (commit ${m.commit}). Do not edit: run it again. The raw figures of every run are in [\`bench/results.json\`](../bench/results.json).`,
    '',
    '## The machine',
    '',
    `| | |`,
    `|---|---|`,
    `| CPU | ${m.cores} × ${m.cpuModel} |`,
    `| memory | ${formatBytes(m.memoryBytes)} |`,
    `| kernel | Linux ${m.kernel} |`,
    `| node | ${m.node} |`,
    `| python | ${m.python} |`,
    `| ncat | ${m.ncat} |`,
    `| others' CPU during runs | median ${fmtPercent(median(busy))}, max ${fmtPercent(Math.max(0, ...busy))} of one core (CPU used by processes other than the benchmark and its server) |`,
    '',
    '![p99 latency and deliveries per second against members](benchmarks.svg)',
    '',
    '## Targets',
    '',
    '| target | required | measured | |',
    '|---|---|---|---|',
    ...targets.map(
      (t) =>
        `| ${t.target} | ${t.required} | ${t.measured} | ${t.met === undefined ? 'not measured' : t.met ? '**met**' : '**missed**'} |`,
    ),
    '',
    '## Reference server against its peers (same run, ratios)',
    '',
    "Each cell: the reference's server CPU per delivery ÷ the peer's (below 1× the reference is cheaper; the headline figure, stable on a shared machine), then its deliveries/s ÷ the peer's, then the peer's p99 latency ÷ the reference's (above 1× the reference is better).",
    '',
    ratioTable(results),
    '',
  );
  const generators = generatorTable(results);
  if (generators !== undefined) {
    out.push(
      '## The two generators side by side',
      '',
      `The ${(results.config.cGeneratorModes ?? []).join(', ')} tables below were measured with the C generator (\`bench/c/loadgen.c\`, the same run as \`chatkit bench\` written in C, so that the generator is not what limits a full-speed row); every other table with \`chatkit bench\`. The last column of every table names the generator.`,
      '',
      generators,
      '',
    );
  }
  for (const mode of c.modes) {
    for (const members of c.members) {
      out.push(`## ${modeTitle(results, mode, members)}`, '', configTable(results, members, mode), '');
    }
  }
  if (c.big > 0) {
    out.push(`## ${modeTitle(results, 'big', c.big)}`, '', configTable(results, c.big, 'big'), '');
  }
  out.push(analysis.trim(), '');
  if (results.profile)
    out.push(
      profileSection('Profile: the reference server (default mode: turn batching)', results.profile),
      '',
    );
  if (results.profileTurn) {
    out.push(
      profileSection('Profile: the reference server with --write-batching turn', results.profileTurn),
      '',
    );
  }
  out.push(
    '## How it is measured',
    '',
    `- Every figure is the median of ${c.runs} run${c.runs === 1 ? '' : 's'}; the servers take turns within each repetition, so a change in the machine's load hits all of them alike. Every server is a separate process, spawned per run by \`chatkit bench --spawn\` (its stdout to /dev/null), measured through /proc (RSS: \`VmRSS\`, sampled every 100 ms, summed over its process group; CPU: \`utime + stime\` from the first message sent to the last delivery, in % of one core).`,
    `- The load generator runs all clients in one process on the same ${m.cores} cores as the server; its own CPU is the "generator CPU" column, its name the last column. \`chatkit bench\` (Node, one thread) measures the ${['full', 'paced', 'big'].filter((x) => !(c.cGeneratorModes ?? []).includes(x as Mode)).join(' and ') || 'comparison'} rows; the C generator (\`bench/c/loadgen.c\`, built by \`npm run bench\` with the machine's \`cc\`: the same joins, messages, tokens, scan, histogram and JSON document, in one thread with epoll) measures the ${(c.cGeneratorModes ?? []).join(' and ') || 'no'} rows, so that the generator is not what limits them. The server and the generator compete for the same cores: a server that needs less CPU leaves more to the generator, which then reads faster.`,
    `- Clients join ${c.joinConcurrency} at a time with the dialect's handshake (NICK: wait for the prompt, send the nickname, wait for \`Connected to server!\`; tilde: send the username, wait for its \`SERVER~<user> added to the chat\`). ${c.joinConcurrency} because ncat and the seed tilde server listen with a backlog of 10: more connections at once overflow it and the kernel retries their SYN after 1 s, 3 s, 7 s…, which would measure TCP's retry timer, not the server. The join time runs from the first connect to the last member; then the run waits until no byte arrived for 200 ms (the join announcements, one per member per join, have drained) before the first message.`,
    `- Full speed: ${c.senders} senders (all members when there are fewer) each write ${c.fullMessages} messages of ${c.size} bytes as fast as their socket takes them (each message its own write, taking turns in bursts of 8); paced: each sender writes ${c.pacedRate} messages per second for ${c.pacedSeconds} s, the senders spread evenly over each period.`,
    "- Each message carries its sender, sequence number and send time (a 16-byte token, written twice so that a relay that cuts or prefixes a message inside one copy leaves the other whole); every member's byte stream is scanned incrementally for tokens, whatever the chunk boundaries. A delivery is one message reaching one member; latency runs from the sender's `write()` to the member's read, on one clock. Lost = expected deliveries − deliveries seen, after the drain (it ends when all arrived, after 5 s without a new one, or after 30 s).",
    "- **ncat** (`ncat -l --chat`) speaks its own dialect, measured as `raw-lines`: no handshake (a client is a member once ncat sent it its first bytes, the `<announce>` lines every newcomer gets), every message ends with LF, and ncat relays each read to every *other* client prefixed with `<userN> ` and never echoes to the sender. So a message to N members is N − 1 deliveries for ncat and N for the NICK and tilde servers (which also send it back to its sender); deliveries/s counts what each server actually delivered, so the comparison is per delivery. ncat runs with `--max-conns 100000` (its default is 100); it serves at most about 1018 clients (select()'s FD_SETSIZE).",
    "- **The C relay** (`bench/c/relay.c`, built by `npm run bench` with the machine's `cc`; its rows are missing, with a note, where there is none) is the limit peer: one thread, edge-triggered epoll, the NICK dialect, and the reference server's write policy (everything one loop turn produced for a member in one `write()`). Every reference figure is read as a ratio to it and to ncat from the same run.",
    "- **Server CPU per delivery** (ns) = the server's CPU time in the measured window ÷ the deliveries in it: the headline figure, because it depends far less on what else the shared machine runs than deliveries/s or latency do.",
    "- The seeds' servers (`conformance/targets/python/nick_server.py`, `tilde_server.py`) run as they are: Python, a thread per client, blocking `send()`; the NICK seed accepts one join at a time (its accept loop waits for each nickname).",
    '- Between runs every client is closed with a reset (RST), not a FIN: the seeds spin on EOF (D-NS-1, D-TS-4) and would burn a core after the run.',
    '',
    `Configuration: members ${c.members.join(', ')}; runs ${c.runs}; modes ${c.modes.join(', ')}; ${c.big > 0 ? `${c.big} members for the big run (joining ${c.bigJoinConcurrency} at a time)` : 'no big run'}. Change it with flags or environment variables: \`npm run bench -- --help\`.`,
    '',
  );
  if (results.notes.length > 0)
    out.push('## Notes of this run', '', ...results.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
