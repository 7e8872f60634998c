/**
 * The one reader of Linux's `/proc` (read-only): processes (groups, descendants, PID namespaces,
 * environment marks), their CPU time, resident memory and descriptors, the TCP sockets of this network
 * namespace and who listens on them, what a target's threads are blocked in, and the machine's CPU.
 * Spawning and stopping processes (./spawn.ts), the harness's waits and `chatkit bench`'s samples all
 * read through here. Linux only: elsewhere the probes answer `undefined`, `[]` or `false`.
 *
 * Why not `pidusage` (npm): it answers one question, a pid's CPU % and memory (asynchronously, with a
 * history of its own between calls), and we need what it does not give: process groups, descendants,
 * PID namespaces, open descriptors, listening sockets and thread states, read synchronously inside
 * bounded polls, and cumulative CPU time that callers difference themselves.
 *
 * @module
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Linux USER_HZ: the unit of utime/stime in `/proc/<pid>/stat` (100 on every mainstream architecture). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** The pids in `/proc` now (empty where `/proc` cannot be listed). */
function pids(): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries.filter((entry) => /^\d+$/.test(entry)).map(Number);
}

/** TCP states as numbered in `/proc/net/tcp` (include/net/tcp_states.h). */
export const TcpState = {
  ESTABLISHED: 0x01,
  SYN_SENT: 0x02,
  SYN_RECV: 0x03,
  FIN_WAIT1: 0x04,
  FIN_WAIT2: 0x05,
  TIME_WAIT: 0x06,
  CLOSE: 0x07,
  CLOSE_WAIT: 0x08,
  LAST_ACK: 0x09,
  LISTEN: 0x0a,
  CLOSING: 0x0b,
} as const;

/** One row of `/proc/net/tcp` or `/proc/net/tcp6`. */
export interface TcpSocketInfo {
  family: 4 | 6;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** One of {@link TcpState}. */
  state: number;
  /** Bytes queued for sending (unsent plus unacknowledged); for LISTEN, the accept backlog. */
  txQueue: number;
  /** Bytes received and not yet read by the application. */
  rxQueue: number;
  inode: number;
}

