/**
 * CLIENT-EOF-1 on a machine that starves the client of CPU. The check fails a client that burns
 * CLIENT_LOOP_CPU_MS of CPU after the server closed; a looping client that the machine gives almost
 * no CPU never reaches it and used to pass. The watch now also reads how long the client's threads
 * waited for a CPU (run-queue wait): starved, the case is not judged. The starving is real: the client
 * runs on CPU 0 with its session's scheduling group at nice 19 (`/proc/self/autogroup`), beside one
 * busy loop at nice 0 on the same CPU, so it gets about 1.5 % of it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NICK_CLIENT_CASES } from '../../conformance/client/nick.js';
import { runCase } from '../../conformance/harness/runner.js';
import { processRunQueueWaitMs, pythonExecutable, spawnTarget, type TargetHandle } from '../../src/processes/index.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

const MUTANT = join(PACKAGE_ROOT, 'conformance/mutants/mutant_client.py');
const CASE_TIMEOUT_MS = 90_000;
const eof = NICK_CLIENT_CASES.find((c) => c.id === 'nick.client.eof')!;
// Needs taskset (util-linux) to share one CPU, scheduler autogroups to lower the client's share, and
// the kernel's schedstats to read the wait.
const starvable =
  existsSync('/usr/bin/taskset') &&
  existsSync('/proc/self/autogroup') &&
  processRunQueueWaitMs(process.pid) !== undefined;

/** Runs CLIENT-EOF-1 against the mutant client `defect`, starved on CPU 0 by a busy loop. */
async function starved(defect: string) {
  const python = pythonExecutable();
  let hog: TargetHandle | undefined;
  try {
    hog = await spawnTarget({ command: ['taskset', '-c', '0', python, '-c', 'while True: pass'] });
    return await runCase(eof, {
      target: {
        kind: 'client',
        command: `echo 19 > /proc/self/autogroup && exec taskset -c 0 '${python}' '${MUTANT}' --dialect nick --defect ${defect} {host} {port}`,
      },
      dialect: 'nick',
      retries: 0,
    });
  } finally {
    await hog?.stop();
  }
}

describe.skipIf(!starvable)('CLIENT-EOF-1 with the client starved of CPU', () => {
  it(
    'a client that loops on the closed socket is not judged, never passed',
    async () => {
      const result = await starved('spins-on-eof');
      // The loop gets about 1.5 % of a CPU: some 75 ms over the step, under CLIENT_LOOP_CPU_MS.
      expect(result.verdict, JSON.stringify(result.failure ?? result.error)).toBe('error');
      expect(result.error).toMatch(/^not judged: .*waited \d+ ms for a CPU and used \d+ ms of it/);
    },
    CASE_TIMEOUT_MS,
  );

  it(
    'a correct client is passed or not judged, never failed',
    async () => {
      const result = await starved('none');
      expect(['pass', 'error'], JSON.stringify(result.failure ?? result.error)).toContain(result.verdict);
    },
    CASE_TIMEOUT_MS,
  );
});
