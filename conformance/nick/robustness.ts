/**
 * NICK dialect, robustness (spec/PROTOCOL.md §6): unfinished handshakes, a dead member during a
 * broadcast, a member that stops reading, a broadcast that must not reach later joiners, and fifty
 * members at once. Every case ends by checking that the server still admits and serves a newcomer.
 *
 * @module
 */
import type { ServerCase } from '../harness/case.js';
import type { Member } from '../harness/context.js';
import { FloodWatch } from '../harness/flood.js';
import {
  addressedText,
  asRequirement,
  blockNumbers,
  countOf,
  expectNotAnnounced,
  find,
  flood,
  NICK_SERVER,
  prompted,
  REFUSED_PREFIX,
  scaled,
  sentinel,
  settle,
  show,
  stallBudgetBytes,
} from './support.js';

const robustness = { ...NICK_SERVER, profile: 'robustness' } as const;

/**
 * ROBUST-HANDSHAKE-2 gives no number; the default is 10 s (`SERVER_HANDSHAKE_TIMEOUT_MS`). A
 * server that closes within this bound is taken to have one (scaled with `--timeout-scale`).
 */
export const HANDSHAKE_CLOSE_BOUND_MS = 15_000;
/** Members of the ROBUST-CONC-1 case (the spec's minimum). */
export const CONCURRENT_MEMBERS = 50;
/**
 * Output a server may queue for a member that stopped reading before it SHOULD close it, on top of
 * what the kernel holds ({@link stallBudgetBytes}); the bound itself is the server's choice.
 */
export const SLOW_QUEUE_ALLOWANCE_BYTES = 32 * 1024 * 1024;
/** How much of carol's stream is searched for the last flood block that came back to her. */
const ECHO_TAIL_BYTES = 4096;
/** Budget of the cases that flood. */
const FLOOD_CASE_TIMEOUT_MS = 45_000;

