/**
 * tilde dialect, `robustness` profile: members that leave (spec/PROTOCOL.md §5.5, and §6.1 and
 * §6.3 for the connection that ends and the members that go on). A member that leaves must be
 * removed at once, its connection closed and never read again, and everyone else must go on
 * hearing every message: after a close, another member sends at least two paced messages, because
 * the first write to a dead peer usually succeeds and only the next one fails (§6.1).
 *
 * @module
 */
import type { ServerCase } from '../harness/case.js';
import type { Member, ServerCaseContext } from '../harness/context.js';
import { expectNoBusyLoop, occurrences } from './support.js';

const tilde = { kind: 'server', dialect: 'tilde', profile: 'robustness' } as const;

/**
 * `sender` says two paced messages and then `other` says one; every member in `hearers` must
 * receive all three. A server that blames a failed write on the sender (D-TS-3) loses them.
 */
async function expectChatGoesOn(
  t: ServerCaseContext,
  sender: Member,
  other: Member,
  hearers: readonly Member[],
  requirement: string,
  why: string,
): Promise<void> {
  const marks = new Map(hearers.map((m) => [m, m.conn.stream().length]));
  const lines: [Member, string][] = [
    [sender, t.token('first')],
    [sender, t.token('second')],
    [other, t.token('third')],
  ];
  for (const [i, [from, text]] of lines.entries()) {
    const relay = t.say(from, text);
    for (const m of hearers) {
      const end = await t.expectReceives(m.conn, [relay], {
        requirement,
        what: `after ${why}, ${m === from ? 'the sender' : 'another member'} receives message ${i + 1} of 3 (from ${from.nick})`,
        after: marks.get(m)!,
      });
      marks.set(m, end);
    }
  }
}

export const TILDE_LEAVE_CASES: readonly ServerCase[] = [
  {
    ...tilde,
    id: 'tilde.leave.eof',
    catches: ['D-TS-1'],
    title:
      'closes the connection of a member that sends EOF, stops reading it (no busy loop), and goes on relaying to the others',
    requirements: ['ROBUST-EOF-1', 'TILDE-LEAVE-1'],
    level: 'MUST',
    hint: "In the client's loop: data = recv(2048); if not data: remove the client from the list, close its socket, announce the leave and return (recv() returning b'' means the client is gone).",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      // Half-close: bob's FIN ends the connection (the protocol has no half-close, §6.1), and bob
      // keeps reading, so he can see the server close its side.
      bob.conn.end();
      await Promise.all([
        expectNoBusyLoop(t, 'ROBUST-EOF-1', "a member's EOF"),
        t.expectClosed(bob.conn, {
          requirement: 'ROBUST-EOF-1',
          what: 'after the member sent EOF (FIN), the server closes its connection',
        }),
      ]);
      await expectChatGoesOn(t, alice, carol, [alice, carol], 'TILDE-LEAVE-1', "bob's EOF");
      await t.expectStillServing('TILDE-LEAVE-1', "a member's EOF");
    },
  },
  {
    ...tilde,
    id: 'tilde.leave.close',
    catches: ['D-TS-1', 'D-TS-3'],
    title:
      'goes on relaying every later message to every remaining member after a member closes its connection',
    requirements: ['TILDE-LEAVE-1', 'ROBUST-DEAD-1', 'ROBUST-EOF-1'],
    level: 'MUST',
    hint: "When recv() returns b'' remove the client from the list before anyone sends again, and wrap each send to one client in try/except so a dead client never stops the loop (or the sender's thread).",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      bob.conn.close();
      await expectChatGoesOn(t, alice, carol, [alice, carol], 'ROBUST-DEAD-1', 'bob closed his connection');
      await t.expectStillServing('TILDE-LEAVE-1', 'a member closed its connection');
    },
  },
  {
    ...tilde,
    id: 'tilde.leave.dead-member',
    catches: ['D-TS-3'],
    title:
      'a member whose connection was reset costs neither the sender its membership nor the others a message (every later message reaches every other member)',
    requirements: ['ROBUST-DEAD-1', 'ROBUST-RESET-1', 'TILDE-LEAVE-1'],
    level: 'MUST',
    hint: 'Catch the exception of each send to one client inside the broadcast loop: remove and close THAT client, then go on with the next one; never let it end the thread of the client whose message you relay. Catch ConnectionResetError in recv() too.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      bob.conn.reset();
      await expectChatGoesOn(t, alice, carol, [alice, carol], 'ROBUST-DEAD-1', "bob's connection was reset");
      await t.expectStillServing('ROBUST-RESET-1', "a member's reset");
    },
  },
  {
    ...tilde,
    id: 'tilde.leave.announce',
    catches: ['D-TS-4'],
    title: 'sends `SERVER~<user> left the chat` exactly once to every remaining member when a member leaves',
    requirements: ['TILDE-LEAVE-2'],
    level: 'SHOULD',
    hint: 'When a client is removed (EOF, reset or any error), send "SERVER~<user> left the chat" once to every client still in the list.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      const marks = [alice.conn.stream().length, carol.conn.stream().length];
      bob.conn.close();
      const left = t.left(bob.nick);
      for (const [i, m] of [alice, carol].entries()) {
        await t.expectReceives(m.conn, [left], {
          requirement: 'TILDE-LEAVE-2',
          what: `a remaining member receives "${left}"`,
          after: marks[i]!,
        });
      }
      await alice.conn.quiet(t.timing.quietMs);
      for (const [i, m] of [alice, carol].entries()) {
        const n = occurrences(m.conn.stream(), left, marks[i]!);
        if (n !== 1) {
          t.fail({
            requirement: 'TILDE-LEAVE-2',
            message: `${m.conn.label}: "${left}" arrived ${n} times`,
            expected: [`"${left}" exactly once`],
            actual: t.tail(m.conn, marks[i]!),
            connection: m.conn.label,
          });
        }
      }
    },
  },
];
