/**
 * Starting and stopping programs as real process groups: conformance targets (legacy scripts, reference
 * peers, mutants, a student's program), the servers `chatkit bench` measures, Redis for the cluster tests.
 * Every process started here is ended, with all its descendants, by its handle's `stop()` or, at the
 * latest, when this process exits.
 *
 * Readiness is detected by reading `/proc/net/tcp{,6}` for a LISTEN socket owned by the target's process
 * group, never by connecting: a probe that connects and closes is a real client to a legacy server (the NICK
 * server admits it as a ghost member, the tilde server busy-loops on it). Linux only.
 *
 * A shell command line (what `conform --spawn` and `--client` run) is contained: it runs as the first
 * process of a PID namespace of its own (`unshare --pid --fork --kill-child`), so every process it starts,
 * even one that calls `setsid()`, ends with it. Where no namespace can be made, the fallback kills every
 * process descended from the target and every process listening on its port, and reports the escapees.
 *
 * @module
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { ChatkitError } from '../errors.js';
import { freePortIn, type PortRange } from './ports.js';
import {
  descendants,
  hasEnvironment,
  isAlive,
  listeningPorts,
  listeningPortsOf,
  namespaceMembers,
  portHolders,
  processesWithEnvironment,
  processGroupMembers,
  processRunQueueWaitMs,
  TcpState,
  tcpSockets,
} from './proc.js';
import { setDeadline } from '../deadline.js';

/** Default deadline for a target to start listening. */
export const DEFAULT_LISTEN_TIMEOUT_MS = 10_000;
/**
 * A target starved of CPU while it starts (a loaded machine) gets its listen deadline extended by
 * the time its processes waited for a CPU, up to this many times the deadline: a program that had
 * no CPU to start is not reported as one that never listens.
 */
export const LISTEN_STARVED_EXTENSION_FACTOR = 5;
/** How often `/proc/net/tcp` is polled while waiting for a listener (and by {@link pollUntil} by default). */
export const POLL_INTERVAL_MS = 20;
/** How long {@link TargetHandle.stop} waits after SIGTERM before it sends SIGKILL to the group (by default). */
export const STOP_GRACE_MS = 2_000;
/** How long {@link TargetHandle.stop} waits for the exit after SIGKILL before giving up on it. */
export const KILL_WAIT_MS = 2_000;
/** After an exit, how long to wait for the last output still in the pipes before reporting it. */
export const OUTPUT_DRAIN_MS = 500;
/** How many bytes of stdout and of stderr a handle keeps (the tail; totals are counted separately). */
export const OUTPUT_TAIL_BYTES = 64 * 1024;
/** Attempts {@link startOnFreePort} makes, each on a fresh port (the freed port may be taken meanwhile). */
export const SPAWN_LISTEN_ATTEMPTS = 2;
/** Default deadline of {@link TargetHandle.waitForOutput} and {@link pollUntil}. */
export const DEFAULT_WAIT_TIMEOUT_MS = 5_000;

/** The containment wrapper for shell command lines; `CHATKIT_CONTAIN=0` turns it off (the fallback then). */
export const CONTAIN_COMMAND: readonly string[] = ['unshare', '--pid', '--fork', '--kill-child'];
/** Deadline for the one check that {@link CONTAIN_COMMAND} works here (it needs CAP_SYS_ADMIN or a user namespace). */
export const CONTAIN_PROBE_TIMEOUT_MS = 5_000;

/** Environment variable that marks every process of a target (inherited), so only those are ever killed. */
export const TARGET_MARK_VARIABLE = 'CHATKIT_TARGET_MARK';

/** Stable codes of {@link TargetError}. */
export const TargetErrorCode = {
  /** The process could not be started at all (e.g. command not found). */
  SPAWN_FAILED: 'TARGET_SPAWN_FAILED',
  /** The deadline passed without a LISTEN socket of the target on the port. */
  NEVER_LISTENED: 'TARGET_NEVER_LISTENED',
  /** The process exited while we waited for it to listen. */
  EXITED: 'TARGET_EXITED',
  /** The deadline passed with the target listening, but on other ports than the one it was given. */
  LISTENS_ELSEWHERE: 'TARGET_LISTENS_ELSEWHERE',
  /** A bounded wait on the target (output, `/proc` state) passed its deadline. */
  WAIT_TIMEOUT: 'TARGET_WAIT_TIMEOUT',
} as const;
/** One of the {@link TargetErrorCode} values. */
export type TargetErrorCode = (typeof TargetErrorCode)[keyof typeof TargetErrorCode];

