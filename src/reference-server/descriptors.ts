/**
 * How close the server is to its descriptor limit. When accept() fails with EMFILE, libuv closes
 * the connection it cannot take (its reserve-descriptor trick) and tells nobody, so the server
 * watches its own count from `/proc/self` to log the episode (SERVER_NO_DESCRIPTORS) and its end.
 * Linux only; elsewhere the watch is off.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { SERVER_FD_HEADROOM } from '../limits.js';

/** The soft limit on open files (RLIMIT_NOFILE), or undefined where `/proc` does not tell. */
export function descriptorLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    return line ? Number(line[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Descriptors open in this process now, or undefined where `/proc` does not tell; `Infinity` when
 * listing them fails for want of a descriptor (reading the directory takes one).
 */
export function openDescriptors(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? Number.POSITIVE_INFINITY : undefined;
  }
}

/** Whether the process is within {@link SERVER_FD_HEADROOM} of its limit (false where unknown). */
export function descriptorsExhausted(limit: number | undefined): boolean {
  if (limit === undefined) return false;
  const open = openDescriptors();
  return open !== undefined && open >= limit - SERVER_FD_HEADROOM;
}
