/**
 * Procedures the NICK and tilde client cases share: joining as a person would, what a client does
 * with a name it must not send, whether each message left in one write, and whether bytes it
 * cannot decode stop it.
 *
 * @module
 */
import { type DialectName } from '../../src/codec/index.js';
import type { ClientCaseContext } from '../harness/client-context.js';
import { EXIT_GRACE_MS, WHOLE_READ_SESSIONS } from '../harness/timing.js';
import { watchReadGaps } from '../harness/read-gaps.js';
import { judgeWholeReads, type WholeReadCheck } from '../harness/whole-reads.js';
import type { Connection } from '../harness/connection.js';

/** Budget of every client case: the sum of its bounded waits, with room for a slow interpreter start. */
export const CLIENT_CASE_TIMEOUT_MS = 60_000;

/** What every client case of `dialect` declares besides its own id, text and run. */
export function clientCase<D extends DialectName>(dialect: D) {
  return { kind: 'client', dialect, profile: 'client', timeoutMs: CLIENT_CASE_TIMEOUT_MS } as const;
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `<prefix>` + bytes + `<suffix>` as one buffer. */
export function withBytes(prefix: string, bytes: readonly number[], suffix = ''): Uint8Array {
  return new Uint8Array([...Buffer.from(prefix), ...bytes, ...Buffer.from(suffix)]);
}

/** A message from `from` as the server relays it: NICK `<from>: <text>`, tilde `<from>~<text>`. */
export function relayed(dialect: DialectName, from: string, text: string): string {
  return dialect === 'nick' ? `${from}: ${text}` : `${from}~${text}`;
}

/**
 * The person types a name (`alice_…`), then the lines `typedAhead` at once, and the client must
 * connect (or fail `requirement`). Resolves with the name and the connection; chatkit has sent
 * nothing yet.
 */
export async function connected(
  t: ClientCaseContext,
  requirement: string,
  ...typedAhead: string[]
): Promise<{ name: string; conn: Connection }> {
  const name = t.nick('alice');
  await t.launch(name, ...typedAhead);
  return { name, conn: await t.accept(requirement) };
}

/**
 * The person types a name (`alice_…`) and nothing else; the client must connect (or fail
 * `requirement`), and chatkit plays the dialect's handshake ({@link ClientCaseContext.nickHandshake},
 * {@link ClientCaseContext.tildeHandshake}). Resolves with the name, the connection and the
 * stream offset past the name.
 */
export async function joined(
  t: ClientCaseContext,
  requirement: string,
): Promise<{ name: string; conn: Connection; at: number }> {
  const { name, conn } = await connected(t, requirement);
  const at = t.dialect === 'nick' ? await t.nickHandshake(conn, name) : await t.tildeHandshake(conn, name);
  return { name, conn, at };
}

/**
 * After a quiet window (so that it is a chunk of its own, even for a client that reads one chunk
 * per message), `from` sends a message with a fresh token as its text; resolves with the token.
 * The display cases pass it as `unless` to {@link ClientCaseContext.expectShown}: a client shows
 * what it receives in order.
 */
export async function sendLater(t: ClientCaseContext, conn: Connection, from: string): Promise<string> {
  await sleep(t.timing.quietMs);
  const later = t.token('later');
  conn.send(relayed(t.dialect, from, later));
  return later;
}

/** Waits until something arrives on `conn` (or it closes), bounded; then lets the write settle. */
async function somethingArrives(t: ClientCaseContext, conn: Connection, timeoutMs: number): Promise<void> {
  const from = conn.stream().length;
  await conn.waitFor((s) => s.length > from, { timeoutMs }).catch(() => undefined);
  // A client that writes a name writes it at once; a short settle lets a same-write tail in.
  if (conn.stream().length > from) await sleep(t.timing.quietMs / 4);
}

/**
 * The person types a name the dialect cannot carry (`typed`) and the client must not send it
 * (NICK-NICK-2, TILDE-USER-2). The person types `next` right after it and then ends the input
 * (Ctrl-D), so that every conformant behaviour shows at once and none is mistaken for another:
 *
 * - it refuses before connecting: exits with a message, or asks again (then it reads `next`,
 *   which in NICK is a valid nickname it may join with, and in tilde a message line that is no
 *   valid username either) or keeps waiting;
 * - it connects first and asks afterwards, sending nothing until it has a valid name.
 *
 * It fails when anything that is not a valid name arrives (the typed name; `next` sent as chat
 * after an empty name), and, in NICK, when it leaves the prompt unanswered: connected, prompted,
 * then silent or closed, which leaves the server's handshake unfinished.
 */
export async function judgeNameNotSent(
  t: ClientCaseContext,
  options: {
    readonly typed: string;
    /** The line the person types next: a valid name in NICK, a message line in tilde. */
    readonly next: string;
    readonly requirement: string;
    readonly valid: (bytes: Uint8Array) => boolean;
    readonly what: string;
  },
): Promise<void> {
  const { requirement } = options;
  await t.launch(options.typed, options.next);
  t.endInput();
  const outcome = await t.connectedOrExited(t.startMs);
  if (outcome.kind !== 'connected') return; // refused before connecting (or still asking): nothing sent
  const conn = outcome.conn;
  if (t.dialect === 'nick') conn.send(t.prompt);
  // A full step: a client that asked again answers with the name typed next, perhaps slowly.
  await somethingArrives(t, conn, t.timing.stepMs);
  const sent = conn.stream();
  if (sent.length > 0) {
    if (options.valid(sent)) return;
    t.fail({
      requirement,
      message: `given ${options.what} (and then the line "${options.next}"), the client sent something that is no valid name`,
      expected: [
        'nothing is sent (the client refuses the name, with a message)',
        `the valid name typed next ("${options.next}"), if the client asked again`,
      ],
      actual: t.tail(conn),
      connection: conn.label,
    });
  }
  if (t.dialect !== 'nick') return; // tilde: nothing written is no name sent
  t.fail({
    requirement,
    message: `given ${options.what}, the client connected, received the prompt "${t.prompt}" and ${
      conn.closed ? 'closed the connection' : 'left it unanswered'
    }: the server's handshake is left unfinished`,
    expected: [
      'the client refuses the name before it connects',
      'the client answers the prompt with a valid name',
    ],
    actual: `${t.tail(conn)}; stdout: ${t.stdoutTail()}; stderr: ${t.stderrTail()}`,
    connection: conn.label,
  });
}

/**
 * FRAME-2 (SHOULD, FRAME-6): the client joins and the person says two lines; its name and each
 * message must each have arrived as one chunk. `what` names them in the dialect's words.
 */
export async function judgeOneWriteEach(
  t: ClientCaseContext,
  options: {
    /** What a client that never connects fails (the handshake's requirement). */
    readonly requirement: string;
    readonly what: { readonly name: string; readonly message: string };
  },
): Promise<void> {
  // A split is seen only by a judge that was reading while the pieces came (whole-reads.ts).
  const watch = watchReadGaps();
  try {
    const { name, conn, at: first } = await joined(t, options.requirement);
    const whole = (from: number, to: number, what: string): WholeReadCheck => ({
      conn,
      message: conn.stream().subarray(from, to),
      from,
      onlyFirst: true,
      requirement: 'FRAME-2',
      what,
    });
    // The name is typed once: read whole by a stalled judge, it proves nothing, and that is all.
    judgeWholeReads(t, [whole(0, first, options.what.name)], watch);
    const second = await t.say(conn, name, `one ${t.token('w')}`, first);
    let at = await t.say(conn, name, `two ${t.token('w')}`, second);
    let seen = judgeWholeReads(
      t,
      [whole(first, second, `the first ${options.what.message}`), whole(second, at, `the second ${options.what.message}`)],
      watch,
    );
    // While the judge stood still around a message it read whole, the person says one more.
    for (let extra = 1; seen === 'stalled' && extra < WHOLE_READ_SESSIONS; extra++) {
      const next = await t.say(conn, name, `more ${t.token('w')}`, at);
      seen = judgeWholeReads(t, [whole(at, next, `a further ${options.what.message}`)], watch);
      at = next;
    }
  } finally {
    watch.stop();
  }
}

/**
 * CLIENT-BYTES-1: bob's relay `caf` + `bytes` (which the client cannot decode) arrives, then a later
 * message; the later one must be shown and the client must still be connected. `what` names the
 * bytes in the dialect's words (`bytes >= 0x80`, `invalid UTF-8`).
 */
export async function judgeKeepsGoingAfterBadBytes(
  t: ClientCaseContext,
  options: {
    /** What a client that never connects fails. */
    readonly requirement: string;
    readonly bytes: readonly number[];
    readonly what: string;
  },
): Promise<void> {
  const { conn } = await joined(t, options.requirement);
  const bob = t.nick('bob');
  conn.send(withBytes(relayed(t.dialect, bob, 'caf'), options.bytes, ` ${t.token('bad')}`));
  const later = await sendLater(t, conn, bob);
  await t.expectShown(later, {
    conn,
    requirement: 'CLIENT-BYTES-1',
    what: `a message that arrives after one with ${options.what} is still displayed`,
  });
  t.expectStillConnected(conn, 'CLIENT-BYTES-1', `a message with ${options.what}`);
}

/**
 * CLIENT-EOF-2 (SHOULD): the client joins, then its user input ends (Ctrl-D, the end of a piped
 * file); it must close its connection and exit within one step bound, whatever its reader is
 * doing. A client that stops sending but stays connected and running (the seeds: D-NC-8, D-TC-8)
 * fails.
 */
export async function judgeExitsWhenInputEnds(t: ClientCaseContext): Promise<void> {
  const { conn } = await joined(t, 'CLIENT-EOF-2');
  const client = t.client;
  if (!client) throw new Error('joined() starts the client');
  t.endInput();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.exited,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, t.timing.stepMs + EXIT_GRACE_MS);
    }),
  ]);
  clearTimeout(timer);
  if (client.exitStatus() !== undefined) return;
  t.fail({
    requirement: 'CLIENT-EOF-2',
    message: `after its input ended, the client ${conn.closed ? 'closed its connection but' : 'kept its connection open and'} kept running for ${t.timing.stepMs + EXIT_GRACE_MS} ms`,
    expected: ['the client closes its connection and exits'],
    actual: `still running; connection ${conn.closed ? `ended: ${conn.closeKind}` : 'open'}; stdout: ${t.stdoutTail()}; stderr: ${t.stderrTail()}`,
    connection: conn.label,
  });
}

