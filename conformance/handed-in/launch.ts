/**
 * Running programs as they are handed in (docs/handed-in.md): a `--spawn` or `--client` command
 * without `{port}` is a program that hard-codes its address (`bind(('127.0.0.1', 55555))`).
 *
 * - A Python program runs with chatkit's shim (`python/sitecustomize.py`) first on `PYTHONPATH`:
 *   its first bind (server) or connect (client) is mapped onto the address chatkit chose for the
 *   case, so cases still run in parallel, each on its own port, and the mapping is reported.
 * - Any other server is started as is, and the port its process group listens on is read from
 *   `/proc` (src/processes/proc.ts, Linux only); cases then run one at a time, since the port is fixed.
 * - A command with `{port}` is filled in as before.
 *
 * Every spawn of a server or client target goes through {@link startServerTarget} and
 * {@link startClientTarget}, so the three ways are decided in one place.
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fillSpawnCommand } from '../../src/command-template.js';
import { ChatkitError } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { type PortRange, spawnTarget, startOnFreePort, type TargetHandle } from '../../src/processes/index.js';

/** The folder holding the shim's `sitecustomize.py`, put first on a Python target's `PYTHONPATH`. */
export const PYTHON_SHIM_DIR = join(PACKAGE_ROOT, 'conformance/handed-in/python');

/** Environment variables the shim reads (python/sitecustomize.py). */
export const SHIM_ENV = {
  ROLE: 'CHATKIT_MAP_ROLE',
  HOST: 'CHATKIT_MAP_HOST',
  PORT: 'CHATKIT_MAP_PORT',
  NOTE: 'CHATKIT_MAP_NOTE',
} as const;

/**
 * How a command is run: `template` fills `{host}`/`{port}`; `python-shim` maps a Python program's
 * hard-coded address; `proc-port` judges a server on the port `/proc` shows it listening on.
 */
export type LaunchMode = 'template' | 'python-shim' | 'proc-port';

/** A word of a command that names a Python interpreter (`python3`, `/usr/bin/python3.11`, `py`, `pypy3`). */
const PYTHON_INTERPRETER = /^(?:python[0-9.]*|pypy[0-9.]*|py)$/;

/**
 * Whether a command line runs a Python program: a word is a Python interpreter, or names a `.py`
 * file (run through its shebang, `uv run`, `poetry run`...).
 */
