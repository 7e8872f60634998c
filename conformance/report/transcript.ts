/**
 * The wire transcript of a case as text, one line per event: every chunk received (a recv
 * boundary), every write, every connection event, across all of the case's connections in time
 * order, with the time since the case started, the connection, the direction and the escaped bytes
 * (plus hex when a byte is not printable). The pretty report shows its last lines, JUnit all of it.
 *
 * @module
 */
import { unescapeBytes } from '../../src/codec/index.js';
import type { CaseResult } from '../harness/report.js';

/** Options of {@link transcriptLines}. */
export interface TranscriptTextOptions {
  /** Escaped bytes longer than this are shortened in the middle (`…`); default: never. */
  readonly maxBytesShown?: number;
  /** Identical lines in a row shown before the rest fold into `… N more like this`; default {@link TRANSCRIPT_FOLD_AFTER}. */
  readonly foldAfter?: number;
}

/** Marks of the three directions: bytes in, bytes out, an event. */
const DIRECTION = { in: 'in ', out: 'out', event: '---' } as const;

function byteCount(escaped: string, hex: string | undefined): number {
  if (hex !== undefined) return hex.length / 2;
  try {
    return unescapeBytes(escaped).length;
  } catch {
    return escaped.length;
  }
}

function shorten(text: string, max: number | undefined): string {
  if (max === undefined || text.length <= max) return text;
  const head = Math.ceil(max * 0.7);
  const tail = Math.max(8, max - head);
  return `${text.slice(0, head)}…${text.slice(-tail)}`;
}

/** One line per event of every connection of the case, in time order. */
export function transcriptLines(result: CaseResult, options: TranscriptTextOptions = {}): string[] {
  const rows: { t: number; order: number; what: string; line: string }[] = [];
  const labelWidth = Math.min(
    24,
    result.transcript.reduce((width, c) => Math.max(width, c.label.length), 0),
  );
  let order = 0;
  for (const conn of result.transcript) {
    for (const e of conn.events) {
      const at = `+${e.t.toFixed(1)}ms`.padStart(10);
      const label = conn.label.padEnd(labelWidth);
      let body: string;
      if (e.dir === 'event') body = e.note ?? '';
      else {
        const escaped = e.bytes ?? '';
        const n = byteCount(escaped, e.hex);
        const hex = e.hex === undefined ? '' : `  hex ${shorten(e.hex, options.maxBytesShown)}`;
        // A note on bytes says they were elided from the transcript (the runner's byte budget).
        const note = e.note === undefined ? '' : `  [${e.note}]`;
        body = `"${shorten(escaped, options.maxBytesShown)}" (${n} B)${hex}${note}`;
      }
      const what = `${label}  ${DIRECTION[e.dir]}  ${body}`;
      rows.push({ t: e.t, order: order++, what, line: `${at}  ${what}` });
    }
  }
  rows.sort((a, b) => a.t - b.t || a.order - b.order);
  return foldRepeats(rows, options.foldAfter ?? TRANSCRIPT_FOLD_AFTER);
}

/** How many identical lines in a row are shown before the rest are folded into one note. */
export const TRANSCRIPT_FOLD_AFTER = 1;

/**
 * Folds runs of lines that differ only in their time (one connection, one direction, the same
 * bytes), e.g. a flood of 24 identical chunks: the first `keep` stay, the rest become
 * `… 23 more like this`.
 */
function foldRepeats(rows: readonly { t: number; what: string; line: string }[], keep: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < rows.length; ) {
    let j = i + 1;
    while (j < rows.length && rows[j]!.what === rows[i]!.what) j++;
    const run = j - i;
    for (let k = i; k < i + Math.min(run, keep); k++) out.push(rows[k]!.line);
    if (run > keep) {
      const more = run - keep;
      out.push(`${' '.repeat(12)}… ${more} more like this (until +${rows[j - 1]!.t.toFixed(1)}ms)`);
    }
    i = j;
  }
  return out;
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
