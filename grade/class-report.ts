/**
 * The class report as data: `DIR/grade.json`, the `--json` return value of `chatkit grade`, and what
 * `chatkit grade merge` reads back from every slice. Every other output (table, CSV, Markdown, HTML,
 * Gradescope) is rendered from it and the students' conform reports (`DIR/<student>/report.json`).
 *
 * @module
 */
import { z } from 'zod';

/** The schema's name and version; a breaking change bumps the number. */
export const GRADE_SCHEMA = 'chatkit-grade/1';

const levelCount = z.strictObject({ passed: z.number().int(), total: z.number().int() });

/** The first root cause of a student's failures: the one to fix first. */
export const rootCauseSchema = z.strictObject({
  /** Which program it is in. */
  side: z.enum(['server', 'client']),
  caseId: z.string(),
  /** The requirement it breaks (for an error without failure: the case's first). */
  requirement: z.string(),
  level: z.enum(['MUST', 'SHOULD', 'INFO']),
  message: z.string(),
  /** How many other cases it takes down with it. */
  takesDown: z.number().int(),
});

/** One program's part in a student's grade. */
export const programGradeSchema = z.strictObject({
  /** The file judged (relative to the submission), when a file. */
  file: z.string().optional(),
  /** The command chatkit ran, in `cwd`. */
  command: z.string(),
  cwd: z.string(),
  /** Why this file was taken (the rule, or chatkit.json). */
  why: z.string(),
  dialect: z.enum(['nick', 'tilde']).optional(),
  prompt: z.string().optional(),
  /** The conform exit code (0, 1, 3). */
  exitCode: z.number().int().optional(),
  /** Why it could not be judged. */
  notJudged: z.string().optional(),
});

/** One student's row. */
export const studentGradeSchema = z.strictObject({
  student: z.string(),
  path: z.string(),
  /** `pass`: every MUST case passed; `fail`: one failed; `error`: the submission could not be judged. */
  verdict: z.enum(['pass', 'fail', 'error']),
  must: levelCount,
  should: levelCount,
  score: z.number(),
  maxScore: z.number(),
  firstRootCause: rootCauseSchema.optional(),
  /** Why the submission could not be judged (verdict `error`): one sentence, its category and code. */
  notJudged: z
    .strictObject({
      category: z.enum([
        'no-server',
        'config-invalid',
        'syntax-error',
        'crashes-at-start',
        'listens-nowhere',
        'listens-elsewhere',
        'speaks-neither-dialect',
        'not-judged',
      ]),
      code: z.string(),
      reason: z.string(),
      /** With listens-elsewhere: the ports it listens on. */
      ports: z.array(z.number().int()).optional(),
    })
    .optional(),
  server: programGradeSchema.optional(),
  client: programGradeSchema.optional(),
  /** Things the teacher should know that are not failures (a GUI client not judged, a mapped address). */
  notes: z.array(z.string()),
  seconds: z.number(),
});

/** The whole class (or one `--shard` slice of it). */
export const classReportSchema = z.strictObject({
  schema: z.literal(GRADE_SCHEMA),
  chatkitVersion: z.string(),
  startedAt: z.string(),
  seconds: z.number(),
  options: z.strictObject({
    profiles: z.array(z.string()),
    dialect: z.string(),
    prompt: z.string().optional(),
    jobs: z.number().int(),
    caseJobs: z.number().int(),
    timeoutScale: z.number(),
    learn: z.boolean(),
    rubric: z.string().optional(),
    judgeClients: z.boolean(),
  }),
  /** With `--shard i/n`: which slice; merged reports list every slice merged. */
  shards: z.array(z.strictObject({ index: z.number().int(), count: z.number().int() })).optional(),
  students: z.array(studentGradeSchema),
  /** 0: every submission judged; 3: none; 1: with `--fail-on any`, one failed or was not judged. */
  exitCode: z.number().int(),
});

/** A student's row. */
export type StudentGrade = z.infer<typeof studentGradeSchema>;
/** A program's part in it. */
export type ProgramGrade = z.infer<typeof programGradeSchema>;
/** The first root cause. */
export type RootCause = z.infer<typeof rootCauseSchema>;
/** Why a submission was not judged. */
export type NotJudged = NonNullable<StudentGrade['notJudged']>;
/** The class report. */
export type ClassReport = z.infer<typeof classReportSchema>;

/** Exit codes of `chatkit grade` (docs/grading.md). */
export const GRADE_EXIT = { OK: 0, FAILED: 1, USAGE: 2, NONE_JUDGED: 3 } as const;

/**
 * The exit code: 3 when no submission could be judged; with `--fail-on any`, 1 when one failed or
 * could not be judged; else 0 (a teacher's run that finds failing students is no error).
 */
export function gradeExitCode(students: readonly StudentGrade[], failOn: 'none' | 'any'): number {
  if (students.length > 0 && students.every((s) => s.verdict === 'error')) return GRADE_EXIT.NONE_JUDGED;
  if (failOn === 'any' && students.some((s) => s.verdict !== 'pass')) return GRADE_EXIT.FAILED;
  return GRADE_EXIT.OK;
}

/** The first root cause as one short line (the CSV's `first_root_cause`). */
export function rootCauseText(s: Pick<StudentGrade, 'firstRootCause' | 'notJudged'>): string {
  if (s.notJudged) return `not judged: ${s.notJudged.reason}`;
  const r = s.firstRootCause;
  if (!r) return '';
  return `${r.side === 'client' ? 'client ' : ''}${r.requirement} ${r.caseId}`;
}

/** The per-student conform reports: `DIR/<student>/report.json`. */
export interface StudentReports {
  readonly student: string;
  readonly server?: unknown;
  readonly client?: unknown;
}
