/**
 * Churn for soaks: members joining and leaving all the time, on a fixed schedule. Join `k` is due
 * at `startAt + k / perSecond`; a join the event loop reaches late still starts (its lateness is
 * recorded), one it reaches more than {@link CHURN_MAX_LAG_MS} late is counted as missed. So
 * `attempted + missed === planned`, and a starved thread shows as missed joins instead of a rate
 * that silently fell short. The soak runs this in a thread of its own (`churn-thread.ts`) so the
 * load generator's reading never starves it.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { type JoinedPeer, joinPeer, PeerJoinError, type PeerTarget } from './hostile.js';

/** A churn join reached this late (ms after it was due) is missed, not started. */
export const CHURN_MAX_LAG_MS = 1_000;

/** How churn behaves. */
export interface ChurnOptions {
  /** Joins a second. */
  readonly perSecond: number;
  /** How long each member stays (± half), ms. */
  readonly stayMs: number;
  /** Bound on each join. */
  readonly joinTimeoutMs: number;
  /** When the schedule starts (`Date.now()` clock, so another thread can set it); default now. */
  readonly startAt?: number;
}

/** What churn did. */
export interface ChurnReport {
  /** Joins the schedule asked for between its start and its stop (`perSecond` × seconds). */
  planned: number;
  /** Joins started. */
  attempted: number;
  /** Joins that completed. */
  joined: number;
  /** Joins that failed, by reason. */
  failures: Record<string, number>;
  /** Joins never started: the thread reached them more than {@link CHURN_MAX_LAG_MS} after they were due. */
  missed: number;
  /** Most a started join was late, ms. */
  maxLagMs: number;
  /** Members that left on their own (the churn's leaves); the others were still in the room at the stop, or closed by the server. */
  left: number;
  /** Members the server closed before they left. */
  closedByServer: number;
  /** From connect to joined, ms, over the completed joins (null without any). */
  joinMs: { p50: number; max: number } | null;
}

/** Counts so far, for progress lines. */
export type ChurnProgress = Pick<ChurnReport, 'planned' | 'attempted' | 'joined' | 'missed'>;

/**
 * Keeps members joining and leaving until `stop` resolves (with the time it was asked to stop, on
 * the `Date.now()` clock, or with nothing for "now"): about `perSecond` joins a second from
 * `startAt`, each member staying `stayMs` (± half) and then leaving (half with FIN, half with RST).
 * `onProgress` sees the counts after every scheduled join.
 */
export async function runChurn(
  target: PeerTarget,
  prefix: string,
  opts: ChurnOptions,
  stop: Promise<number | void>,
  onProgress?: (p: ChurnProgress) => void,
): Promise<ChurnReport> {
  const report: ChurnReport = {
    planned: 0,
    attempted: 0,
    joined: 0,
    failures: {},
    missed: 0,
    maxLagMs: 0,
    left: 0,
    closedByServer: 0,
    joinMs: null,
  };
  const joinTimes: number[] = [];
  const startAt = opts.startAt ?? Date.now();
  const everyMs = 1000 / opts.perSecond;
  const live = new Set<Socket>();
  /** Set once stopped: a join that completes after it leaves at once. */
  let stopping = false;
  const pending = new Set<Promise<void>>();

  const one = async (i: number) => {
    report.attempted++;
    const began = performance.now();
    let peer: JoinedPeer;
    try {
      peer = await joinPeer(target, `${prefix}${i.toString(36)}`, { timeoutMs: opts.joinTimeoutMs });
    } catch (error) {
      const why = error instanceof PeerJoinError ? error.why.split(':')[0]! : String(error);
      report.failures[why] = (report.failures[why] ?? 0) + 1;
      return;
    }
    report.joined++;
    joinTimes.push(performance.now() - began);
    const { socket } = peer;
    socket.resume();
    socket.on('error', () => undefined);
    if (stopping) {
      socket.destroy();
      return;
    }
    live.add(socket);
    const stay = opts.stayMs * (0.5 + Math.random());
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, stay);
      socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
    live.delete(socket);
    if (socket.destroyed && !stopping) report.closedByServer++;
    if (!socket.destroyed) {
      report.left++;
      if (i % 2 === 0) socket.end();
      else socket.resetAndDestroy();
    }
  };

  // Slot k (k = 1, 2, ...) is due at startAt + k * everyMs; `next` is the first slot not yet handled.
  let next = 1;
  const runDue = (until: number, now: number) => {
    for (; startAt + next * everyMs <= until; next++) {
      const lag = now - (startAt + next * everyMs);
      if (lag > CHURN_MAX_LAG_MS) {
        report.missed++;
        continue;
      }
      report.maxLagMs = Math.max(report.maxLagMs, Math.round(lag));
      const p = one(next);
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
    report.planned = next - 1;
    onProgress?.({ planned: report.planned, attempted: report.attempted, joined: report.joined, missed: report.missed });
  };

  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = Date.now();
    runDue(now, now);
    timer = setTimeout(tick, Math.max(0, startAt + next * everyMs - Date.now()));
  };
  const stopAt = await new Promise<number>((resolve) => {
    timer = setTimeout(tick, Math.max(0, startAt + everyMs - Date.now()));
    void stop.then((at) => resolve(typeof at === 'number' ? at : Date.now()));
  });
  clearTimeout(timer);
  // Slots due before the stop but not reached yet: started if still within the lag bound, else missed.
  runDue(stopAt, Date.now());
  stopping = true;
  for (const socket of live) socket.destroy();
  await Promise.allSettled([...pending]);
  if (joinTimes.length > 0) {
    joinTimes.sort((a, b) => a - b);
    report.joinMs = {
      p50: Math.round(joinTimes[Math.floor(joinTimes.length / 2)]!),
      max: Math.round(joinTimes[joinTimes.length - 1]!),
    };
  }
  return report;
}
