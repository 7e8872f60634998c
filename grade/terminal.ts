/**
 * The terminal table of `chatkit grade`: a row per student as it finishes (verdict, MUST x/y,
 * SHOULD x/y, first root cause, time), a status line of what is running on a terminal, and the whole
 * table in student order at the end. Colour only on a terminal without NO_COLOR.
 *
 * @module
 */
import { painter, type Style } from '../src/color.js';
import { rootCauseText, type StudentGrade } from './class-report.js';

/** Widest first-root-cause column on a terminal (the files hold it whole). */
export const CAUSE_COLUMN_WIDTH = 70;

const COLOUR: Readonly<Record<StudentGrade['verdict'], Style>> = { pass: 'green', fail: 'red', error: 'yellow' };

/** Renders rows of the table. */
export class GradeTable {
  readonly #color: boolean;
  readonly #nameWidth: number;

  constructor(students: readonly string[], color: boolean) {
    this.#color = color;
    this.#nameWidth = Math.min(24, Math.max(7, ...students.map((s) => s.length)));
  }

  /** The header line. */
  header(): string {
    return `${'student'.padEnd(this.#nameWidth)}  ${'verdict'.padEnd(7)}  ${'MUST'.padStart(7)}  ${'SHOULD'.padStart(7)}  ${'time'.padStart(7)}  first root cause`;
  }

  /** One student's row. */
  row(g: StudentGrade): string {
    const verdict = g.verdict.padEnd(7);
    const painted = painter(this.#color)(COLOUR[g.verdict], verdict);
    const cause = rootCauseText(g);
    const short = cause.length > CAUSE_COLUMN_WIDTH ? `${cause.slice(0, CAUSE_COLUMN_WIDTH - 1)}…` : cause;
    const frac = (c: { passed: number; total: number }) => `${c.passed}/${c.total}`.padStart(7);
    return `${g.student.slice(0, this.#nameWidth).padEnd(this.#nameWidth)}  ${painted}  ${g.verdict === 'error' ? '-'.padStart(7) : frac(g.must)}  ${g.verdict === 'error' ? '-'.padStart(7) : frac(g.should)}  ${`${g.seconds.toFixed(1)}s`.padStart(7)}  ${short}`;
  }

  /** The closing line: counts and where the files are. */
  summary(grades: readonly StudentGrade[], seconds: number, out: string): string {
    const n = (v: StudentGrade['verdict']) => grades.filter((g) => g.verdict === v).length;
    return `${grades.length} submission${grades.length === 1 ? '' : 's'}: ${n('pass')} pass, ${n('fail')} fail, ${n('error')} not judged · ${seconds.toFixed(1)} s · ${out}/grades.csv, grades.md, report.html`;
  }
}