/** How much of a target's stdout a {@link TargetError}'s message quotes (the tail). */
export const ERROR_STDOUT_TAIL_CHARS = 400;

/** A failure to start or observe a target; `stderr`/`stdout` hold the captured tails when known. */
export class TargetError extends ChatkitError {
  /** Stable code: match on this, never on the message. */
  declare readonly code: TargetErrorCode;
  /** Tail of the target's stderr at the time of failure ('' if none). */
  readonly stderr: string;
  /** Tail of the target's stdout at the time of failure ('' if none). */
  readonly stdout: string;
  /** With `TARGET_LISTENS_ELSEWHERE`: the ports the target listens on instead. */
  readonly listening: readonly number[];
  constructor(
    code: TargetErrorCode,
    message: string,
    output: { stdout?: string; stderr?: string; listening?: readonly number[] } = {},
  ) {
    const stderr = output.stderr ?? '';
    const stdout = output.stdout ?? '';
    // A program may explain itself on either stream: show both tails.
    const shown = [
      message,
      ...(stdout.trim() === '' ? [] : [`--- stdout (tail) ---\n${stdout.slice(-ERROR_STDOUT_TAIL_CHARS)}`]),
      ...(stderr === '' ? [] : [`--- stderr (tail) ---\n${stderr}`]),
    ];
    super(code, shown.join('\n'));
    this.name = 'TargetError';
    this.stderr = stderr;
    this.stdout = output.stdout ?? '';
    this.listening = output.listening ?? [];
  }
}

/** How a target process ended. */
export interface TargetExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options of {@link spawnTarget}. */
export interface SpawnTargetOptions {
  /** argv (run directly) or a shell command line (run by `/bin/sh -c`, contained: see the module's doc). */
  command: readonly string[] | string;
  cwd?: string;
  /** Extra environment, merged over `process.env`; `PYTHONUNBUFFERED=1` is always set. */
  env?: Readonly<Record<string, string>>;
  /** The port the target must LISTEN on (127.0.0.1, a wildcard or loopback v6). Omit for clients. */
  port?: number;
  /** Deadline for the listener; default {@link DEFAULT_LISTEN_TIMEOUT_MS}. */
  listenTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL; default {@link STOP_GRACE_MS}. */
  stopGraceMs?: number;
  /**
   * Without `port`: wait until the target LISTENs on any port (a program that hard-codes its own),
   * and return it as the handle's `port` (conformance/handed-in/).
   */
  discoverPort?: boolean;
}

/** A running target. Always call {@link TargetHandle.stop} (in `finally`/`afterEach`). */
export interface TargetHandle {
  /** Process id; also the process group id (the target is spawned as a group leader). */
  readonly pid: number;
  /** The port it listens on, or undefined for a target started without one (a client). */
  readonly port: number | undefined;
  /** Tail (at most {@link OUTPUT_TAIL_BYTES}) of stdout so far, decoded as UTF-8. */
  stdout(): string;
  /** Tail (at most {@link OUTPUT_TAIL_BYTES}) of stderr so far, decoded as UTF-8. */
  stderr(): string;
  /** Total bytes written so far to each stream (not bounded by the tail). */
  outputBytes(): { stdout: number; stderr: number };
  /** Writes to the target's stdin (errors such as EPIPE after its exit are swallowed). */
  writeStdin(text: string | Uint8Array): void;
  /** Closes the target's stdin (EOF). */
  endStdin(): void;
  /** Resolves when the stream's tail satisfies the predicate (or contains the text); bounded. */
  waitForOutput(
    stream: 'stdout' | 'stderr',
    match: string | ((tail: string) => boolean),
    opts?: { timeoutMs?: number; what?: string },
  ): Promise<void>;
  /** Settles when the process exits; never rejects. */
  readonly exited: Promise<TargetExit>;
  /**
   * Resolves once the target exited and its stdout and stderr closed (bounded by
   * {@link OUTPUT_DRAIN_MS}): `exited` can come before its last output is read from the pipes, so a
   * check of what a program printed before it exited reads the output after this.
   */
  outputSettled(): Promise<void>;
  /** The exit, once it happened; undefined while running. */
  exitStatus(): TargetExit | undefined;
  /** SIGTERM to the group, bounded grace, then SIGKILL to the group. Idempotent; never rejects. */
  stop(): Promise<void>;
}

