/**
 * `chatkit bench --workers N`: one run whose members are spread over N worker threads, each running
 * {@link runBench} on its share (`bench-worker.ts`), so that reading thousands of members uses more
 * than one core. The shares join at once, start sending together (a barrier in this thread), read
 * every share's tokens (one salt, one clock, the senders' counts in shared memory), and their
 * results are merged into one: counts summed, histograms merged, windows from the earliest start to
 * the latest end. The server's and the generator's CPU are measured here, over the whole process.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import { startThread } from './thread-entry.js';
import {
  BENCH_PHASES,
  BenchError,
  type BenchOptions,
  type BenchProgress,
  GENERATOR_BOTTLENECK_PERCENT,
  latency,
  runBench,
  runIdentity,
  SPARE_DESCRIPTORS,
  type ShardLink,
  type ShardRaw,
  TICK_MS,
} from './loadgen.js';
import { ensureOpenFileLimit, isGroupLeader, ProcessSampler } from '../processes/index.js';
import type { BenchResult } from './result.js';
import { Histogram } from './stats.js';

/** Members per worker below which one more worker costs more than it reads (a thread's start, its heap). */
export const MEMBERS_PER_WORKER = 500;
/** Beyond the run's own deadline, how long this thread waits for the shares' results before it ends them. */
const SHARE_RESULT_GRACE_MS = 30_000;

/** Planned deliveries per second that one thread reads with room to spare (paced runs below it get one). */
export const ONE_THREAD_DELIVERIES_PER_SECOND = 2_000_000;

/**
 * The default number of workers: one per core, but none beyond one per {@link MEMBERS_PER_WORKER}
 * members, and one for a paced run that plans fewer than {@link ONE_THREAD_DELIVERIES_PER_SECOND}
 * deliveries/s. On 2 cores, against a relay on the same machine, 2 threads measured 1.1-1.2x the
 * deliveries/s of one at 1000 members at full speed; on a paced run, where one thread keeps up,
 * the second only took CPU from the server (the reference's p99 at 1000 members went from within
 * 1.5x the C relay's to 1.9x).
 */
export function defaultWorkers(
  run: { clients: number; senders: number; rate: number },
  cores = availableParallelism(),
): number {
  if (run.rate > 0 && run.clients * run.senders * run.rate < ONE_THREAD_DELIVERIES_PER_SECOND) return 1;
  return Math.max(1, Math.min(cores, Math.floor(run.clients / MEMBERS_PER_WORKER)));
}

/** What a share's thread gets as `workerData`. */
export interface ShareData {
  readonly options: Omit<BenchOptions, 'onProgress' | 'shard' | 'pid' | 'pidGroup'>;
  readonly link: Omit<ShardLink, 'sent' | 'ready' | 'sendersDone' | 'report'>;
  readonly sent: SharedArrayBuffer;
}
/** Orders to a share: start sending; every share's senders are done. */
export type ShareOrder = { readonly type: 'go' | 'all-sent' };
/** What a share posts back. */
export type ShareMessage =
  | { readonly type: 'ready'; readonly joined: number }
  | { readonly type: 'senders-done' }
  | { readonly type: 'progress'; readonly progress: BenchProgress }
  | { readonly type: 'result'; readonly result: BenchResult; readonly raw: ShardRaw }
  | { readonly type: 'failed'; readonly code: string | undefined; readonly message: string };