function decodeAddress(hex: string): string {
  const bytes: number[] = [];
  // Each 32-bit word is printed in host byte order (little-endian on the platforms we run on).
  for (let word = 0; word < hex.length; word += 8) {
    for (let i = 6; i >= 0; i -= 2) bytes.push(Number.parseInt(hex.slice(word + i, word + i + 2), 16));
  }
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** All TCP sockets of this network namespace, IPv4 and IPv6. */
export function tcpSockets(): TcpSocketInfo[] {
  const rows: TcpSocketInfo[] = [];
  for (const [family, file] of [
    [4, '/proc/net/tcp'],
    [6, '/proc/net/tcp6'],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const [localAddr, localPort] = f[1]!.split(':');
      const [remoteAddr, remotePort] = f[2]!.split(':');
      const [tx, rx] = f[4]!.split(':');
      rows.push({
        family,
        localAddress: decodeAddress(localAddr!),
        localPort: Number.parseInt(localPort!, 16),
        remoteAddress: decodeAddress(remoteAddr!),
        remotePort: Number.parseInt(remotePort!, 16),
        state: Number.parseInt(f[3]!, 16),
        txQueue: Number.parseInt(tx!, 16),
        rxQueue: Number.parseInt(rx!, 16),
        inode: Number.parseInt(f[9]!, 10),
      });
    }
  }
  return rows;
}

/**
 * Fields of a `stat` file (`/proc/<pid>/stat`, `/proc/<pid>/task/<tid>/stat`) after the command name:
 * [0] state, [1] parent, [2] process group, [11] utime, [12] stime, [13] cutime, [14] cstime.
 */
function statFields(path: string): string[] | undefined {
  try {
    const text = readFileSync(path, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Pids of the live (not zombie) processes in process group `pgid` (empty where `/proc` is missing). */
export function processGroupMembers(pgid: number): number[] {
  return pids().filter((pid) => {
    const fields = statFields(`/proc/${pid}/stat`);
    return fields?.[2] === String(pgid) && fields[0] !== 'Z';
  });
}

/** Whether a process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const fields = statFields(`/proc/${pid}/stat`);
  return fields !== undefined && fields[0] !== 'Z';
}

/** Live processes descended from `root` (through parent links still in place). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of pids()) {
    const fields = statFields(`/proc/${pid}/stat`);
    if (fields === undefined || fields[0] === 'Z') continue;
    const ppid = Number(fields[1]);
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function pidNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

/** Processes in the PID namespace of `wrapper`'s child (the `unshare --fork` layout), outer pids. */
export function namespaceMembers(wrapper: number): number[] {
  const own = pidNamespace(process.pid);
  const namespaces = new Set(
    descendants(wrapper)
      .map(pidNamespace)
      .filter((ns): ns is string => ns !== undefined && ns !== own),
  );
  if (namespaces.size === 0) return [];
  return pids().filter((pid) => {
    const ns = pidNamespace(pid);
    return ns !== undefined && namespaces.has(ns) && isAlive(pid);
  });
}

/** Whether the environment `pid` started with holds `name=value` (false when it cannot be read). */
export function hasEnvironment(pid: number, name: string, value: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1')
      .split('\0')
      .includes(`${name}=${value}`);
  } catch {
    return false;
  }
}

/** Live processes but this one whose environment holds `name=value` (a mark they inherited). */
export function processesWithEnvironment(name: string, value: string): number[] {
  return pids().filter((pid) => pid !== process.pid && hasEnvironment(pid, name, value) && isAlive(pid));
}

/** Processes holding a LISTEN socket on `port` (loopback-reachable). */
export function portHolders(port: number): number[] {
  const inodes = new Set(
    tcpSockets()
      .filter((s) => s.state === TcpState.LISTEN && s.localPort === port && LOOPBACK_REACHABLE.has(s.localAddress))
      .map((s) => s.inode),
  );
  if (inodes.size === 0) return [];
  return pids().filter((pid) => [...socketInodes(pid)].some((inode) => inodes.has(inode)));
}

/** Socket inodes open in a process (empty if it is gone). */
function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(Number(match[1]));
    } catch {
      // The fd closed meanwhile.
    }
  }
  return inodes;
}

/** Addresses on which a listener accepts connections to 127.0.0.1. */
const LOOPBACK_REACHABLE = new Set(['127.0.0.1', '0.0.0.0', '0:0:0:0:0:0:0:0', '0:0:0:0:0:ffff:7f00:1']);

/**
 * Ports on which the process group `pgid` has a LISTEN socket reachable at 127.0.0.1. Only sockets owned by
 * the group count, so another program that grabbed the same port is not mistaken for the target.
 * `onlyPort` restricts the search (and skips the process scan when nothing listens there).
 */
export function listeningPorts(pgid: number, onlyPort?: number): number[] {
  return listeningPortsOf(() => processGroupMembers(pgid), onlyPort);
}

/**
 * Ports on which any of `pids` has a LISTEN socket reachable at 127.0.0.1 (see {@link listeningPorts}).
 * Given a function, the processes are looked up only when some socket listens (on `onlyPort`).
 */
export function listeningPortsOf(pids: readonly number[] | (() => readonly number[]), onlyPort?: number): number[] {
  const listeners = tcpSockets().filter(
    (s) =>
      s.state === TcpState.LISTEN &&
      LOOPBACK_REACHABLE.has(s.localAddress) &&
      (onlyPort === undefined || s.localPort === onlyPort),
  );
  if (listeners.length === 0) return [];
  const owned = new Set<number>();
  for (const pid of typeof pids === 'function' ? pids() : pids) for (const inode of socketInodes(pid)) owned.add(inode);
  return [...new Set(listeners.filter((s) => owned.has(s.inode)).map((s) => s.localPort))];
}

