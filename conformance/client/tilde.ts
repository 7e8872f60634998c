/**
 * tilde dialect, `client` profile: cases that judge a tilde client program (spec/PROTOCOL.md §5.3,
 * §5.4, §5.6, §3.4 and §7). chatkit plays the server; the person at the client types the username
 * first, then one message per line, each once the previous one came back. A GUI client is judged
 * through a headless twin (`tilde_client.py` for the seed's Tk client).
 *
 * A case that the seed's `tilde_client.py` fails names the Annex A.4 defect that makes it fail in
 * its `catches` (test/conformance/client-verdicts.int.test.ts pins the verdicts).
 */
import type { ClientCase } from '../harness/case.js';
import { isValidUsername } from '../harness/client-context.js';
import {
  clientCase,
  connected,
  joined,
  judgeConnectFailureReported,
  judgeExitsWhenInputEnds,
  judgeKeepsGoingAfterBadBytes,
  judgeNameNotSent,
  judgeOneWriteEach,
  sendLater,
  sleep,
  withBytes,
} from './judge.js';

const client = clientCase('tilde');

/** The tilde client cases, in report order (handshake, messages, display, robustness, input). */
export const TILDE_CLIENT_CASES: readonly ClientCase[] = [
  {
    ...client,
    id: 'tilde.client.username-first',
    title: 'writes its username first, exactly, and nothing else before its own `added`',
    requirements: ['TILDE-USER-1'],
    level: 'MUST',
    hint: 'Right after connect(), sendall(username.encode()) once (no newline), then only recv() until "SERVER~<username> added to the chat" arrives.',
    async run(t) {
      const { name: user, conn } = await connected(t, 'TILDE-USER-1');
      const at = await t.expectExactly(conn, user, {
        requirement: 'TILDE-USER-1',
        what: `the first write is the username "${user}", without a terminator`,
        after: 0,
      });
      await t.expectNothingSent(conn, {
        requirement: 'TILDE-USER-1',
        what: 'after its username the client waits for the server (nothing was typed)',
        after: at,
      });
    },
  },
  {
    ...client,
    id: 'tilde.client.one-write',
    title: 'writes its username and each message with one write (judged on recv boundaries)',
    requirements: ['FRAME-2', 'TILDE-USER-1', 'TILDE-MSG-1'],
    level: 'SHOULD',
    hint: 'Encode the whole message, then call sendall() once per message: never split it across several send() calls.',
    async run(t) {
      await judgeOneWriteEach(t, {
        requirement: 'TILDE-USER-1',
        what: { name: 'the username', message: 'message' },
      });
    },
  },
  {
    ...client,
    id: 'tilde.client.content-format',
    title: 'sends each typed line as its UTF-8 content, exactly, `~` and non-ASCII included',
    requirements: ['TILDE-MSG-1'],
    level: 'MUST',
    hint: 'Send line.encode("utf-8") in one sendall(), without a newline and without any prefix (the server adds "<user>~").',
    async run(t) {
      const { name: user, conn, at } = await joined(t, 'TILDE-USER-1');
      const one = t.token('one');
      const next = await t.say(conn, user, `${one} caf\u00e9 ~ 5\u20ac`, at, one);
      await t.say(conn, user, `plain ${t.token('two')}`, next);
    },
  },
  {
    ...client,
    id: 'tilde.client.content-waits-for-added',
    title: 'keeps a line typed ahead until its own `SERVER~<user> added to the chat` arrives',
    requirements: ['TILDE-MSG-1', 'TILDE-USER-1'],
    level: 'MUST',
    catches: ['D-TC-7'],
    hint: 'Send messages only after "SERVER~<username> added to the chat" was received: e.g. a threading.Event set by the receive loop, which the send code waits for.',
    async run(t) {
      const text = `early ${t.token('ahead')}`;
      // The person types the username and a message at once.
      const { name: user, conn } = await connected(t, 'TILDE-MSG-1', text);
      const at = await t.expectExactly(conn, user, {
        requirement: 'TILDE-MSG-1',
        what: `the first write is the username "${user}" alone; the typed-ahead message waits`,
        after: 0,
      });
      await t.expectNothingSent(conn, {
        requirement: 'TILDE-MSG-1',
        what: `before "SERVER~${user} added to the chat", the typed-ahead message is not sent`,
        after: at,
      });
      conn.send(`SERVER~${user} added to the chat`);
      // Sending it now is right; a client that drops typed-ahead lines breaks no requirement judged here.
      await conn.waitForText(text, { after: at, timeoutMs: t.timing.stepMs }).catch(() => undefined);
    },
  },
  {
    ...client,
    id: 'tilde.client.username-empty',
    title: 'given an empty username, sends nothing in its place (not the next line typed)',
    requirements: ['TILDE-USER-1', 'TILDE-USER-2', 'TILDE-MSG-1'],
    level: 'MUST',
    catches: ['D-TC-6'],
    hint: 'Check the username before connecting and before starting the receive thread: if it is empty (or invalid), show why and ask again; never send a message as the first write.',
    async run(t) {
      await judgeNameNotSent(t, {
        typed: '',
        // A message line that is no valid username: a re-asking client must refuse it too.
        next: `hi~there ${t.token('next')}`,
        requirement: 'TILDE-USER-1',
        valid: isValidUsername,
        what: 'an empty username',
      });
    },
  },
  {
    ...client,
    id: 'tilde.client.username-invalid',
    title: 'given a username with `~` (`a~b`), does not send it',
    requirements: ['TILDE-USER-2'],
    level: 'MUST',
    catches: ['D-TC-6'],
    hint: 'Check the username before connecting: 1-32 bytes of UTF-8, no "~", no control character, not "SERVER"; if it is invalid, show why and ask again.',
    async run(t) {
      await judgeNameNotSent(t, {
        typed: 'a~b',
        next: t.nick('retry'),
        requirement: 'TILDE-USER-2',
        valid: isValidUsername,
        what: 'the username "a~b"',
      });
    },
  },
  {
    ...client,
    id: 'tilde.client.display-first-tilde',
    title: 'displays `<user>~<content>` split at the first `~` only: `bob~a~b` as `[bob] a~b`',
    requirements: ['TILDE-DISPLAY-1'],
    level: 'MUST',
    catches: ['D-TC-1'],
    hint: "Split once: user, content = message.split('~', 1) (not message.split('~')[1]), then show f'[{user}] {content}'.",
    async run(t) {
      const { conn } = await joined(t, 'TILDE-USER-1');
      const bob = t.nick('bob');
      const content = `a~b ~ ${t.token('tilde')}`;
      conn.send(`${bob}~${content}`);
      const later = await sendLater(t, conn, bob);
      await t.expectShown(`[${bob}] ${content}`, {
        requirement: 'TILDE-DISPLAY-1',
        what: `"${bob}~${content}" is displayed with its whole content`,
        unless: later,
      });
    },
  },
  {
    ...client,
    id: 'tilde.client.display-no-separator',
    title: 'displays a message without `~` as it is and keeps running',
    requirements: ['TILDE-DISPLAY-1'],
    level: 'MUST',
    catches: ['D-TC-2'],
    hint: "Handle a message without '~': if '~' not in message, show it as it is (no [user] part) instead of indexing split('~')[1], which raises IndexError and ends the receive thread.",
    async run(t) {
      const { conn } = await joined(t, 'TILDE-USER-1');
      const plain = `no separator ${t.token('plain')}`;
      conn.send(plain);
      const later = await sendLater(t, conn, t.nick('bob'));
      await t.expectShown(plain, {
        requirement: 'TILDE-DISPLAY-1',
        what: `the message "${plain}" (no "~") is displayed as it is`,
        unless: later,
      });
      await t.expectShown(later, {
        requirement: 'TILDE-DISPLAY-1',
        what: 'a later message is still displayed (the client did not crash)',
      });
    },
  },
  {
    ...client,
    id: 'tilde.client.merged-relays',
    title: 'loses nothing when two relays arrive as one chunk: `a~hib~yo` is shown as `[a] hib~yo`',
    requirements: ['FRAME-4', 'TILDE-DISPLAY-1'],
    level: 'MUST',
    catches: ['D-TC-4'],
    hint: "Split each received chunk once, at its first '~' (message.split('~', 1)), so the rest of a merged chunk stays in the content instead of being dropped.",
    async run(t) {
      const { conn } = await joined(t, 'TILDE-USER-1');
      const amy = t.nick('amy');
      const ben = t.nick('ben');
      const rest = `hi ${t.token('one')}${ben}~yo ${t.token('two')}`;
      // One write stands for two relays that TCP merged into one chunk (FRAME-5).
      conn.send(`${amy}~${rest}`);
      const later = await sendLater(t, conn, amy);
      await t.expectShown(`[${amy}] ${rest}`, {
        requirement: 'FRAME-4',
        what: 'the merged chunk is displayed whole, split at its first "~" (no byte lost)',
        unless: later,
      });
    },
  },
  {
    ...client,
    id: 'tilde.client.split-character',
    title:
      'joins a character split between two chunks: `bob~caf\\xc3` then `\\xa9 ...` is shown as `[bob] café ...`',
    requirements: ['FRAME-4'],
    level: 'MUST',
    catches: ['D-TC-5'],
    hint: "Do not decode each chunk on its own: keep an incomplete UTF-8 sequence at the end of a chunk and decode it with the next (e.g. codecs.getincrementaldecoder('utf-8')(errors='replace')).",
    async run(t) {
      const { conn } = await joined(t, 'TILDE-USER-1');
      const bob = t.nick('bob');
      const tail = ` ${t.token('split')}`;
      // One relay `bob~café ...` that TCP delivered in two chunks, cut inside the é.
      conn.send(withBytes(`${bob}~caf`, [0xc3]));
      await sleep(t.timing.quietMs);
      conn.send(withBytes('', [0xa9], tail));
      await t.expectShown(`[${bob}] caf\u00e9${tail}`, {
        requirement: 'FRAME-4',
        what: 'the relay whose "é" was split between two chunks is displayed whole',
      });
    },
  },
  {
    ...client,
    id: 'tilde.client.bad-bytes',
    title: 'after a message with invalid UTF-8, stays connected and keeps displaying later messages',
    requirements: ['CLIENT-BYTES-1'],
    level: 'MUST',
    catches: ['D-TC-5'],
    hint: "Decode with data.decode('utf-8', errors='replace') (or catch UnicodeDecodeError) so invalid bytes show as U+FFFD instead of ending the receive thread.",
    async run(t) {
      await judgeKeepsGoingAfterBadBytes(t, {
        requirement: 'TILDE-USER-1',
        bytes: [0xff],
        what: 'invalid UTF-8',
      });
    },
  },
  {
    ...client,
    id: 'tilde.client.eof',
    title: 'when the server closes the connection, reports it and exits or stops, without a busy loop',
    requirements: ['CLIENT-EOF-1'],
    level: 'MUST',
    catches: ['D-TC-3'],
    hint: "In the receive loop, when recv() returns b'' the server has closed: show it once, close the socket and leave the loop (do not `continue` reading).",
    async run(t) {
      const { conn } = await joined(t, 'TILDE-USER-1');
      await t.expectStopsAfterClose(conn, 'CLIENT-EOF-1');
    },
  },
  {
    ...client,
    id: 'tilde.client.input-end',
    title: 'when its input ends, closes its connection and exits',
    requirements: ['CLIENT-EOF-2'],
    level: 'SHOULD',
    catches: ['D-TC-8'],
    hint: 'When the input loop ends (EOFError, or the window closes), close the socket and exit the process (os._exit(0), or make the receive thread a daemon and return from main).',
    async run(t) {
      await judgeExitsWhenInputEnds(t);
    },
  },
  {
    ...client,
    id: 'tilde.client.connect-refused',
    title: 'when its connect is refused, says so on stderr and exits with a non-zero status',
    requirements: ['CLIENT-CONNECT-1'],
    level: 'MUST',
    catches: ['D-TC-9'],
    hint: 'Wrap connect() in try/except OSError: print the error to sys.stderr (a GUI shows a dialog) and sys.exit(1); never print it where chat is shown, and never go on to send on the unconnected socket.',
    async run(t) {
      await judgeConnectFailureReported(t);
    },
  },
  {
    ...client,
    id: 'tilde.client.input-goes-on',
    title: 'refuses an empty line without sending anything, then sends the next line',
    requirements: ['CLIENT-INPUT-1'],
    level: 'SHOULD',
    hint: 'On an empty line, show "Message cannot be empty" and wait for the next line; send nothing for it.',
    async run(t) {
      const { conn, at } = await joined(t, 'TILDE-USER-1');
      t.type('');
      await sleep(t.timing.quietMs);
      const next = `next ${t.token('after')}`;
      t.type(next);
      await t.expectExactly(conn, next, {
        requirement: 'CLIENT-INPUT-1',
        what: `after an empty line (nothing to send), the next line "${next}" is sent, alone`,
        after: at,
      });
    },
  },
];
