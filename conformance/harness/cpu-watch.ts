/**
 * Watching a target's process group for work it should not be doing: a server that burns CPU while
 * nothing happens (ROBUST-EOF-1, §6.1), and a client that, after the server closed, loops, floods
 * its output or neither stops nor says a word (CLIENT-EOF-1). Read-only probes of /proc; every
 * watch is bounded. The watches return what they saw; the case contexts turn it into a failure
 * under the requirement they judge.
 *
 * @module
 */
import type { Connection } from './connection.js';
import { processCpuTimeMs, processGroupMembers, processRunQueueWaitMs, type TargetHandle, threadsBlockedInSend } from '../../src/processes/index.js';
import {
  BUSY_POLL_MS,
  BUSY_WINDOW_CPU_MS,
  BUSY_WINDOW_MS,
  type CaseTiming,
  CLIENT_LOOP_CPU_MS,
  CLIENT_STARVED_WAIT_MS,
  CLIENT_POLL_MS,
  EXIT_GRACE_MS,
  FLOOD_OUTPUT_BYTES,
  STILL_PRINTING_WINDOW_MS,
  STOPPED_WATCH_MS,
} from './timing.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** CPU time (ms) of the live processes `pids`. */
function cpuTimeOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (processCpuTimeMs(pid) ?? 0), 0);
}

function runQueueWaitOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (processRunQueueWaitMs(pid) ?? 0), 0);
}

/** CPU time (ms) of every live process in the group `pgid`; the shell of a `--spawn` command included. */
export function groupCpuTimeMs(pgid: number): number {
  return cpuTimeOf(processGroupMembers(pgid));
}

/**
 * Threads of the process group `pgid` asleep in a socket send: a thread-per-connection server
 * blocked on a member that stopped reading (read-only /proc probe; 0 for event-loop servers).
 */
export function groupThreadsBlockedInSend(pgid: number): number {
  let n = 0;
  for (const pid of processGroupMembers(pgid)) n += threadsBlockedInSend(pid);
  return n;
}

/** CPU a group burnt while it should have been idle. */
export interface BusyLoop {
  /** CPU time used (ms). */
  readonly usedMs: number;
  /** Wall time it took (ms). */
  readonly elapsedMs: number;
}

/**
 * Watches the group `pgid` for {@link BUSY_WINDOW_MS} while nothing happens; resolves with the CPU
 * it burnt as soon as that reaches {@link BUSY_WINDOW_CPU_MS} (a busy loop), else undefined.
 */
export async function busyWhileIdle(pgid: number): Promise<BusyLoop | undefined> {
  const start = groupCpuTimeMs(pgid);
  const began = performance.now();
  while (performance.now() - began < BUSY_WINDOW_MS) {
    await sleep(BUSY_POLL_MS);
    const used = groupCpuTimeMs(pgid) - start;
    if (used >= BUSY_WINDOW_CPU_MS) return { usedMs: used, elapsedMs: performance.now() - began };
  }
  return undefined;
}

/** How a client broke CLIENT-EOF-1: the failure's words, without the requirement. */
export interface StopBreach {
  readonly message: string;
  readonly expected: readonly string[];
  readonly actual: string;
}

/** The watch could not tell: the machine starved the client of CPU (it waited that long for one). */
export interface StopNotJudged {
  readonly notJudged: string;
}

function totalOutput(client: TargetHandle): number {
  const { stdout, stderr } = client.outputBytes();
  return stdout + stderr;
}

/** Resolves once the client's output has not grown for a quiet window (bounded by the step bound). */
async function outputSettled(client: TargetHandle, timing: CaseTiming): Promise<void> {
  const deadline = performance.now() + timing.stepMs;
  let last = totalOutput(client);
  let stableSince = performance.now();
  while (performance.now() < deadline && client.exitStatus() === undefined) {
    await sleep(CLIENT_POLL_MS);
    const now = totalOutput(client);
    if (now !== last) {
      last = now;
      stableSince = performance.now();
    } else if (performance.now() - stableSince >= timing.quietMs) {
      return;
    }
  }
}

/**
 * Closes `conn` (FIN) and watches `client` stop (CLIENT-EOF-1). Undefined when it exits, or reports
 * the disconnection (any output) and then stays quiet and idle, whether or not it closed its socket.
 * A breach when it burns {@link CLIENT_LOOP_CPU_MS} of CPU (a loop on the closed socket), prints
 * {@link FLOOD_OUTPUT_BYTES} or is still printing at the end of the step, or stays running without a
 * word. `stdoutTail` renders the client's screen for the report.
 */