/** `n` split into `parts` near-equal integers, the larger first. */
function split(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Runs one benchmark over `workers` threads (one: {@link runBench} in this thread) and returns the
 * merged result. Throws as {@link runBench} does.
 */
export async function runBenchThreads(o: BenchOptions, workers: number): Promise<BenchResult> {
  const n = Math.min(workers, o.clients);
  if (n <= 1 || o.nodes !== undefined) return runBench(o);
  const fileLimit = ensureOpenFileLimit(o.clients + SPARE_DESCRIPTORS);
  const clients = split(o.clients, n);
  const senders = split(o.senders, n).map((s, i) => Math.min(s, clients[i]!));
  const totalSenders = senders.reduce((a, b) => a + b, 0);
  const sent = new SharedArrayBuffer(4 * Math.max(1, totalSenders));
  const { salt, runTag } = runIdentity();
  const epochMs = performance.timeOrigin + performance.now();
  const elapsed = () => performance.timeOrigin + performance.now() - epochMs;
  const { onProgress, pid, pidGroup, ...shared } = o;
  const group = pid === undefined ? false : (pidGroup ?? isGroupLeader(pid));
  const sampler = pid === undefined ? undefined : new ProcessSampler(pid, group);
  let rssPeak: number | undefined;
  const sample = () => {
    const s = sampler?.sample();
    if (s !== undefined) rssPeak = Math.max(rssPeak ?? 0, s.rssBytes);
    return s;
  };
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  const server0 = sample();
  const gen0 = process.cpuUsage();
  let joinCpu: { server: number | undefined; gen: number } | undefined;
  let rssAfterJoin: number | undefined;
  let serverAtGo: number | undefined;
  let genAtGo: NodeJS.CpuUsage | undefined;

  let senderBase = 0;
  const threads = clients.map((share, index) => {
    const data: ShareData = {
      options: {
        ...shared,
        clients: share,
        senders: senders[index]!,
        joinConcurrency: Math.max(1, Math.ceil(o.joinConcurrency / n)),
        joinRate: o.joinRate / n,
      },
      link: { index, salt, runTag, epochMs, senderBase },
      sent,
    };
    senderBase += senders[index]!;
    return startThread('bench-worker', data);
  });

  const progress: (BenchProgress | undefined)[] = threads.map(() => undefined);
  const ready = new Set<number>();
  const sendersDone = new Set<number>();
  const results: { result: BenchResult; raw: ShardRaw }[] = [];
  let allSent = false;
  const finished = new Set<number>();
  const ticker = setInterval(() => {
    const s = sample();
    const known = progress.filter((p): p is BenchProgress => p !== undefined);
    if (onProgress === undefined || known.length === 0) return;
    onProgress({
      // The run is in the phase of its slowest share.
      phase: BENCH_PHASES[Math.min(...known.map((p) => BENCH_PHASES.indexOf(p.phase)))]!,
      elapsedMs: Math.round(elapsed()),
      clients: o.clients,
      joined: known.reduce((a, p) => a + p.joined, 0),
      failed: known.reduce((a, p) => a + p.failed, 0),
      sent: known.reduce((a, p) => a + p.sent, 0),
      expected: known.reduce((a, p) => a + p.expected, 0),
      seen: known.reduce((a, p) => a + p.seen, 0),
      recentPerSecond: known.reduce((a, p) => a + p.recentPerSecond, 0),
      serverRssBytes: s?.rssBytes,
    });
  }, TICK_MS);
  try {
    await new Promise<void>((resolve, reject) => {
      const guard = setTimeout(
        () => reject(new Error(`the bench threads sent no result within ${o.deadlineMs + SHARE_RESULT_GRACE_MS} ms`)),
        o.deadlineMs + SHARE_RESULT_GRACE_MS,
      );
      const fail = (error: Error) => {
        clearTimeout(guard);
        reject(error);
      };
      // A share that has ended counts as ready and as done sending: the others never wait on it.
      const advance = () => {
        if (ready.size === n && genAtGo === undefined) {
          const s = sample();
          const gen = cpuMs(process.cpuUsage(gen0));
          joinCpu = {
            server: s === undefined || server0 === undefined ? undefined : s.cpuMs - server0.cpuMs,
            gen,
          };
          rssAfterJoin = s?.rssBytes;
          serverAtGo = s?.cpuMs;
          genAtGo = process.cpuUsage();
          for (const t of threads) t.postMessage({ type: 'go' } satisfies ShareOrder);
        }
        if (sendersDone.size === n && !allSent) {
          allSent = true;
          for (const t of threads) t.postMessage({ type: 'all-sent' } satisfies ShareOrder);
        }
        if (results.length === n) {
          clearTimeout(guard);
          resolve();
        }
      };
      threads.forEach((thread, i) => {
        thread.on('message', (m: ShareMessage) => {
          if (m.type === 'ready') ready.add(i);
          else if (m.type === 'senders-done') sendersDone.add(i);
          else if (m.type === 'progress') progress[i] = m.progress;
          else if (m.type === 'result') {
            finished.add(i);
            results.push({ result: m.result, raw: m.raw });
            ready.add(i);
            sendersDone.add(i);
          } else {
            fail(
              m.code === 'BENCH_BAD_OPTION' || m.code === 'BENCH_CONNECT_FAILED'
                ? new BenchError(m.code, m.message)
                : new Error(m.message),
            );
            return;
          }
          advance();
        });
        thread.on('error', fail);
        thread.on('exit', () => {
          if (!finished.has(i)) {
            fail(new Error(`bench thread ${i} ended before its result`));
          }
        });
      });
    });
  } finally {
    clearInterval(ticker);
    await Promise.all(threads.map((t) => t.terminate()));
  }
  return merge(o, n, results, {
    fileLimit,
    group,
    joinCpu,
    rssAfterJoin,
    rssPeak,
    serverCpuMs: (() => {
      const end = sample();
      return end === undefined || serverAtGo === undefined ? undefined : Math.max(0, end.cpuMs - serverAtGo);
    })(),
    genCpuMs: genAtGo === undefined ? 0 : cpuMs(process.cpuUsage(genAtGo)),
    durationMs: elapsed(),
  });
}

interface Measured {
  fileLimit: ReturnType<typeof ensureOpenFileLimit>;
  group: boolean;
  joinCpu: { server: number | undefined; gen: number } | undefined;
  rssAfterJoin: number | undefined;
  rssPeak: number | undefined;
  serverCpuMs: number | undefined;
  genCpuMs: number;
  durationMs: number;
}

/** One result from the shares' results and what this thread measured. */
function merge(
  o: BenchOptions,
  workers: number,
  shares: readonly { result: BenchResult; raw: ShardRaw }[],
  m: Measured,
): BenchResult {
  const sum = (f: (r: BenchResult) => number) => shares.reduce((a, s) => a + f(s.result), 0);
  const earliest = (f: (r: ShardRaw) => number) => Math.min(...shares.map((s) => f(s.raw)));
  const latest = (f: (r: ShardRaw) => number) => Math.max(...shares.map((s) => f(s.raw)));
  const joinLatency = new Histogram();
  const latencyHist = new Histogram();
  for (const s of shares) {
    joinLatency.merge(Histogram.fromSnapshot(s.raw.joinLatency));
    latencyHist.merge(Histogram.fromSnapshot(s.raw.latency));
  }
  const failures: Record<string, number> = {};
  for (const s of shares) {
    for (const [why, count] of Object.entries(s.result.join.failures)) failures[why] = (failures[why] ?? 0) + count;
  }
  const sendStart = earliest((r) => r.sendStartedMs);
  const windowMs = sendStart > 0 ? Math.max(1, latest((r) => r.windowEndMs) - sendStart) : 0;
  const deliveryWindowMs = Math.max(1, latest((r) => r.lastDeliveryMs) - sendStart);
  const seen = sum((r) => r.deliveries.seen);
  const expected = sum((r) => r.deliveries.expected);
  const first = shares[0]!.result;
  // The worst ending of a share that had members; 'no-members' only when no share had any.
  const order: BenchResult['endedBy'][] = ['deadline', 'drain-limit', 'drain-quiet', 'complete'];
  const joined = sum((r) => r.join.joined);
  const endedBy =
    joined === 0 ? 'no-members' : (order.find((why) => shares.some((s) => s.result.endedBy === why)) ?? 'complete');
  // Each share's warnings, once; its own CPU warning measured the whole process, so it is replaced.
  const warnings = [
    ...new Set(shares.flatMap((s) => s.result.warnings.filter((w) => !w.startsWith('the generator was the bottleneck')))),
  ];
  const percent = windowMs === 0 ? 0 : (m.genCpuMs / windowMs) * 100;
  if (percent / workers > GENERATOR_BOTTLENECK_PERCENT) {
    warnings.push(
      `the generator was the bottleneck (${Math.round(percent)} % of its ${workers} threads' cores): the figure is a lower bound`,
    );
  }
  return {
    ...first,
    config: { ...first.config, clients: o.clients, senders: o.senders, joinConcurrency: o.joinConcurrency, joinRate: o.joinRate },
    join: {
      attempted: sum((r) => r.join.attempted),
      joined,
      failed: sum((r) => r.join.failed),
      failures,
      ms: round3(latest((r) => r.joinEndMs) - earliest((r) => r.joinStartMs)),
      latencyMs: latency(joinLatency),
    },
    send: {
      messages: sum((r) => r.send.messages),
      ms: round3(Math.max(0, latest((r) => r.sendEndedMs) - sendStart)),
      messageBytes: o.size,
    },
    deliveries: {
      expected,
      seen,
      lost: Math.max(0, expected - seen),
      perSecond: seen > 0 ? Math.round((seen * 1000) / deliveryWindowMs) : 0,
      damagedTokens: sum((r) => r.deliveries.damagedTokens),
    },
    latencyMs: latency(latencyHist),
    membersLost: sum((r) => r.membersLost),
    server:
      o.pid === undefined
        ? null
        : {
            pid: o.pid,
            group: m.group,
            rssAfterJoinBytes: m.rssAfterJoin ?? null,
            rssPeakBytes: m.rssPeak ?? null,
            joinCpuMs: m.joinCpu?.server === undefined ? null : Math.round(m.joinCpu.server),
            cpuMs: m.serverCpuMs === undefined ? null : Math.round(m.serverCpuMs),
            cpuPercent:
              m.serverCpuMs === undefined || windowMs === 0 ? null : Math.round((m.serverCpuMs / windowMs) * 1000) / 10,
          },
    generator: {
      program: 'chatkit bench',
      workers,
      joinCpuMs: Math.round(m.joinCpu?.gen ?? 0),
      cpuMs: Math.round(m.genCpuMs),
      cpuPercent: Math.round(percent * 10) / 10,
      rssBytes: process.memoryUsage.rss(),
    },
    endedBy,
    durationMs: Math.round(m.durationMs),
    openFiles: {
      needed: m.fileLimit.needed,
      soft: m.fileLimit.soft === undefined || !Number.isFinite(m.fileLimit.soft) ? null : m.fileLimit.soft,
      raised: m.fileLimit.raised,
    },
    warnings,
  };
}
