/**
 * NICK dialect, leaving (spec/PROTOCOL.md §4.5, §6.1): a member's end, by reset or EOF, is announced
 * once, under its own nickname, to the remaining members; a connection that ends during its handshake
 * is never announced, and the server goes on serving.
 *
 * @module
 */
import type { ServerCase } from '../harness/case.js';
import type { Member, ServerCaseContext } from '../harness/context.js';
import {
  countOf,
  expectNotAnnounced,
  find,
  NICK_SERVER,
  prompted,
  sentinel,
  settle,
} from './support.js';

const core = { ...NICK_SERVER, profile: 'core' } as const;
const robustness = { ...NICK_SERVER, profile: 'robustness' } as const;

/** Fails unless `leaver`'s leave was announced exactly once on each observer's stream (after a sentinel). */
async function expectAnnouncedOnce(
  t: ServerCaseContext,
  leaver: Member,
  observers: readonly Member[],
): Promise<void> {
  const [speaker] = observers;
  if (speaker === undefined) return;
  await sentinel(t, speaker, observers, 'NICK-LEAVE-1');
  for (const m of observers) {
    const n = countOf(m.conn.stream(), t.left(leaver.nick), m.joinedAt);
    if (n !== 1) {
      t.fail({
        requirement: 'NICK-LEAVE-1',
        message: `${m.conn.label}: "${t.left(leaver.nick)}" arrived ${n} times`,
        expected: [`"${t.left(leaver.nick)}" exactly once`],
        actual: t.tail(m.conn, m.joinedAt),
        connection: m.conn.label,
      });
    }
  }
}

