/**
 * Checks the tilde cases share: relays judged as a sequence whose contents join to what was sent
 * (spec/PROTOCOL.md §3.7 item 1), a busy-loop probe for spawned targets (§6.1), and the flood that
 * fills a member's buffers to make it a slow reader (§6.3). Everything here is bounded and judges
 * reassembled streams; chunk boundaries are only evidence.
 *
 * @module
 */
import { escapeBytes } from '../../src/codec/index.js';
import { firstInvalidUtf8 } from '../../src/codec/text.js';
import { TILDE_CONTENT_MAX_BYTES } from '../../src/limits.js';
import { threadRunQueueWaitMs } from '../../src/processes/index.js';
import type { Connection } from '../harness/connection.js';
import { FloodWatch, paceFlood } from '../harness/flood.js';
import { matchRelays } from '../harness/relays.js';
import type { Member, ServerCaseContext } from '../harness/context.js';
import { busyWhileIdle, groupThreadsBlockedInSend } from '../harness/cpu-watch.js';
import { BUSY_WINDOW_CPU_MS, BUSY_WINDOW_MS } from '../harness/timing.js';

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export const utf8 = (text: string): Uint8Array => encoder.encode(text);

/** Escaped bytes for failure reports. */
export const show = (bytes: Uint8Array | string): string =>
  escapeBytes(typeof bytes === 'string' ? utf8(bytes) : bytes);

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from);
}

/** Options of {@link expectRelayedContent}. */
export interface RelayedContentOptions {
  /** The requirement a missing or altered relay breaks. */
  readonly requirement: string;
  /** The requirement a piece cut inside a character (or not UTF-8) breaks. */
  readonly pieceRequirement?: string;
  /** What the check means, for the report. */
  readonly what: string;
  /** Look from this stream offset on. */
  readonly after: number;
  /** Longest content of one relay; checked when given (TILDE-RELAY-3). */
  readonly maxPieceBytes?: number;
  /** Bound; default the case's step. */
  readonly timeoutMs?: number;
}

/**
 * Waits until `conn` has relays from `user` whose contents join to `content`, then checks every
 * piece: 1 to `maxPieceBytes` bytes, and well-formed UTF-8 on its own (never a character split
 * between two relays, TILDE-RELAY-2). Any number of relays is accepted (§3.7 item 1).
 * Resolves with the stream offset past the last piece.
 */
export async function expectRelayedContent(
  t: ServerCaseContext,
  conn: Connection,
  user: string,
  content: Uint8Array,
  options: RelayedContentOptions,
): Promise<number> {
  const expected = [
    `relays "${show(`${user}~`)}<piece>" whose pieces join to the ${content.length} bytes sent ("${show(content.subarray(0, 80))}${content.length > 80 ? '…' : ''}"), each piece whole characters${options.maxPieceBytes ? ` of at most ${options.maxPieceBytes} bytes` : ''}`,
  ];
  const done = (stream: Uint8Array) =>
    matchRelays(stream, options.after, user, content).matched >= content.length;
  try {
    await conn.waitFor(done, { timeoutMs: options.timeoutMs ?? t.timing.stepMs, what: options.what });
  } catch {
    const got = matchRelays(conn.stream(), options.after, user, content);
    t.fail({
      requirement: options.requirement,
      message: `${conn.label}: ${options.what}: ${conn.closed ? 'the connection closed' : `only ${got.matched} of ${content.length} bytes were relayed within ${options.timeoutMs ?? t.timing.stepMs} ms`}`,
      expected,
      actual: t.tail(conn, options.after),
      connection: conn.label,
    });
  }
  const { pieces, end } = matchRelays(conn.stream(), options.after, user, content);
  for (const [i, piece] of pieces.entries()) {
    if (options.maxPieceBytes !== undefined && piece.length > options.maxPieceBytes) {
      t.fail({
        requirement: 'TILDE-RELAY-3',
        message: `${conn.label}: relay ${i + 1} of ${pieces.length} carries ${piece.length} bytes of content, more than ${options.maxPieceBytes}: a legacy client's recv(2048) cannot take "${user}~" and it whole`,
        expected,
        actual: `pieces of ${pieces.map((p) => p.length).join(', ')} bytes`,
        connection: conn.label,
      });
    }
    if (firstInvalidUtf8(piece) !== -1) {
      t.fail({
        requirement: options.pieceRequirement ?? 'TILDE-RELAY-2',
        message: `${conn.label}: relay ${i + 1} of ${pieces.length} is not whole UTF-8 characters: a character was split between two relays (or relayed before it was complete)`,
        expected,
        actual: `relay ${i + 1}: "${show(`${user}~`)}${show(piece.subarray(Math.max(0, piece.length - 40)))}" (its last bytes); pieces of ${pieces.map((p) => p.length).join(', ')} bytes`,
        connection: conn.label,
      });
    }
  }
  return end;
}