/**
 * Words that report a failed connect. Seen on the chat channel (stdout) they are the report a
 * client must write to its error channel instead (CLIENT-CONNECT-1); a banner such as
 * `Connecting to …` or `Choose your nickname:` holds none of them.
 */
const CONNECT_FAILURE_WORDS =
  /\b(unable|refused|cannot|can't|could ?n[o']t|fail(?:ed|ure)?|error|unreachable|timed? ?out)\b/i;

/**
 * CLIENT-CONNECT-1 (MUST): the person types a name and the client is pointed at a port nothing
 * listens on. Within the start bound (it MAY retry first) it must exit with a non-zero status,
 * having reported the failure on stderr and not on stdout, which the checker reads as the chat.
 */
export async function judgeConnectFailureReported(t: ClientCaseContext): Promise<void> {
  const client = await t.launchUnreachable(t.nick('alice'));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.exited,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, t.startMs);
    }),
  ]);
  clearTimeout(timer);
  const exit = client.exitStatus();
  // What it printed before it exited may still be in the pipes.
  if (exit !== undefined) await client.outputSettled();
  const output = `stdout: ${t.stdoutTail()}; stderr: ${t.stderrTail()}`;
  const expected = [
    'a report on stderr (the error channel), then exit with a non-zero status (after retrying, if it retries)',
  ];
  if (exit === undefined) {
    t.fail({
      requirement: 'CLIENT-CONNECT-1',
      message: `the client could not connect (connection refused) and was still running ${t.startMs} ms later`,
      expected,
      actual: `still running; ${output}`,
    });
  }
  const chat = t.shown();
  const onChat = CONNECT_FAILURE_WORDS.exec(chat);
  if (onChat) {
    t.fail({
      requirement: 'CLIENT-CONNECT-1',
      message: `the client reported the failed connect on standard output, the channel that shows chat ("${onChat[0]}")`,
      expected,
      actual: `exit code ${exit.code}, signal ${exit.signal}; ${output}`,
    });
  }
  if (exit.code === 0 || (exit.code === null && exit.signal === null)) {
    t.fail({
      requirement: 'CLIENT-CONNECT-1',
      message: 'the client could not connect (connection refused) and exited with status 0',
      expected,
      actual: `exit code ${exit.code}, signal ${exit.signal}; ${output}`,
    });
  }
  if (t.client?.stderr().trim() === '') {
    t.fail({
      requirement: 'CLIENT-CONNECT-1',
      message: 'the client could not connect (connection refused) and exited without a word on stderr',
      expected,
      actual: `exit code ${exit.code}, signal ${exit.signal}; ${output}`,
    });
  }
}