export function isPythonCommand(command: string): boolean {
  return command
    .split(/[\s;&|()]+/)
    .map((word) => word.replace(/^['"]|['"]$/g, ''))
    .some((word) => PYTHON_INTERPRETER.test(word.slice(word.lastIndexOf('/') + 1)) || /\.py$/.test(word));
}

/** How a server command (`--spawn`) is run. */
export function serverLaunchMode(command: string): LaunchMode {
  if (command.includes('{port}')) return 'template';
  return isPythonCommand(command) ? 'python-shim' : 'proc-port';
}

/** How a client command (`--client`) is run; `undefined`: it cannot be (no `{port}`, not Python). */
export function clientLaunchMode(command: string): Exclude<LaunchMode, 'proc-port'> | undefined {
  if (command.includes('{port}')) return 'template';
  return isPythonCommand(command) ? 'python-shim' : undefined;
}

/** A client command that can be run neither with `{port}` nor through the shim. */
export class ClientNotMappableError extends ChatkitError {
  constructor(command: string) {
    super(
      'CLIENT_NOT_MAPPABLE',
      `--client "${command}": the command has no {port}, and chatkit can map the hard-coded address of Python programs only; give the client {host} and {port} (e.g. --client "./client {host} {port}")`,
    );
    this.name = 'ClientNotMappableError';
  }
}

/** What a target handed in was found doing, for the report. */
export interface HandedIn {
  readonly how: 'python-shim' | 'proc-port';
  /** The address (or port) the program hard-codes, e.g. `127.0.0.1:55555`. */
  readonly from: string;
  /** One line per mapping (`bind 127.0.0.1:55555 -> 127.0.0.1:41234`) or the port found in /proc. */
  readonly lines: readonly string[];
}

/** Per handle: how it was launched and where the shim writes its mapping lines. */
const launches = new WeakMap<TargetHandle, { how: HandedIn['how']; note?: string; lines?: string[] }>();

let noteDir: string | undefined;
let noteCount = 0;
/** A fresh file name for one target's mapping lines (the folder is removed when chatkit exits). */
function noteFile(): string {
  if (noteDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'chatkit-map-'));
    noteDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return join(noteDir, `${++noteCount}.txt`);
}

function shimEnv(role: 'server' | 'client', host: string, port: number, note: string): Record<string, string> {
  const inherited = process.env.PYTHONPATH;
  return {
    // The user's PYTHONPATH stays, after the shim.
    PYTHONPATH: inherited ? `${PYTHON_SHIM_DIR}${delimiter}${inherited}` : PYTHON_SHIM_DIR,
    [SHIM_ENV.ROLE]: role,
    [SHIM_ENV.HOST]: host,
    [SHIM_ENV.PORT]: String(port),
    [SHIM_ENV.NOTE]: note,
  };
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}

/** Ends the target, keeping what the shim wrote first (its note file is removed). */
function remembered(handle: TargetHandle, how: HandedIn['how'], note?: string): TargetHandle {
  const entry: { how: HandedIn['how']; note?: string; lines?: string[] } = { how, ...(note ? { note } : {}) };
  const wrapped: TargetHandle = {
    ...handle,
    stop: async () => {
      await handle.stop();
      if (note !== undefined && entry.lines === undefined) {
        entry.lines = readLines(note);
        rmSync(note, { force: true });
      }
    },
  };
  launches.set(wrapped, entry);
  return wrapped;
}

/**
 * What a target started by {@link startServerTarget} or {@link startClientTarget} was found doing:
 * how its address was mapped, from what. `undefined` for a `{port}` command, or when a Python
 * program did not bind or connect (yet).
 */
export function handedInOf(handle: TargetHandle | undefined): HandedIn | undefined {
  const entry = handle === undefined ? undefined : launches.get(handle);
  if (entry === undefined) return undefined;
  if (entry.how === 'proc-port') {
    const port = handle!.port;
    return port === undefined
      ? undefined
      : { how: 'proc-port', from: `port ${port}`, lines: [`listens on port ${port} (found in /proc)`] };
  }
  const lines = entry.lines ?? (entry.note === undefined ? [] : readLines(entry.note));
  const first = lines[0];
  if (first === undefined) return undefined;
  return { how: 'python-shim', from: first.split(' ')[1] ?? '?', lines };
}

/** One sentence for reports: what was mapped, from what, and how. */
export function handedInSentence(handedIn: HandedIn): string {
  return handedIn.how === 'python-shim'
    ? `run as handed in: the program's address ${handedIn.from} was mapped by chatkit's Python shim onto a port of chatkit's for each case (e.g. ${handedIn.lines[0]})`
    : `run as handed in: the program listens on its own ${handedIn.from} (found in /proc); cases were run one at a time`;
}

/** Options of {@link startServerTarget}. */
export interface StartServerOptions {
  /** The `--spawn` command line. */
  readonly command: string;
  /** The port chatkit chose for this instance (unused with `proc-port`: the program has its own). */
  readonly port: number;
  readonly listenTimeoutMs: number;
  readonly cwd?: string;
}

/**
 * Starts a server target the way its command needs (see {@link serverLaunchMode}) and waits until
 * it listens; the handle's `port` is where to connect (the found one with `proc-port`).
 */
export async function startServerTarget(opts: StartServerOptions): Promise<TargetHandle> {
  const mode = serverLaunchMode(opts.command);
  const base = { listenTimeoutMs: opts.listenTimeoutMs, ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) };
  if (mode === 'template') {
    return spawnTarget({ ...base, command: fillSpawnCommand(opts.command, opts.port), port: opts.port });
  }
  if (mode === 'proc-port') {
    return remembered(await spawnTarget({ ...base, command: opts.command, discoverPort: true }), mode);
  }
  const note = noteFile();
  const handle = await spawnTarget({
    ...base,
    command: opts.command,
    port: opts.port,
    env: shimEnv('server', '127.0.0.1', opts.port, note),
  });
  return remembered(handle, mode, note);
}

/**
 * {@link startServerTarget} on a port that was free a moment ago (in `portRange` when given), through
 * `startOnFreePort`: with `attempts` above 1, a target that does not come up is tried on a fresh port.
 */
export function startServerOnFreePort(
  opts: Omit<StartServerOptions, 'port'> & { readonly portRange?: PortRange | undefined; readonly attempts?: number },
): Promise<TargetHandle & { port: number }> {
  const { portRange, attempts, ...start } = opts;
  return startOnFreePort((port) => startServerTarget({ ...start, port }), {
    portRange,
    ...(attempts === undefined ? {} : { attempts }),
  });
}

/** Starts a client target pointed at `host:port` (its `{host}`/`{port}`, or the shim's mapping). */
export async function startClientTarget(opts: {
  readonly command: string;
  readonly host: string;
  readonly port: number;
  readonly cwd?: string;
}): Promise<TargetHandle> {
  const mode = clientLaunchMode(opts.command);
  const cwd = opts.cwd === undefined ? {} : { cwd: opts.cwd };
  if (mode === undefined) throw new ClientNotMappableError(opts.command);
  if (mode === 'template') {
    return spawnTarget({ ...cwd, command: fillSpawnCommand(opts.command, opts.port, opts.host) });
  }
  const note = noteFile();
  const handle = await spawnTarget({ ...cwd, command: opts.command, env: shimEnv('client', opts.host, opts.port, note) });
  return remembered(handle, mode, note);
}