/**
 * With a spawned target (its pid known), fails if the target burns CPU while nothing happens, as a
 * server that loops on a closed connection does (ROBUST-EOF-1: "never loops on it"). With
 * `--target` there is nothing to probe, and the case relies on what the connections show.
 */
export async function expectNoBusyLoop(
  t: ServerCaseContext,
  requirement: string,
  why: string,
): Promise<void> {
  const pid = t.targetPid;
  if (pid === undefined) return;
  const busy = await busyWhileIdle(pid);
  if (busy === undefined) return;
  t.fail({
    requirement,
    message: `after ${why}, the server process burnt ${Math.round(busy.usedMs)} ms of CPU in ${Math.round(busy.elapsedMs)} ms with nothing to do: it is looping on a closed connection`,
    expected: [`less than ${BUSY_WINDOW_CPU_MS} ms of CPU in ${BUSY_WINDOW_MS} ms while idle`],
    actual: `${Math.round(busy.usedMs)} ms of CPU (pid ${pid})`,
  });
}

/**
 * Waits until `conn` holds one of `alternatives` after `after`; resolves with the index of the
 * first one found and the offset past it, or `undefined` at the deadline (no failure: the caller
 * decides what a timeout means).
 */
export async function waitForAny(
  conn: Connection,
  alternatives: readonly (string | Uint8Array)[],
  options: { after: number; timeoutMs: number; what: string },
): Promise<{ index: number; end: number } | undefined> {
  const needles = alternatives.map((a) => (typeof a === 'string' ? utf8(a) : a));
  let found: { index: number; end: number } | undefined;
  const check = (stream: Uint8Array) => {
    for (const [index, needle] of needles.entries()) {
      const at = indexOf(stream, needle, options.after);
      if (at !== -1) {
        found = { index, end: at + needle.length };
        return true;
      }
    }
    return false;
  };
  try {
    await conn.waitFor(check, { timeoutMs: options.timeoutMs, what: options.what });
  } catch {
    check(conn.stream());
  }
  return found;
}

/** Number of occurrences of `needle` in `stream` from `after` on. */
export function occurrences(stream: Uint8Array, needle: string, after = 0): number {
  const bytes = utf8(needle);
  let n = 0;
  for (let at = indexOf(stream, bytes, after); at !== -1; at = indexOf(stream, bytes, at + bytes.length)) n++;
  return n;
}

/**
 * Connects and sends a username without waiting for anything: for cases where the newcomer's own
 * announcement may legitimately be late, and the case paces on what an existing member sees.
 */
export async function sendUsername(t: ServerCaseContext, user: string, label = user): Promise<Connection> {
  const conn = await t.connect(label);
  conn.send(t.wire(user));
  return conn;
}

// ---------------------------------------------------------------------------------------------
// The flood that turns a member that stops reading into a slow reader (§6.3).

