/**
 * The optional line profile, server side (spec/PROTOCOL.md §8, LINE-1..LINE-3), for both dialects:
 * every message ends with exactly one LF, a line over the dialect's limit is discarded, and the
 * meaning of what a member writes does not depend on chunk boundaries. These cases are judged only
 * when the target is declared to speak the line profile (`chatkit conform --framing line`, §9.1);
 * a run includes them only then (`framing: 'line'`), and a case run anyway without it ends as
 * `skip`, never `pass` or `fail`.
 *
 * Under the line profile meaning does not depend on chunk boundaries, so a member's writes need no
 * pacing (FRAME-6 asks it only where they do); each expectation is still bounded, absences are
 * proven by a later line of the same sender reaching every member (each sender's lines are relayed
 * in order), and only the case's own lines are looked for.
 *
 * @module
 */
import type { DialectName } from '../../src/codec/index.js';
import { NICK_MESSAGE_MAX_BYTES, TILDE_CONTENT_MAX_BYTES } from '../../src/limits.js';
import type { ServerCase } from '../harness/case.js';
import type { Member, ServerCaseContext } from '../harness/context.js';
import { waitForAny } from '../tilde/support.js';
import {
  expectLine,
  expectLineAt,
  expectNoEmptyLine,
  LINE_CASE_TIMEOUT_MS,
  lineJoin,
  lineProfileOnly,
  textOfLineBytes,
  unterminated,
} from './support.js';

/** How many times the limit the long over-long line of the LINE-2 case is. */
const LONG_LINE_LIMITS = 3;

/** Longest line a member may write, counted without its LF (§2.2, §8): NICK any message, tilde content. */
const lineLimit = (dialect: DialectName): number =>
  dialect === 'nick' ? NICK_MESSAGE_MAX_BYTES : TILDE_CONTENT_MAX_BYTES;

/** The requirement of a member's join announcement, and of an ordinary relay, in `t`'s dialect. */
const joinRequirement = (t: ServerCaseContext) => (t.dialect === 'nick' ? 'NICK-JOIN-1' : 'TILDE-JOIN-1');
const relayRequirement = (t: ServerCaseContext) => (t.dialect === 'nick' ? 'NICK-RELAY-1' : 'TILDE-RELAY-1');

/**
 * Waits until every member has `line` as a line of its own after its mark in `marks` (the mark
 * defaults to its join); advances the marks past it.
 */
async function everyoneReceivesLine(
  t: ServerCaseContext,
  members: readonly Member[],
  line: string,
  marks: Map<Member, number>,
  options: { requirement: string; what: string },
): Promise<void> {
  for (const m of members) {
    marks.set(
      m,
      await expectLine(t, m.conn, line, {
        requirement: options.requirement,
        what: options.what,
        after: marks.get(m) ?? m.joinedAt,
      }),
    );
  }
}

