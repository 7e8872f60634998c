/**
 * What `chatkit grade` does apart from parsing flags and printing: take this shard's submissions,
 * judge `jobs` of them at a time (judge.ts), and write the class's outputs (docs/grading.md, "Output
 * layout"). `chatkit grade merge` re-renders the same outputs from several slices' folders.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chatkitVersion } from '../conformance/conform.js';
import { runReportSchema, type RunReport } from '../conformance/harness/report.js';
import { ChatkitError } from '../src/errors.js';
import { type ClassReport, classReportSchema, GRADE_SCHEMA, gradeExitCode, type StudentGrade } from './class-report.js';
import { gradescopeResults } from './gradescope.js';
import { type HtmlStudent, renderHtml } from './html.js';
import { type JudgeOptions, type Judged, judgeSubmission } from './judge.js';
import { DuplicateStudentError, type Submission } from './submissions.js';
import { renderCsv, renderMarkdown } from './tables.js';

/** Most submissions `--jobs` judges at once. */
export const MAX_GRADE_JOBS = 32;

/** The default output folder. */
export const DEFAULT_GRADE_OUT = 'chatkit-grade';

/** The class report's file in the output folder. */
export const CLASS_REPORT_FILE = 'grade.json';

/**
 * Targets one core carries at the suite's unscaled bounds. Grading runs `jobs × caseJobs` targets at
 * once; past this many per core every bound (waits, quiet windows, listen deadlines) is stretched in
 * proportion, so a loaded machine slows the run down instead of failing students.
 */
export const TARGETS_PER_CORE = 2;

/** `--shard i/n`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** A `--shard` that is not `i/n`. */
export class ShardError extends ChatkitError {
  constructor(message: string) {
    super('GRADE_SHARD_INVALID', message);
    this.name = 'ShardError';
  }
}

/** A `grade merge` input that is not a grade folder. */
export class MergeError extends ChatkitError {
  constructor(message: string) {
    super('GRADE_MERGE_INVALID', message);
    this.name = 'MergeError';
  }
}

/** Parses `i/n` (1 ≤ i ≤ n). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new ShardError(`--shard: expected i/n with 1 <= i <= n (e.g. 2/8), got "${text}"`);
  return { index, count };
}

/**
 * The i-th of n deterministic slices: the submissions sorted by student name, every n-th from the
 * i-th. Every runner of a CI matrix computes the same slices from the same folder.
 */
export function shardOf<T extends { readonly student: string }>(sorted: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return [...sorted];
  return sorted.filter((_, i) => i % shard.count === shard.index - 1);
}

/** Cases per submission and the bound scale for `jobs` submissions at once (see {@link TARGETS_PER_CORE}). */
export function loadPlan(jobs: number, caseJobs: number | undefined, timeoutScale: number, cores = availableParallelism()) {
  const perSubmission = caseJobs ?? Math.max(1, Math.floor((cores * TARGETS_PER_CORE) / jobs));
  const load = (jobs * perSubmission) / (cores * TARGETS_PER_CORE);
  return { caseJobs: perSubmission, timeoutScale: timeoutScale * Math.max(1, load) };
}

/** Everything {@link gradeClass} needs. */
export interface GradeRun extends JudgeOptions {
  readonly submissions: readonly Submission[];
  readonly jobs: number;
  readonly shard?: Shard | undefined;
  readonly failOn: 'none' | 'any';
  readonly rubricFile?: string | undefined;
  readonly onStart?: (s: Submission, running: readonly string[]) => void;
  readonly onCase?: (s: Submission, side: 'server' | 'client', done: number, total: number) => void;
  readonly onDone?: (judged: Judged, done: number, total: number) => void;
}

/** The class report and the reports behind every row. */
export interface Graded {
  readonly report: ClassReport;
  readonly students: readonly Judged[];
}

/** Judges the submissions, `jobs` at a time; rows come back in student order. */
export async function gradeClass(run: GradeRun): Promise<Graded> {
  const startedAt = new Date();
  const started = performance.now();
  const queue = [...run.submissions];
  const results = new Map<string, Judged>();
  const running = new Set<string>();
  let done = 0;
  const worker = async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const submission = next;
      running.add(submission.student);
      run.onStart?.(submission, [...running]);
      const judged = await judgeSubmission(submission, run, (side, i, n) => run.onCase?.(submission, side, i, n));
      running.delete(submission.student);
      results.set(submission.student, judged);
      run.onDone?.(judged, ++done, run.submissions.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(run.jobs, run.submissions.length)) }, worker));
  const students = run.submissions.map((s) => results.get(s.student)!);
  const grades = students.map((j) => j.grade);
  const report: ClassReport = {
    schema: GRADE_SCHEMA,
    chatkitVersion: chatkitVersion(),
    startedAt: startedAt.toISOString(),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    options: {
      profiles: [...(run.profiles ?? ['core', 'robustness'])],
      dialect: run.dialect,
      ...(run.prompt === undefined ? {} : { prompt: run.prompt }),
      jobs: run.jobs,
      caseJobs: run.caseJobs,
      timeoutScale: run.timeoutScale,
      learn: run.learn === true,
      ...(run.rubricFile === undefined ? {} : { rubric: run.rubricFile }),
      judgeClients: run.judgeClients === true,
    },
    ...(run.shard ? { shards: [{ index: run.shard.index, count: run.shard.count }] } : {}),
    students: grades,
    exitCode: gradeExitCode(grades, run.failOn),
  };
  return { report, students };
}

