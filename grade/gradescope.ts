/**
 * Gradescope's autograder `results.json` for one student: the score, the maximum, and one test
 * per case judged, with the points of the rubric and, for a case that did not pass, what to fix.
 * Format: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (score, max_score, tests[]
 * with name, score, max_score, output, visibility).
 *
 * @module
 */
import type { CaseResult, RunReport } from '../conformance/harness/report.js';
import type { StudentGrade } from './class-report.js';
import { caseScore, type Rubric } from './rubric.js';

/** One Gradescope test. */
export interface GradescopeTest {
  readonly name: string;
  readonly score: number;
  readonly max_score: number;
  readonly output: string;
  readonly visibility: 'visible' | 'hidden' | 'after_due_date' | 'after_published';
  readonly status?: 'passed' | 'failed';
}

/** A `results.json`. */
export interface GradescopeResults {
  readonly score: number;
  readonly max_score: number;
  readonly output: string;
  readonly execution_time: number;
  readonly visibility: 'visible';
  readonly tests: readonly GradescopeTest[];
}

function caseOutput(c: CaseResult): string {
  if (c.verdict === 'pass') return 'passed';
  if (c.verdict === 'blocked' && c.blockedBy) return `blocked by ${c.blockedBy.id} (${c.blockedBy.requirement}): fix that one first`;
  if (c.verdict === 'skip') return `skipped: ${c.skipReason ?? ''}`;
  const f = c.failure;
  if (!f) return `${c.verdict}: ${c.error ?? 'the case could not be judged'}`;
  return [
    `${c.verdict.toUpperCase()} ${f.requirement}: ${f.requirementText}`,
    f.message,
    `expected: ${f.expected.join('  OR  ')}`,
    `actual:   ${f.actual}`,
    ...(f.hint ? [`hint: ${f.hint}`] : []),
    `rerun: ${c.rerun}`,
  ].join('\n');
}

/** The results of one student. */
export function gradescopeResults(
  grade: StudentGrade,
  reports: { server?: RunReport | undefined; client?: RunReport | undefined },
  rubric: Rubric,
  maxScoreIfUnjudged: number,
): GradescopeResults {
  const tests: GradescopeTest[] = [];
  for (const [side, report] of [['server', reports.server], ['client', reports.client]] as const) {
    for (const c of report?.cases ?? []) {
      if (c.verdict === 'skip') continue;
      const { score, max } = caseScore(rubric, c);
      tests.push({
        name: `${side}: ${c.id} — ${c.title} (${c.requirements.map((r) => r.id).join(', ')})`,
        score,
        max_score: max,
        output: caseOutput(c),
        visibility: 'visible',
        status: score === max ? 'passed' : 'failed',
      });
    }
  }
  const output = grade.notJudged
    ? `Not judged: ${grade.notJudged.reason}`
    : [`${grade.verdict.toUpperCase()}: MUST ${grade.must.passed}/${grade.must.total}, SHOULD ${grade.should.passed}/${grade.should.total}`, ...grade.notes].join('\n');
  return {
    score: grade.score,
    max_score: grade.notJudged ? maxScoreIfUnjudged : grade.maxScore,
    output,
    execution_time: Math.round(grade.seconds),
    visibility: 'visible',
    tests,
  };
}
