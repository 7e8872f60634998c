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
  const rows: { t: number; order: number; line: string }[] = [];
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
      rows.push({ t: e.t, order: order++, line: `${at}  ${label}  ${DIRECTION[e.dir]}  ${body}` });
    }
  }
  rows.sort((a, b) => a.t - b.t || a.order - b.order);
  return rows.map((r) => r.line);
}

/** The transcript's last `count` lines, preceded by a note on how many were left out. */
export function transcriptTail(result: CaseResult, count: number, options: TranscriptTextOptions = {}) {
  const lines = transcriptLines(result, options);
  if (lines.length <= count) return lines;
  return [`… ${lines.length - count} earlier lines (the JSON report has them all)`, ...lines.slice(-count)];
}