/**
 * The byte the flood is made of; it occurs in no nickname (harness/names.ts leaves `:` out of its
 * punctuation), token or tilde announcement, so counting it counts the flood.
 */
export const FLOOD_BYTE = 0x3a; // ':'
/** One flood write: content well under the 2015-byte limit, so each write can be relayed whole. */
export const FLOOD_WRITE_BYTES = 2_000;
/** Writes per batch; the next batch waits until the watchers have every byte so far (paced). */
export const FLOOD_BATCH_WRITES = 32;
/**
 * Most bytes flooded: several times what loopback kernel buffers hold toward a reader that stopped
 * (its receive buffer plus the server's send buffer, a few MB), so a server that blocks on it stalls
 * well before, and one that buffers without bound is given up on.
 */
export const FLOOD_MAX_BYTES = 32 * 1024 * 1024;
/**
 * Longest flood: a server too slow to take {@link FLOOD_MAX_BYTES} in this time but never stalled
 * is given up on (a pass), rather than failed for the case's budget.
 */
export const FLOOD_MAX_MS = 25_000;
/**
 * A flood that ran out of time while the judge's threads waited for a CPU this share of that time or
 * more was slowed by the machine, not by the server: its case is not judged. An idle machine makes
 * the judge wait almost never; a server that throttles its input slows the flood without it.
 */
export const FLOOD_STARVED_SHARE = 0.25;

/**
 * With a probe of the target's threads, how long no flood byte arrives, while a thread is asleep
 * in a send, before the flood counts as stalled: long enough that a watcher reading late under load
 * rarely passes for a blocked member, short enough that the kernel rarely lets more through toward
 * a member that stopped reading meanwhile (it does, now and then, when it compacts that member's
 * receive queue).
 */
export const PROBED_STALL_MS = 300;

/** How a flood ended. */
export type FloodEnd =
  | { readonly kind: 'stopped'; readonly bytes: number }
  | { readonly kind: 'bound'; readonly bytes: number }
  /**
   * {@link FLOOD_MAX_MS} passed before {@link FLOOD_MAX_BYTES} were sent while the judge itself waited
   * for a CPU ({@link FLOOD_STARVED_SHARE} of that time or more): the flood may have been too small to
   * fill what the kernel holds toward a member that stopped reading, so it shows nothing.
   */
  | { readonly kind: 'timed-out'; readonly bytes: number; readonly waitedMs: number }
  | { readonly kind: 'stalled'; readonly bytes: number; readonly delivered: readonly number[] }
  | { readonly kind: 'closed'; readonly bytes: number; readonly label: string };

/**
 * `flooder` writes batches of content made of {@link FLOOD_BYTE} until `stopWhen` (an announcement,
 * seen by any watcher) arrives, {@link FLOOD_MAX_BYTES} are sent or {@link FLOOD_MAX_MS} passed,
 * a watcher's connection ends, or delivery stalls: some watcher got no new flood byte for `stallMs`
 * although bytes were missing, or `probe` (a spawned target's threads blocked in a send) is above 0.
 * Every batch waits until each watcher has every byte so far, so the flood never outruns a working
 * server.
 */
