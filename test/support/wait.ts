/**
 * Small waits and checks the integration tests share: polling state that has no event to wait
 * on, the CPU a process burns over a window, and byte prefixes.
 *
 * @module
 */

/** Default bound of {@link until}. */
export const UNTIL_MS = 5_000;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` (state with no event to wait on) until it holds; bounded. */
export async function until(predicate: () => boolean, what: string, timeoutMs = UNTIL_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(1);
  }
}

/** CPU time this process burns during a window of `ms`, in ms (a busy loop burns all of it). */
export async function cpuDuring(ms: number): Promise<number> {
  const start = process.cpuUsage();
  await sleep(ms);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** Whether `prefix` is a prefix of `bytes`. */
export function isPrefix(prefix: Uint8Array, bytes: Uint8Array): boolean {
  return prefix.length <= bytes.length && Buffer.compare(prefix, bytes.subarray(0, prefix.length)) === 0;
}
