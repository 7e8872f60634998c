/**
 * Output paths of `chatkit conform`, checked before the run starts, so that a path that cannot be
 * written costs a usage error (exit 2) instead of the whole run's verdict: every path must be
 * distinct, its directory writable, and an existing file writable and a previous chatkit output
 * (a report, badge or baseline: it mentions `chatkit`) unless `force` is given.
 *
 * @module
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ChatkitError } from '../src/errors.js';

/** How much of an existing file is read to tell whether chatkit wrote it. */
export const REPORT_SNIFF_BYTES = 4_096;

/** One output: the flag that names it and the path given. */
export interface OutputPath {
  /** The flag, for the message (`--output`). */
  readonly flag: string;
  /** The path as given. */
  readonly path: string;
  /** A file chatkit also reads (the baseline): checked for distinctness and writability only. */
  readonly alsoInput?: boolean;
}

/** An output path that cannot be used; code `REPORT_PATH_INVALID`. */
export class ReportPathError extends ChatkitError {
  /** Creates the error for one flag's path. */
  constructor(message: string) {
    super('REPORT_PATH_INVALID', message);
    this.name = 'ReportPathError';
  }
}

function wroteIt(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(REPORT_SNIFF_BYTES);
    const n = readSync(fd, buffer, 0, REPORT_SNIFF_BYTES, 0);
    // An empty file holds nothing to lose.
    return n === 0 || buffer.subarray(0, n).toString('utf8').includes('chatkit');
  } finally {
    closeSync(fd);
  }
}

/**
 * Throws {@link ReportPathError} for the first output that cannot be written safely. Writes nothing.
 */
export function checkOutputPaths(outputs: readonly OutputPath[], force: boolean): void {
  const seen = new Map<string, string>();
  for (const { flag, path, alsoInput } of outputs) {
    const full = resolve(path);
    const other = seen.get(full);
    if (other !== undefined) throw new ReportPathError(`${flag} ${path}: the same file as ${other}; give each output its own path`);
    seen.set(full, flag);
    let stat: ReturnType<typeof statSync> | undefined;
    try {
      stat = statSync(full);
    } catch {
      stat = undefined;
    }
    if (stat?.isDirectory()) throw new ReportPathError(`${flag} ${path}: is a directory`);
    try {
      accessSync(stat ? full : dirname(full), constants.W_OK);
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new ReportPathError(`${flag} ${path}: cannot be written (${why})`);
    }
    if (stat && !force && !alsoInput && !wroteIt(full)) {
      throw new ReportPathError(`${flag} ${path}: holds a file chatkit did not write; add --force to overwrite it`);
    }
  }
}