export async function watchStopAfterClose(
  client: TargetHandle,
  conn: Connection,
  timing: CaseTiming,
  stdoutTail: () => string,
): Promise<StopBreach | StopNotJudged | undefined> {
  // Scanning /proc for the group is costly: once now, then once a second (a client rarely forks).
  let members = processGroupMembers(client.pid);
  let scannedAt = performance.now();
  const cpu = () => cpuTimeOf(members);
  // What the client is still printing about earlier events (a line's tail through the pipe) must
  // not count as its report of the close: let its output settle first.
  await outputSettled(client, timing);
  const cpuBefore = cpu();
  const waitBefore = runQueueWaitOf(members);
  const outputBefore = totalOutput(client);
  const printedAt: { t: number; bytes: number }[] = [];
  const started = performance.now();
  conn.end();
  const deadline = started + timing.stepMs;
  const state = () => {
    const printed = totalOutput(client) - outputBefore;
    return `connection ${conn.closed ? 'closed by the client' : 'still open'}; ${printed} bytes of output since the close; stdout: ${stdoutTail()}`;
  };
  for (;;) {
    if (client.exitStatus() !== undefined) return undefined;
    const now = performance.now();
    if (now - scannedAt >= 1_000) {
      members = processGroupMembers(client.pid);
      scannedAt = now;
    }
    const used = cpu() - cpuBefore;
    // After a second, so that a client that is busy exiting (a runtime shutting down) has exited.
    if (used >= CLIENT_LOOP_CPU_MS && now - started >= EXIT_GRACE_MS && client.exitStatus() === undefined) {
      return {
        message: `after the server closed the connection, the client keeps running a busy loop: ${Math.round(used)} ms of CPU in ${Math.round(now - started)} ms`,
        expected: ['the client exits', 'the client reports the disconnection and stays idle'],
        actual: `still running, using CPU; ${state()}`,
      };
    }
    const printed = totalOutput(client) - outputBefore;
    printedAt.push({ t: now, bytes: printed });
    if (printed >= FLOOD_OUTPUT_BYTES) {
      return {
        message: `after the server closed the connection, the client keeps printing (${printed} bytes so far)`,
        expected: ['one report of the disconnection, then exit or stay idle'],
        actual: `still running; ${state()}`,
      };
    }
    if (conn.closed && now - started >= STOPPED_WATCH_MS) break;
    if (now >= deadline) break;
    await Promise.race([client.exited, sleep(CLIENT_POLL_MS)]);
  }
  if (client.exitStatus() !== undefined) return undefined;
  const now = performance.now();
  const printed = totalOutput(client) - outputBefore;
  // Still running, with no loop seen: unless the machine starved the client (it wanted a CPU and
  // waited for one), what follows judges it on what it did with the CPU it was given.
  const waited = runQueueWaitOf(members) - waitBefore;
  if (waited >= CLIENT_STARVED_WAIT_MS) {
    return {
      notJudged: `after the server closed the connection, the client's threads waited ${Math.round(waited)} ms for a CPU and used ${Math.round(cpu() - cpuBefore)} ms of it in ${Math.round(now - started)} ms: the machine is too busy to tell a busy loop or a late report from a stop. Run this case again on a quieter machine`,
    };
  }
  // Output that grew in each of the last two windows is a loop, not one (perhaps late) report.
  const at = (ago: number) => printedAt.find((p) => now - p.t <= ago)?.bytes;
  const twoAgo = at(STILL_PRINTING_WINDOW_MS * 2);
  const oneAgo = at(STILL_PRINTING_WINDOW_MS);
  if (
    now - started >= STILL_PRINTING_WINDOW_MS * 2 &&
    twoAgo !== undefined &&
    oneAgo !== undefined &&
    oneAgo > twoAgo &&
    printed > oneAgo
  ) {
    return {
      message: `after the server closed the connection, the client is still printing ${Math.round(now - started)} ms later`,
      expected: ['one report of the disconnection, then exit or stay idle'],
      actual: `still running; ${state()}`,
    };
  }
  if (printed === 0) {
    return {
      message: conn.closed
        ? 'after the server closed the connection, the client closed its side but told the user nothing and kept running'
        : `after the server closed the connection, the client neither exited nor reported it within ${timing.stepMs} ms`,
      expected: ['the client exits', 'the client reports the disconnection (any output) and stops'],
      actual: `no output since the close; ${state()}`,
    };
  }
  return undefined;
}
