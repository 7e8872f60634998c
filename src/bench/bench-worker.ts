/**
 * One share of a `chatkit bench --workers` run (started by `bench-threads.ts`): runs
 * {@link runBench} on this thread's members and senders, waits at the shared barriers, and posts
 * its result and raw figures back.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BenchError, runBench, type ShardRaw } from './loadgen.js';
import type { ShareData, ShareMessage, ShareOrder } from './bench-threads.js';

const port = parentPort!;
const data = workerData as ShareData;
const post = (message: ShareMessage) => port.postMessage(message);

let go: () => void = () => undefined;
let allSent: () => void = () => undefined;
const started = new Promise<void>((resolve) => (go = resolve));
const sendersDone = new Promise<void>((resolve) => (allSent = resolve));
port.on('message', (order: ShareOrder) => {
  if (order.type === 'go') go();
  else allSent();
});

let raw: ShardRaw | undefined;
runBench({
  ...data.options,
  shard: {
    ...data.link,
    sent: new Int32Array(data.sent),
    ready: (joined) => {
      post({ type: 'ready', joined });
      return started;
    },
    sendersDone: () => {
      post({ type: 'senders-done' });
      return sendersDone;
    },
    report: (r) => {
      raw = r;
    },
  },
  onProgress: (progress) => post({ type: 'progress', progress }),
}).then(
  (result) => {
    post({ type: 'result', result, raw: raw! });
    port.close();
  },
  (error: unknown) => {
    post({
      type: 'failed',
      code: error instanceof BenchError ? error.code : undefined,
      message: error instanceof Error ? error.message : String(error),
    });
    port.close();
  },
);
