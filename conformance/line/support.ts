/**
 * Steps the line-profile server cases share (spec/PROTOCOL.md §8): the skip without `--framing
 * line`, a check that judges one expected message as a line on a connection's reassembled stream
 * (it starts a line and ends with exactly one LF, LINE-1), and a handshake judged that way, so that
 * a server that does not terminate its messages fails LINE-1 rather than the handshake's own
 * requirement. Only the case's own messages (unique nicknames and tokens) are judged, so other
 * members chatting on the server cannot cause a false verdict (§3.7 item 8).
 *
 * @module
 */
import { ConnectionError, type Connection } from '../harness/connection.js';
import type { Member, ServerCaseContext } from '../harness/context.js';
import { bytes, show } from '../nick/support.js';

const LF = 0x0a;
const CR = 0x0d;

/** Why every line case is skipped when the target was not declared to speak the line profile. */
export const LINE_PROFILE_SKIP_REASON =
  'the line profile is optional: run with --framing line if the target offers it';

/**
 * Budget of a line case: each step has its own bound (the context's step); the budget only has to
 * outlast a case of many steps on a loaded machine.
 */
export const LINE_CASE_TIMEOUT_MS = 30_000;

/** Skips the case unless the target was declared to speak the line profile (§9.1, §9.3). */
export function lineProfileOnly(t: ServerCaseContext): void {
  if (t.framing !== 'line') t.skip(LINE_PROFILE_SKIP_REASON);
}

/** A message as the context builds it under the line profile (`t.joined(…)`, `t.relay(…)`), without its LF. */
export function unterminated(line: string): string {
  return line.endsWith('\n') ? line.slice(0, -1) : line;
}

/** Options of {@link expectLine}. */
export interface LineOptions {
  /** The requirement a message that never arrives breaks (its own, or the line case's). */
  readonly requirement: string;
  /** What the check means, for the report. */
  readonly what: string;
  /** Look from this stream offset on (a known line boundary, or 0). */
  readonly after: number;
}

/**
 * Judges the message `line` (with its LF) whose body ends at `bodyEnd` in `conn`'s stream as a line
 * (LINE-1): it starts a line (the stream's start or just after an LF), and its body is followed by
 * one LF, not by CR or other bytes. The LF is waited for (bounded), since TCP may deliver it
 * later than the body. Resolves with the offset just past the LF.
 */
export async function expectLineAt(
  t: ServerCaseContext,
  conn: Connection,
  line: string,
  bodyEnd: number,
  what: string,
): Promise<number> {
  const body = unterminated(line);
  const start = bodyEnd - bytes(body).length;
  const expected = [`"${show(body)}\\n": a line of its own (after the stream's start or an LF), ended by one LF`];
  const failLine = (message: string): never =>
    t.fail({
      requirement: 'LINE-1',
      message: `${conn.label}: ${what}: ${message}`,
      expected,
      actual: t.tail(conn, Math.max(0, start - 80)),
      connection: conn.label,
    });
  if (start > 0 && conn.stream()[start - 1] !== LF) {
    failLine(`"${show(body)}" does not start a line: the message before it did not end with LF`);
  }
  try {
    await conn.waitFor((s) => s.length > bodyEnd, {
      timeoutMs: t.timing.stepMs,
      what: `the terminator of "${show(body)}"`,
    });
  } catch (error) {
    if (!(error instanceof ConnectionError)) throw error;
    failLine(
      `"${show(body)}" is not followed by LF (${conn.closed ? 'the connection ended' : `nothing more within ${t.timing.stepMs} ms`})`,
    );
  }
  const next = conn.stream()[bodyEnd];
  if (next === LF) return bodyEnd + 1;
  return failLine(
    next === CR
      ? `"${show(body)}" ends with CRLF: a server ends every message with a single LF`
      : `"${show(body)}" is not followed by LF: the message has no terminator`,
  );
}

/**
 * Waits until `conn` receives the body of `line` after `options.after` (a body that never arrives
 * fails `options.requirement`), then judges it as a line ({@link expectLineAt}). Resolves with the
 * offset just past its LF.
 */
export async function expectLine(
  t: ServerCaseContext,
  conn: Connection,
  line: string,
  options: LineOptions,
): Promise<number> {
  const bodyEnd = await t.expectReceives(conn, [unterminated(line)], options);
  return expectLineAt(t, conn, line, bodyEnd, options.what);
}

