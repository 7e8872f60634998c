/**
 * NICK dialect, `client` profile: cases that judge a NICK client program (spec/PROTOCOL.md §4.3,
 * §4.4 and §7). chatkit plays the server; the person at the client types the nickname first, then
 * one message per line, each once the previous one came back. The `Hii` variant runs the same
 * cases with the runner's `prompt`.
 *
 * A case that the seeds' `nick_client.py` / `hii_client.py` fail names the Annex A.2 defect that
 * makes them fail in its `catches` (test/conformance/client-verdicts.int.test.ts pins the verdicts).
 */
import type { ClientCase } from '../harness/case.js';
import { type ClientCaseContext, isValidNickname } from '../harness/client-context.js';
import {
  clientCase,
  connected,
  joined,
  judgeConnectFailureReported,
  judgeExitsWhenInputEnds,
  judgeKeepsGoingAfterBadBytes,
  judgeNameNotSent,
  judgeOneWriteEach,
  sleep,
} from './judge.js';

const client = clientCase('nick');

/** What to fix when a client sends a nickname it must refuse (the same advice for every such case). */
const NICKNAME_RULES_HINT =
  'Check the nickname before connecting (1-32 printable ASCII characters, no space, no ":"): if it is invalid, print why and ask again (or exit).';

/** The prompt token as a word of its own: `Nickname` holds no `NICK` (case, and letters around it). */
function tokenAsWord(token: string): RegExp {
  const escaped = token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![A-Za-z0-9])${escaped}(?![A-Za-z0-9])`);
}

/** The person types a line with "é", then, a quiet window later, a plain line; resolves with the plain one. */
async function typeAccentedThenPlain(t: ClientCaseContext): Promise<string> {
  t.type(`caf\u00e9 ${t.token('accent')}`);
  await sleep(t.timing.quietMs);
  const plain = `plain ${t.token('after')}`;
  t.type(plain);
  return plain;
}

/** The NICK client cases, in report order (handshake, messages, display, robustness, input). */
export const NICK_CLIENT_CASES: readonly ClientCase[] = [
  {
    ...client,
    id: 'nick.client.nickname-answers-prompt',
    title: 'sends nothing before the prompt, then answers it with exactly its nickname and nothing else',
    requirements: ['NICK-NICK-1'],
    level: 'MUST',
    hint: 'Connect, then only recv(): send the nickname (nickname.encode(), no newline) in one send() when the prompt arrives, and nothing before it.',
    async run(t) {
      const { name: nick, conn } = await connected(t, 'NICK-NICK-1');
      await t.expectNothingSent(conn, {
        requirement: 'NICK-NICK-1',
        what: `the client sends nothing before it receives the prompt "${t.prompt}"`,
        after: 0,
      });
      conn.send(t.prompt);
      const at = await t.expectExactly(conn, nick, {
        requirement: 'NICK-NICK-1',
        what: `the answer to the prompt is the nickname "${nick}", without a terminator`,
        after: 0,
      });
      await t.expectNothingSent(conn, {
        requirement: 'NICK-NICK-1',
        what: 'after its nickname the client waits for the server (nothing was typed)',
        after: at,
      });
    },
  },
  {
    ...client,
    id: 'nick.client.prompt-hidden',
    title: 'does not display the prompt token',
    requirements: ['CLIENT-PROMPT-1'],
    level: 'MUST',
    hint: 'In the receive loop, when the message is the prompt, send the nickname and `continue`: do not print() it (print only what is not the prompt).',
    async run(t) {
      const { name: nick, conn } = await connected(t, 'CLIENT-PROMPT-1');
      // Only what the client shows after the prompt was sent counts: its own input prompt is earlier.
      const mark = t.mark();
      await t.nickHandshake(conn, nick);
      // A later message, shown in order after anything the prompt made it print.
      const sentinel = t.token('later');
      conn.send(`${t.nick('bob')}: ${sentinel}`);
      await t.waitShown(sentinel);
      const since = t.shownSince(mark);
      if (tokenAsWord(t.prompt).test(since)) {
        t.fail({
          requirement: 'CLIENT-PROMPT-1',
          message: `the client displayed the prompt token "${t.prompt}"`,
          expected: [`no "${t.prompt}" on the screen (it is answered, not shown)`],
          actual: `shown after the prompt was sent: ${JSON.stringify(since.slice(-600))}`,
        });
      }
    },
  },
  {
    ...client,
    id: 'nick.client.prompt-once',
    title: 'answers the prompt once: a later message equal to the prompt token is not answered',
    requirements: ['CLIENT-PROMPT-2'],
    level: 'MUST',
    catches: ['D-NC-7'],
    hint: 'Answer the prompt only in the handshake (e.g. a flag set once the nickname was sent): after it, a message equal to the prompt token is a member\'s text, to display, never to answer.',
    async run(t) {
      const { conn, at } = await joined(t, 'CLIENT-PROMPT-2');
      // A quiet window first, so the token is a chunk of its own, as a member's relay of it would be.
      await sleep(t.timing.quietMs);
      conn.send(t.prompt);
      await t.expectNothingSent(conn, {
        requirement: 'CLIENT-PROMPT-2',
        what: `after the handshake, a message "${t.prompt}" (a member's text) must not be answered: the client sent something although nothing was typed`,
        after: at,
        windowMs: t.timing.quietMs * 2,
      });
    },
  },
  {
    ...client,
    id: 'nick.client.chat-format',
    title: 'sends each typed line as `<nick>: <text>`, exactly, text with `:` and `~` included',
    requirements: ['NICK-CHAT-1'],
    level: 'MUST',
    hint: "Send each line as f'{nickname}: {line}'.encode('ascii') in one send(), without the newline input() removed.",
    async run(t) {
      const { name: nick, conn, at } = await joined(t, 'NICK-CHAT-1');
      const next = await t.say(conn, nick, `hello ${t.token('one')}`, at);
      const two = t.token('two');
      await t.say(conn, nick, `${two} a:b ~ c: d`, next, two);
    },
  },
  {
    ...client,
    id: 'nick.client.one-write',
    title: 'writes its nickname and each chat message with one write (judged on recv boundaries)',
    requirements: ['FRAME-2', 'NICK-NICK-1', 'NICK-CHAT-1'],
    level: 'SHOULD',
    hint: 'Build the whole message first, then call sendall() once: never send the "<nick>: " prefix and the text separately.',
    async run(t) {
      await judgeOneWriteEach(t, {
        requirement: 'NICK-NICK-1',
        what: { name: 'the nickname', message: 'chat message' },
      });
    },
  },
  {
    ...client,
    id: 'nick.client.chat-waits-for-connected',
    title:
      'keeps a line typed ahead until `Connected to server!` arrives (not before the prompt, not after `joined!` alone)',
    requirements: ['NICK-CHAT-2', 'NICK-NICK-1'],
    level: 'MUST',
    catches: ['D-NC-3'],
    hint: 'Start sending chat only after "Connected to server!" was received: e.g. a threading.Event set by the receive loop, which the write loop waits for before its first send().',
    async run(t) {
      const text = `early ${t.token('ahead')}`;
      // The person types the nickname and a message at once, before anything is on the screen.
      const { name: nick, conn } = await connected(t, 'NICK-CHAT-2', text);
      await t.expectNothingSent(conn, {
        requirement: 'NICK-CHAT-2',
        what: 'before the prompt the client sends nothing, although a message was typed ahead',
        after: 0,
      });
      conn.send(t.prompt);
      const at = await t.expectExactly(conn, nick, {
        requirement: 'NICK-CHAT-2',
        what: `after the prompt only the nickname "${nick}" arrives; the typed-ahead message waits`,
        after: 0,
      });
      conn.send(`${nick} joined!`);
      await t.expectNothingSent(conn, {
        requirement: 'NICK-CHAT-2',
        what: `after "${nick} joined!" but before "Connected to server!", the typed-ahead message is not sent`,
        after: at,
      });
      conn.send('Connected to server!');
      // Sending it now is right; a client that drops typed-ahead lines breaks no requirement judged here.
      await conn
        .waitForText(`${nick}: ${text}`, { after: at, timeoutMs: t.timing.stepMs })
        .catch(() => undefined);
    },
  },
  {
    ...client,
    id: 'nick.client.nickname-empty',
    title: 'given an empty nickname, sends no invalid nickname (and leaves no prompt unanswered)',
    requirements: ['NICK-NICK-2'],
    level: 'MUST',
    catches: ['D-NC-4'],
    hint: NICKNAME_RULES_HINT,
    async run(t) {
      await judgeNameNotSent(t, {
        typed: '',
        next: t.nick('retry'),
        requirement: 'NICK-NICK-2',
        valid: isValidNickname,
        what: 'an empty nickname',
      });
    },
  },
  {
    ...client,
    id: 'nick.client.nickname-invalid',
    title: 'given a nickname with `:` (`a:b`), does not send it',
    requirements: ['NICK-NICK-2'],
    level: 'MUST',
    catches: ['D-NC-4'],
    hint: NICKNAME_RULES_HINT,
    async run(t) {
      await judgeNameNotSent(t, {
        typed: 'a:b',
        next: t.nick('retry'),
        requirement: 'NICK-NICK-2',
        valid: isValidNickname,
        what: 'the nickname "a:b"',
      });
    },
  },
  {
    ...client,
    id: 'nick.client.nickname-non-ascii',
    title: 'given a non-ASCII nickname (`zoë`), refuses it instead of failing at the prompt',
    requirements: ['NICK-NICK-2', 'CLIENT-INPUT-1'],
    level: 'MUST',
    catches: ['D-NC-6'],
    hint: 'Check the nickname before connecting (nickname.isascii() and the other rules): a nickname that fails only when the prompt arrives leaves the server with an unanswered prompt.',
    async run(t) {
      await judgeNameNotSent(t, {
        typed: 'zo\u00eb',
        next: t.nick('retry'),
        requirement: 'NICK-NICK-2',
        valid: isValidNickname,
        what: 'the nickname "zoë"',
      });
    },
  },
  {
    ...client,
    id: 'nick.client.eof',
    title: 'when the server closes the connection, reports it and exits or stops, without a busy loop',
    requirements: ['CLIENT-EOF-1'],
    level: 'MUST',
    catches: ['D-NC-1'],
    hint: "In the receive loop, `if not data:` (recv() returned b''), print that the server closed the connection, close the socket and leave the loop (then exit).",
    async run(t) {
      const { conn } = await joined(t, 'CLIENT-EOF-1');
      await t.expectStopsAfterClose(conn, 'CLIENT-EOF-1');
    },
  },
  {
    ...client,
    id: 'nick.client.input-end',
    title: 'when its input ends, closes its connection and exits',
    requirements: ['CLIENT-EOF-2'],
    level: 'SHOULD',
    catches: ['D-NC-8'],
    hint: 'When input() raises EOFError (or the input loop ends), close the socket and exit the process (os._exit(0), or make the receive thread a daemon and return from main).',
    async run(t) {
      await judgeExitsWhenInputEnds(t);
    },
  },
  {
    ...client,
    id: 'nick.client.connect-refused',
    title: 'when its connect is refused, says so on stderr and exits with a non-zero status',
    requirements: ['CLIENT-CONNECT-1'],
    level: 'MUST',
    hint: 'Wrap connect() in try/except OSError: print the error to sys.stderr (print(..., file=sys.stderr)) and sys.exit(1); never print it where chat is shown.',
    async run(t) {
      await judgeConnectFailureReported(t);
    },
  },
  {
    ...client,
    id: 'nick.client.bad-bytes',
    title: 'after a message with bytes >= 0x80, stays connected and keeps displaying later messages',
    requirements: ['CLIENT-BYTES-1'],
    level: 'MUST',
    catches: ['D-NC-2'],
    hint: "Decode received bytes with data.decode('ascii', errors='replace') so a stray byte shows as U+FFFD instead of raising in the receive loop.",
    async run(t) {
      await judgeKeepsGoingAfterBadBytes(t, {
        requirement: 'CLIENT-BYTES-1',
        // `é` in UTF-8 and 0xFF, which no encoding of text accepts: a client that decodes UTF-8
        // survives the first and must survive the second too.
        bytes: [0xc3, 0xa9, 0x20, 0xff],
        what: 'bytes >= 0x80',
      });
    },
  },
  {
    ...client,
    id: 'nick.client.non-ascii-not-sent',
    title: 'does not send a typed line that is not ASCII',
    requirements: ['ENC-NICK-1', 'CLIENT-INPUT-1'],
    level: 'MUST',
    hint: "Before sending, check line.isascii() (and printable): refuse other lines with a message; never encode with 'utf-8' in the NICK dialect.",
    async run(t) {
      const { name: nick, conn, at } = await joined(t, 'ENC-NICK-1');
      // The plain line is the sentinel: once it arrived, anything sent for the first line is there too.
      const plain = await typeAccentedThenPlain(t);
      await conn
        .waitForText(`${nick}: ${plain}`, { after: at, timeoutMs: t.timing.quietMs * 2 })
        .catch(() => undefined);
      t.expectAscii(conn, {
        requirement: 'ENC-NICK-1',
        what: 'a typed line with "é" must not reach the wire (NICK is 7-bit ASCII)',
        after: at,
      });
    },
  },
  {
    ...client,
    id: 'nick.client.input-goes-on',
    title: 'after refusing a non-ASCII line, still sends the next line',
    requirements: ['CLIENT-INPUT-1'],
    level: 'SHOULD',
    catches: ['D-NC-5'],
    hint: "Check each line before encoding it (line.isascii()); on a bad line print a message and `continue` the input loop, instead of letting encode('ascii') raise and end the write thread.",
    async run(t) {
      const { name: nick, conn, at } = await joined(t, 'CLIENT-INPUT-1');
      const plain = await typeAccentedThenPlain(t);
      try {
        await conn.waitForText(`${nick}: ${plain}`, { after: at, timeoutMs: t.timing.stepMs });
      } catch {
        const sentOtherwise = Buffer.from(conn.stream().subarray(at)).includes(plain);
        t.fail({
          requirement: 'CLIENT-INPUT-1',
          message: sentOtherwise
            ? `after a line with "é", the next (plain ASCII) line was sent, but not as "${nick}: <text>" in one message`
            : 'after a line with "é", the next (plain ASCII) line was never sent: the client stopped sending',
          expected: [`"${nick}: ${plain}"`],
          actual: `${t.tail(conn, at)}; stderr: ${t.stderrTail()}`,
          connection: conn.label,
        });
      }
    },
  },
];
