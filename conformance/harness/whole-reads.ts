/**
 * One message per `recv()` (FRAME-3), judged only on what the judge could see. A message split
 * across reads was written in pieces (nothing else was in flight in a paced session); a message
 * read whole was written whole only if the judge was reading while it arrived ({@link
 * watchReadGaps}). A session in which some message was read whole by a stalled judge proves
 * nothing and is run again, up to {@link WHOLE_READ_SESSIONS} times, so that a busy machine (or
 * other cases run at once) does not hide a server that writes in pieces. If the judge stalled in
 * every session, the case passes: FRAME-3 is a SHOULD judged as far as the judge could see
 * (FRAME-6), and an error on a busy machine would cost a correct program more than a missed
 * warning costs a faulty one.
 *
 * @module
 */
import { escapeBytes } from '../../src/codec/index.js';
import type { CaseContext } from './case-context.js';
import type { Connection } from './connection.js';
import { type ReadGapWatch, watchReadGaps } from './read-gaps.js';
import { READ_GAP_MAX_MS, WHOLE_READ_SESSIONS } from './timing.js';

/** A message that must have arrived in one read. */
export interface WholeReadCheck {
  readonly conn: Connection;
  readonly message: string | Uint8Array;
  /** Look for it from this stream offset on (default 0). */
  readonly from?: number;
  /** Judge only its first occurrence (default: every occurrence). */
  readonly onlyFirst?: boolean;
  readonly requirement: string;
  /** What the message is, for the report ("a join announcement"). */
  readonly what: string;
}

/** Where one occurrence of a message fell among a connection's reads. */
type ReadFit =
  | { readonly whole: false; readonly cut: number }
  /** Read whole; `from`..`to` (performance.now()) runs from the read before it to its own read. */
  | { readonly whole: true; readonly from: number; readonly to: number };

const encoder = new TextEncoder();

function fits(check: WholeReadCheck): ReadFit[] {
  const { conn } = check;
  const needle = typeof check.message === 'string' ? encoder.encode(check.message) : check.message;
  // Each read's end offset in the stream and the time it was read; chunks and `in` events are
  // recorded together, in the same order.
  const reads: { end: number; at: number }[] = [];
  let offset = 0;
  for (const e of conn.events()) {
    if (e.dir !== 'in' || e.bytes === undefined) continue;
    offset += e.bytes.length;
    reads.push({ end: offset, at: conn.openedAt + e.t });
  }
  const stream = Buffer.from(conn.stream());
  const found: ReadFit[] = [];
  for (
    let at = stream.indexOf(needle, check.from ?? 0);
    at !== -1;
    at = check.onlyFirst === true ? -1 : stream.indexOf(needle, at + 1)
  ) {
    const last = at + needle.length;
    const cut = reads.find((r) => r.end > at && r.end < last);
    if (cut !== undefined) {
      found.push({ whole: false, cut: cut.end - at });
      continue;
    }
    const i = reads.findIndex((r) => r.end >= last);
    if (i === -1) continue;
    found.push({ whole: true, from: i === 0 ? conn.openedAt : reads[i - 1]!.at, to: reads[i]!.at });
  }
  return found;
}

/**
 * Fails on the first of `checks` split across reads; otherwise says whether every one was read
 * whole by a judge that kept reading (`seen`) or some was read whole while the judge stood still
 * around it (`stalled`: that one proves nothing). `watch` must have run since before the checks' bytes came.
 */
export function judgeWholeReads(
  t: CaseContext,
  checks: readonly WholeReadCheck[],
  watch: ReadGapWatch,
): 'seen' | 'stalled' {
  let stalled = false;
  for (const check of checks) {
    for (const fit of fits(check)) {
      if (!fit.whole) failSplit(t, check, fit.cut);
      stalled ||= watch.longestGap(fit.from, fit.to) > READ_GAP_MAX_MS;
    }
  }
  return stalled ? 'stalled' : 'seen';
}

/**
 * Runs `session` (a paced session that returns the messages it expects whole) and fails on the first
 * message split across reads. Runs it again while some message was read whole by a judge that had
 * stood still around it, at most {@link WHOLE_READ_SESSIONS} times in all.
 */
export async function expectWholeReads(
  t: CaseContext,
  session: () => Promise<readonly WholeReadCheck[]>,
): Promise<void> {
  for (let run = 0; run < WHOLE_READ_SESSIONS; run++) {
    const watch = watchReadGaps();
    try {
      if (judgeWholeReads(t, await session(), watch) === 'seen') return;
    } finally {
      watch.stop();
    }
  }
}

function failSplit(t: CaseContext, check: WholeReadCheck, cut: number): never {
  const { conn } = check;
  const shown = escapeBytes(typeof check.message === 'string' ? encoder.encode(check.message) : check.message);
  t.fail({
    requirement: check.requirement,
    message: `${conn.label}: ${check.what}: "${shown}" arrived split across two or more recv() calls (a read ended ${cut} bytes into it), although nothing else was in flight: it was written in pieces, or delayed by Nagle's algorithm`,
    expected: [`one recv() holding all of "${shown}" (the message written with one send() call)`],
    actual: conn
      .chunks()
      .slice(-8)
      .map((c) => `"${escapeBytes(c)}"`)
      .join(' | '),
    connection: conn.label,
  });
}
