/**
 * Steps shared by the NICK server cases: a handshake driven by hand (for cases that must watch a
 * connection that is not, or not yet, a member), refusal checks that accept every behaviour the spec
 * allows, sentinels that prove an absence (§3.7 item 5), chunk-boundary evidence for FRAME-2 (at
 * SHOULD level only, FRAME-6), and a paced flood that judges slow-reader handling without reading
 * megabytes over and over.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { escapeBytes } from '../../src/codec/index.js';
import { CaseFailure } from '../harness/case.js';
import { type Connection, ConnectionError } from '../harness/connection.js';
import type { Member, ServerCaseContext } from '../harness/context.js';
import { STEP_TIMEOUT_MS } from '../harness/timing.js';
import { NICK_PLACEHOLDER } from '../variant/texts.js';
import { type FloodWatch, paceFlood } from '../harness/flood.js';

/**
 * Budget of a NICK server case: each of its steps is bounded on its own (the context's step bound),
 * so a target that stops answering fails at that step; the budget only has to outlast a case of
 * many steps on a loaded machine.
 */
export const NICK_CASE_TIMEOUT_MS = 30_000;

/** What every NICK server case shares. */
export const NICK_SERVER = { kind: 'server', dialect: 'nick', timeoutMs: NICK_CASE_TIMEOUT_MS } as const;

/** The newcomer's own confirmation (NICK-JOIN-2), the spec's text; cases use `t.welcome` (a variant's, else this). */
export const CONNECTED = 'Connected to server!';
/** How a refusal starts (NICK-NICK-3, §4.2). */
export const REFUSED_PREFIX = 'Refused: ';
/**
 * A join or leave announcement with the empty nickname: what a server that admits a silent connection
 * sends (the spec's texts; cases use {@link namelessAnnouncements}, which follows a variant).
 */
export const NAMELESS_ANNOUNCEMENTS = [' joined!', ' left!'] as const;

/** The join and leave announcements of the empty nickname, in the texts the run expects. */
export function namelessAnnouncements(t: ServerCaseContext): string[] {
  return [t.announcement('joined', ''), t.announcement('left', '')];
}

/** The `kind` announcement of `name` (raw bytes), in the texts the run expects. */
export function announcementOf(t: ServerCaseContext, kind: 'joined' | 'left', name: Uint8Array): Uint8Array {
  const [before = '', after = ''] = t.texts[kind].split(NICK_PLACEHOLDER);
  return concat(before, name, after);
}

const encoder = new TextEncoder();
/** UTF-8 bytes of a string. */
export const bytes = (s: string | Uint8Array): Uint8Array => (typeof s === 'string' ? encoder.encode(s) : s);
/** Concatenated bytes. */
export const concat = (...parts: readonly (string | Uint8Array)[]): Uint8Array =>
  new Uint8Array(Buffer.concat(parts.map(bytes)));
/** Escaped form, for reports. */
export const show = (s: string | Uint8Array): string => escapeBytes(bytes(s));

/** Offset of `needle` in `haystack` at or after `from`, or -1. */
export function find(haystack: Uint8Array, needle: string | Uint8Array, from = 0): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(bytes(needle), from);
}

/** How often `needle` occurs in `haystack` from `from` on (non-overlapping). */
export function countOf(haystack: Uint8Array, needle: string | Uint8Array, from = 0): number {
  const n = bytes(needle);
  let count = 0;
  for (let at = find(haystack, n, from); at !== -1; at = find(haystack, n, at + n.length)) count++;
  return count;
}

/** Offset of the first byte >= 0x80 at or after `from`, or -1 (ENC-NICK-1). */
export function firstHighByte(stream: Uint8Array, from = 0): number {
  for (let i = from; i < stream.length; i++) if (stream[i]! >= 0x80) return i;
  return -1;
}

/** Fails unless `conn`'s stream from `from` on is 7-bit ASCII (ENC-NICK-1, NICK-RELAY-2). */
export function expectAscii(
  t: ServerCaseContext,
  conn: Connection,
  requirement: string,
  what: string,
  from = 0,
): void {
  const at = firstHighByte(conn.stream(), from);
  if (at === -1) return;
  t.fail({
    requirement,
    message: `${conn.label}: ${what}: the server sent a byte >= 0x80 (at stream offset ${at})`,
    expected: ['only bytes 0x00-0x7F (7-bit ASCII)'],
    actual: t.tail(conn, Math.max(from, at - 80)),
    connection: conn.label,
  });
}

/** Resolves when `work` settles, ignoring its outcome: for waits whose timeout is itself an answer. */
export async function settle(work: Promise<unknown>): Promise<void> {
  await work.catch(() => undefined);
}

