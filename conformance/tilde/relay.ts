/**
 * tilde dialect, `robustness` profile: content the server must relay with care (spec/PROTOCOL.md
 * §5.4 TILDE-RELAY-1..3, §3.4 FRAME-4, §6.4 and §6.5): invalid UTF-8, a character split across two
 * writes, unpaced writes, oversize and very large input. These cases write their content without
 * pacing or in deliberate pieces, so they judge relays as a sequence: any relays from the sender
 * whose contents join to what was sent, each of whole characters (§3.7 item 1).
 *
 * @module
 */
import { concatBytes } from '../../src/codec/text.js';
import type { ServerCase } from '../harness/case.js';
import type { ServerCaseContext } from '../harness/context.js';
import {
  CONTENT_MAX_BYTES,
  expectRelayedContent,
  expectValidUtf8,
  show,
  utf8,
  waitForAny,
} from './support.js';

const tilde = { kind: 'server', dialect: 'tilde', profile: 'robustness' } as const;

/**
 * Bytes of the large-input case: 32 times a legacy receive buffer, so a server that waits for a
 * delimiter or the end of the input shows it; small enough that the relays to members that read
 * fit in loopback's kernel buffers, so that no server's bound on queued output (ROBUST-SLOW-1,
 * implementation-defined) can take a member that reads for a slow one.
 */
const LARGE_INPUT_BYTES = 64 * 1024;

const never = new Promise<never>(() => {});

/** These cases write raw chunks; under the line profile content is lines, judged by the LINE cases. */
function chunkProfileOnly(t: ServerCaseContext): void {
  if (t.framing === 'line')
    t.skip('this case writes raw chunks; under the line profile content is judged per line (§8)');
}

/**
 * Content of 4000 bytes in which byte 2015 falls inside a character (a cut at 2015 splits `中`)
 * and byte 2048 is a character boundary (a legacy `recv(2048)` reads 2048 whole bytes).
 */
function oversizeContent(head: string): Uint8Array {
  let text = head + 'o'.repeat(2014 - utf8(head).length); // bytes 0..2013
  text += '\u4e2d'; // bytes 2014..2016
  text += 'o'.repeat(2048 - 2017); // up to byte 2047
  text += '\u{1f30d}\u00e9'.repeat(325); // 1950 bytes
  text += 'ok';
  return utf8(text);
}