/** The shell's `128 + n` for a child killed by signal n, back as that signal. */
function unwrapStatus(code: number | null, signal: NodeJS.Signals | null): TargetExit {
  if (code === null || code <= 128) return { code, signal };
  const name = Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0];
  return name === undefined ? { code, signal } : { code: null, signal: name as NodeJS.Signals };
}

/** Process groups started by this module and not yet stopped: killed if the test process exits. */
const liveGroups = new Set<number>();
/** Per live group, how to find the rest of the target (namespace, descendants, port holders). */
const liveTargets = new Map<number, (thorough: boolean) => number[]>();
let targetCount = 0;
process.once('exit', () => {
  for (const pgid of liveGroups) {
    const rest = liveTargets.get(pgid)?.(true) ?? [];
    killGroup(pgid, 'SIGKILL');
    for (const pid of rest) killPid(pid);
  }
});

function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

let containWorks: boolean | undefined;
const containWanted = () => process.env.CHATKIT_CONTAIN !== '0' && process.platform === 'linux';

/**
 * Whether shell command lines can be run in a PID namespace of their own here (checked once).
 * Blocks the thread while the check runs; {@link spawnTarget} uses {@link checkContainment} instead.
 */
export function containmentAvailable(): boolean {
  if (!containWanted()) return false;
  containWorks ??=
    spawnSync(CONTAIN_COMMAND[0]!, [...CONTAIN_COMMAND.slice(1), 'true'], {
      stdio: 'ignore',
      timeout: CONTAIN_PROBE_TIMEOUT_MS,
    }).status === 0;
  return containWorks;
}

/**
 * {@link containmentAvailable} without blocking the event loop: on a loaded machine the check's
 * process can take seconds to start, and a caller that also serves sockets (a test's in-process
 * server) must not stop answering meanwhile (a 6 s stall failed the probe of such a server).
 */
export async function checkContainment(): Promise<boolean> {
  if (!containWanted()) return false;
  containWorks ??= await new Promise<boolean>((resolve) => {
    execFile(CONTAIN_COMMAND[0]!, [...CONTAIN_COMMAND.slice(1), 'true'], { timeout: CONTAIN_PROBE_TIMEOUT_MS }, (error) =>
      resolve(error === null),
    );
  });
  return containWorks;
}

/** Receives a line about processes of a target that had to be killed apart from it (TARGET_ESCAPED). */
export type EscapeReporter = (line: string) => void;
let escapeReporter: EscapeReporter = (line) => process.stderr.write(`${line}\n`);
/** Where reports of escaped processes go (default: stderr). */
export function setEscapeReporter(reporter: EscapeReporter): void {
  escapeReporter = reporter;
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Bounded output tail plus a running total. */
class OutputTail {
  private chunks: Buffer[] = [];
  private kept = 0;
  total = 0;
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.kept += chunk.length;
    this.total += chunk.length;
    while (this.kept - this.chunks[0]!.length >= OUTPUT_TAIL_BYTES) this.kept -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - OUTPUT_TAIL_BYTES)).toString('utf8');
  }
}

/**
 * Polls `predicate` every `intervalMs` until it returns true; rejects with `TARGET_WAIT_TIMEOUT` at the
 * deadline. For `/proc` state, which has no events to wait on.
 */
export async function pollUntil(
  predicate: () => boolean,
  opts: { timeoutMs?: number; intervalMs?: number; what: string },
): Promise<void> {
  const deadline = performance.now() + (opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS);
  for (;;) {
    if (predicate()) return;
    if (performance.now() >= deadline) {
      throw new TargetError(TargetErrorCode.WAIT_TIMEOUT, `timed out waiting for ${opts.what}`);
    }
    await sleep(opts.intervalMs ?? POLL_INTERVAL_MS);
  }
}

