/**
 * Launching Python programs (the seeds' scripts, mutants, a student's server or client) as process
 * groups through ./spawn.ts, with the real interpreter, so that the pid the harness watches in `/proc`
 * is Python's own.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { spawnOnFreePort, spawnTarget, type TargetHandle } from './spawn.js';

/** The Python interpreter used for legacy targets; `CHATKIT_PYTHON` overrides it. */
export const PYTHON_COMMAND = process.env.CHATKIT_PYTHON ?? 'python3';
/** Deadline for asking {@link PYTHON_COMMAND} where its real executable is. */
export const PYTHON_RESOLVE_TIMEOUT_MS = 10_000;

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
 * Runs `python3 <script> 127.0.0.1 <port>` on a fresh port and waits for its listener (retried once on a
 * new port, see {@link spawnOnFreePort}).
 */
export function spawnPythonServer(scriptPath: string, opts: SpawnPythonServerOptions = {}): Promise<TargetHandle> {
  return spawnOnFreePort({
    command: (port) => [pythonExecutable(), scriptPath, '127.0.0.1', String(port), ...(opts.args ?? [])],
    ...(opts.env === undefined ? {} : { env: opts.env }),
    ...(opts.listenTimeoutMs === undefined ? {} : { listenTimeoutMs: opts.listenTimeoutMs }),
  });
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