/** CPU time (user + system) consumed so far by a process, all threads, in ms; undefined if it is gone. */
export function processCpuTimeMs(pid: number): number | undefined {
  const f = statFields(`/proc/${pid}/stat`);
  if (f === undefined) return undefined;
  // utime and stime are fields 14 and 15 of stat(5), i.e. 11 and 12 after the command name.
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * The machine's CPU pressure so far (`some total` of `/proc/pressure/cpu`, PSI): the time during
 * which at least one runnable task waited for a CPU, in ms; undefined where the kernel has no PSI.
 * The difference over a wait says how overloaded the machine was meanwhile, for every process on it:
 * what a judge waiting on another program (a server it did not start) can know of that program's
 * share of the CPUs.
 */
export function cpuPressureStallMs(): number | undefined {
  try {
    const some = /^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'latin1'));
    return some === null ? undefined : Number(some[1]) / 1000;
  } catch {
    return undefined;
  }
}

/**
 * Time a process's threads spent runnable but waiting for a CPU (the second field of each
 * `/proc/<pid>/task/<tid>/schedstat`), in ms; undefined if it is gone or the kernel keeps no
 * schedstats. A program that sleeps in a read accumulates almost none; one that wants the CPU on a
 * machine too busy to give it accumulates it fast: how a judge tells a starved program from an
 * idle one, where CPU time alone cannot.
 */
export function processRunQueueWaitMs(pid: number): number | undefined {
  return runQueueWaitMs(pid, undefined);
}

/**
 * {@link processRunQueueWaitMs} of one thread: the process's main thread by default (its event loop
 * in Node). A judge asks this of itself: the other threads (GC helpers, the libuv pool) wait for a
 * CPU too when the machine is busy, and summed they can exceed the wall time of the judgement.
 */
export function threadRunQueueWaitMs(pid: number, tid = pid): number | undefined {
  return runQueueWaitMs(pid, tid);
}

function runQueueWaitMs(pid: number, onlyTid: number | undefined): number | undefined {
  let tids: string[];
  try {
    tids = onlyTid === undefined ? readdirSync(`/proc/${pid}/task`) : [String(onlyTid)];
  } catch {
    return undefined;
  }
  let ns = 0;
  let read = false;
  for (const tid of tids) {
    try {
      const waited = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[1]);
      if (Number.isFinite(waited)) {
        ns += waited;
        read = true;
      }
    } catch {
      // The thread ended meanwhile.
    }
  }
  return read ? ns / 1e6 : undefined;
}

/** Whether `pid` leads its own process group (then {@link sampleProcess} can sum the group). */
export function isGroupLeader(pid: number): boolean {
  return statFields(`/proc/${pid}/stat`)?.[2] === String(pid);
}

/** One reading of a process (or a group). */
export interface ProcSample {
  /** Resident set size in bytes (summed over the group). */
  rssBytes: number;
  /** User + system CPU time in ms (summed over the group). */
  cpuMs: number;
  /** Processes counted. */
  processes: number;
}

/** Resident memory of `pid` in bytes (`VmRSS`), 0 for a zombie or kernel thread; undefined if it is gone. */
export function residentBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    // A zombie or a kernel thread has no VmRSS line: it holds no memory.
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return undefined;
  }
}

/**
 * RSS and CPU of `pid`, or of its whole process group when `group` is true (a server started
 * through `sh -c`, or one that forks). Undefined when the process is gone or /proc is missing.
 */
export function sampleProcess(pid: number, group: boolean): ProcSample | undefined {
  return sampleOf(group ? processGroupMembers(pid) : [pid]);
}

