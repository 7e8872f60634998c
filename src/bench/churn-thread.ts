/**
 * Churn in a worker thread of its own (`churn-worker.ts`), so it keeps its schedule while the
 * soak's main thread is busy reading thousands of members.
 *
 * @module
 */
import { startThread } from './thread-entry.js';
import type { ChurnOptions, ChurnProgress, ChurnReport } from './churn.js';
import type { PeerTarget } from './hostile.js';

/** What the thread gets as `workerData`. */
export interface ChurnThreadData {
  readonly target: PeerTarget;
  readonly prefix: string;
  readonly options: Omit<ChurnOptions, 'startAt'>;
}
/** Orders to the thread: start or stop the schedule at this time (`Date.now()` clock). */
export type ChurnThreadOrder = { readonly type: 'start' | 'stop'; readonly at: number };
/** What the thread posts back. */
export type ChurnThreadMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly progress: ChurnProgress }
  | { readonly type: 'report'; readonly report: ChurnReport };

/** A running churn thread. */
export interface ChurnThread {
  /** Starts the schedule now. */
  start(): void;
  /** Stops the schedule now; resolves with the report once every churn member has left (bounded by `waitMs`). */
  stop(waitMs: number): Promise<ChurnReport>;
  /** The counts last posted. */
  progress(): ChurnProgress;
  /** Ends the thread whatever it is doing (idempotent). */
  terminate(): Promise<void>;
}

/** Starts a churn thread and waits (at most `waitMs`) until it is ready to start its schedule. */
export function startChurnThread(data: ChurnThreadData, waitMs: number): Promise<ChurnThread> {
  const worker = startThread('churn-worker', data);
  let progress: ChurnProgress = { planned: 0, attempted: 0, joined: 0, missed: 0 };
  let report: ((r: ChurnReport) => void) | undefined;
  let failed: ((e: Error) => void) | undefined;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const thread: ChurnThread = {
    start: () => worker.postMessage({ type: 'start', at: Date.now() } satisfies ChurnThreadOrder),
    stop: (stopWaitMs) =>
      new Promise<ChurnReport>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the churn thread sent no report within ${stopWaitMs} ms`)), stopWaitMs);
        report = (r) => {
          clearTimeout(timer);
          resolve(r);
        };
        failed = (e) => {
          clearTimeout(timer);
          reject(e);
        };
        worker.postMessage({ type: 'stop', at: Date.now() } satisfies ChurnThreadOrder);
      }),
    progress: () => progress,
    terminate: async () => {
      await worker.terminate();
      await exited;
    },
  };
  return new Promise<ChurnThread>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`the churn thread was not ready within ${waitMs} ms`));
    }, waitMs);
    worker.on('message', (m: ChurnThreadMessage) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve(thread);
      } else if (m.type === 'progress') progress = m.progress;
      else report?.(m.report);
    });
    worker.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
      failed?.(error);
    });
    void exited.then(() => {
      clearTimeout(timer);
      const gone = new Error('the churn thread ended before its report');
      reject(gone);
      failed?.(gone);
    });
  });
}