/**
 * Fails if `conn`'s stream holds an empty line from `from` on: an LF at the stream's start or right
 * after another LF, i.e. a message ended with two LFs (LINE-1: exactly one). Use it only where no
 * other member's message can be empty (every tilde message, the NICK prompt window).
 */
export function expectNoEmptyLine(t: ServerCaseContext, conn: Connection, from: number, what: string): void {
  const stream = conn.stream();
  for (let i = from; i < stream.length; i++) {
    if (stream[i] === LF && (i === 0 || stream[i - 1] === LF)) {
      t.fail({
        requirement: 'LINE-1',
        message: `${conn.label}: ${what}: an empty line at stream offset ${i}: a message ended with more than one LF`,
        expected: ['every message ended by exactly one LF, never an empty line'],
        actual: t.tail(conn, Math.max(0, i - 80)),
        connection: conn.label,
      });
    }
  }
}

/** Options of {@link lineJoin}. */
export interface LineJoinOptions {
  /** How the nickname (username) line ends: LF (default), or CRLF, which a server accepts (LINE-1). */
  readonly ending?: '\n' | '\r\n';
  /** The connection's label; default the nickname. */
  readonly label?: string;
  /**
   * NICK: watch a quiet window after the prompt and fail on a second LF. Nothing may follow the
   * prompt before the nickname (NICK-PROMPT-2), so this is the one place where an empty line can
   * only be the server's terminator (on a shared server a raw empty line from another member may be
   * relayed after any later message).
   */
  readonly promptAlone?: boolean;
}

/**
 * Connects and completes the handshake under the line profile, judging every message of it as a
 * line: NICK waits for the prompt line, sends the nickname line and waits for its own `joined!` and
 * `Connected to server!` lines; tilde sends the username line and waits for its own `added` line.
 * A message that never arrives fails its own requirement (a nickname sent with CRLF: LINE-1); one
 * that arrives without its LF fails LINE-1.
 */
export async function lineJoin(t: ServerCaseContext, nick: string, options: LineJoinOptions = {}): Promise<Member> {
  const ending = options.ending ?? '\n';
  const crlf = ending === '\r\n';
  const conn = await t.connect(options.label ?? nick);
  let after = 0;
  if (t.dialect === 'nick') {
    after = await expectLine(t, conn, t.wire(t.prompt), {
      requirement: 'NICK-PROMPT-1',
      what: `the prompt "${t.prompt}" on accept`,
      after: 0,
    });
    if (options.promptAlone) {
      await conn.quiet(t.timing.quietMs);
      expectNoEmptyLine(t, conn, 0, 'the prompt');
    }
  }
  conn.send(`${nick}${ending}`);
  const name = t.dialect === 'nick' ? 'nickname' : 'username';
  const joinedEnd = await expectLine(t, conn, t.joined(nick), {
    requirement: crlf ? 'LINE-1' : t.dialect === 'nick' ? 'NICK-JOIN-1' : 'TILDE-JOIN-1',
    what: crlf
      ? `its own join announcement after the ${name} line "${show(nick + ending)}" (CRLF accepted, the CR stripped)`
      : `its own join announcement after the ${name} line "${show(nick + ending)}"`,
    after,
  });
  if (t.dialect !== 'nick') return { conn, nick, joinedAt: joinedEnd };
  const connectedEnd = await expectLine(t, conn, t.wire(t.welcome), {
    requirement: 'NICK-JOIN-2',
    what: `"${t.welcome}" after the nickname line "${show(nick + ending)}"`,
    after,
  });
  return { conn, nick, joinedAt: Math.max(joinedEnd, connectedEnd) };
}

/**
 * Text that makes `nick`'s line (without its LF) exactly `size` bytes: `<nick>: <text>` in NICK,
 * the content itself in tilde. It is `token` repeated, so any piece of it longer than twice the
 * token holds the token, and a relayed piece of a discarded line shows (LINE-2).
 */
export function textOfLineBytes(t: ServerCaseContext, nick: string, token: string, size: number): string {
  const want = size - bytes(unterminated(t.line(nick, ''))).length;
  let text = '';
  while (text.length < want) text += `${token}.`;
  return text.slice(0, want);
}