/**
 * Connects and waits for the prompt (NICK-PROMPT-1). Resolves with the connection and the stream
 * offset just past the prompt.
 */
export async function prompted(
  t: ServerCaseContext,
  label: string,
): Promise<{ conn: Connection; at: number }> {
  const conn = await t.connect(label);
  const at = await t.expectReceives(conn, [t.wire(t.prompt)], {
    requirement: 'NICK-PROMPT-1',
    what: `the prompt "${t.prompt}" on accept`,
  });
  return { conn, at };
}

/** What became of a connection after it sent its nickname. */
export type HandshakeOutcome = 'admitted' | 'closed' | 'pending';

/**
 * After a nickname was sent on `conn`: waits until the server admits it (`Connected to server!`
 * arrives after `after`) or closes it, bounded by `timeoutMs` (default: the step bound).
 */
export async function handshakeOutcome(
  t: ServerCaseContext,
  conn: Connection,
  after: number,
  timeoutMs = t.timing.stepMs,
): Promise<HandshakeOutcome> {
  // A case that does not judge the welcome's text recognises an admission by position (no masking):
  // anything but a refusal, with the connection left open.
  const byPosition = !t.judges('NICK-JOIN-2');
  try {
    await conn.waitFor((s) => find(s, t.welcome, after) !== -1 || (byPosition && s.length > after), {
      timeoutMs,
      what: `"${t.welcome}" or a close`,
    });
  } catch (error) {
    if (!(error instanceof ConnectionError)) throw error;
    return conn.closed ? 'closed' : 'pending';
  }
  if (find(conn.stream(), t.welcome, after) !== -1) return 'admitted';
  await conn.quiet(t.timing.quietMs);
  if (find(conn.stream(), t.welcome, after) !== -1) return 'admitted';
  if (conn.closed) return 'closed';
  if (find(conn.stream(), REFUSED_PREFIX, after) !== -1) {
    await settle(conn.waitForClose({ timeoutMs, what: 'a close after the refusal' }));
    return conn.closed ? 'closed' : 'pending';
  }
  t.deviations.push(`the welcome after a nickname: "${t.tail(conn, after)}" instead of "${t.welcome}"`);
  return 'admitted';
}

/**
 * Connects, waits for the prompt, answers with `nickname` (raw bytes, one write) and waits until
 * the server admits or closes the connection.
 */
export async function tryNickname(
  t: ServerCaseContext,
  label: string,
  nickname: string | Uint8Array,
): Promise<{ conn: Connection; at: number; outcome: HandshakeOutcome }> {
  const { conn, at } = await prompted(t, label);
  conn.send(nickname);
  return { conn, at, outcome: await handshakeOutcome(t, conn, at) };
}

/**
 * The member writes a sentinel message and every given member receives it. Once they have it, any
 * message the server read from the same sender earlier has been relayed already, and any message it
 * meant to send before has arrived (NICK-RELAY-1 keeps each sender's order), so an absence before
 * the returned offsets is proven (§3.7 item 5). Resolves with each member's offset past the sentinel.
 */
export async function sentinel(
  t: ServerCaseContext,
  from: Member,
  observers: readonly Member[],
  requirement: string,
): Promise<Map<Member, number>> {
  const starts = new Map(observers.map((m) => [m, m.conn.stream().length]));
  const relay = t.say(from, t.token('sentinel'));
  const ends = new Map<Member, number>();
  for (const m of observers) {
    ends.set(
      m,
      await t.expectReceives(m.conn, [relay], {
        requirement,
        what: `${m === from ? 'the sender' : 'a member'} receives the sentinel "${relay}"`,
        after: starts.get(m) ?? 0,
      }),
    );
  }
  return ends;
}

/**
 * Judges a connection whose nickname the server SHOULD refuse (NICK-NICK-3, NICK-NICK-4): it is
 * closed, with nothing after the prompt or one `Refused: <reason>` (both allowed). Whether the
 * members heard of it is judged by {@link expectNotAnnounced}.
 */
