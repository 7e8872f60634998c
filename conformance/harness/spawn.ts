/**
 * Starting and stopping conformance targets (legacy scripts, reference peers, mutants) as real processes,
 * plus the few read-only `/proc` probes the suites need to observe a target without touching its sockets.
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
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { ChatkitError } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

/** Default deadline for a target to start listening. */
export const DEFAULT_LISTEN_TIMEOUT_MS = 10_000;
/** How often `/proc/net/tcp` is polled while waiting for a listener (and by {@link pollUntil} by default). */
export const POLL_INTERVAL_MS = 20;
/** How long {@link TargetHandle.stop} waits after SIGTERM before it sends SIGKILL to the group. */
export const STOP_GRACE_MS = 2_000;
/** How long {@link TargetHandle.stop} waits for the exit after SIGKILL before giving up on it. */
export const KILL_WAIT_MS = 2_000;
/** After an exit, how long to wait for the last output still in the pipes before reporting it. */
export const OUTPUT_DRAIN_MS = 500;
/** How many bytes of stdout and of stderr a handle keeps (the tail; totals are counted separately). */
export const OUTPUT_TAIL_BYTES = 64 * 1024;
/** Attempts {@link spawnPythonServer} makes, each on a fresh port (the freed port may be taken meanwhile). */
export const SPAWN_LISTEN_ATTEMPTS = 2;
/** Default deadline of {@link TargetHandle.waitForOutput} and {@link pollUntil}. */
export const DEFAULT_WAIT_TIMEOUT_MS = 5_000;
/** Linux USER_HZ: the unit of utime/stime in `/proc/<pid>/stat` (100 on every mainstream architecture). */
export const CLOCK_TICKS_PER_SECOND = 100;
/** The Python interpreter used for legacy targets; `CHATKIT_PYTHON` overrides it. */
export const PYTHON_COMMAND = process.env.CHATKIT_PYTHON ?? 'python3';
/** Deadline for asking {@link PYTHON_COMMAND} where its real executable is. */
export const PYTHON_RESOLVE_TIMEOUT_MS = 10_000;
/** Directory of the transcribed seed scripts. */
export const PYTHON_TARGETS_DIR = join(PACKAGE_ROOT, 'conformance/targets/python');

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

