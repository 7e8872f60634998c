/**
 * How close the server is to its descriptor limit. When accept() fails with EMFILE, libuv closes
 * the connection it cannot take (its reserve-descriptor trick) and tells nobody, so the server
 * watches its own count from `/proc/self` (../processes/proc.ts) to log the episode
 * (SERVER_NO_DESCRIPTORS) and its end.
 * Linux only; elsewhere the watch is off.
 *
 * @module
 */
import { SERVER_FD_HEADROOM } from '../limits.js';
import { openDescriptors, openFileLimit } from '../processes/proc.js';

/** The soft limit on open files (RLIMIT_NOFILE), or undefined where `/proc` does not tell (or unlimited). */
export function descriptorLimit(): number | undefined {
  const soft = openFileLimit()?.soft;
  return soft === Number.POSITIVE_INFINITY ? undefined : soft;
}

/** Whether the process is within {@link SERVER_FD_HEADROOM} of its limit (false where unknown). */
export function descriptorsExhausted(limit: number | undefined): boolean {
  if (limit === undefined) return false;
  const open = openDescriptors();
  return open !== undefined && open >= limit - SERVER_FD_HEADROOM;
}
