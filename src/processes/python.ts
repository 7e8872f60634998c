/**
 * Launching Python programs (the seeds' scripts, mutants, a student's server or client) as process
 * groups through ./spawn.ts, with the real interpreter, so that the pid the harness watches in `/proc`
 * is Python's own.
 *
 * @module
 */
import { execFile, execFileSync } from 'node:child_process';
import { spawnOnFreePort, spawnTarget, type TargetHandle } from './spawn.js';

/** The Python interpreter used for legacy targets; `CHATKIT_PYTHON` overrides it. */
export const PYTHON_COMMAND = process.env.CHATKIT_PYTHON ?? 'python3';
/** Deadline for asking {@link PYTHON_COMMAND} where its real executable is. */
export const PYTHON_RESOLVE_TIMEOUT_MS = 30_000;

/** The arguments that make Python print its real executable (`sys.executable`). */
const WHERE_IS_PYTHON = ['-c', 'import sys; print(sys.executable)'];

let resolvedPython: string | undefined;
let resolving: Promise<string> | undefined;

/**
 * The real interpreter behind {@link PYTHON_COMMAND} (`sys.executable`), resolved once. A wrapper such as a
 * pyenv shim may fork instead of exec, and then the pid the harness watches in /proc would be the wrapper's.
 */
export function pythonExecutable(): string {
  resolvedPython ??=
    execFileSync(PYTHON_COMMAND, WHERE_IS_PYTHON, {
      encoding: 'utf8',
      timeout: PYTHON_RESOLVE_TIMEOUT_MS,
    }).trim() || PYTHON_COMMAND;
  return resolvedPython;
}

/**
 * {@link pythonExecutable} without blocking the event loop (Python can take seconds to start on a
 * loaded machine; a caller that serves sockets meanwhile must keep answering). Used to launch.
 */
export async function resolvePythonExecutable(): Promise<string> {
  if (resolvedPython !== undefined) return resolvedPython;
  // One question for every concurrent caller (a pyenv shim takes seconds to answer on a loaded machine).
  resolving ??= new Promise<string>((resolve, reject) => {
    execFile(
      PYTHON_COMMAND,
      WHERE_IS_PYTHON,
      { encoding: 'utf8', timeout: PYTHON_RESOLVE_TIMEOUT_MS },
      (error, stdout) => (error ? reject(error) : resolve(stdout.trim() || PYTHON_COMMAND)),
    );
  }).finally(() => {
    resolving = undefined;
  });
  resolvedPython = await resolving;
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
 * Runs `python3 <script> 127.0.0.1 <port>` on a fresh port and waits for its listener (retried once on a
 * new port, see {@link spawnOnFreePort}).
 */
export async function spawnPythonServer(
  scriptPath: string,
  opts: SpawnPythonServerOptions = {},
): Promise<TargetHandle> {
  const python = await resolvePythonExecutable();
  return spawnOnFreePort({
    command: (port) => [python, scriptPath, '127.0.0.1', String(port), ...(opts.args ?? [])],
    ...(opts.env === undefined ? {} : { env: opts.env }),
    ...(opts.listenTimeoutMs === undefined ? {} : { listenTimeoutMs: opts.listenTimeoutMs }),
  });
}

/** Runs `python3 <script> <host> <port>` (a client of a peer the test plays); no listener to wait for. */
export async function spawnPythonClient(
  scriptPath: string,
  opts: { host?: string; port: number; env?: Readonly<Record<string, string>> },
): Promise<TargetHandle> {
  return spawnTarget({
    command: [await resolvePythonExecutable(), scriptPath, opts.host ?? '127.0.0.1', String(opts.port)],
    ...(opts.env === undefined ? {} : { env: opts.env }),
  });
}