/** RSS and CPU summed over `members`; undefined when none of them is left. */
export function sampleOf(members: readonly number[]): ProcSample | undefined {
  let rssBytes = 0;
  let cpuMs = 0;
  let processes = 0;
  for (const pid of members) {
    const cpu = processCpuTimeMs(pid);
    const rss = residentBytes(pid);
    if (cpu === undefined || rss === undefined) continue;
    rssBytes += rss;
    cpuMs += cpu;
    processes++;
  }
  return processes === 0 ? undefined : { rssBytes, cpuMs, processes };
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
    this.#pids = this.group ? processGroupMembers(this.pid) : [this.pid];
    this.#refreshedAt = performance.now();
  }

  /** RSS and CPU now, summed over the group; undefined once every process is gone. */
  sample(): ProcSample | undefined {
    if (this.group && performance.now() - this.#refreshedAt >= GROUP_REFRESH_MS) this.refresh();
    return sampleOf(this.#pids);
  }
}

/**
 * Descriptors open in `pid` (default: this process) now, or undefined where `/proc` does not tell;
 * `Infinity` when listing them fails for want of a descriptor (reading the directory takes one).
 */
export function openDescriptors(pid: number | 'self' = 'self'): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? Number.POSITIVE_INFINITY : undefined;
  }
}

/** The open-file limit (RLIMIT_NOFILE) of this process, from `/proc/self/limits`; undefined where unreadable. */
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

/** The machine's CPU time since boot, in clock ticks: all of it and the busy part (not idle, not iowait). */
export function machineCpuTicks(): { total: number; busy: number } | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'latin1').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: everything but idle and iowait is busy.
    const total = cpu.reduce((a, b) => a + b, 0);
    return { total, busy: total - (cpu[3] ?? 0) - (cpu[4] ?? 0) };
  } catch {
    return undefined;
  }
}

/**
 * This process's CPU time in clock ticks, the children it has reaped included (utime, stime, cutime,
 * cstime); undefined where unreadable.
 */
export function ownCpuTicksWithChildren(): number | undefined {
  const f = statFields('/proc/self/stat');
  return f === undefined ? undefined : Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

/** Syscall numbers the thread probes recognise, per architecture (from asm/unistd.h). */
const SYSCALLS: Readonly<
  Record<string, { sendto: number; recvfrom: number; accept: number; accept4: number }>
> = {
  x64: { sendto: 44, recvfrom: 45, accept: 43, accept4: 288 },
  arm64: { sendto: 206, recvfrom: 207, accept: 202, accept4: 242 },
};

/**
 * What one thread of a target is doing, from `/proc/<pid>/task/<tid>/{stat,syscall}`:
 * `sending` = asleep in a socket send (its peer's window and its send buffer are full), `receiving` = asleep
 * in recv, `accepting` = asleep in accept, `running` = on or waiting for a CPU, `other` = anything else
 * (a lock, a pipe write, ...).
 */
export type ThreadActivity = 'sending' | 'receiving' | 'accepting' | 'running' | 'other';

/** The activity of every thread of `pid` (empty if it is gone; all `other` on unknown architectures). */
export function threadActivities(pid: number): ThreadActivity[] {
  const numbers = SYSCALLS[process.arch];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const activities: ThreadActivity[] = [];
  for (const tid of tids) {
    try {
      const state = statFields(`/proc/${pid}/task/${tid}/stat`)?.[0];
      const syscall = Number(readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'latin1').split(' ')[0]);
      if (state === 'R') activities.push('running');
      else if (state !== 'S' || numbers === undefined) activities.push('other');
      else if (syscall === numbers.sendto) activities.push('sending');
      else if (syscall === numbers.recvfrom) activities.push('receiving');
      else if (syscall === numbers.accept || syscall === numbers.accept4) activities.push('accepting');
      else activities.push('other');
    } catch {
      // The thread ended meanwhile.
    }
  }
  return activities;
}

/** Number of threads of `pid` blocked in a socket send (see {@link threadActivities}). */
export function threadsBlockedInSend(pid: number): number {
  return threadActivities(pid).filter((activity) => activity === 'sending').length;
}

/**
 * Whether every thread of a thread-per-connection server waits for input (recv or accept): nothing is
 * being broadcast, and no thread is between two steps. Tests use it to let a server settle.
 */
export function threadsAllWaitingForInput(pid: number): boolean {
  const activities = threadActivities(pid);
  return activities.length > 0 && activities.every((a) => a === 'receiving' || a === 'accepting');
}
