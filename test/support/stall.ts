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