export const TILDE_RELAY_CASES: readonly ServerCase[] = [
  {
    ...tilde,
    id: 'tilde.relay.invalid-utf8',
    catches: ['D-TS-5'],
    title:
      "never relays invalid UTF-8: the sender is closed (announced as a leave) or only the bad chunk is dropped, and the sender's later messages are still relayed",
    requirements: ['TILDE-RELAY-2', 'ENC-TILDE-1', 'TILDE-RELAY-1', 'ROBUST-BAD-1'],
    level: 'MUST',
    hint: "Wrap data.decode('utf-8') in try/except UnicodeDecodeError: relay nothing of that chunk, then close the sender and announce its leave (or drop just that chunk and keep reading); never let the thread die with the client still listed.",
    async run(t) {
      chunkProfileOnly(t);
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const marks = { alice: alice.conn.stream().length, bob: bob.joinedAt };
      alice.conn.send(concatBytes([utf8(`${t.token('bad')} caf`), new Uint8Array([0xff]), utf8(' end')]));
      // A sentinel from the same sender, after a quiet gap so it cannot share a chunk with the bad bytes.
      await alice.conn.quiet(t.timing.quietMs);
      const left = t.left(alice.nick);
      let end: number | undefined;
      if (!alice.conn.closed) {
        const sentinel = t.say(alice, t.token('sentinel'));
        const outcome = await Promise.race([
          waitForAny(bob.conn, [sentinel, left], {
            after: marks.bob,
            timeoutMs: t.timing.stepMs,
            what: "alice's sentinel or her leave",
          }),
          alice.conn.waitForClose({ timeoutMs: t.timing.stepMs }).then(
            () => 'closed' as const,
            () => never,
          ),
        ]);
        if (outcome === undefined) {
          t.fail({
            requirement: 'TILDE-RELAY-1',
            message:
              'after alice sent invalid UTF-8, she is still connected but her next message was never relayed: the server stopped reading her without closing her (a muted member)',
            expected: [
              `alice is closed, and bob receives "${left}" (or nothing more from her)`,
              `alice is kept: bob receives "${sentinel}" and nothing of the bad chunk`,
            ],
            actual: `bob received: "${t.tail(bob.conn, marks.bob)}"; alice is still open`,
            connection: bob.conn.label,
          });
        } else if (outcome !== 'closed') end = outcome.end;
      }
      if (end === undefined) {
        // Alice was closed: her leave announcement (a SHOULD) is the observed effect, else a quiet window.
        const found = await waitForAny(bob.conn, [left], {
          after: marks.bob,
          timeoutMs: t.timing.quietMs,
          what: "alice's leave",
        });
        end = found?.end ?? bob.conn.stream().length;
      }
      expectValidUtf8(
        t,
        bob.conn,
        { after: marks.bob, before: end },
        {
          requirement: 'TILDE-RELAY-2',
          what: 'another member received the invalid bytes',
        },
      );
      expectValidUtf8(
        t,
        alice.conn,
        { after: marks.alice },
        {
          requirement: 'TILDE-RELAY-2',
          what: 'the sender received its invalid bytes back',
        },
      );
      await t.expectStillServing('ROBUST-BAD-1', 'invalid UTF-8 from a member');
    },
  },
  {
    ...tilde,
    id: 'tilde.relay.split-character',
    standsOn: ['tilde.relay.echo'],
    catches: ['D-TS-5'],
    title:
      'holds back a character split across two writes and relays it whole: relays whose contents join to the text, never an incomplete character',
    requirements: ['FRAME-4', 'TILDE-RELAY-2', 'ENC-TILDE-1'],
    level: 'MUST',
    hint: "Keep the bytes of an unfinished character at the end of a chunk (at most 3) and put them before the next chunk; in Python: codecs.getincrementaldecoder('utf-8')().decode(data) instead of data.decode('utf-8').",
    async run(t) {
      chunkProfileOnly(t);
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const texts = [
        { text: `${t.token('split')} h\u00e9llo`, char: '\u00e9', keep: 1 }, // `h\xc3` | `\xa9llo`
        { text: `${t.token('split')} \u{1f30d}!`, char: '\u{1f30d}', keep: 2 }, // `\xf0\x9f` | `\x8c\x8d!`
      ];
      for (const { text, char, keep } of texts) {
        const content = utf8(text);
        const cut = utf8(text.slice(0, text.indexOf(char))).length + keep;
        const marks = [alice.conn.stream().length, bob.conn.stream().length];
        alice.conn.send(content.subarray(0, cut));
        // Long enough for the server to read the first piece on its own (so it must hold it back).
        await alice.conn.quiet(t.timing.quietMs);
        if (alice.conn.closed) {
          t.fail({
            requirement: 'FRAME-4',
            message: `the server closed alice after "${show(content.subarray(0, cut))}": a chunk that ends inside a character is not invalid, its end must be held back`,
            expected: ['alice stays connected and the character is completed by the next write'],
            actual: `alice closed (${alice.conn.closeKind})`,
            connection: alice.conn.label,
          });
        }
        alice.conn.send(content.subarray(cut));
        for (const [i, m] of [alice, bob].entries()) {
          await expectRelayedContent(t, m.conn, alice.nick, content, {
            requirement: 'FRAME-4',
            pieceRequirement: 'TILDE-RELAY-2',
            what: `${m === alice ? 'the sender' : 'another member'} receives "${show(content)}" written as "${show(content.subarray(0, cut))}" then "${show(content.subarray(cut))}"`,
            after: marks[i]!,
          });
        }
      }
      await t.expectStillServing('FRAME-4', 'a character split across two writes');
    },
  },
  {
    ...tilde,
    id: 'tilde.relay.unpaced-writes',
    standsOn: ['tilde.relay.echo', 'tilde.relay.all'],
    title:
      'relays three writes sent back to back (which may reach the server as one chunk) with every byte, in order',
    requirements: ['FRAME-4', 'TILDE-RELAY-1'],
    level: 'MUST',
    hint: 'Relay every byte recv() returns, however many messages it holds; never assume one recv() is one message or drop what follows the first.',
    async run(t) {
      chunkProfileOnly(t);
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const parts = [t.token('one'), ` ${t.token('two')}`, ` ${t.token('three')}`];
      const content = utf8(parts.join(''));
      const marks = [alice.conn.stream().length, bob.conn.stream().length];
      for (const part of parts) alice.conn.send(part);
      for (const [i, m] of [alice, bob].entries()) {
        await expectRelayedContent(t, m.conn, alice.nick, content, {
          requirement: 'FRAME-4',
          what: `${m === alice ? 'the sender' : 'another member'} receives every byte of three unpaced writes, in order`,
          after: marks[i]!,
        });
      }
    },
  },
  {
    ...tilde,
    id: 'tilde.relay.oversize',
    standsOn: ['tilde.relay.echo', 'tilde.relay.all'],
    catches: ['D-TS-7'],
    title:
      'relays content over 2015 bytes as several relays of at most 2015 bytes each, cut at character boundaries, whose contents join to the original',
    requirements: ['TILDE-RELAY-3', 'TRANSPORT-3', 'TILDE-RELAY-2'],
    level: 'MUST',
    hint: "Cut each chunk into pieces of at most 2015 bytes, moving each cut back to the start of a character (while data[cut] & 0xC0 == 0x80: cut -= 1), and send username + '~' + piece for each; recv(2048) alone gives 2048-byte pieces, too long for a legacy client.",
    async run(t) {
      chunkProfileOnly(t);
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const content = oversizeContent(`${t.token('big')} `);
      const marks = [alice.conn.stream().length, bob.conn.stream().length];
      alice.conn.send(content);
      for (const [i, m] of [alice, bob].entries()) {
        await expectRelayedContent(t, m.conn, alice.nick, content, {
          requirement: 'TILDE-RELAY-3',
          pieceRequirement: 'TILDE-RELAY-3',
          what: `${m === alice ? 'the sender' : 'another member'} receives all ${content.length} bytes in relays of at most ${CONTENT_MAX_BYTES}`,
          after: marks[i]!,
          maxPieceBytes: CONTENT_MAX_BYTES,
        });
      }
      await t.expectStillServing('TILDE-RELAY-3', 'an oversize chunk');
    },
  },
  {
    ...tilde,
    id: 'tilde.relay.large-input',
    standsOn: ['tilde.relay.echo', 'tilde.relay.all'],
    title:
      'relays 64 KiB written at once without a line break as it reads it, holding back at most an unfinished last message (FRAME-4)',
    requirements: ['ROBUST-SIZE-1', 'TILDE-RELAY-1'],
    level: 'MUST',
    hint: 'Relay each chunk as soon as recv() returns it; never collect input until a newline or the end of the connection (the protocol has no delimiter).',
    timeoutMs: 30_000,
    async run(t) {
      chunkProfileOnly(t);
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const head = `${t.token('large')} `;
      const filler = 'the quick brown fox jumps over the lazy dog 0123456789 ';
      const text = head + filler.repeat(Math.ceil(LARGE_INPUT_BYTES / filler.length));
      const content = utf8(text).subarray(0, LARGE_INPUT_BYTES);
      const marks = new Map([alice, bob].map((m) => [m, m.conn.stream().length]));
      alice.conn.send(content);
      for (const m of [bob, alice]) {
        await expectRelayedContent(t, m.conn, alice.nick, content, {
          requirement: 'ROBUST-SIZE-1',
          what: `${m === alice ? 'the sender' : 'another member'} receives all ${content.length} bytes`,
          after: marks.get(m)!,
          timeoutMs: 2 * t.timing.stepMs,
        });
      }
    },
  },
];
