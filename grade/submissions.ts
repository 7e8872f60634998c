/**
 * Finding the submissions of a class and, in each, the server and client programs to judge
 * (docs/grading.md, "How chatkit finds the programs"). Reads files only: nothing in a submission
 * is written, moved or compiled.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { z } from 'zod';
import { ChatkitError } from '../src/errors.js';
import { shellQuote } from '../conformance/conform.js';
import { PYTHON_COMMAND } from '../src/processes/index.js';

/** The per-folder file that overrides what grading finds (docs/grading.md). */
export const SUBMISSION_CONFIG = 'chatkit.json';

/** How deep under a submission folder `.py` files are looked for (the folder itself is depth 0). */
export const MAX_SEARCH_DEPTH = 2;

/** Most `.py` files read per submission (a vendored library is not a chat program). */
export const MAX_PY_FILES = 200;

/** Folders never searched for programs. */
const IGNORED_DIRS = new Set(['__pycache__', 'venv', '.venv', 'env', 'node_modules', 'site-packages', '.git']);

const programConfig = z.union([
  z.null(),
  z.string().min(1),
  z.strictObject({
    /** The file, relative to the submission folder. */
    file: z.string().min(1).optional(),
    /** The whole command, run in the submission folder (`{port}` allowed, docs/handed-in.md). */
    command: z.string().min(1).optional(),
  }),
]);

/** The schema of a submission's `chatkit.json`. */
export const submissionConfigSchema = z.strictObject({
  /** The server: a file (`"srv/main.py"`), `{ file }` or `{ command }`, or `null`: there is none. */
  server: programConfig.optional(),
  /** The client, the same way; `null`: do not judge a client. */
  client: programConfig.optional(),
  dialect: z.enum(['nick', 'tilde']).optional(),
  prompt: z.string().min(1).optional(),
  /** A variant file (docs/variants.md), relative to the submission folder. */
  variant: z.string().min(1).optional(),
});

/** A submission's `chatkit.json`. */
export type SubmissionConfig = z.infer<typeof submissionConfigSchema>;

/** A `chatkit.json` that cannot be used. */
export class SubmissionConfigError extends ChatkitError {
  constructor(message: string) {
    super('GRADE_CONFIG_INVALID', message);
    this.name = 'SubmissionConfigError';
  }
}

/** Two submissions with one student name. */
export class DuplicateStudentError extends ChatkitError {
  constructor(message: string) {
    super('GRADE_DUPLICATE_STUDENT', message);
    this.name = 'DuplicateStudentError';
  }
}

/** Paths and globs that name no submission. */
export class NoSubmissionsError extends ChatkitError {
  constructor(message: string) {
    super('GRADE_NO_SUBMISSIONS', message);
    this.name = 'NoSubmissionsError';
  }
}

/** One program to judge: how to start it, and from where. */
export interface Program {
  /** The file, relative to the submission (absent when chatkit.json gives a command). */
  readonly file?: string | undefined;
  /** The command as a student would type it in `cwd` (`python3 server.py`). */
  readonly command: string;
  /** The folder the command runs in (the file's own folder). */
  readonly cwd: string;
  /** Why this one (the rule that picked it). */
  readonly why: string;
}

/** A client that is found but cannot be judged, or none. */
export interface NoProgram {
  readonly reason: string;
}

/** One student's hand-in, with what grading found in it. */
export interface Submission {
  /** The folder or file name. */
  readonly student: string;
  /** Absolute path of the folder or file. */
  readonly path: string;
  readonly server: Program | NoProgram;
  readonly client: Program | NoProgram;
  readonly config: SubmissionConfig;
  /** Why the chatkit.json could not be used (the submission is then not judged). */
  readonly configError?: string | undefined;
}

/** Whether a found program can be run. */
export function isProgram(p: Program | NoProgram): p is Program {
  return 'command' in p;
}

/** What grading's rules see in one Python file. */
export interface PythonTraits {
  readonly listens: boolean;
  readonly connects: boolean;
  readonly readsInput: boolean;
  readonly gui: boolean;
}