/** Whether shell command lines can be run in a PID namespace of their own here (checked once). */
export function containmentAvailable(): boolean {
  if (process.env.CHATKIT_CONTAIN === '0' || process.platform !== 'linux') return false;
  containWorks ??=
    spawnSync(CONTAIN_COMMAND[0]!, [...CONTAIN_COMMAND.slice(1), 'true'], {
      stdio: 'ignore',
      timeout: CONTAIN_PROBE_TIMEOUT_MS,
    }).status === 0;
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
  const contained = typeof opts.command === 'string' && containmentAvailable();
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
  const drained = () => Promise.race([closed, sleep(OUTPUT_DRAIN_MS)]);

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
      for (const p of markedProcesses(mark)) seen.add(p);
      if (knownPort !== undefined) for (const p of portHolders(knownPort)) if (hasMark(p, mark)) seen.add(p);
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
          sleep(STOP_GRACE_MS).then(() => false),
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
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new TargetError(TargetErrorCode.WAIT_TIMEOUT, `timed out waiting for ${what} on ${stream}`, {
              stdout: out.text(),
              stderr: err.text(),
            }),
          );
        }, waitOpts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS);
        const cleanup = () => {
          clearTimeout(timer);
          outputListeners.delete(check);
        };
        outputListeners.add(check);
        check();
      });
    },
    exited,
    exitStatus: () => exitStatus,
    stop,
  };

  if (opts.port === undefined && opts.discoverPort !== true) return handle;
  const port = opts.port;
  const where = port === undefined ? 'any port' : String(port);
  const deadline = performance.now() + (opts.listenTimeoutMs ?? DEFAULT_LISTEN_TIMEOUT_MS);
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
    const found = listeningPortsOf([...processGroupMembers(pid), ...others()], port);
    if (found.length > 0) {
      if (port !== undefined) return handle;
      // A program that listens on several ports is judged on the lowest (its chat port, usually).
      knownPort = Math.min(...found);
      return { ...handle, port: knownPort };
    }
    if (performance.now() >= deadline) {
      const elsewhere = port === undefined ? [] : listeningPorts(pid);
      const why = port === undefined ? '' : whereItListens(port, elsewhere);
      await stop();
      throw new TargetError(
        elsewhere.length > 0 ? TargetErrorCode.LISTENS_ELSEWHERE : TargetErrorCode.NEVER_LISTENED,
        `target did not listen on ${where} in time${why}`,
        { stdout: out.text(), stderr: err.text(), listening: elsewhere },
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

let resolvedPython: string | undefined;

/**
 * The real interpreter behind {@link PYTHON_COMMAND} (`sys.executable`), resolved once. A wrapper such as a
 * pyenv shim may fork instead of exec, and then the pid the harness watches in /proc would be the wrapper's.
 */
export function pythonExecutable(): string {
  resolvedPython ??=
    execFileSync(PYTHON_COMMAND, ['-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
      timeout: PYTHON_RESOLVE_TIMEOUT_MS,
    }).trim() || PYTHON_COMMAND;
  return resolvedPython;
}

/** Options of {@link spawnPythonServer}. */
export interface SpawnPythonServerOptions {
  /** Arguments after `HOST PORT`. */
  args?: readonly string[];
  env?: Readonly<Record<string, string>>;
  listenTimeoutMs?: number;
}

/**
 * Runs `python3 <script> 127.0.0.1 <port>` on a fresh port and waits for its listener. Retries once on a new
 * port if the target does not come up: the port from {@link freePort} may be taken again before the target
 * binds it.
 */
export async function spawnPythonServer(
  scriptPath: string,
  opts: SpawnPythonServerOptions = {},
): Promise<TargetHandle> {
  let lastError: unknown;
  for (let attempt = 0; attempt < SPAWN_LISTEN_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      return await spawnTarget({
        command: [pythonExecutable(), scriptPath, '127.0.0.1', String(port), ...(opts.args ?? [])],
        port,
        ...(opts.env === undefined ? {} : { env: opts.env }),
        ...(opts.listenTimeoutMs === undefined ? {} : { listenTimeoutMs: opts.listenTimeoutMs }),
      });
    } catch (error) {
      if (error instanceof TargetError && error.code === TargetErrorCode.SPAWN_FAILED) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

/** Runs `python3 <script> <host> <port>` (a client of a peer the test plays); no listener to wait for. */
export function spawnPythonClient(
  scriptPath: string,
  opts: { host?: string; port: number; env?: Readonly<Record<string, string>> },
): Promise<TargetHandle> {
  return spawnTarget({
    command: [pythonExecutable(), scriptPath, opts.host ?? '127.0.0.1', String(opts.port)],
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
}

/** A port that was free a moment ago on 127.0.0.1 (bind to port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// /proc probes (read-only)

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

/** Fields of `/proc/<pid>/stat` after the command name: index 0 is the state, 2 the process group. */
function statFields(path: string): string[] | undefined {
  try {
    const text = readFileSync(path, 'latin1');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Pids of the live (not zombie) processes in process group `pgid`. */
export function processGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(`/proc/${entry}/stat`);
    if (fields?.[2] === String(pgid) && fields[0] !== 'Z') members.push(Number(entry));
  }
  return members;
}

/** Whether a process exists and is not a zombie. */
function isAlive(pid: number): boolean {
  const fields = statFields(`/proc/${pid}/stat`);
  return fields !== undefined && fields[0] !== 'Z';
}

/** Live processes descended from `root` (through parent links still in place). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(`/proc/${entry}/stat`);
    if (fields === undefined || fields[0] === 'Z') continue;
    const ppid = Number(fields[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
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
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ns = pidNamespace(Number(entry));
    if (ns !== undefined && namespaces.has(ns) && isAlive(Number(entry))) members.push(Number(entry));
  }
  return members;
}

function hasMark(pid: number, mark: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1')
      .split('\0')
      .includes(`${TARGET_MARK_VARIABLE}=${mark}`);
  } catch {
    return false;
  }
}

/** Live processes whose environment carries `mark` (a target's, see {@link TARGET_MARK_VARIABLE}). */
export function markedProcesses(mark: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid && hasMark(pid, mark) && isAlive(pid));
}

/** Processes holding a LISTEN socket on `port` (loopback-reachable). */
export function portHolders(port: number): number[] {
  const inodes = new Set(
    tcpSockets()
      .filter((s) => s.state === TcpState.LISTEN && s.localPort === port && LOOPBACK_REACHABLE.has(s.localAddress))
      .map((s) => s.inode),
  );
  if (inodes.size === 0) return [];
  const holders: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const inode of socketInodes(Number(entry))) {
      if (inodes.has(inode)) {
        holders.push(Number(entry));
        break;
      }
    }
  }
  return holders;
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
  return listeningPortsOf(processGroupMembers(pgid), onlyPort);
}

/** Ports on which any of `pids` has a LISTEN socket reachable at 127.0.0.1 (see {@link listeningPorts}). */
export function listeningPortsOf(pids: readonly number[], onlyPort?: number): number[] {
  const listeners = tcpSockets().filter(
    (s) =>
      s.state === TcpState.LISTEN &&
      LOOPBACK_REACHABLE.has(s.localAddress) &&
      (onlyPort === undefined || s.localPort === onlyPort),
  );
  if (listeners.length === 0) return [];
  const owned = new Set<number>();
  for (const pid of pids) for (const inode of socketInodes(pid)) owned.add(inode);
  return [...new Set(listeners.filter((s) => owned.has(s.inode)).map((s) => s.localPort))];
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

/** CPU time (user + system) consumed so far by a process, all threads, in ms; undefined if it is gone. */
export function processCpuTimeMs(pid: number): number | undefined {
  const f = statFields(`/proc/${pid}/stat`);
  if (f === undefined) return undefined;
  // utime and stime are fields 14 and 15 of stat(5), i.e. 11 and 12 after the command name.
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
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
