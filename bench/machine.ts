/**
 * Facts about the machine a benchmark ran on, and how busy the rest of the machine was while it
 * ran: every figure of a load test on one machine depends on both.
 *
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { CLOCK_TICKS_PER_SECOND, machineCpuTicks, ownCpuTicksWithChildren } from '../src/processes/proc.js';

/** What the report says about the machine. */
export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  node: string;
  python: string;
  ncat: string;
  commit: string;
}

function version(command: string, args: string[], pattern: RegExp): string {
  // Some print their version on stderr (ncat), some on stdout (python 3).
  const run = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (run.error) return 'not installed';
  const out = `${run.stdout ?? ''}${run.stderr ?? ''}`;
  return pattern.exec(out)?.[1] ?? (out.trim().split('\n')[0] || '?');
}

/** Collects the machine's facts (a few subprocesses, bounded). */
export function machineFacts(root: string): MachineFacts {
  const list = cpus();
  let commit = '?';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 5_000,
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 5_000,
    }).trim();
    if (dirty !== '') commit += ' (with uncommitted changes)';
  } catch {
    // Not a git checkout.
  }
  return {
    cpuModel: list[0]?.model.trim() ?? '?',
    cores: list.length,
    memoryBytes: totalmem(),
    kernel: release(),
    node: process.version,
    python: version(process.env.CHATKIT_PYTHON ?? 'python3', ['--version'], /Python (\S+)/),
    ncat: version('ncat', ['--version'], /Version (\S+)/),
    commit,
  };
}

/** CPU ticks (USER_HZ) of the whole machine and of this process with its reaped children. */
interface CpuTicks {
  busy: number;
  ours: number;
  at: number;
}

function cpuTicks(): CpuTicks {
  const at = performance.now();
  const machine = machineCpuTicks();
  const ours = ownCpuTicksWithChildren();
  return machine === undefined || ours === undefined ? { busy: 0, ours: 0, at } : { busy: machine.busy, ours, at };
}

/**
 * Measures how much CPU the rest of the machine used (everything but this process and the
 * children it has reaped: the benchmark and its server) between `start()` and `stop()`, in % of
 * one core. Other work on a 2-core machine takes CPU from the server and the load generator.
 */
export class BackgroundLoad {
  #start = cpuTicks();

  /** Starts a window. */
  start(): void {
    this.#start = cpuTicks();
  }

  /** Ends the window: the others' CPU in % of one core. */
  stop(): number {
    const end = cpuTicks();
    const seconds = (end.at - this.#start.at) / 1000;
    if (seconds <= 0) return 0;
    const others = end.busy - this.#start.busy - (end.ours - this.#start.ours);
    return Math.max(0, Math.round((others / CLOCK_TICKS_PER_SECOND / seconds) * 100));
  }
}

/** The others' CPU over the next `ms`, in % of one core. */
export async function sampleBackground(ms: number): Promise<number> {
  const load = new BackgroundLoad();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return load.stop();
}