/**
 * Starts a target in its own process group and, when `port` is given, waits until it LISTENs there
 * (observed in `/proc/net/tcp{,6}`, without connecting). On failure the group is killed and the promise
 * rejects with `TARGET_EXITED` or `TARGET_NEVER_LISTENED`, carrying the captured output.
 */
export async function spawnTarget(opts: SpawnTargetOptions): Promise<TargetHandle> {
  const contained = typeof opts.command === 'string' && (await checkContainment());
  const [file, ...args] =
    typeof opts.command === 'string'
      ? contained
        ? // The namespace's first process ignores signals it has no handler for (SIGTERM), so a shell
          // stays first and runs the target as its child, passing on stdin and the exit status. A
          // background job's stdin is /dev/null in sh, so stdin is kept on fd 3 and handed back.
          [...CONTAIN_COMMAND, '/bin/sh', '-c', 'exec 3<&0; /bin/sh -c "$0" <&3 3<&- & wait $!', opts.command]
        : ['/bin/sh', '-c', opts.command]
      : opts.command;
  if (file === undefined) throw new TargetError(TargetErrorCode.SPAWN_FAILED, 'empty command');
  const mark = `${process.pid}-${++targetCount}`;
  const child: ChildProcess = spawn(file, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env, PYTHONUNBUFFERED: '1', [TARGET_MARK_VARIABLE]: mark },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out = new OutputTail();
  const err = new OutputTail();
  const outputListeners = new Set<() => void>();
  const notify = () => {
    for (const listener of outputListeners) listener();
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    out.push(chunk);
    notify();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    err.push(chunk);
    notify();
  });
  child.stdin!.on('error', () => {
    // EPIPE when the target exits with input pending: harmless for a test peer.
  });

  // 'close' comes after 'exit' once stdout and stderr are drained (or never, if a grandchild holds them).
  let outputClosed = false;
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => {
      outputClosed = true;
      notify();
      resolve();
    });
  });
  // The bound ends after one more poll (setDeadline): a parent starved of CPU past it (a loaded
  // machine) reads what is already in the pipes first, instead of losing a program's whole output.
  const drained = () =>
    Promise.race([closed, new Promise<void>((resolve) => setDeadline(OUTPUT_DRAIN_MS, resolve))]);

  let exitStatus: TargetExit | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<TargetExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = contained ? unwrapStatus(code, signal) : { code, signal };
      resolve(exitStatus);
    });
    child.once('error', (error) => {
      // Spawn failure: no 'exit' will follow.
      spawnError = error;
      exitStatus = { code: null, signal: null };
      resolve(exitStatus);
    });
  });
  const pid = child.pid;
  if (pid === undefined) {
    await exited;
    throw new TargetError(
      TargetErrorCode.SPAWN_FAILED,
      `cannot start ${file}: ${spawnError?.message ?? '?'}`,
    );
  }
  liveGroups.add(pid);
  // Every process of the target but the group: its namespace (contained), else its descendants, plus
  // whatever listens on its port. Descendants are remembered while seen: an orphan loses its parent link.
  // Only processes carrying this target's mark in their environment are ever killed apart from it.
  const seen = new Set<number>();
  let knownPort = opts.port;
  const others = (thorough = false): number[] => {
    for (const p of contained ? namespaceMembers(pid) : descendants(pid)) seen.add(p);
    if (thorough) {
      for (const p of processesWithEnvironment(TARGET_MARK_VARIABLE, mark)) seen.add(p);
      if (knownPort !== undefined) {
        for (const p of portHolders(knownPort)) if (hasEnvironment(p, TARGET_MARK_VARIABLE, mark)) seen.add(p);
      }
    }
    return [...seen].filter((p) => p !== process.pid && isAlive(p));
  };
  liveTargets.set(pid, others);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitStatus === undefined) {
        killGroup(pid, 'SIGTERM');
        const graceful = await Promise.race([
          exited.then(() => true),
          sleep(opts.stopGraceMs ?? STOP_GRACE_MS).then(() => false),
        ]);
        if (!graceful) {
          killGroup(pid, 'SIGKILL');
          await Promise.race([exited, sleep(KILL_WAIT_MS)]);
        }
      }
      // Stragglers that outlive the leader (a shell's children) go too, and we wait (bounded) until they
      // are gone, so that a test's afterEach really leaves nothing running.
      const rest = others(true).filter((p) => !processGroupMembers(pid).includes(p));
      killGroup(pid, 'SIGKILL');
      for (const p of rest) killPid(p);
      await pollUntil(() => processGroupMembers(pid).length === 0 && !rest.some(isAlive), {
        timeoutMs: KILL_WAIT_MS,
        what: 'the process group to exit',
      }).catch(() => undefined);
      if (!contained && rest.length > 0) {
        escapeReporter(
          `chatkit: TARGET_ESCAPED: killed ${rest.length} process(es) the target left outside its group (pid ${rest.join(', ')})${knownPort === undefined ? '' : `; port ${knownPort}`}`,
        );
      }
      liveGroups.delete(pid);
      liveTargets.delete(pid);
      // Keep what the target wrote last (a traceback) before the pipes go.
      await drained();
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
    })();
    return stopping;
  };

  const handle: TargetHandle = {
    pid,
    port: opts.port,
    stdout: () => out.text(),
    stderr: () => err.text(),
    outputBytes: () => ({ stdout: out.total, stderr: err.total }),
    writeStdin: (text) => {
      if (child.stdin?.writable) child.stdin.write(text);
    },
    endStdin: () => {
      child.stdin?.end();
    },
    waitForOutput: (stream, match, waitOpts = {}) => {
      const tail = stream === 'stdout' ? () => out.text() : () => err.text();
      const test = typeof match === 'string' ? () => tail().includes(match) : () => match(tail());
      const what = waitOpts.what ?? (typeof match === 'string' ? JSON.stringify(match) : 'a predicate');
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (test()) {
            cleanup();
            resolve();
          } else if (outputClosed) {
            cleanup();
            reject(
              new TargetError(TargetErrorCode.EXITED, `target exited before ${what} appeared on ${stream}`, {
                stdout: out.text(),
                stderr: err.text(),
              }),
            );
          }
        };
        const timer = setDeadline(waitOpts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS, () => {
          if (!outputListeners.has(check)) return;
          check();
          if (!outputListeners.has(check)) return;
          cleanup();
          reject(
            new TargetError(TargetErrorCode.WAIT_TIMEOUT, `timed out waiting for ${what} on ${stream}`, {
              stdout: out.text(),
              stderr: err.text(),
            }),
          );
        });
        const cleanup = () => {
          clearTimeout(timer);
          outputListeners.delete(check);
        };
        outputListeners.add(check);
        check();
      });
    },
    exited,
    outputSettled: () => exited.then(drained),
    exitStatus: () => exitStatus,
    stop,
  };

  if (opts.port === undefined && opts.discoverPort !== true) return handle;
  const port = opts.port;
  const where = port === undefined ? 'any port' : String(port);
  const listenTimeoutMs = opts.listenTimeoutMs ?? DEFAULT_LISTEN_TIMEOUT_MS;
  const started = performance.now();
  // Run-queue waits count from each process's start, which is this spawn for every process of the target.
  const starvedMs = () =>
    Math.min(
      [...processGroupMembers(pid), ...others()].reduce((sum, p) => sum + (processRunQueueWaitMs(p) ?? 0), 0),
      listenTimeoutMs * LISTEN_STARVED_EXTENSION_FACTOR,
    );
  for (;;) {
    if (exitStatus !== undefined) {
      await stop();
      const how = spawnError?.message ?? `code ${exitStatus.code}, signal ${exitStatus.signal}`;
      const daemon = contained
        ? '; a target that forks into the background and exits is ended with everything it started: run it in the foreground'
        : '';
      throw new TargetError(TargetErrorCode.EXITED, `target exited (${how}) before listening on ${where}${daemon}`, {
        stdout: out.text(),
        stderr: err.text(),
      });
    }
    // The processes are looked up only once something listens (on `port`): scanning /proc for them
    // takes milliseconds of this thread each poll, and judges running at once must keep reading.
    const found = listeningPortsOf(() => [...processGroupMembers(pid), ...others()], port);
    if (found.length > 0) {
      if (port !== undefined) return handle;
      // A program that listens on several ports is judged on the lowest (its chat port, usually).
      knownPort = Math.min(...found);
      return { ...handle, port: knownPort };
    }
    const elapsed = performance.now() - started;
    const starved = elapsed >= listenTimeoutMs ? starvedMs() : 0;
    if (elapsed >= listenTimeoutMs + starved) {
      const elsewhere = port === undefined ? [] : listeningPorts(pid);
      const why = port === undefined ? '' : whereItListens(port, elsewhere);
      await stop();
      throw new TargetError(
        elsewhere.length > 0 ? TargetErrorCode.LISTENS_ELSEWHERE : TargetErrorCode.NEVER_LISTENED,
        `target did not listen on ${where} in time (${Math.round(elapsed)} ms${starved >= 1 ? `, ${Math.round(starved)} ms of them waiting for a CPU` : ''})${why}`,
        { stdout: out.text(), stderr: err.text(), listening: elsewhere },
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

/**
 * What a target that never listened on `port` does instead, for the error: the ports its process
 * group listens on (a hard-coded port), or that `port` is held by a process outside the group (a
 * daemonised target, or another program).
 */
function whereItListens(port: number, own: readonly number[]): string {
  if (own.length > 0) {
    return `: it listens on ${own.join(', ')} instead, a port of its own. Fix: give the program the port, or drop {port} from the command (--spawn "python3 server.py") and chatkit runs it as handed in: a Python program's address is mapped onto a port chatkit chooses, any other program is judged on the port it listens on (docs/handed-in.md)`;
  }
  const held = tcpSockets().some((s) => s.state === TcpState.LISTEN && s.localPort === port);
  return held ? `: port ${port} is listening, but not by the spawned process group (the target daemonised, or another program holds the port)` : '';
}

/**
 * Starts a server on a port that was free a moment ago: `start(port)` must resolve once the server
 * listens. The port may be taken again before the server binds it, so a server that does not come up is
 * tried again on a fresh port (`attempts` in all, default {@link SPAWN_LISTEN_ATTEMPTS}); a command that
 * cannot be started at all fails at once. Resolves to the handle and the port it listens on (a program
 * that chose its own port reports it in its handle).
 */
export async function startOnFreePort(
  start: (port: number) => Promise<TargetHandle>,
  opts: { portRange?: PortRange | undefined; attempts?: number } = {},
): Promise<TargetHandle & { port: number }> {
  const attempts = opts.attempts ?? SPAWN_LISTEN_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    const chosen = await freePortIn(opts.portRange);
    try {
      const handle = await start(chosen);
      // The very handle `start` made (callers may key maps on it); a server's handle has its port.
      return handle.port === undefined ? { ...handle, port: chosen } : (handle as TargetHandle & { port: number });
    } catch (error) {
      const unstartable = error instanceof TargetError && error.code === TargetErrorCode.SPAWN_FAILED;
      if (unstartable || attempt >= attempts) throw error;
    }
  }
}

/** Options of {@link spawnOnFreePort}: those of {@link spawnTarget}, the command built from the port. */
export interface SpawnOnFreePortOptions extends Omit<SpawnTargetOptions, 'command' | 'port' | 'discoverPort'> {
  /** The command for a port: argv, or a shell command line (contained, as {@link spawnTarget} says). */
  command: (port: number) => readonly string[] | string;
  /** Ports to choose from (`--port-range`); default: any free loopback port. */
  portRange?: PortRange | undefined;
  /** Attempts, each on a fresh port; default {@link SPAWN_LISTEN_ATTEMPTS}. */
  attempts?: number;
}

/** {@link spawnTarget} on a free port, through {@link startOnFreePort}. */
export function spawnOnFreePort(opts: SpawnOnFreePortOptions): Promise<TargetHandle & { port: number }> {
  const { command, portRange, attempts, ...rest } = opts;
  return startOnFreePort((port) => spawnTarget({ ...rest, command: command(port), port }), {
    portRange,
    ...(attempts === undefined ? {} : { attempts }),
  });
}
