/**
 * The hostile soak: `chatkit serve` in its default mode, many well-behaved members chatting
 * (`chatkit bench`'s paced run, every message found in every member's stream), while members join
 * and leave all the time, flooders flood and bad-byte clients send invalid UTF-8, control bytes,
 * huge lines, half-open and silent handshakes. It passes when every well-behaved member is still
 * joined at the end, not one of their messages is lost, nobody is evicted, and every flooder got
 * its whole flood back (throttled: delayed, not lost).
 *
 * `npm run soak:hostile` runs it at 10,000 members (scripts/hostile-soak.ts); the CI test runs a
 * small one (test/reference-server/hostile-soak.int.test.ts). Hostile peers connect from other
 * loopback addresses than the members (127.0.0.2 and up), as real strangers would.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { openDescriptors } from '../processes/proc.js';
import type { BenchDialect } from './dialects.js';
import {
  BAD_BYTE_KINDS,
  type BadByteKind,
  type BadByteReport,
  FLOOD_BYTES,
  type Flooder,
  joinFlooder,
  type PeerTarget,
  runBadByteClient,
} from './hostile.js';
import { CHURN_MAX_LAG_MS, type ChurnReport } from './churn.js';
import { type ChurnThread, startChurnThread } from './churn-thread.js';
import { runBench } from './loadgen.js';
import type { BenchResult } from './result.js';

/** What to run. */
export interface HostileSoakOptions {
  /** The server: `[executable, ...args]`, started with `--port 0 --log-format json` appended. */
  readonly serverCommand: readonly string[];
  readonly dialect: BenchDialect;
  /** Well-behaved members. */
  readonly members: number;
  /** Of them, how many chat. */
  readonly senders: number;
  /** Messages per second per sender. */
  readonly rate: number;
  /** How long they chat (the hostile peers act meanwhile). */
  readonly durationMs: number;
  /** Flooders (at most {@link FLOOD_BYTES}.length). */
  readonly flooders: number;
  /** Flood bytes each flooder writes as fast as its socket takes them. */
  readonly floodBytes: number;
  /** Bad-byte clients of each kind. */
  readonly badBytesPerKind: number;
  /** Kinds of bad-byte clients (default: all). */
  readonly badByteKinds?: readonly BadByteKind[];
  /** Bytes of a huge line. */
  readonly hugeLineBytes: number;
  /** Silent connections a silent client holds open at once. */
  readonly silentConnections: number;
  /** Churn: joins per second (each member leaves again after about `churnStayMs`). */
  readonly churnPerSecond: number;
  readonly churnStayMs: number;
  /** Handshakes of the members in flight at once. */
  readonly joinConcurrency: number;
  /** Bound on each wait (a join, a drain, the flood's return). */
  readonly waitMs: number;
  /** Progress lines (the script prints them; the test does not). */
  readonly progress?: (line: string) => void;
}

/** One flooder's figures. */
export interface FloodFigures {
  /** The flood byte, e.g. `%`. */
  byte: string;
  /** Flood bytes written. */
  sent: number;
  /** Of them, relayed back to the flooder itself. */
  received: number;
  /** `sent - received` once everything was back or the wait was over. */
  lost: number;
  /** Time the socket took to take the whole flood, ms (the throttling shows here). */
  writeMs: number;
  /** From the flood's first write to its last byte back, ms. */
  completeMs: number | null;
  /** Flood bytes per second through the room (sent / completeMs). */
  bytesPerSecond: number | null;
}

/** The soak's figures and verdict. */
export interface HostileSoakResult {
  options: Omit<HostileSoakOptions, 'progress'>;
  durationMs: number;
  /** How long the hostile peers acted (from the chat's start to its drain), ms; 0 when they never started. */
  hostileMs: number;
  members: { wanted: number; joined: number; closedByServer: number; stillJoined: number };
  deliveries: { expected: number; seen: number; lost: number };
  latencyMs: BenchResult['latencyMs'];
  endedBy: BenchResult['endedBy'];
  /** Members the server closed as slow consumers (from its log, suppressed lines counted). */
  evicted: number;
  /** FLOODING episodes the server logged. */
  floodingEpisodes: number;
  floods: FloodFigures[];
  /** Each flood byte seen by a member that only watches. */
  watcherReceived: number[];
  badBytes: BadByteReport[];
  churn: ChurnReport | null;
  server: {
    pid: number;
    rssPeakBytes: number | null;
    descriptorsAtStart: number | null;
    descriptorsPeak: number | null;
    descriptorsAtEnd: number | null;
    cpuMs: number | null;
    exitCode: number | null;
    /** Log entries by code (suppressed ones counted). */
    logCodes: Record<string, number>;
  };
  warnings: string[];
  /** Why it failed; empty when it passed. */
  problems: string[];
}

