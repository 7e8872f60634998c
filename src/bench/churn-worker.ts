/**
 * The churn thread's entry (started by `churn-thread.ts`): runs {@link runChurn} with the options
 * in `workerData`, from the `start` message's time to the `stop` message's, posting its counts as
 * it goes and its report at the end. A thread of its own, so the load generator's reading of
 * thousands of members never delays a churn join.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runChurn } from './churn.js';
import type { ChurnThreadData, ChurnThreadMessage, ChurnThreadOrder } from './churn-thread.js';

const port = parentPort!;
const data = workerData as ChurnThreadData;
const post = (message: ChurnThreadMessage) => port.postMessage(message);

let stop: (at: number) => void = () => undefined;
const stopped = new Promise<number>((resolve) => (stop = resolve));
port.on('message', (order: ChurnThreadOrder) => {
  if (order.type === 'start') {
    void runChurn(data.target, data.prefix, { ...data.options, startAt: order.at }, stopped, (p) =>
      post({ type: 'progress', progress: p }),
    ).then((report) => {
      post({ type: 'report', report });
      port.close();
    });
  } else stop(order.at);
});
post({ type: 'ready' });