export function expectRefused(
  t: ServerCaseContext,
  attempt: { conn: Connection; at: number; outcome: HandshakeOutcome },
  options: { requirement: string; nickname: string | Uint8Array },
): void {
  const { conn, at, outcome } = attempt;
  const alternatives = [
    `${REFUSED_PREFIX}<reason> (one message), then the connection is closed`,
    'the connection is closed without a message',
  ];
  if (outcome !== 'closed') {
    t.fail({
      requirement: options.requirement,
      message: `${conn.label}: the nickname "${show(options.nickname)}" was ${outcome === 'admitted' ? 'admitted' : 'neither admitted nor refused'}`,
      expected: alternatives,
      actual: `${outcome === 'admitted' ? 'admitted: ' : 'still open: '}"${t.tail(conn)}"`,
      connection: conn.label,
    });
  }
  const rest = conn.stream().subarray(at);
  const refusal = bytes(REFUSED_PREFIX);
  const startsWithRefusal =
    rest.length >= refusal.length && Buffer.compare(rest.subarray(0, refusal.length), refusal) === 0;
  if (
    rest.length > 0 &&
    (!startsWithRefusal || find(rest, t.announcement('joined', '')) !== -1 || find(rest, t.welcome) !== -1)
  ) {
    t.fail({
      requirement: options.requirement,
      message: `${conn.label}: after the nickname "${show(options.nickname)}" the server sent something other than a refusal`,
      expected: alternatives,
      actual: t.tail(conn, at),
      connection: conn.label,
    });
  }
}

/** Whether `stream` holds `needle` exactly at `at`. */
function startsAt(stream: Uint8Array, needle: string | Uint8Array, at: number): boolean {
  const n = bytes(needle);
  return at + n.length <= stream.length && Buffer.compare(stream.subarray(at, at + n.length), n) === 0;
}

/**
 * Proves (with a sentinel from `observer`, then a quiet window) that `observer` got none of
 * `announced` after `marks[0]`, and no announcement with the empty nickname. A connection that never
 * sent a usable nickname has no name to look for; a server that announces it anyway usually does so
 * as ` joined!`. That is looked for only where the case knows a message starts (at each of `marks`,
 * taken when none of the case's own traffic was in flight, and right after the sentinel), so that
 * other people's traffic on a shared server can never cause a false verdict (§3.7 item 8).
 */
export async function expectNotAnnounced(
  t: ServerCaseContext,
  observer: Member,
  marks: readonly number[],
  announced: readonly (string | Uint8Array)[],
  options: { requirement: string; what: string },
): Promise<void> {
  const from = Math.min(...marks);
  const end = (await sentinel(t, observer, [observer], options.requirement)).get(observer) ?? from;
  await observer.conn.quiet(t.timing.quietMs);
  t.expectAbsent(observer.conn, announced, { ...options, after: from });
  const stream = observer.conn.stream();
  for (const at of [...marks, end]) {
    for (const nameless of namelessAnnouncements(t)) {
      if (startsAt(stream, nameless, at)) {
        t.fail({
          requirement: options.requirement,
          message: `${observer.conn.label}: ${options.what}: "${nameless}" (the empty nickname)`,
          expected: ['no announcement'],
          actual: t.tail(observer.conn, at),
          connection: observer.conn.label,
        });
      }
    }
  }
}

/** Re-throws a failure of `work` under `requirement`, prefixed with `why`: a precondition broken by the case's own stimulus. */
export async function asRequirement<T>(requirement: string, why: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof CaseFailure) {
      // Broken by the case's own stimulus: the case's failure, not a precondition's.
      const { precondition: _stood, ...details } = error.details;
      throw new CaseFailure({
        ...details,
        requirement,
        message: `${why}: ${error.details.message}`,
      });
    }
    throw error;
  }
}

/** Skips a case whose stimulus only means something in the chunk profile (§8 replaces it). */
export function chunkProfileOnly(t: ServerCaseContext, why: string): void {
  if (t.framing === 'line') t.skip(`chunk profile only: ${why}`);
}

// ---------------------------------------------------------------------------------------------------------
// Flooding past a member that stops reading (ROBUST-SLOW-1, D-NS-8, D-NS-11)

/** Extra margin over the kernel's buffers in {@link stallBudgetBytes}. */
const STALL_MARGIN_BYTES = 2 * 1024 * 1024;
/** Used when the local TCP buffer limits cannot be read. */
const DEFAULT_STALL_BUDGET_BYTES = 16 * 1024 * 1024;
/** Bounds of {@link stallBudgetBytes}. */
const MIN_STALL_BUDGET_BYTES = 4 * 1024 * 1024;
const MAX_STALL_BUDGET_BYTES = 64 * 1024 * 1024;

function sysctlNumbers(path: string): number[] {
  return readFileSync(path, 'utf8').trim().split(/\s+/).map(Number);
}

/**
 * How many bytes toward a member that stops reading certainly stall a server that sends with
 * blocking `send()` and no queue: more than the kernel can park on the way (the server's send
 * buffer, autotuned up to `tcp_wmem` max, plus the reader's receive buffer, which does not grow
 * while it reads nothing), with a margin. Read from this machine's limits (the target usually runs
 * here); 16 MiB when they cannot be read. A server that sets a larger SO_SNDBUF by hand may park
 * more, and then pass where it should not; it can never fail wrongly.
 */