/** Descriptors the process holds (`/proc/<pid>/fd`); null where unreadable. */
export function descriptorCount(pid: number): number | null {
  return openDescriptors(pid) ?? null;
}

/** How often the server's descriptors are counted. */
const FD_SAMPLE_MS = 500;
/** The bench's drain ends when no delivery arrived for this long. */
const DRAIN_QUIET_MS = 15_000;
/** Pause of bad-byte clients between their writes. */
const BAD_BYTE_EVERY_MS = 250;

interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  codes: Record<string, number>;
  exited: Promise<number | null>;
}

/** Starts the server and counts its JSON log lines by code (a suppressed line's count included). */
async function startServer(o: HostileSoakOptions): Promise<ServerProcess> {
  const [exe, ...args] = o.serverCommand;
  const child = spawn(exe!, [...args, '--port', '0', '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const codes: Record<string, number> = {};
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server announced no port')), o.waitMs);
    void exited.then((code) => reject(new Error(`the server exited (${code}) before listening`)));
    lines.on('line', (line) => {
      let entry: { event?: string; code?: string; detail?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.event === 'listening') {
        const m = /:(\d+)/.exec(entry.detail ?? '');
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      }
      if (entry.code !== undefined) {
        const more = /^(\d+) more like this/.exec(entry.detail ?? '');
        codes[entry.code] = (codes[entry.code] ?? 0) + (more ? Number(more[1]) : 1);
      }
    });
  });
  return { child, pid: child.pid!, port, codes, exited };
}

