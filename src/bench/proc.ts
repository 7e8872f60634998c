/**
 * Read-only `/proc` probes for a benchmarked server: resident memory (`VmRSS` of
 * `/proc/<pid>/status`) and CPU time (`utime + stime` of `/proc/<pid>/stat`), of one process or
 * summed over a process group, and the open-file limit of this process (`/proc/self/limits`).
 * Linux only; elsewhere every probe answers `undefined`.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Linux USER_HZ, the unit of utime/stime (100 on every mainstream architecture). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** One reading of a process (or a group). */
export interface ProcSample {
  /** Resident set size in bytes (summed over the group). */
  rssBytes: number;
  /** User + system CPU time in ms (summed over the group). */
  cpuMs: number;
  /** Processes counted. */
  processes: number;
}

/** Fields of `/proc/<pid>/stat` after the command name: [0] state, [2] process group, [11] utime, [12] stime. */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    // A zombie or a kernel thread has no VmRSS line: it holds no memory.
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return undefined;
  }
}

/** Whether `pid` leads its own process group (then {@link sampleProcess} sums the group). */
export function isGroupLeader(pid: number): boolean {
  return statFields(pid)?.[2] === String(pid);
}

/** Live pids of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 0x39) continue; // not a pid
    const fields = statFields(Number(entry));
    if (fields?.[2] === String(pgid) && fields[0] !== 'Z') members.push(Number(entry));
  }
  return members;
}

/**
 * RSS and CPU of `pid`, or of its whole process group when `group` is true (a server started
 * through `sh -c`, or one that forks). Undefined when the process is gone or /proc is missing.
 */
export function sampleProcess(pid: number, group: boolean): ProcSample | undefined {
  return sumOf(group ? groupMembers(pid) : [pid]);
}

function sumOf(pids: readonly number[]): ProcSample | undefined {
  let rssBytes = 0;
  let ticks = 0;
  let processes = 0;
  for (const p of pids) {
    const fields = statFields(p);
    const rss = rssOf(p);
    if (fields === undefined || rss === undefined) continue;
    rssBytes += rss;
    ticks += Number(fields[11]) + Number(fields[12]);
    processes++;
  }
  if (processes === 0) return undefined;
  return { rssBytes, cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND, processes };
}

/** How often {@link ProcessSampler} looks for new members of the group (a scan of all of /proc). */
export const GROUP_REFRESH_MS = 5_000;

/**
 * Samples one process or one process group cheaply enough to call ten times a second from a load
 * generator: the group's pids are found by a scan of /proc only every {@link GROUP_REFRESH_MS}
 * (or on {@link ProcessSampler.refresh}); in between, only their own files are read.
 */
export class ProcessSampler {
  #pids: number[] = [];
  #refreshedAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly pid: number,
    readonly group: boolean,
  ) {
    this.refresh();
  }

  /** Finds the group's processes again (a server may fork). */
  refresh(): void {
    this.#pids = this.group ? groupMembers(this.pid) : [this.pid];
    this.#refreshedAt = performance.now();
  }

  /** RSS and CPU now, summed over the group; undefined once every process is gone. */
  sample(): ProcSample | undefined {
    if (this.group && performance.now() - this.#refreshedAt >= GROUP_REFRESH_MS) this.refresh();
    return sumOf(this.#pids);
  }
}

/** The open-file limit of this process, from `/proc/self/limits`; undefined where unreadable. */
export function openFileLimit(): { soft: number; hard: number } | undefined {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    if (!m) return undefined;
    const num = (s: string) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
    return { soft: num(m[1]!), hard: num(m[2]!) };
  } catch {
    return undefined;
  }
}

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
      timeout: 5_000,
    });
  } catch {
    // Not installed, or not permitted past the hard limit: try the hard limit itself.
    if (before.hard > before.soft && before.hard !== Number.POSITIVE_INFINITY) {
      try {
        execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${before.hard}:${before.hard}`], {
          stdio: 'ignore',
          timeout: 5_000,
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
