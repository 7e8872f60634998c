import { existsSync } from 'node:fs';
import { pythonExecutable, spawnTarget, type TargetHandle } from '../../src/processes/index.js';

/**
 * Holds this thread for `ms`, as a loaded machine or a long callback does to the judge: no timer and
 * no I/O callback runs meanwhile, while the kernel goes on delivering bytes and connections.
 */
export function stallThread(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy on purpose.
  }
}

/** Whether a test can starve a program of CPU for real here: taskset to share CPU 0, autogroups to lower a share. */
export const CAN_STARVE = existsSync('/usr/bin/taskset') && existsSync('/proc/self/autogroup');

/**
 * A Python busy loop on CPU 0 at the session's own nice, started and running when this resolves; a
 * program run through {@link starvedCommand} beside it gets a fraction of that CPU. Stop it in a finally.
 */
export async function startCpuHog(timeoutMs: number): Promise<TargetHandle> {
  const hog = await spawnTarget({
    command: ['taskset', '-c', '0', pythonExecutable(), '-c', 'print("busy", flush=True)\nwhile True: pass'],
  });
  await hog.waitForOutput('stdout', 'busy', { timeoutMs });
  return hog;
}

/** A shell command line that runs `python3 <args>` on CPU 0 with its autogroup at `nice` (beside {@link startCpuHog}). */
export function starvedCommand(nice: number, args: string): string {
  return `echo ${nice} > /proc/self/autogroup && exec taskset -c 0 '${pythonExecutable()}' ${args}`;
}
