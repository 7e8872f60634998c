/**
 * Text renderings of a benchmark for people: the live progress line and the final summary.
 *
 * @module
 */
import { painter, type Style } from '../color.js';
import type { BenchProgress } from './loadgen.js';
import type { BenchResult } from './result.js';

/** `12.3 MB`, `1.2 GB`: bytes in decimal units. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '?';
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

/** `3.42 M`, `812 k`, `95`: a count with an SI suffix. */
export function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 1 : 2)} M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)} k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

/** `850 µs`, `12.3 ms`, `4.21 s`: a duration given in milliseconds. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '?';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 100) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** One line for a terminal, rewritten in place on every tick. */
export function formatProgress(p: BenchProgress): string {
  const t = `${(p.elapsedMs / 1000).toFixed(1)}s`;
  const rss = p.serverRssBytes === undefined ? '' : `  server ${formatBytes(p.serverRssBytes)}`;
  if (p.phase === 'join' || p.phase === 'settle') {
    const failed = p.failed > 0 ? `, ${p.failed} failed` : '';
    return `${t} ${p.phase}: ${p.joined}/${p.clients} joined${failed}${rss}`;
  }
  return `${t} ${p.phase}: sent ${formatCount(p.sent)}, delivered ${formatCount(p.seen)}/${formatCount(p.expected)} (${formatCount(p.recentPerSecond)}/s)${rss}`;
}

/**
 * The summary printed at the end of a run (without `--json`); `paint` colours it (src/color.ts's
 * `painter`, on when `colorWanted`): the heading bold, losses red (none: green), warnings yellow.
 */
export function formatBenchSummary(
  r: BenchResult,
  paint: (style: Style, text: string) => string = painter(false),
): string {
  const c = r.config;
  const load =
    c.messagesPerSender === null
      ? `for ${((c.durationMs ?? 0) / 1000).toFixed(1)} s`
      : `× ${c.messagesPerSender} msgs`;
  const pace = c.rate === 0 ? 'at full speed' : `at ${c.rate} msg/s each`;
  const failures = Object.entries(r.join.failures)
    .map(([why, n]) => `${n} ${why}`)
    .join(', ');
  const lines = [
    paint(
      'bold',
      `chatkit bench: ${r.target.dialect} ${r.target.host}:${r.target.port}, ${c.clients} clients, ${c.senders} senders ${load} ${pace}, ${c.size} B`,
    ),
    `joined      ${r.join.joined}/${c.clients} in ${formatMs(r.join.ms)}${failures ? ` (${failures})` : ''}; per client p50 ${formatMs(r.join.latencyMs.p50)}, p99 ${formatMs(r.join.latencyMs.p99)}`,
    `sent        ${r.send.messages} messages in ${formatMs(r.send.ms)}`,
    `deliveries  ${r.deliveries.seen}/${r.deliveries.expected}, ${paint(r.deliveries.lost > 0 ? 'red' : 'green', `lost ${r.deliveries.lost}`)}; ${formatCount(r.deliveries.perSecond)}/s${r.deliveries.crossNode === undefined ? '' : `; ${r.deliveries.crossNode} across nodes`}`,
    `latency     p50 ${formatMs(r.latencyMs.p50)}  p90 ${formatMs(r.latencyMs.p90)}  p99 ${formatMs(r.latencyMs.p99)}  max ${formatMs(r.latencyMs.max)}`,
  ];
  if (r.membersLost > 0) lines.push(paint('red', `members     ${r.membersLost} closed by the server during the run`));
  if (r.server !== null) {
    const cpu = r.server.cpuPercent === null ? '?' : `${r.server.cpuPercent} %`;
    lines.push(
      `server      pid ${r.server.pid}${r.server.group ? ' (group)' : ''}: RSS ${formatBytes(r.server.rssAfterJoinBytes)} after join, ${formatBytes(r.server.rssPeakBytes)} peak; CPU ${formatMs(r.server.joinCpuMs)} while joining, ${cpu} of a core while measured`,
    );
  }
  lines.push(
    `generator   CPU ${formatMs(r.generator.joinCpuMs)} while joining, ${r.generator.cpuPercent} % of a core while measured${(r.generator.workers ?? 1) > 1 ? ` (${r.generator.workers} threads)` : ''}, RSS ${formatBytes(r.generator.rssBytes)}`,
  );
  lines.push(`ended       ${r.endedBy} after ${formatMs(r.durationMs)}`);
  for (const w of r.warnings) lines.push(paint('yellow', `warning     ${w}`));
  return lines.join('\n');
}