/** The line cases of one dialect. */
function lineCases(dialect: DialectName): ServerCase[] {
  const base = {
    kind: 'server',
    dialect,
    level: 'MUST',
    timeoutMs: LINE_CASE_TIMEOUT_MS,
    framing: 'line',
  } as const;
  const limit = lineLimit(dialect);
  const what = dialect === 'nick' ? 'message' : 'content';
  return [
    {
      ...base,
      profile: 'core',
      id: `${dialect}.line.terminated`,
      title:
        dialect === 'nick'
          ? 'under the line profile ends the prompt, every announcement and every relay with exactly one LF, and relays a line sent with CRLF with a single LF'
          : 'under the line profile ends every announcement and every relay with exactly one LF, and relays a line sent with CRLF with a single LF',
      requirements: ['LINE-1'],
      hint: `Under the line profile send every message followed by exactly one "\\n" (send((message + "\\n").encode())); read lines with a buffer, strip a "\\r" before the "\\n", and relay the ${what} with a single "\\n".`,
      async run(t) {
        lineProfileOnly(t);
        const alice = await lineJoin(t, t.nick('alice'), { promptAlone: true });
        const bob = await lineJoin(t, t.nick('bob'), { ending: '\r\n' });
        const members = [alice, bob];
        const marks = new Map<Member, number>([
          [
            alice,
            await expectLine(t, alice.conn, t.joined(bob.nick), {
              requirement: joinRequirement(t),
              what: "an existing member receives the newcomer's join announcement",
              after: alice.joinedAt,
            }),
          ],
        ]);
        const crlfText = t.token('crlf');
        alice.conn.send(`${unterminated(t.line(alice.nick, crlfText))}\r\n`);
        await everyoneReceivesLine(t, members, t.relay(alice.nick, crlfText), marks, {
          requirement: 'LINE-1',
          what: 'a line sent with CRLF is relayed with a single LF, its CR stripped',
        });
        const lfText = t.token('lf');
        await everyoneReceivesLine(t, members, t.say(bob, lfText), marks, {
          requirement: relayRequirement(t),
          what: 'a line sent with LF is relayed with a single LF',
        });
        bob.conn.close();
        const left = t.left(bob.nick);
        if (t.dialect === 'nick') {
          await expectLine(t, alice.conn, left, {
            requirement: 'NICK-LEAVE-1',
            what: 'the remaining member receives the leave announcement',
            after: marks.get(alice) ?? alice.joinedAt,
          });
        } else {
          // The tilde leave announcement is a SHOULD (TILDE-LEAVE-2): judged only when it comes.
          const found = await waitForAny(alice.conn, [unterminated(left)], {
            after: marks.get(alice) ?? alice.joinedAt,
            timeoutMs: t.timing.stepMs,
            what: 'the leave announcement, if any',
          });
          if (found) await expectLineAt(t, alice.conn, left, found.end, 'the leave announcement');
          // No tilde message is empty, so an empty line anywhere is a second terminator.
          for (const m of members) expectNoEmptyLine(t, m.conn, 0, 'every message it received');
        }
      },
    },
    {
      ...base,
      profile: 'core',
      id: `${dialect}.line.chunk-boundaries`,
      title:
        'under the line profile relays two lines written in one write as two messages, and one line written in two writes (with a pause) or byte by byte as one message',
      requirements: ['LINE-3'],
      hint: 'Under the line profile never take one recv() as one message: append what you receive to a buffer, and take out every complete line (up to "\\n"); keep the unfinished rest for the next recv().',
      async run(t) {
        lineProfileOnly(t);
        const alice = await lineJoin(t, t.nick('alice'));
        const bob = await lineJoin(t, t.nick('bob'));
        const members = [alice, bob];
        const marks = new Map<Member, number>();
        const expectEveryone = (line: string, meaning: string) =>
          everyoneReceivesLine(t, members, line, marks, { requirement: 'LINE-3', what: meaning });

        // One write holding a whole line and the first piece of the next.
        const one = t.token('one');
        const two = `${t.token('two')} in two pieces`;
        const head = two.slice(0, Math.floor(two.length / 2));
        alice.conn.send(`${t.line(alice.nick, one)}${unterminated(t.line(alice.nick, head))}`);
        await expectEveryone(
          t.relay(alice.nick, one),
          'a whole line and the start of the next in one write: the whole line is relayed as a message of its own',
        );
        // The pause: the server has read the first write (its first line came back); while the
        // rest of the second line is missing, no piece of it may be relayed as a message.
        await t.expectQuiet(bob.conn, [t.relay(alice.nick, head)], {
          requirement: 'LINE-3',
          what: 'the first piece of a line was relayed as a message before the line ended',
          after: marks.get(bob) ?? bob.joinedAt,
        });
        t.expectAbsent(alice.conn, [t.relay(alice.nick, head)], {
          requirement: 'LINE-3',
          what: 'the first piece of a line was relayed as a message before the line ended',
          after: marks.get(alice) ?? alice.joinedAt,
        });
        alice.conn.send(`${two.slice(head.length)}\n`);
        await expectEveryone(
          t.relay(alice.nick, two),
          'a line written in two pieces, with a pause between them, is relayed as one message',
        );

        // Two whole lines in one write.
        const three = t.token('three');
        const four = t.token('four');
        bob.conn.send(`${t.line(bob.nick, three)}${t.line(bob.nick, four)}`);
        await expectEveryone(t.relay(bob.nick, three), 'two lines in one write: the first is a message of its own');
        await expectEveryone(t.relay(bob.nick, four), 'two lines in one write: the second is a message of its own');

        // One line, one byte per write (not paced: under the line profile that means nothing).
        const five = `${t.token('bytes')} one byte per write`;
        for (const ch of t.line(alice.nick, five)) alice.conn.send(ch);
        await expectEveryone(t.relay(alice.nick, five), 'a line written one byte per write is relayed as one message');
      },
    },
    {
      ...base,
      profile: 'robustness',
      id: `${dialect}.line.too-long`,
      title: `under the line profile discards a line over ${limit} bytes (counted without its LF), relaying no piece of it, keeps the sender connected and relays its next line; a line of exactly ${limit} bytes is relayed`,
      requirements: ['LINE-2'],
      hint: `Under the line profile, when a line grows past ${limit} bytes without "\\n", drop it: throw its bytes away up to and including the next "\\n", then go on with the next line. Count the limit without the "\\n" (and without a "\\r" before it); never close the sender for it and never relay a piece of it.`,
      async run(t) {
        lineProfileOnly(t);
        const alice = await lineJoin(t, t.nick('alice'));
        const bob = await lineJoin(t, t.nick('bob'));
        const members = [alice, bob];
        const start = new Map(members.map((m) => [m, m.conn.stream().length]));
        const marks = new Map(start);
        const overShort = t.token('over');
        const overLong = t.token('over');
        const expectEveryone = (line: string, meaning: string) =>
          everyoneReceivesLine(t, members, line, marks, { requirement: 'LINE-2', what: meaning });

        // One byte over the limit, and the next line in the same write.
        const afterShort = t.token('next');
        alice.conn.send(
          `${t.line(alice.nick, textOfLineBytes(t, alice.nick, overShort, limit + 1))}${t.line(alice.nick, afterShort)}`,
        );
        await expectEveryone(
          t.relay(alice.nick, afterShort),
          `the line after a line of ${limit + 1} bytes (in the same write) is relayed`,
        );

        // Several times the limit, in two writes; nothing of it may be relayed between them.
        const long = t.line(alice.nick, textOfLineBytes(t, alice.nick, overLong, LONG_LINE_LIMITS * limit));
        const cut = Math.floor(long.length / 2);
        alice.conn.send(long.slice(0, cut));
        await t.expectQuiet(bob.conn, [overLong], {
          requirement: 'LINE-2',
          what: 'a piece of an over-long line was relayed while the line was unfinished: a line over the limit is discarded, never cut',
          after: marks.get(bob) ?? bob.joinedAt,
        });
        const afterLong = t.token('next');
        alice.conn.send(`${long.slice(cut)}${t.line(alice.nick, afterLong)}`);
        await expectEveryone(
          t.relay(alice.nick, afterLong),
          `the line after a line of ${LONG_LINE_LIMITS * limit} bytes (written in two pieces) is relayed`,
        );

        // Exactly the limit: not too long.
        const atLimit = textOfLineBytes(t, alice.nick, t.token('limit'), limit);
        alice.conn.send(t.line(alice.nick, atLimit));
        await expectEveryone(
          t.relay(alice.nick, atLimit),
          `a line of exactly ${limit} bytes (counted without its LF) is relayed whole`,
        );

        // Every later line of the same sender has reached every member, so the over-long lines,
        // relayed in order, would be there by now.
        for (const m of members) {
          t.expectAbsent(m.conn, [overShort, overLong], {
            requirement: 'LINE-2',
            what: 'bytes of a line over the limit were relayed, whole or in pieces: such a line is discarded',
            after: start.get(m) ?? m.joinedAt,
          });
        }
      },
    },
  ];
}

/** The line-profile server cases of both dialects. */
export const LINE_CASES: readonly ServerCase[] = [...lineCases('nick'), ...lineCases('tilde')];