/** Polls until `done()` or `ms` passed; true when done. */
async function within(ms: number, done: () => boolean): Promise<boolean> {
  const until = performance.now() + ms;
  while (!done() && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
  return done();
}

/** Runs the soak to its end (every wait bounded) and stops the server it started. */
export async function runHostileSoak(o: HostileSoakOptions): Promise<HostileSoakResult> {
  const say = o.progress ?? (() => undefined);
  const started = performance.now();
  const server = await startServer(o);
  const problems: string[] = [];
  const warnings: string[] = [];
  let fdPeak: number | null = null;
  const fdStart = descriptorCount(server.pid);
  const fdTimer = setInterval(() => {
    const n = descriptorCount(server.pid);
    if (n !== null) fdPeak = Math.max(fdPeak ?? 0, n);
  }, FD_SAMPLE_MS);
  const at = (address: string): PeerTarget => ({
    host: '127.0.0.1',
    port: server.port,
    dialect: o.dialect,
    localAddress: address,
  });
  const stoppers: (() => void)[] = [];
  let churn: ChurnThread | undefined;
  try {
    // The flooders and a watcher join first, from an address of their own.
    const floodTarget = at('127.0.0.2');
    const watchers: Flooder[] = [];
    for (let i = 0; i < o.flooders; i++) {
      watchers.push(await joinFlooder(at('127.0.0.1'), `watch${i}`, FLOOD_BYTES[i]!, { timeoutMs: o.waitMs }));
    }
    const flooders: Flooder[] = [];
    for (let i = 0; i < o.flooders; i++) {
      flooders.push(await joinFlooder(floodTarget, `flood${i}`, FLOOD_BYTES[i]!, { timeoutMs: o.waitMs }));
    }
    say(`server pid ${server.pid} on port ${server.port}; ${o.flooders} flooders joined; joining ${o.members} members`);

    // Churn runs in a thread of its own, started now so it is ready when the chat begins.
    churn =
      o.churnPerSecond > 0
        ? await startChurnThread(
            {
              target: at('127.0.0.3'),
              prefix: 'churn',
              options: { perSecond: o.churnPerSecond, stayMs: o.churnStayMs, joinTimeoutMs: o.waitMs },
            },
            o.waitMs,
          )
        : undefined;
    let churnReport: Promise<ChurnReport> | undefined;
    let hostileStarted = false;
    let resolveStop: () => void = () => undefined;
    const hostileStop = new Promise<void>((resolve) => (resolveStop = resolve));
    /** Stops every hostile peer; the churn's report is awaited later. */
    let hostileFrom = 0;
    let hostileMs = 0;
    const stopHostile = () => {
      if (hostileStarted && hostileMs === 0) hostileMs = Math.max(1, Math.round(performance.now() - hostileFrom));
      if (churn !== undefined && hostileStarted && churnReport === undefined) {
        churnReport = churn.stop(o.waitMs);
        churnReport.catch(() => undefined); // awaited (and reported) later; never unhandled if the run fails first
      }
      resolveStop();
    };
    stoppers.push(stopHostile);
    let floods: Promise<{ bytes: number; ms: number; startedAt: number }>[] = [];
    let badBytes: Promise<BadByteReport>[] = [];
    let lastSay = 0;
    const kinds = o.badByteKinds ?? BAD_BYTE_KINDS;

    const bench = await runBench({
      host: '127.0.0.1',
      port: server.port,
      dialect: o.dialect,
      clients: o.members,
      senders: o.senders,
      durationMs: o.durationMs,
      rate: o.rate,
      size: 64,
      joinConcurrency: o.joinConcurrency,
      joinRate: 0,
      joinTimeoutMs: o.waitMs,
      drainMs: o.waitMs,
      drainQuietMs: DRAIN_QUIET_MS,
      deadlineMs: Math.max(300_000, o.durationMs + 8 * o.waitMs),
      pid: server.pid,
      pidGroup: false,
      onProgress: (p) => {
        if (p.phase === 'send' && !hostileStarted) {
          hostileStarted = true;
          hostileFrom = performance.now();
          say(`all joined (${p.joined}/${p.clients}); chatting for ${o.durationMs} ms with hostile peers`);
          floods = flooders.map(async (f) => {
            const startedAt = performance.now();
            const r = await f.flood(o.floodBytes, o.waitMs);
            return { ...r, startedAt };
          });
          let n = 0;
          badBytes = kinds.flatMap((kind, k) =>
            Array.from({ length: o.badBytesPerKind }, (_, j) =>
              runBadByteClient(
                at(`127.0.0.${10 + k}`),
                kind,
                `bad${k}x${j}`,
                {
                  joinTimeoutMs: o.waitMs,
                  everyMs: BAD_BYTE_EVERY_MS + 37 * n++,
                  hugeLineBytes: o.hugeLineBytes,
                  silentConnections: o.silentConnections,
                },
                hostileStop,
              ),
            ),
          );
          churn?.start();
        }
        if (p.phase === 'drain') stopHostile();
        if (p.elapsedMs - lastSay >= 5_000) {
          lastSay = p.elapsedMs;
          const fl = flooders.map((f) => `${f.received()}/${f.sent()}`).join(' ');
          const ch = churn?.progress();
          say(
            `${(p.elapsedMs / 1000).toFixed(0)} s ${p.phase}: joined ${p.joined}, sent ${p.sent}, seen ${p.seen}/${p.expected}, floods back ${fl || '-'}, churn ${ch === undefined ? '-' : `${ch.joined}/${ch.attempted}/${ch.planned}`}, fds ${descriptorCount(server.pid) ?? '?'}, rss ${p.serverRssBytes === undefined ? '?' : Math.round(p.serverRssBytes / 2 ** 20)} MB`,
          );
        }
      },
    });
    stopHostile();
    warnings.push(...bench.warnings);

    // The floods: every byte back at its flooder and at the watcher, however late.
    const written = await Promise.allSettled(floods);
    const floodOutcome = await Promise.all(
      flooders.map(async (f, i) => {
        const w = written[i];
        const ok = await within(o.waitMs, () => f.received() >= f.sent() && watchers[i]!.received() >= f.sent());
        const r = w?.status === 'fulfilled' ? w.value : undefined;
        if (w?.status === 'rejected') problems.push(`flooder ${i}: ${String(w.reason)}`);
        return { ok, r, doneAt: ok ? (f.lastReceivedAt() ?? null) : null };
      }),
    );
    const floodFigures: FloodFigures[] = flooders.map((f, i) => {
      const { r, doneAt } = floodOutcome[i]!;
      const completeMs = r !== undefined && doneAt !== null ? Math.round(doneAt - r.startedAt) : null;
      return {
        byte: String.fromCharCode(f.byte),
        sent: f.sent(),
        received: f.received(),
        lost: Math.max(0, f.sent() - f.received()),
        writeMs: Math.round(r?.ms ?? 0),
        completeMs,
        bytesPerSecond: completeMs ? Math.round((f.sent() * 1000) / completeMs) : null,
      };
    });
    const bad = await Promise.all(badBytes);
    let churned: ChurnReport | null = null;
    if (churnReport !== undefined) {
      try {
        churned = await churnReport;
      } catch (error) {
        problems.push(`churn: ${error instanceof Error ? error.message : String(error)}`);
      }
    } else if (churn !== undefined) problems.push('churn never started');
    // Every well-behaved member and every flooder is still connected now (the bench closes its own after).
    const closedFlooders = [...flooders, ...watchers].filter((f) => f.socket.destroyed || f.socket.readyState !== 'open');
    for (const f of [...flooders, ...watchers]) f.socket.destroy();
    await within(o.waitMs, () => descriptorCount(server.pid) === null || descriptorCount(server.pid)! <= (fdStart ?? 0) + 8);
    const fdEnd = descriptorCount(server.pid);

    process.kill(server.pid, 'SIGTERM');
    const exitCode = await Promise.race([server.exited, new Promise<null>((r) => setTimeout(() => r(null), o.waitMs))]);
    const evicted = server.codes.SLOW_CONSUMER ?? 0;
    const closedByServer = bench.membersLost;
    if (bench.join.joined < o.members) problems.push(`only ${bench.join.joined} of ${o.members} members joined`);
    if (closedByServer > 0) problems.push(`${closedByServer} well-behaved members were closed by the server`);
    if (bench.deliveries.lost > 0) problems.push(`${bench.deliveries.lost} messages lost`);
    if (evicted > 0) problems.push(`${evicted} members evicted as slow consumers`);
    if (closedFlooders.length > 0) problems.push(`${closedFlooders.length} flooders or watchers were closed by the server`);
    for (const f of floodFigures) if (f.lost > 0) problems.push(`flooder ${f.byte}: ${f.lost} of ${f.sent} flood bytes never came back`);
    if (!hostileStarted) problems.push('the hostile peers never started (the chat never reached its send phase)');
    if (churned !== null) {
      const c = churned;
      if (c.attempted < c.planned)
        problems.push(`churn: ${c.attempted} of ${c.planned} planned joins attempted (${c.missed} reached more than ${CHURN_MAX_LAG_MS} ms late)`);
      if (c.closedByServer > 0) problems.push(`churn: ${c.closedByServer} churn members were closed by the server`);
      if (c.joined < c.attempted) problems.push(`churn: ${c.attempted - c.joined} of ${c.attempted} joins failed: ${JSON.stringify(c.failures)}`);
    }
    if (exitCode !== 0) problems.push(`the server ended with ${exitCode ?? 'no exit within the wait'} on SIGTERM`);
    return {
      options: Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'progress')) as HostileSoakResult['options'],
      durationMs: Math.round(performance.now() - started),
      hostileMs,
      members: {
        wanted: o.members,
        joined: bench.join.joined,
        closedByServer,
        stillJoined: bench.join.joined - closedByServer,
      },
      deliveries: {
        expected: bench.deliveries.expected,
        seen: bench.deliveries.seen,
        lost: bench.deliveries.lost,
      },
      latencyMs: bench.latencyMs,
      endedBy: bench.endedBy,
      evicted,
      floodingEpisodes: server.codes.FLOODING ?? 0,
      floods: floodFigures,
      watcherReceived: watchers.map((w) => w.received()),
      badBytes: bad,
      churn: churned,
      server: {
        pid: server.pid,
        rssPeakBytes: bench.server?.rssPeakBytes ?? null,
        descriptorsAtStart: fdStart,
        descriptorsPeak: fdPeak,
        descriptorsAtEnd: fdEnd,
        cpuMs: bench.server?.cpuMs ?? null,
        exitCode,
        logCodes: { ...server.codes },
      },
      warnings,
      problems,
    };
  } finally {
    for (const stop of stoppers) stop();
    clearInterval(fdTimer);
    await churn?.terminate();
    if (server.child.exitCode === null && server.child.signalCode === null) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await server.exited;
    }
  }
}
