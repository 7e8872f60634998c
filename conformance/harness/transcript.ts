/**
 * The one wire transcript: every chunk received (a recv boundary), every write and every connection
 * event of a connection, first as data ({@link transcriptOf}, the JSON report's form), then as text
 * ({@link renderTranscript}), one line per event across all of a case's connections in time order,
 * with the time, the connection, the direction and the escaped bytes (plus hex when a byte is not
 * printable). The reports (pretty, JUnit, HTML) and a connection's own debugging transcript
 * (Connection.transcript) all render through it.
 *
 * @module
 */
import { escapeBytes, unescapeBytes } from '../../src/codec/index.js';
import type { ConnectionTranscript, TranscriptEventJson } from './report.js';

/** One transcript entry as recorded. `t` is ms since the connection opened (performance.now()). */
export interface TranscriptEvent {
  t: number;
  /** `in`: one received chunk; `out`: one write; `event`: connect, EOF, reset, local close... */
  dir: 'in' | 'out' | 'event';
  bytes?: Uint8Array;
  note?: string;
}

const HEX_NEEDED = /[^\x20-\x7e]/;

/**
 * Bytes of one connection's transcript shown in full. Past it, each chunk or write shows only its
 * first {@link TRANSCRIPT_ELIDED_SHOW_BYTES} bytes and its length: a case that floods megabytes
 * (a slow reader, ROBUST-SLOW-1) would otherwise spend seconds escaping them into a report of
 * many MB. The failure itself still shows the stream's tail.
 */
export const TRANSCRIPT_FULL_BYTES = 256 * 1024;
/** What one chunk or write shows once its connection's {@link TRANSCRIPT_FULL_BYTES} are spent. */
export const TRANSCRIPT_ELIDED_SHOW_BYTES = 64;

/** A recorded connection's transcript as data, its times moved to the case's clock by `openedAtMs`. */
export function transcriptOf(
  conn: { readonly label: string; events(): readonly TranscriptEvent[] },
  openedAtMs: number,
): ConnectionTranscript {
  let budget = TRANSCRIPT_FULL_BYTES;
  return {
    label: conn.label,
    events: conn.events().map((e) => {
      let shown = e.bytes;
      let note = e.note;
      if (e.bytes !== undefined) {
        if (e.bytes.length > budget) {
          shown = e.bytes.subarray(0, Math.max(budget, TRANSCRIPT_ELIDED_SHOW_BYTES));
          const elided = `${e.bytes.length} bytes, the first ${shown.length} shown (transcript budget of ${TRANSCRIPT_FULL_BYTES} bytes spent)`;
          note = note === undefined ? elided : `${note}; ${elided}`;
        }
        budget = Math.max(0, budget - e.bytes.length);
      }
      const bytes = shown === undefined ? undefined : escapeBytes(shown);
      const text = shown === undefined ? '' : Buffer.from(shown).toString('latin1');
      return {
        t: Math.round((openedAtMs + e.t) * 10) / 10,
        dir: e.dir,
        ...(bytes === undefined ? {} : { bytes }),
        ...(shown !== undefined && HEX_NEEDED.test(text) ? { hex: Buffer.from(shown).toString('hex') } : {}),
        ...(note === undefined ? {} : { note }),
      };
    }),
  };
}

/** Options of {@link renderTranscript}. */
export interface TranscriptTextOptions {
  /** Escaped bytes longer than this are shortened in the middle (`…`); default: never. */
  readonly maxBytesShown?: number;
  /** Identical lines in a row shown before the rest fold into `… N more like this`; default {@link TRANSCRIPT_FOLD_AFTER}. */
  readonly foldAfter?: number;
  /**
   * `bare`: one connection's lines as `+12.3ms in  "alice joined!"`, without the label column, the
   * padding, the byte counts and the hex (a connection's own transcript, in a test's failure).
   */
  readonly style?: 'report' | 'bare';
}

/** How many identical lines in a row are shown before the rest are folded into one note. */
export const TRANSCRIPT_FOLD_AFTER = 1;

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

/** The text of one event: the note, or the bytes (with their count and hex in the report style). */
function eventBody(e: TranscriptEventJson, options: TranscriptTextOptions): string {
  if (e.dir === 'event') return e.note ?? '';
  const escaped = e.bytes ?? '';
  // A note on bytes says they were elided from the transcript (the runner's byte budget).
  const note = e.note === undefined ? '' : `  [${e.note}]`;
  if (options.style === 'bare') return `"${escaped}"${note}`;
  const n = byteCount(escaped, e.hex);
  const hex = e.hex === undefined ? '' : `  hex ${shorten(e.hex, options.maxBytesShown)}`;
  return `"${shorten(escaped, options.maxBytesShown)}" (${n} B)${hex}${note}`;
}

/** One line per event of every connection, in time order. */
export function renderTranscript(
  connections: readonly ConnectionTranscript[],
  options: TranscriptTextOptions = {},
): string[] {
  const bare = options.style === 'bare';
  const rows: { t: number; order: number; what: string; line: string }[] = [];
  const labelWidth = Math.min(
    24,
    connections.reduce((width, c) => Math.max(width, c.label.length), 0),
  );
  let order = 0;
  for (const conn of connections) {
    for (const e of conn.events) {
      const body = eventBody(e, options);
      if (bare) {
        rows.push({ t: e.t, order: order++, what: '', line: `+${e.t.toFixed(1)}ms ${DIRECTION[e.dir]} ${body}` });
        continue;
      }
      const at = `+${e.t.toFixed(1)}ms`.padStart(10);
      const what = `${conn.label.padEnd(labelWidth)}  ${DIRECTION[e.dir]}  ${body}`;
      rows.push({ t: e.t, order: order++, what, line: `${at}  ${what}` });
    }
  }
  rows.sort((a, b) => a.t - b.t || a.order - b.order);
  if (bare) return rows.map((r) => r.line);
  return foldRepeats(rows, options.foldAfter ?? TRANSCRIPT_FOLD_AFTER);
}

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