/** The Gradescope maximum for a student who could not be judged: the class's largest. */
function classMaxScore(grades: readonly StudentGrade[]): number {
  return grades.reduce((m, g) => Math.max(m, g.notJudged ? 0 : g.maxScore), 0);
}

/** Writes every output into `dir` (created): CSV, Markdown, HTML, grade.json, per student report.json and results.json. */
export function writeOutputs(dir: string, graded: Graded, rubric: JudgeOptions['rubric']): void {
  mkdirSync(dir, { recursive: true });
  const maxIfUnjudged = classMaxScore(graded.report.students);
  for (const s of graded.students) {
    const folder = join(dir, s.grade.student);
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, 'report.json'),
      `${JSON.stringify({ student: s.grade.student, grade: s.grade, ...(s.server ? { server: s.server } : {}), ...(s.client ? { client: s.client } : {}) }, null, 2)}\n`,
    );
    writeFileSync(join(folder, 'results.json'), `${JSON.stringify(gradescopeResults(s.grade, s, rubric, maxIfUnjudged), null, 2)}\n`);
  }
  writeClassFiles(dir, graded.report, graded.students);
}

function writeClassFiles(dir: string, report: ClassReport, students: readonly HtmlStudent[]): void {
  // What merge reads back must fit the schema: check it on the way out, not on the way in.
  writeFileSync(join(dir, CLASS_REPORT_FILE), `${JSON.stringify(classReportSchema.parse(report), null, 2)}\n`);
  writeFileSync(join(dir, 'grades.csv'), renderCsv(report));
  writeFileSync(join(dir, 'grades.md'), renderMarkdown(report));
  writeFileSync(join(dir, 'report.html'), renderHtml(report, students));
}

/** Reads one slice's class report. */
export function readClassReport(dir: string): ClassReport {
  const path = join(dir, CLASS_REPORT_FILE);
  if (!existsSync(path)) throw new MergeError(`${dir}: no ${CLASS_REPORT_FILE} (not an output folder of chatkit grade)`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new MergeError(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = classReportSchema.safeParse(data);
  if (!parsed.success) throw new MergeError(`${path}: not a ${GRADE_SCHEMA} document: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

/** A student's conform reports, read back from `DIR/<student>/report.json`. */
function readStudentReports(dir: string, grade: StudentGrade): HtmlStudent {
  try {
    const data = JSON.parse(readFileSync(join(dir, grade.student, 'report.json'), 'utf8')) as { server?: unknown; client?: unknown };
    const parse = (r: unknown): RunReport | undefined => (r === undefined ? undefined : runReportSchema.parse(r));
    return { grade, server: parse(data.server), client: parse(data.client) };
  } catch {
    return { grade };
  }
}

/**
 * Merges slices' output folders into `out`: every student once (a name in two slices is an error),
 * sorted by name, per-student folders copied, class files rendered again.
 */
export function mergeOutputs(dirs: readonly string[], out: string, failOn: 'none' | 'any'): ClassReport {
  const reports = dirs.map((d) => ({ dir: d, report: readClassReport(d) }));
  const seen = new Map<string, string>();
  const students: (HtmlStudent & { dir: string })[] = [];
  for (const { dir, report } of reports) {
    for (const grade of report.students) {
      const other = seen.get(grade.student);
      if (other !== undefined) throw new DuplicateStudentError(`student "${grade.student}" is in both ${other} and ${dir}`);
      seen.set(grade.student, dir);
      students.push({ ...readStudentReports(dir, grade), dir });
    }
  }
  students.sort((a, b) => (a.grade.student < b.grade.student ? -1 : a.grade.student > b.grade.student ? 1 : 0));
  mkdirSync(out, { recursive: true });
  for (const s of students) {
    const from = join(s.dir, s.grade.student);
    if (existsSync(from) && join(out, s.grade.student) !== from) cpSync(from, join(out, s.grade.student), { recursive: true });
  }
  const first = reports[0]!.report;
  const grades = students.map((s) => s.grade);
  const merged: ClassReport = {
    ...first,
    startedAt: reports.map((r) => r.report.startedAt).sort()[0]!,
    seconds: Math.max(...reports.map((r) => r.report.seconds)),
    shards: reports.flatMap((r) => r.report.shards ?? []),
    students: grades,
    exitCode: gradeExitCode(grades, failOn),
  };
  writeClassFiles(out, merged, students);
  return merged;
}
