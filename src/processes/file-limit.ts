/**
 * Raising this process's open-file limit for a run that needs many descriptors (`chatkit bench` with
 * thousands of clients). Node has no `setrlimit`, so this asks `prlimit(1)`.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { openFileLimit } from './proc.js';

/** Deadline of one `prlimit` call. */
export const PRLIMIT_TIMEOUT_MS = 5_000;

/** What {@link ensureOpenFileLimit} found and did. */
export interface FileLimitReport {
  /** Descriptors wanted. */
  needed: number;
  /** Soft limit in force after the attempt (undefined when unknown). */
  soft: number | undefined;
  /** Whether the limit was raised by this call. */
  raised: boolean;
  /** Set when the limit is still below `needed`: what to do about it. */
  warning?: string;
}

/**
 * Makes sure this process may open `needed` descriptors. Node already raises its soft limit to the
 * hard one at start-up; when that is still too low, this asks `prlimit(1)` to raise this process's
 * limits in place (`prlimit --pid <self> --nofile=N:N`: allowed up to the hard limit for anyone,
 * past it for root). Node has no `setrlimit`, so without `prlimit` or the privilege it only warns.
 */
export function ensureOpenFileLimit(needed: number): FileLimitReport {
  const before = openFileLimit();
  if (before === undefined) return { needed, soft: undefined, raised: false };
  if (before.soft >= needed) return { needed, soft: before.soft, raised: false };
  const hard = Math.max(before.hard === Number.POSITIVE_INFINITY ? needed : before.hard, needed);
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${needed}:${hard}`], {
      stdio: 'ignore',
      timeout: PRLIMIT_TIMEOUT_MS,
    });
  } catch {
    // Not installed, or not permitted past the hard limit: try the hard limit itself.
    if (before.hard > before.soft && before.hard !== Number.POSITIVE_INFINITY) {
      try {
        execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${before.hard}:${before.hard}`], {
          stdio: 'ignore',
          timeout: PRLIMIT_TIMEOUT_MS,
        });
      } catch {
        // Nothing more to try.
      }
    }
  }
  const after = openFileLimit();
  const soft = after?.soft ?? before.soft;
  const report: FileLimitReport = { needed, soft, raised: soft > before.soft };
  if (soft < needed) {
    report.warning = `the open-file limit is ${soft}, below the ${needed} descriptors this run needs, and it could not be raised (prlimit missing or not permitted): run \`ulimit -n ${needed}\` (as root if above the hard limit) first, or use fewer clients`;
  }
  return report;
}