export async function flood(
  flooder: Member,
  watchers: readonly Member[],
  options: { stopWhen: string; stallMs: number; probe?: (() => number) | undefined },
): Promise<FloodEnd> {
  const needle = utf8(options.stopWhen);
  if (needle.includes(FLOOD_BYTE)) throw new Error(`the flood's stop text holds the flood byte: ${options.stopWhen}`);
  // Megabytes of flood relayed to each watcher are counted, not recorded: the recording caps
  // (harness/connection.ts) are for a target that floods the judge, not for the case's own flood.
  for (const w of watchers) w.conn.elide(FLOOD_BYTE);
  try {
    const write = new Uint8Array(FLOOD_WRITE_BYTES).fill(FLOOD_BYTE);
    const watches = watchers.map((w) => new FloodWatch(w.conn, { needle, byte: FLOOD_BYTE }));
    const waitedBefore = threadRunQueueWaitMs(process.pid) ?? 0;
    const end = await paceFlood(flooder.conn, watches, {
      write: () => write,
      counted: (message) => message.length,
      batchWrites: FLOOD_BATCH_WRITES,
      budgetBytes: FLOOD_MAX_BYTES,
      maxMs: FLOOD_MAX_MS,
      until: () => watches.some((w) => w.found),
      stall: 'progress',
      stallMs: options.stallMs,
      probe: options.probe,
      probeAfterMs: PROBED_STALL_MS,
      stopOnClose: true,
    });
    switch (end.kind) {
      case 'until':
        return { kind: 'stopped', bytes: end.written };
      case 'budget':
        return { kind: 'bound', bytes: end.written };
      case 'time': {
        // Out of time: either the server took the flood slowly (throttling its input is fine, and
        // ends the flood as before) or this process was starved of CPU and sent too little.
        const waited = (threadRunQueueWaitMs(process.pid) ?? 0) - waitedBefore;
        return waited >= FLOOD_MAX_MS * FLOOD_STARVED_SHARE
          ? { kind: 'timed-out', bytes: end.written, waitedMs: waited }
          : { kind: 'bound', bytes: end.written };
      }
      case 'stalled':
        return { kind: 'stalled', bytes: end.written, delivered: end.counts };
      default:
        return { kind: 'closed', bytes: end.written, label: end.watch.conn.label };
    }
  } finally {
    for (const w of watchers) w.conn.elide(undefined);
  }
}

/**
 * Ends `t` as not judged when a flood ran out of time before its budget. A server that blocks on a
 * member that stopped reading blocks only once the kernel's buffers toward that member are full (a
 * few MB); a judge slowed down by an overloaded machine may not have sent that much, and a server
 * that would block then looks like one that does not. Before, such a flood counted as passed.
 */
export function judgedFlood(t: ServerCaseContext, end: FloodEnd, toward: string): void {
  if (end.kind !== 'timed-out') return;
  t.notJudged(
    `the judge could send only ${end.bytes} of the ${FLOOD_MAX_BYTES} bytes of its flood toward ${toward} within ${FLOOD_MAX_MS} ms, while it waited ${Math.round(end.waitedMs)} ms for a CPU: too few to show whether the server blocks on a member that stopped reading. The machine is probably overloaded: run this case again on a quieter machine (--only ${t.caseId ?? 'this case'})`,
  );
}

/**
 * A probe of a spawned target (its pid known) for threads blocked in send, or undefined with
 * `--target`: then the checks that use it fall back to bounded waits on what arrives.
 */
export function blockedSendProbe(t: ServerCaseContext): (() => number) | undefined {
  const pid = t.targetPid;
  return pid === undefined ? undefined : () => groupThreadsBlockedInSend(pid);
}

/** Checks that `conn`'s stream from `after` to `before` is well-formed UTF-8 (TILDE-RELAY-2, ENC-TILDE-1). */
export function expectValidUtf8(
  t: ServerCaseContext,
  conn: Connection,
  range: { after: number; before?: number },
  details: { requirement: string; what: string },
): void {
  const region = conn.stream().subarray(range.after, range.before);
  const bad = firstInvalidUtf8(region);
  if (bad === -1) return;
  t.fail({
    requirement: details.requirement,
    message: `${conn.label}: ${details.what}: invalid UTF-8 at byte ${bad} of what it received`,
    expected: ['well-formed UTF-8 only: the invalid bytes are never relayed'],
    actual: `…${show(region.subarray(Math.max(0, bad - 40), bad + 20))}…`,
    connection: conn.label,
  });
}

/** The longest tilde content (TILDE_CONTENT_MAX_BYTES), for the cases that send it. */
export const CONTENT_MAX_BYTES = TILDE_CONTENT_MAX_BYTES;