/** Strips comments and the text of string literals well enough to look for calls. */
function codeOnly(source: string): string {
  return source
    .replace(/("""|''')[\s\S]*?\1/g, '""')
    .replace(/#[^\n]*/g, '')
    .replace(/(["'])(?:\\.|(?!\1)[^\\\n])*\1/g, '""');
}

/**
 * The rules (docs/grading.md): a server calls `listen(` (or `create_server`, `start_server`,
 * `socketserver`); a client calls `connect(` (or `create_connection`, `open_connection`); a console
 * client reads input (`input(`, `sys.stdin`); a GUI client imports tkinter (or another toolkit).
 */
export function pythonTraits(source: string): PythonTraits {
  const code = codeOnly(source);
  return {
    listens: /\.listen\s*\(|create_server\s*\(|start_server\s*\(|socketserver\./.test(code),
    connects: /\.connect(?:_ex)?\s*\(|create_connection\s*\(|open_connection\s*\(/.test(code),
    readsInput: /\binput\s*\(|sys\.stdin|\bstdin\b/.test(code),
    gui: /^\s*(?:import|from)\s+(?:tkinter|Tkinter|PyQt\d|PySide\d|kivy|wx|pygame)\b/m.test(code),
  };
}

/** `.py` files under a folder, depth-bounded, sorted. */
function pythonFiles(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (found.length >= MAX_PY_FILES) return;
      const full = join(dir, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && isDir(full))) {
        if (depth < MAX_SEARCH_DEPTH && !IGNORED_DIRS.has(e.name) && !e.name.startsWith('.')) walk(full, depth + 1);
      } else if (e.name.endsWith('.py')) found.push(full);
    }
  };
  walk(folder, 0);
  return found;
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The command that runs a file as the student does: `python3 <file>` in the file's folder. */
function programFor(root: string, file: string, why: string): Program {
  return { file: relative(root, file) || basename(file), command: `${PYTHON_COMMAND} ${shellQuote(basename(file))}`, cwd: dirname(file), why };
}

/** Among candidates, the one whose name says its role, else the first in name order. */
function preferNamed(files: readonly string[], role: 'server' | 'client'): string | undefined {
  return files.find((f) => basename(f).toLowerCase().includes(role)) ?? files[0];
}

/** Which files to consider for one role, from `--server-file`/`--client-file` globs (matched against the path in the submission, or the file name). */
function byPatterns(root: string, files: readonly string[], patterns: readonly string[] | undefined): string[] {
  if (!patterns?.length) return [...files];
  const match = picomatch([...patterns]);
  return files.filter((f) => match(relative(root, f)) || match(basename(f)));
}

/**
 * Expands one glob, segment by segment, following symbolic links (a class folder of links to
 * students' folders is common, and glob libraries skip linked folders). A pattern without glob
 * characters is returned as is when it exists.
 */
export function expandGlob(pattern: string): string[] {
  const absolute = isAbsolute(pattern);
  const segments = pattern.split(/[\\/]+/).filter((p, i) => p !== '' || i === 0);
  let current = [absolute ? sep : '.'];
  for (const segment of segments.slice(absolute ? 1 : 0)) {
    if (segment === '' || segment === '.') continue;
    if (!picomatch.scan(segment).isGlob) {
      current = current.map((c) => join(c, segment)).filter((c) => existsSync(c));
      continue;
    }
    const match = picomatch(segment, { dot: segment.startsWith('.') });
    current = current.flatMap((c) => {
      if (!isDir(c)) return [];
      try {
        return readdirSync(c)
          .filter((name) => match(name))
          .map((name) => join(c, name));
      } catch {
        return [];
      }
    });
  }
  return current;
}

/** Options of {@link findPrograms}. */
export interface FindOptions {
  readonly serverFile?: readonly string[] | undefined;
  readonly clientFile?: readonly string[] | undefined;
}

function configured(root: string, given: Exclude<SubmissionConfig['server'], undefined>, role: string): Program | NoProgram {
  if (given === null) return { reason: `chatkit.json says there is no ${role}` };
  const spec = typeof given === 'string' ? { file: given } : given;
  if (spec.command !== undefined) return { command: spec.command, cwd: root, why: `chatkit.json: "${spec.command}"` };
  const file = resolve(root, spec.file!);
  if (!existsSync(file)) return { reason: `chatkit.json names ${spec.file} as the ${role}, but there is no such file` };
  return programFor(root, file, `chatkit.json: ${spec.file}`);
}

/** Finds the server and client of one submission folder (or single file). */
export async function findPrograms(
  path: string,
  config: SubmissionConfig,
  options: FindOptions = {},
): Promise<{ server: Program | NoProgram; client: Program | NoProgram }> {
  const root = isDir(path) ? path : dirname(path);
  const files = isDir(path) ? pythonFiles(path) : path.endsWith('.py') ? [path] : [];
  const traits = new Map(files.map((f) => [f, pythonTraits(readText(f))]));
  const trait = (f: string) => traits.get(f)!;

  let server: Program | NoProgram;
  if (config.server !== undefined) server = configured(root, config.server, 'server');
  else {
    const candidates = byPatterns(root, files, options.serverFile).filter((f) => trait(f).listens);
    const chosen = preferNamed(candidates, 'server');
    server = chosen
      ? programFor(root, chosen, options.serverFile?.length ? `--server-file, and it calls listen()` : 'it calls listen()')
      : {
          reason: files.length
            ? `no server found: none of ${files.length} .py file${files.length === 1 ? '' : 's'} calls listen()${options.serverFile?.length ? ` among those --server-file ${options.serverFile.join(',')} matches` : ''}`
            : 'no server found: no .py file',
        };
  }

  let client: Program | NoProgram;
  if (config.client !== undefined) client = configured(root, config.client, 'client');
  else {
    const serverFile = isProgram(server) && server.file !== undefined ? resolve(root, server.file) : undefined;
    const candidates = byPatterns(root, files, options.clientFile).filter(
      (f) => f !== serverFile && trait(f).connects && !trait(f).listens,
    );
    const consoleClients = candidates.filter((f) => trait(f).readsInput);
    const chosen = preferNamed(consoleClients, 'client');
    const gui = candidates.find((f) => trait(f).gui);
    client = chosen
      ? programFor(root, chosen, 'it calls connect() and reads input')
      : gui
        ? {
            reason: `client not judged: ${relative(root, gui)} is a GUI program (it imports a window toolkit and reads no console input); it needs a display`,
          }
        : { reason: 'no client found: no .py file calls connect() and reads input' };
  }
  return { server, client };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Reads a submission folder's `chatkit.json` (`{}` when there is none). */
export function readSubmissionConfig(folder: string): SubmissionConfig {
  const path = join(folder, SUBMISSION_CONFIG);
  if (!existsSync(path)) return {};
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new SubmissionConfigError(`${path}: not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = submissionConfigSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SubmissionConfigError(`${path}: ${issues}`);
  }
  return parsed.data;
}

/** The student's name: the folder or file name. */
export function studentName(path: string): string {
  return basename(resolve(path));
}

/**
 * Expands paths and globs (`subs/*`, `subs/*.py`) into submissions, one per folder or `.py` file,
 * sorted by student name. A glob is expanded here, so it works quoted (and on shells without globs).
 * Throws {@link NoSubmissionsError} when nothing matches and {@link DuplicateStudentError} on a name clash.
 */
export async function findSubmissions(patterns: readonly string[], options: FindOptions = {}): Promise<Submission[]> {
  const paths = new Set<string>();
  for (const pattern of patterns) {
    if (existsSync(pattern)) {
      paths.add(resolve(pattern));
      continue;
    }
    for (const m of expandGlob(pattern)) paths.add(resolve(m));
  }
  const kept = [...paths].filter((p) => isDir(p) || p.endsWith('.py'));
  if (kept.length === 0) {
    throw new NoSubmissionsError(`no submission: ${patterns.join(' ')} names no folder and no .py file`);
  }
  const byName = new Map<string, string>();
  for (const p of kept) {
    const name = studentName(p);
    const other = byName.get(name);
    if (other !== undefined) throw new DuplicateStudentError(`two submissions are named "${name}": ${other} and ${p}`);
    byName.set(name, p);
  }
  const sorted = [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Promise.all(sorted.map(([student, path]) => submissionAt(student, path, options)));
}

/** One submission: its config and programs. */
export async function submissionAt(student: string, path: string, options: FindOptions = {}): Promise<Submission> {
  let config: SubmissionConfig = {};
  let configError: string | undefined;
  if (isDir(path)) {
    try {
      config = readSubmissionConfig(path);
    } catch (error) {
      if (!(error instanceof SubmissionConfigError)) throw error;
      configError = error.message;
    }
  }
  const { server, client } = await findPrograms(path, config, options);
  return { student, path, server, client, config, ...(configError ? { configError } : {}) };
}

/** The command that runs a program in its folder, as chatkit's `--spawn`/`--client` takes it. */
export function commandInFolder(program: Program): string {
  return `cd ${shellQuote(program.cwd)} && ${program.command}`;
}