export const NICK_LEAVE_CASES: readonly ServerCase[] = [
  {
    ...core,
    id: 'nick.leave.reset',
    title: "sends `<nick> left!` once to the remaining members when a member's connection is reset",
    requirements: ['NICK-LEAVE-1', 'ROBUST-RESET-1'],
    level: 'MUST',
    hint: 'When recv() raises (connection reset), remove the client from your lists, close it and broadcast "<nick> left!" once.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      bob.conn.reset();
      await t.expectReceives(alice.conn, [t.left(bob.nick)], {
        requirement: 'NICK-LEAVE-1',
        what: `the remaining member receives "${t.left(bob.nick)}" after bob's reset`,
        after: alice.joinedAt,
      });
      await expectAnnouncedOnce(t, bob, [alice]);
    },
  },
  {
    ...robustness,
    id: 'nick.leave.eof',
    standsOn: ['nick.leave.reset'],
    catches: ['D-NS-1'],
    title:
      'on EOF from a member, closes it and promptly sends `<nick> left!` once to the remaining members only',
    requirements: ['NICK-LEAVE-1', 'ROBUST-EOF-1'],
    level: 'MUST',
    hint: 'recv() returning b"" means the client closed: treat it like an error (remove, close, broadcast "<nick> left!") and leave the loop; never relay b"".',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      // A FIN: bob keeps reading, so anything still sent to him is seen.
      bob.conn.end();
      for (const m of [alice, carol]) {
        await t.expectReceives(m.conn, [t.left(bob.nick)], {
          requirement: 'NICK-LEAVE-1',
          what: `a remaining member receives "${t.left(bob.nick)}" promptly after bob's EOF`,
          after: m.joinedAt,
        });
      }
      await t.expectClosed(bob.conn, {
        requirement: 'ROBUST-EOF-1',
        what: 'the server closes the connection of a member that sent EOF',
      });
      // The room goes on: two paced messages reach every remaining member (§6.1).
      await sentinel(t, alice, [alice, carol], 'ROBUST-EOF-1');
      await expectAnnouncedOnce(t, bob, [alice, carol]);
      t.expectAbsent(bob.conn, [t.left(bob.nick)], {
        requirement: 'NICK-LEAVE-1',
        what: 'the leaver received its own leave announcement: it goes to the remaining members only',
        after: bob.joinedAt,
      });
    },
  },
  {
    ...robustness,
    id: 'nick.leave.handshake-eof',
    catches: ['D-NS-4'],
    title:
      'announces nothing for a connection that sends EOF before its nickname, closes it, and goes on serving',
    requirements: ['NICK-LEAVE-2', 'ROBUST-EOF-1'],
    level: 'MUST',
    hint: 'If the first recv() (the nickname) returns b"", close that socket and go back to accept(); never add it to the lists or broadcast "<nick> joined!".',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const { conn: ghost, at } = await prompted(t, 'ghost');
      const mark = alice.conn.stream().length;
      ghost.end();
      // Either the server closes the ghost, or it (wrongly) announces something: both settle it.
      await Promise.race([
        settle(ghost.waitForClose({ timeoutMs: t.timing.stepMs })),
        settle(alice.conn.waitFor((s) => s.length > mark, { timeoutMs: t.timing.stepMs })),
      ]);
      t.expectAbsent(ghost, [t.announcement('joined', ''), t.welcome], {
        requirement: 'NICK-LEAVE-2',
        what: 'a connection that ended before sending a nickname was admitted',
        after: at,
      });
      await expectNotAnnounced(t, alice, [mark], [], {
        requirement: 'NICK-LEAVE-2',
        what: 'a connection that ended before sending a nickname was announced',
      });
      await t.expectClosed(ghost, {
        requirement: 'ROBUST-EOF-1',
        what: 'the server closes a connection that sent EOF during its handshake',
      });
      await t.expectStillServing('ROBUST-EOF-1', 'a connection that sent EOF during its handshake');
    },
  },
  {
    ...robustness,
    id: 'nick.leave.handshake-reset',
    catches: ['D-NS-9'],
    title: 'announces nothing for a connection reset before its nickname, and goes on serving',
    requirements: ['NICK-LEAVE-2', 'ROBUST-RESET-1'],
    level: 'MUST',
    hint: 'Wrap the nickname recv() in try/except OSError: on a reset close that socket and go back to accept(); an exception there must not end your accept loop.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const { conn: rude } = await prompted(t, 'rude');
      const mark = alice.conn.stream().length;
      rude.reset();
      await expectNotAnnounced(t, alice, [mark], [], {
        requirement: 'NICK-LEAVE-2',
        what: 'a connection reset before sending a nickname was announced',
      });
      await t.expectStillServing('ROBUST-RESET-1', 'a connection reset during its handshake');
    },
  },
  {
    ...robustness,
    id: 'nick.leave.wrong-name',
    standsOn: ['nick.leave.reset'],
    catches: ['D-NS-10'],
    title:
      "announces each leave under the leaver's own nickname, even after a second member with the same nickname left",
    requirements: ['NICK-LEAVE-1'],
    level: 'MUST',
    hint: "Keep the nickname with its socket (a dict socket -> nickname, or an object per client) and announce the leaver's own entry; never nicknames.remove(nickname) or look it up by index in a second list.",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bobNick = t.nick('bob');
      const bob = await t.join(bobNick, 'bob#1');
      const yann = await t.join(t.nick('yann'));
      // A second "bob". A server SHOULD refuse it (NICK-NICK-4, judged elsewhere); one that admits
      // it must still tell the two apart when they leave.
      let mark = alice.conn.stream().length;
      const { conn: twin, at } = await prompted(t, 'bob#2');
      twin.send(t.wire(bobNick));
      await settle(twin.waitFor((s) => find(s, t.welcome, at) !== -1, { timeoutMs: t.timing.stepMs }));
      if (find(twin.stream(), t.welcome, at) !== -1) {
        twin.reset();
        await t.expectReceives(alice.conn, [t.left(bobNick)], {
          requirement: 'NICK-LEAVE-1',
          what: `"${t.left(bobNick)}" after the second ${bobNick} was reset`,
          after: mark,
        });
        await sentinel(t, alice, [alice], 'NICK-LEAVE-1');
      }
      const leaves = [t.left(yann.nick), t.left(bobNick)];
      for (const [leaver, others] of [
        [yann, [bob]],
        [bob, [yann]],
      ] as const) {
        mark = alice.conn.stream().length;
        leaver.conn.reset();
        const own = t.left(leaver.nick);
        const end = await t.expectReceives(alice.conn, leaves, {
          requirement: 'NICK-LEAVE-1',
          what: `a leave announcement after ${leaver.conn.label} was reset`,
          after: mark,
        });
        const got = alice.conn.stream().subarray(mark, end);
        if (find(got, own) === -1) {
          t.fail({
            requirement: 'NICK-LEAVE-1',
            message: `alice: ${leaver.conn.label} (${leaver.nick}) left, but the server announced another member's nickname, and ${others.map((o) => o.nick).join(', ')} is still there`,
            expected: [`"${own}"`],
            actual: t.tail(alice.conn, mark),
            connection: alice.conn.label,
          });
        }
        await sentinel(t, alice, [alice], 'NICK-LEAVE-1');
      }
      t.expectAbsent(alice.conn, [t.left(alice.nick)], {
        requirement: 'NICK-LEAVE-1',
        what: 'a member that is still there was announced as left',
        after: alice.joinedAt,
      });
    },
  },
];
