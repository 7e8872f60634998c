/**
 * The class as text: `grades.csv` (RFC 4180 by hand: one quoting rule, no dependency needed) and
 * `grades.md` (a Markdown table plus the submissions that could not be judged).
 *
 * @module
 */
import { type ClassReport, rootCauseText, type StudentGrade } from './class-report.js';

/** The CSV header, a stable contract (docs/grading.md). */
export const CSV_HEADER = [
  'student',
  'verdict',
  'must_passed',
  'must_total',
  'should_passed',
  'should_total',
  'score',
  'max_score',
  'first_root_cause',
  'seconds',
] as const;

/** One CSV field: quoted when it holds a comma, a quote, a line break or leading/trailing space. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One student's CSV row, in {@link CSV_HEADER}'s order. */
export function csvRow(s: StudentGrade): string[] {
  return [
    s.student,
    s.verdict,
    String(s.must.passed),
    String(s.must.total),
    String(s.should.passed),
    String(s.should.total),
    String(s.score),
    String(s.maxScore),
    rootCauseText(s).replace(/\s*\n\s*/g, ' '),
    s.seconds.toFixed(1),
  ];
}

/** `grades.csv`: header and one row per student, CRLF line ends as RFC 4180 says. */
export function renderCsv(report: Pick<ClassReport, 'students'>): string {
  return [CSV_HEADER as readonly string[], ...report.students.map(csvRow)].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

function mdCell(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replace(/\s*\n\s*/g, ' ');
}

/** `grades.md`: the class table, then why each unjudged submission was not judged, then notes. */
export function renderMarkdown(report: ClassReport): string {
  const students = report.students;
  const judged = students.filter((s) => s.verdict !== 'error').length;
  const passed = students.filter((s) => s.verdict === 'pass').length;
  const out = [
    '# Grades',
    '',
    `${students.length} submission${students.length === 1 ? '' : 's'}: ${passed} pass, ${judged - passed} fail, ${students.length - judged} not judged · profiles ${report.options.profiles.join(', ')} · chatkit ${report.chatkitVersion} · ${report.startedAt}`,
    '',
    '| student | verdict | MUST | SHOULD | score | first root cause | seconds |',
    '|---|---|---|---|---|---|---|',
    ...students.map(
      (s) =>
        `| ${mdCell(s.student)} | ${s.verdict} | ${s.must.passed}/${s.must.total} | ${s.should.passed}/${s.should.total} | ${s.score}/${s.maxScore} | ${mdCell(rootCauseText(s))} | ${s.seconds.toFixed(1)} |`,
    ),
  ];
  const errors = students.filter((s) => s.notJudged);
  if (errors.length) {
    out.push('', '## Not judged', '');
    for (const s of errors) out.push(`- **${mdCell(s.student)}** (${s.notJudged!.category}, ${s.notJudged!.code}): ${mdCell(s.notJudged!.reason)}`);
  }
  const noted = students.filter((s) => s.notes.length);
  if (noted.length) {
    out.push('', '## Notes', '');
    for (const s of noted) for (const n of s.notes) out.push(`- **${mdCell(s.student)}**: ${mdCell(n)}`);
  }
  return `${out.join('\n')}\n`;
}