export function stallBudgetBytes(): number {
  try {
    const tcpWmemMax = sysctlNumbers('/proc/sys/net/ipv4/tcp_wmem')[2] ?? 0;
    const tcpRmemDefault = sysctlNumbers('/proc/sys/net/ipv4/tcp_rmem')[1] ?? 0;
    const budget = tcpWmemMax + 4 * tcpRmemDefault + STALL_MARGIN_BYTES;
    if (!Number.isFinite(budget)) return DEFAULT_STALL_BUDGET_BYTES;
    return Math.min(MAX_STALL_BUDGET_BYTES, Math.max(MIN_STALL_BUDGET_BYTES, budget));
  } catch {
    return DEFAULT_STALL_BUDGET_BYTES;
  }
}

/** The text of a flood message, repeated. */
export const FLOOD_BYTE = 'x';
/** Flood text bytes per write (a NICK chat adds `<nick>: `, staying under 1024 bytes). */
export const FLOOD_TEXT_BYTES = 960;
/** Writes per flood batch; the next batch waits until the watchers have this one. */
export const FLOOD_BATCH_WRITES = 128;

/** Result of {@link flood}. */
export interface FloodResult {
  /** Bytes written. */
  readonly written: number;
  /** Why it stopped. */
  readonly stop: 'budget' | 'until' | 'stalled';
  /** The watcher that fell behind, when `stop` is `stalled`. */
  readonly laggard?: FloodWatch;
}

/**
 * `sender` writes chat messages of {@link FLOOD_TEXT_BYTES} bytes of text in batches; after each
 * batch every watcher must have received as many bytes as were written so far (paced: bounded
 * memory, and a stall shows at once; harness/flood.ts). NICK relay is stream-transparent, so every
 * written byte reaches every reading member, and watchers count every byte they receive (bytes of
 * other traffic, announcements, can only make a watcher look a few bytes ahead). Stops when
 * `until()` holds, after `budget` bytes, or when a watcher has not caught up within `stallMs`.
 */
export async function flood(
  t: ServerCaseContext,
  sender: Member,
  watchers: readonly FloodWatch[],
  options: {
    budget: number;
    stallMs: number;
    until?: () => boolean;
    /** The text of the n-th message (default: {@link FLOOD_TEXT_BYTES} × {@link FLOOD_BYTE}). */
    text?: (n: number) => string;
  },
): Promise<FloodResult> {
  const fixed = bytes(t.line(sender.nick, FLOOD_BYTE.repeat(FLOOD_TEXT_BYTES)));
  const messageOf = options.text ? (n: number) => bytes(t.line(sender.nick, options.text!(n))) : () => fixed;
  const end = await paceFlood(sender.conn, watchers, {
    write: messageOf,
    counted: (message) => message.length,
    batchWrites: FLOOD_BATCH_WRITES,
    budgetBytes: options.budget,
    ...(options.until === undefined ? {} : { until: options.until }),
    stall: 'batch',
    stallMs: options.stallMs,
  });
  if (end.kind !== 'stalled') return { written: end.written, stop: end.kind === 'until' ? 'until' : 'budget' };
  return end.laggard === undefined
    ? { written: end.written, stop: 'stalled' }
    : { written: end.written, stop: 'stalled', laggard: end.laggard };
}

/** Bytes of one addressed block: `#` + six hex digits of its number + a space. */
const BLOCK_BYTES = 8;
const BLOCK_PATTERN = /#([0-9a-f]{6}) /g;

/**
 * Flood text whose every 8-byte block carries its own number (`#00002a `), so that any piece of a
 * relayed stream longer than a nickname prefix and two blocks tells where in the flood it was.
 */
export function addressedText(n: number): string {
  const blocks = Math.floor(FLOOD_TEXT_BYTES / BLOCK_BYTES);
  let text = '';
  for (let j = 0; j < blocks; j++) text += `#${(n * blocks + j).toString(16).padStart(6, '0')} `;
  return text;
}

/** Numbers of the addressed blocks in `stream` from `from` on, in stream order. */
export function blockNumbers(stream: Uint8Array, from = 0): number[] {
  const text = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength).toString('latin1', from);
  return [...text.matchAll(BLOCK_PATTERN)].map((m) => Number.parseInt(m[1]!, 16));
}

/** A bound on one step, scaled like the context's own (`--timeout-scale`). */
export function scaled(t: ServerCaseContext, ms: number): number {
  return Math.round((ms * t.timing.stepMs) / STEP_TIMEOUT_MS);
}
