/**
 * NICK dialect, the handshake (spec/PROTOCOL.md §4.3): the prompt, nickname checks, `<nick> joined!`
 * and `Connected to server!`. The `core` cases are what the seeds' servers do right; the `robustness`
 * cases are the nicknames a server must (MUST) survive or SHOULD refuse.
 *
 * @module
 */
import type { ServerCase } from '../harness/case.js';
import type { Member } from '../harness/context.js';
import {
  bytes,
  chunkProfileOnly,
  announcementOf,
  concat,
  countOf,
  expectAscii,
  expectNotAnnounced,
  expectRefused,
  NICK_SERVER,
  prompted,
  sentinel,
  settle,
  show,
  tryNickname,
} from './support.js';

const core = { ...NICK_SERVER, profile: 'core' } as const;
const robustness = { ...NICK_SERVER, profile: 'robustness' } as const;

/** `nickname` with one trailing LF or CRLF removed (NICK-NICK-3). */
function withoutLineEnding(nickname: Uint8Array): Uint8Array {
  const n = nickname.length;
  if (n > 0 && nickname[n - 1] === 0x0a)
    return nickname.subarray(0, n > 1 && nickname[n - 2] === 0x0d ? n - 2 : n - 1);
  return nickname;
}

export const NICK_HANDSHAKE_CASES: readonly ServerCase[] = [
  {
    ...core,
    id: 'nick.handshake.prompt',
    title: 'sends the prompt token as the first message on every connection, without waiting for the client',
    requirements: ['NICK-PROMPT-1', 'TRANSPORT-1'],
    level: 'MUST',
    hint: "Right after accept(), send the prompt (`NICK`, or your variant's token) in one send() call, before reading anything.",
    async run(t) {
      const conn = await t.connect('newcomer');
      // Nothing is written: the prompt must come unasked. The stream must START with it.
      const end = await t.expectReceives(conn, [t.wire(t.prompt)], {
        requirement: 'NICK-PROMPT-1',
        what: 'the prompt, unasked',
      });
      if (end !== t.wire(t.prompt).length) {
        t.fail({
          requirement: 'NICK-PROMPT-1',
          message: 'newcomer: the prompt is not the first bytes on the connection',
          expected: [show(t.wire(t.prompt))],
          actual: t.tail(conn),
          connection: conn.label,
        });
      }
    },
  },
  {
    ...core,
    id: 'nick.handshake.prompt-alone',
    title: 'sends nothing but the prompt to a connection that has not sent its nickname, while members chat',
    requirements: ['NICK-PROMPT-2'],
    level: 'MUST',
    hint: 'Add a client to the list you broadcast to only after you have read and accepted its nickname, never at accept().',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const { conn, at } = await prompted(t, 'newcomer');
      const relays: string[] = [];
      for (const text of [t.token('before'), t.token('before')]) {
        const relay = t.say(alice, text);
        relays.push(relay);
        for (const m of [alice, bob]) {
          await t.expectReceives(m.conn, [relay], {
            requirement: 'NICK-RELAY-1',
            what: `a member receives "${relay}"`,
            after: m.joinedAt,
          });
        }
      }
      // The members have both messages; a server that also sent them to the newcomer has done so.
      await conn.quiet(t.timing.quietMs);
      if (conn.stream().length > at) {
        t.fail({
          requirement: 'NICK-PROMPT-2',
          message: 'newcomer: received more than the prompt before sending its nickname',
          expected: [`"${show(t.wire(t.prompt))}" and nothing else`],
          actual: t.tail(conn),
          connection: conn.label,
        });
      }
      const me = t.nick('carol');
      conn.send(t.wire(me));
      await t.expectReceives(conn, [t.wire(t.welcome)], {
        requirement: 'NICK-JOIN-2',
        what: `"${t.welcome}" after the nickname ${me}`,
        after: at,
      });
      t.expectAbsent(conn, relays, {
        requirement: 'NICK-PROMPT-2',
        what: 'the newcomer received chat sent before it joined',
      });
    },
  },
  {
    ...core,
    id: 'nick.join.broadcast',
    title: 'sends `<nick> joined!` to every member, the newcomer included',
    requirements: ['NICK-JOIN-1'],
    level: 'MUST',
    hint: 'After reading the nickname, add the client to your list first, then broadcast "<nick> joined!" to everyone in the list.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bobNick = t.nick('bob');
      const bob = await t.join(bobNick);
      await t.expectReceives(alice.conn, [t.joined(bobNick)], {
        requirement: 'NICK-JOIN-1',
        what: `an existing member receives "${t.joined(bobNick)}"`,
        after: alice.joinedAt,
      });
      await t.expectReceives(bob.conn, [t.joined(bobNick)], {
        requirement: 'NICK-JOIN-1',
        what: `the newcomer receives its own "${t.joined(bobNick)}"`,
      });
    },
  },
  {
    ...core,
    id: 'nick.join.connected',
    title: 'sends `Connected to server!` once, to the newcomer only',
    requirements: ['NICK-JOIN-2'],
    level: 'MUST',
    hint: 'After broadcasting "<nick> joined!", send "Connected to server!" with client.send() to the newcomer only, not with broadcast().',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const me = t.nick('carol');
      const { conn, at } = await prompted(t, me);
      conn.send(t.wire(me));
      const joinedEnd = await t.expectReceives(conn, [t.joined(me)], {
        requirement: 'NICK-JOIN-1',
        what: `its own "${t.joined(me)}"`,
        after: at,
      });
      // Spec 1.0: NICK-JOIN-2 allows `Connected to server!` before the newcomer's own `joined!` (SHOULD after).
      const connectedEnd = await t.expectReceives(conn, [t.wire(t.welcome)], {
        requirement: 'NICK-JOIN-2',
        what: `"${t.welcome}" for the newcomer`,
        after: at,
      });
      const carol: Member = { conn, nick: me, joinedAt: Math.max(joinedEnd, connectedEnd) };
      // Anything the server sent with the join has arrived once both have carol's next message.
      await sentinel(t, carol, [carol, alice], 'NICK-RELAY-1');
      const mine = countOf(conn.stream(), t.welcome);
      if (mine !== 1) {
        t.fail({
          requirement: 'NICK-JOIN-2',
          message: `${me}: "${t.welcome}" arrived ${mine} times`,
          expected: [`"${t.welcome}" exactly once`],
          actual: t.tail(conn),
          connection: conn.label,
        });
      }
      t.expectAbsent(alice.conn, [t.welcome], {
        requirement: 'NICK-JOIN-2',
        what: `an existing member received "${t.welcome}" when someone else joined`,
        after: alice.joinedAt,
      });
    },
  },
  {
    ...robustness,
    id: 'nick.handshake.trailing-newline',
    standsOn: ['nick.join.broadcast', 'nick.join.connected'],
    catches: ['D-NS-7'],
    title: 'admits a nickname sent with one trailing LF or CRLF (an `nc` user) under the nickname without it',
    requirements: ['NICK-NICK-3'],
    level: 'SHOULD',
    hint: 'Before checking the nickname, remove one trailing "\\n" or "\\r\\n": if nick.endswith(b"\\n"): nick = nick[:-1].removesuffix(b"\\r").',
    async run(t) {
      chunkProfileOnly(t, 'under the line profile every nickname ends with LF (LINE-1)');
      const alice = await t.join(t.nick('alice'));
      for (const [base, ending] of [
        ['carol', '\n'],
        ['dave', '\r\n'],
      ] as const) {
        const me = t.nick(base);
        const mark = alice.conn.stream().length;
        const attempt = await tryNickname(t, me, `${me}${ending}`);
        if (attempt.outcome !== 'admitted') {
          t.fail({
            requirement: 'NICK-NICK-3',
            message: `${me}: the nickname "${show(me + ending)}" was ${attempt.outcome === 'closed' ? 'refused' : 'neither admitted nor refused'}`,
            expected: [`admitted as "${me}": "${show(t.joined(me))}" then "${t.welcome}"`],
            actual: t.tail(attempt.conn),
            connection: attempt.conn.label,
          });
        }
        // Either order of the two handshake messages is allowed (NICK-JOIN-2), so its own announcement may follow.
        await t.expectReceives(attempt.conn, [t.joined(me)], {
          requirement: 'NICK-NICK-3',
          what: `announced as "${me}", without the line ending, to itself`,
          after: attempt.at,
        });
        await t.expectReceives(alice.conn, [t.joined(me)], {
          requirement: 'NICK-NICK-3',
          what: `a member receives "${t.joined(me)}" for the nickname "${show(me + ending)}"`,
          after: mark,
        });
      }
    },
  },
  {
    ...robustness,
    id: 'nick.handshake.invalid-nick',
    catches: ['D-NS-7'],
    timeoutMs: 45_000,
    title:
      'refuses invalid nicknames (`:`, space, TAB, control byte, over 32 bytes, empty after the LF, not ASCII) and announces none',
    requirements: ['NICK-NICK-3'],
    level: 'SHOULD',
    hint: 'Check the nickname before adding the client: 1-32 bytes, each between 0x21 and 0x7E, no ":"; otherwise send "Refused: <reason>", close the socket and announce nothing.',
    async run(t) {
      chunkProfileOnly(t, 'the line profile frames nicknames by LF (LINE-1)');
      const alice = await t.join(t.nick('alice'));
      const base = t.nick('bad');
      // Non-ASCII last: a server that crashes on it (D-NS-5) is judged by nick.handshake.non-ascii-nick.
      const nicknames: (string | Uint8Array)[] = [
        `${base}:x`,
        `${base} x`,
        `${base}\tx`,
        `${base}\x01`,
        `${base}${'n'.repeat(33 - base.length)}`,
        '\n',
        concat(base, new Uint8Array([0xc3, 0xa9])),
      ];
      const marks: number[] = [];
      const announced: Uint8Array[] = [];
      for (const [i, nickname] of nicknames.entries()) {
        // Nothing of the case's own is in flight: alice's stream is at a message start.
        marks.push(alice.conn.stream().length);
        const attempt = await tryNickname(t, `invalid#${i + 1}`, nickname);
        expectRefused(t, attempt, { requirement: 'NICK-NICK-3', nickname });
        // An announcement could carry the nickname as sent, or with its line ending removed.
        const sent = bytes(nickname);
        for (const name of [sent, withoutLineEnding(sent)].filter((n) => n.length > 0)) {
          announced.push(announcementOf(t, 'joined', name), announcementOf(t, 'left', name));
        }
      }
      await expectNotAnnounced(t, alice, marks, announced, {
        requirement: 'NICK-NICK-3',
        what: 'a refused nickname was announced to the members',
      });
    },
  },
  {
    ...robustness,
    id: 'nick.handshake.duplicate-nick',
    catches: ['D-NS-7'],
    title:
      "refuses a member's nickname (same bytes) without announcing it, and admits a nickname that differs only in case",
    requirements: ['NICK-NICK-4'],
    level: 'SHOULD',
    hint: 'Before adding the client, check (under your lock) whether the nickname is already in your list; if so send "Refused: nickname in use" and close.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const mark = alice.conn.stream().length;
      const attempt = await tryNickname(t, 'duplicate', t.wire(alice.nick));
      // A nickname is only taken while its member is there.
      t.expectStillMember(alice, { requirement: 'NICK-NICK-4', what: 'another connection asked for its nickname' });
      expectRefused(t, attempt, { requirement: 'NICK-NICK-4', nickname: alice.nick });
      await expectNotAnnounced(t, alice, [mark], [t.joined(alice.nick), t.left(alice.nick)], {
        requirement: 'NICK-NICK-4',
        what: `a second "${alice.nick}" was announced to the members`,
      });
      // Comparison is by bytes: ALICE is another nickname.
      const upper = alice.nick.toUpperCase();
      const other = await tryNickname(t, 'upper', t.wire(upper));
      if (other.outcome !== 'admitted') {
        t.fail({
          requirement: 'NICK-NICK-4',
          message: `the nickname "${upper}" was refused, but it differs from "${alice.nick}" (comparison is by bytes)`,
          expected: [`"${show(t.joined(upper))}" then "${t.welcome}"`],
          actual: t.tail(other.conn),
          connection: other.conn.label,
        });
      }
    },
  },
  {
    ...robustness,
    id: 'nick.handshake.non-ascii-nick',
    catches: ['D-NS-5'],
    title: 'survives a nickname that is not ASCII: never sends its bytes, and goes on admitting newcomers',
    requirements: ['ROBUST-BAD-1', 'ENC-NICK-1'],
    level: 'MUST',
    hint: 'Decode the nickname inside try/except (or check every byte < 0x80 first) in the thread that reads it; refuse and close that one connection, and keep accepting others.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const mark = alice.conn.stream().length;
      const { conn, at } = await prompted(t, 'mallory');
      conn.send(concat('caf', new Uint8Array([0xc3, 0xa9]), t.wire('')));
      // Give the server a moment to answer (a refusal, or a wrong announcement); silence is allowed.
      await settle(conn.waitFor((s) => s.length > at, { timeoutMs: t.timing.quietMs }));
      await sentinel(t, alice, [alice], 'ROBUST-BAD-1');
      expectAscii(t, alice.conn, 'ENC-NICK-1', 'a member after a non-ASCII nickname', mark);
      expectAscii(t, conn, 'ENC-NICK-1', 'the connection that sent a non-ASCII nickname', at);
      await t.expectStillServing('ROBUST-BAD-1', 'a nickname that is not ASCII');
    },
  },
];
