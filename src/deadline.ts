/**
 * Deadlines that a busy process judges fairly.
 */

/**
 * Like `setTimeout`, but `onExpire` runs only after one more poll phase. A busy process can reach its
 * deadline with the awaited event (bytes, a completed connect, a drain, an accept, a child's output)
 * already waiting in the kernel; Node runs expired timers before it polls, so without this a loaded
 * machine turns a timely peer into a timeout. `onExpire` must check for itself whether the awaited
 * event came meanwhile.
 */
export function setDeadline(ms: number, onExpire: () => void): NodeJS.Timeout {
  return setTimeout(() => setImmediate(onExpire), ms);
}