export const NICK_ROBUSTNESS_CASES: readonly ServerCase[] = [
  {
    ...robustness,
    id: 'nick.robust.handshake-nonblocking',
    catches: ['D-NS-3'],
    title: 'admits and serves others while a connection has not answered the prompt',
    requirements: ['ROBUST-HANDSHAKE-1'],
    level: 'MUST',
    hint: 'Do not call recv() for the nickname in the accept loop: start a thread per connection right after accept() and do the whole handshake there.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      await prompted(t, 'silent');
      const why = 'while another connection had not answered the prompt';
      const bob = await asRequirement('ROBUST-HANDSHAKE-1', why, t.join(t.nick('bob')));
      const relay = t.say(alice, t.token('meanwhile'));
      for (const m of [alice, bob]) {
        await t.expectReceives(m.conn, [relay], {
          requirement: 'ROBUST-HANDSHAKE-1',
          what: `${why}, a member receives "${relay}"`,
          after: m.joinedAt,
        });
      }
      await t.expectStillServing('ROBUST-HANDSHAKE-1', 'a connection that did not answer the prompt');
    },
  },
  {
    ...robustness,
    id: 'nick.robust.handshake-timeout',
    catches: ['D-NS-3'],
    title: 'closes a connection that sends no nickname within a bounded time, announcing nothing',
    requirements: ['ROBUST-HANDSHAKE-2', 'NICK-LEAVE-2'],
    level: 'SHOULD',
    hint: 'Before the nickname recv(), call client.settimeout(10); on socket.timeout close the connection (optionally after "Refused: timeout") and announce nothing.',
    timeoutMs: HANDSHAKE_CLOSE_BOUND_MS + 15_000,
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const { conn: silent, at } = await prompted(t, 'silent');
      const mark = alice.conn.stream().length;
      const bound = scaled(t, HANDSHAKE_CLOSE_BOUND_MS);
      await t.expectClosed(silent, {
        requirement: 'ROBUST-HANDSHAKE-2',
        what: `the server closes a connection that sent no nickname (bound ${bound / 1000} s; the spec's default is 10 s)`,
        timeoutMs: bound,
      });
      const rest = silent.stream().subarray(at);
      if (rest.length > 0 && find(rest, REFUSED_PREFIX) !== 0) {
        t.fail({
          requirement: 'NICK-PROMPT-2',
          message:
            'silent: before closing an unfinished handshake the server sent something other than a refusal',
          expected: ['nothing', `${REFUSED_PREFIX}<reason>`],
          actual: t.tail(silent, at),
          connection: silent.label,
        });
      }
      await expectNotAnnounced(t, alice, [mark], [], {
        requirement: 'NICK-LEAVE-2',
        what: 'a connection closed for its unfinished handshake was announced',
      });
      await t.expectStillServing('ROBUST-HANDSHAKE-2', 'closing an unfinished handshake');
    },
  },
  {
    ...robustness,
    id: 'nick.robust.dead-member',
    standsOn: ['nick.leave.reset', 'nick.relay.echo'],
    catches: ['D-NS-2'],
    title:
      'when a write to a dead connection fails, delivers the message to everyone else and keeps the sender',
    requirements: ['ROBUST-DEAD-1', 'NICK-LEAVE-1'],
    level: 'MUST',
    hint: "Wrap each send() of your broadcast loop in its own try/except: on failure remove and announce THAT client, and go on with the next one; never treat it as the sender's error.",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const rudy = await t.join(t.nick('rudy'));
      // A connection that closes right after the prompt. A server that admits it anyway (NICK-LEAVE-2)
      // now holds a member whose socket is dead, with no reader of its own to notice.
      const { conn: ghost } = await prompted(t, 'ghost');
      const mark = alice.conn.stream().length;
      ghost.close();
      await settle(alice.conn.waitFor((s) => s.length > mark, { timeoutMs: t.timing.quietMs }));
      // A member reset just before a message: the server may still write to it.
      rudy.conn.reset();
      const one = t.say(alice, t.token('one'));
      for (const m of [alice, bob]) {
        await t.expectReceives(m.conn, [one], {
          requirement: 'ROBUST-DEAD-1',
          what: `${m === alice ? 'the sender' : 'a member'} receives "${one}" although a member is dead`,
          after: m.joinedAt,
        });
      }
      const two = t.say(alice, t.token('two'));
      for (const m of [alice, bob]) {
        await t.expectReceives(m.conn, [two], {
          requirement: 'ROBUST-DEAD-1',
          what: `${m === alice ? 'the sender is still a member: its next message comes back to it' : `a member receives the sender's next message "${two}"`}`,
          after: m.joinedAt,
        });
      }
      await t.expectReceives(bob.conn, [t.left(rudy.nick)], {
        requirement: 'NICK-LEAVE-1',
        what: `the dead member is announced: "${t.left(rudy.nick)}"`,
        after: bob.joinedAt,
      });
      t.expectAbsent(bob.conn, [t.left(alice.nick)], {
        requirement: 'ROBUST-DEAD-1',
        what: 'the sender was announced as left because a write to another member failed',
        after: bob.joinedAt,
      });
      await t.expectStillServing('ROBUST-DEAD-1', 'a write to a dead member');
    },
  },
  {
    ...robustness,
    id: 'nick.robust.slow-reader',
    standsOn: ['nick.leave.reset', 'nick.relay.echo'],
    catches: ['D-NS-8'],
    title: 'keeps delivering to every other member, and admitting newcomers, while one member reads nothing',
    requirements: ['ROBUST-SLOW-1'],
    level: 'MUST',
    hint: 'Never call a blocking send() to one client from the thread that serves others: give each client an output queue and a writer thread (or non-blocking sockets), so a client that does not read only fills its own queue.',
    timeoutMs: FLOOD_CASE_TIMEOUT_MS,
    async run(t) {
      const fast = await t.join(t.nick('fast'));
      const watch = await t.join(t.nick('watch'));
      const slow = await t.join(t.nick('slow'));
      slow.conn.pauseReading();
      // A server that closes slow (the SHOULD part, judged by nick.robust.slow-reader-closed) has no
      // slow member left to stall on: the flood can stop there.
      const watchers = [new FloodWatch(watch.conn, { needle: t.left(slow.nick) }), new FloodWatch(fast.conn)];
      const result = await flood(t, fast, watchers, {
        budget: stallBudgetBytes(),
        stallMs: t.timing.stepMs,
        until: () => watchers[0]!.found,
      });
      if (result.stop === 'stalled') {
        const w = result.laggard ?? watchers[0]!;
        t.fail({
          requirement: 'ROBUST-SLOW-1',
          message: `while slow read nothing, ${w.conn.label} received only ${w.count} of the ${result.written} bytes fast wrote, and nothing more within ${t.timing.stepMs} ms (held up or lost)`,
          expected: ['every byte fast writes reaches every member that reads, whatever slow does'],
          actual: `${w.count} of ${result.written} bytes; the stream ends "${t.tail(w.conn, Math.max(0, w.conn.stream().length - 120))}"`,
          connection: w.conn.label,
        });
      }
      const why = `while slow read nothing (${result.written} bytes sent its way)`;
      const late = await asRequirement('ROBUST-SLOW-1', why, t.join(t.nick('late')));
      const marks = [fast, late].map((m) => [m, m.conn.stream().length] as const);
      const relay = t.say(watch, t.token('heard'));
      for (const [m, mark] of marks) {
        await t.expectReceives(m.conn, [relay], {
          requirement: 'ROBUST-SLOW-1',
          what: `${why}, a member receives another member's message "${relay}"`,
          after: mark,
        });
      }
      slow.conn.resumeReading();
      await t.expectStillServing('ROBUST-SLOW-1', 'a member that read nothing');
    },
  },
  {
    ...robustness,
    id: 'nick.robust.slow-reader-closed',
    standsOn: ['nick.leave.reset', 'nick.relay.echo'],
    catches: ['D-NS-8'],
    title: 'bounds the output queued for a member that reads nothing, then closes it and announces its leave',
    requirements: ['ROBUST-SLOW-1', 'NICK-LEAVE-1'],
    level: 'SHOULD',
    hint: 'Keep a byte count per client queue; when it passes your limit (e.g. 1 MiB), close that client and broadcast "<nick> left!" as for any other leave.',
    timeoutMs: FLOOD_CASE_TIMEOUT_MS,
    async run(t) {
      const fast = await t.join(t.nick('fast'));
      const watch = await t.join(t.nick('watch'));
      const slow = await t.join(t.nick('slow'));
      const leftSlow = t.left(slow.nick);
      slow.conn.pauseReading();
      const watchers = [new FloodWatch(watch.conn, { needle: leftSlow }), new FloodWatch(fast.conn)];
      const budget = stallBudgetBytes() + SLOW_QUEUE_ALLOWANCE_BYTES;
      const result = await flood(t, fast, watchers, {
        budget,
        stallMs: t.timing.stepMs,
        until: () => watchers[0]!.found,
      });
      if (result.stop !== 'until') {
        const stalled = result.stop === 'stalled';
        t.fail({
          requirement: 'ROBUST-SLOW-1',
          message: stalled
            ? `delivery to ${(result.laggard ?? watchers[0]!).conn.label} stopped after ${result.written} bytes while slow read nothing, and slow was not closed`
            : `slow read nothing while ${result.written} bytes were sent its way, and the server neither closed it nor announced "${leftSlow}"`,
          expected: [`"${leftSlow}" once the server's queue for slow is full (the bound is the server's)`],
          actual: stalled
            ? 'the server stopped delivering'
            : `no "${leftSlow}" after ${result.written} bytes`,
          connection: watch.conn.label,
        });
      }
      slow.conn.resumeReading();
      await t.expectClosed(slow.conn, {
        requirement: 'ROBUST-SLOW-1',
        what: `the server closes slow after announcing "${leftSlow}"`,
      });
      // Delivery goes on after the leave, and the leave was announced once.
      await sentinel(t, watch, [watch, fast], 'ROBUST-SLOW-1');
      for (const m of [watch, fast]) {
        const n = countOf(m.conn.stream(), leftSlow, m.joinedAt);
        if (n !== 1) {
          t.fail({
            requirement: 'NICK-LEAVE-1',
            message: `${m.conn.label}: "${leftSlow}" arrived ${n} times`,
            expected: [`"${leftSlow}" exactly once`],
            actual: `${n} times`,
            connection: m.conn.label,
          });
        }
      }
      await t.expectStillServing('ROBUST-SLOW-1', 'closing a member that read nothing');
    },
  },
  {
    ...robustness,
    id: 'nick.robust.late-joiner',
    standsOn: ['nick.leave.reset'],
    catches: ['D-NS-11'],
    title:
      'delivers a message only to the members of the moment it was read, never to a later joiner (even when a slow member held it up)',
    requirements: ['NICK-RELAY-1', 'NICK-PROMPT-2', 'NICK-JOIN-1'],
    level: 'MUST',
    hint: 'Broadcast to a copy of the client list taken (under a lock) when the message is read, not to the live list, and never block in send() while iterating it.',
    timeoutMs: FLOOD_CASE_TIMEOUT_MS,
    async run(t) {
      const carol = await t.join(t.nick('carol'));
      const zed = await t.join(t.nick('zed'));
      // zed stops reading; carol floods until her own messages stop coming back. carol joined first:
      // a server that broadcasts in join order with a blocking send() and no queue has echoed a chunk
      // to her and hangs at zed with it (D-NS-8). Every chunk that came back to carol was read by the
      // server before bob connects; each 8-byte block of the flood carries its number.
      zed.conn.pauseReading();
      const floodFrom = carol.conn.stream().length;
      const echoes = new FloodWatch(carol.conn, { needle: t.left(zed.nick) });
      await flood(t, carol, [echoes], {
        budget: stallBudgetBytes(),
        stallMs: t.timing.stepMs,
        until: () => echoes.found,
        text: addressedText,
      });
      // Relay keeps carol's order: the last block back at carol is the highest the server has read.
      const tail = carol.conn.stream().length - ECHO_TAIL_BYTES;
      const lastRead = Math.max(-1, ...blockNumbers(carol.conn.stream(), Math.max(floodFrom, tail)));
      const bobNick = t.nick('bob');
      const { conn: bobConn, at } = await prompted(t, 'bob');
      bobConn.send(t.wire(bobNick));
      // A server hung at zed has now taken bob into its list; then zed reads again.
      await bobConn.quiet(t.timing.quietMs);
      zed.conn.resumeReading();
      const joinedAt = await t.expectReceives(bobConn, [t.wire(t.welcome)], {
        requirement: 'NICK-JOIN-2',
        what: `"${t.welcome}" after the nickname ${bobNick}`,
        after: at,
        timeoutMs: 2 * t.timing.stepMs,
      });
      const bob: Member = { conn: bobConn, nick: bobNick, joinedAt };
      await sentinel(t, carol, [carol, bob], 'NICK-RELAY-1');
      const early = blockNumbers(bobConn.stream()).find((n) => n <= lastRead);
      if (early !== undefined) {
        const stream = Buffer.from(bobConn.stream()).toString('latin1');
        const got = stream.indexOf(`#${early.toString(16).padStart(6, '0')} `);
        const own = find(bobConn.stream(), t.joined(bobNick), at);
        const beforeOwn = own === -1 || got < own;
        t.fail({
          requirement: beforeOwn ? 'NICK-PROMPT-2' : 'NICK-RELAY-1',
          message: `bob received bytes of carol's messages that the server had read (and echoed to carol) before bob connected${beforeOwn ? ', even before his own join announcement' : ''}`,
          expected: [
            `"${show(t.joined(bobNick))}", "${t.welcome}", then only messages the server read after bob joined (carol's blocks after #${lastRead.toString(16).padStart(6, '0')})`,
          ],
          actual: `block #${early.toString(16).padStart(6, '0')} in "${show(stream.slice(Math.max(at, got - 60), got + 60))}"`,
          connection: bobConn.label,
        });
      }
      await t.expectStillServing('NICK-RELAY-1', 'a broadcast held up by a member that read nothing');
    },
  },
  {
    ...robustness,
    id: 'nick.robust.many-clients',
    title: `serves ${CONCURRENT_MEMBERS} members at once: each one's message reaches all ${CONCURRENT_MEMBERS}`,
    requirements: ['ROBUST-CONC-1'],
    level: 'MUST',
    hint: 'Do not cap the number of clients below 50 (listen() backlog, thread or select() limits); every client needs its own reader, and broadcast must reach the whole list.',
    // Fifty handshakes one after another, then fifty rounds of fifty deliveries: seconds on a busy
    // machine with a legacy server (Nagle holds each `Connected to server!` for an ACK).
    timeoutMs: 90_000,
    async run(t) {
      // One join at a time: a server may handshake one connection after another (that is judged by
      // nick.robust.handshake-nonblocking), and each join is then bounded on its own.
      const members: Member[] = [];
      for (let i = 0; i < CONCURRENT_MEMBERS; i++) {
        const why = `with ${i} members in`;
        members.push(await asRequirement('ROBUST-CONC-1', why, t.join(t.nick(`m${i}`), `m${i}`)));
      }
      // One sender at a time (§3.7 item 8): each message must reach all 50 before the next.
      for (const [i, sender] of members.entries()) {
        const relay = t.say(sender, t.token(`c${i}`));
        await Promise.all(
          members.map((m) =>
            t.expectReceives(m.conn, [relay], {
              requirement: 'ROBUST-CONC-1',
              what: `with ${CONCURRENT_MEMBERS} members, ${m.conn.label} receives member ${i + 1}'s "${relay}"`,
              after: m.joinedAt,
            }),
          ),
        );
      }
      await t.expectStillServing('ROBUST-CONC-1', `${CONCURRENT_MEMBERS} members`);
    },
  },
];
