/**
 * The wire transcript of a case as the reports show it (rendered by harness/transcript.ts): the
 * pretty report shows its last lines, JUnit all of it; and which cases keep theirs in the report.
 *
 * @module
 */
import type { CaseResult } from '../harness/report.js';
import { renderTranscript, type TranscriptTextOptions } from '../harness/transcript.js';

export { TRANSCRIPT_FOLD_AFTER, type TranscriptTextOptions } from '../harness/transcript.js';

/** One line per event of every connection of the case, in time order (harness/transcript.ts). */
export function transcriptLines(result: CaseResult, options: TranscriptTextOptions = {}): string[] {
  return renderTranscript(result.transcript, options);
}

/** The transcript's last `count` lines, preceded by a note on how many were left out. */
export function transcriptTail(result: CaseResult, count: number, options: TranscriptTextOptions = {}) {
  const lines = transcriptLines(result, options);
  if (lines.length <= count) return lines;
  return [`… ${lines.length - count} earlier lines (the JSON report has them all)`, ...lines.slice(-count)];
}

/** Which cases keep their transcript in the report (`--transcripts`). */
export type TranscriptsKept = 'failing' | 'all';

/** Verdicts whose transcript is evidence a reader needs; a pass's transcript only proves what the verdict says. */
const EVIDENCE: ReadonlySet<CaseResult['verdict']> = new Set(['fail', 'warn', 'flaky', 'error']);

/**
 * The results with the transcripts `kept` asks for: `all` keeps every one; `failing` (the default)
 * empties those of cases that passed, were skipped or blocked (a blocked case's evidence is the
 * transcript of the case that blocked it), so a passing run's JSON stays small.
 */
export function keepTranscripts<T extends { readonly cases: readonly CaseResult[] }>(
  report: T,
  kept: TranscriptsKept,
): T {
  if (kept === 'all') return report;
  return {
    ...report,
    cases: report.cases.map((c) => (EVIDENCE.has(c.verdict) || c.transcript.length === 0 ? c : { ...c, transcript: [] })),
  };
}
