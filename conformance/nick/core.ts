/**
 * NICK dialect, `core` profile: what the seeds' servers do right in an ordinary session
 * (spec/PROTOCOL.md §4.3–§4.5). Each seed NICK server passes every case here.
 */
import type { ServerCase } from '../harness/case.js';

const nick = { kind: 'server', dialect: 'nick', profile: 'core' } as const;

export const NICK_CORE_CASES: readonly ServerCase[] = [
  {
    ...nick,
    id: 'nick.handshake.prompt',
    title: 'sends the prompt token as the first message on every connection, without waiting for the client',
    requirements: ['NICK-PROMPT-1'],
    level: 'MUST',
    hint: "Right after accept(), send the prompt (`NICK`, or your variant's token) in one send() call, before reading anything.",
    async run(t) {
      const conn = await t.connect('newcomer');
      // Nothing is written: the prompt must come unasked. The stream must START with it.
      const end = await t.expectReceives(conn, [t.prompt], {
        requirement: 'NICK-PROMPT-1',
        what: 'the prompt, unasked',
      });
      if (end !== t.prompt.length) {
        t.fail({
          requirement: 'NICK-PROMPT-1',
          message: 'newcomer: the prompt is not the first bytes on the connection',
          expected: [t.prompt],
          actual: t.tail(conn),
          connection: conn.label,
        });
      }
    },
  },
  {
    ...nick,
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
    ...nick,
    id: 'nick.join.connected',
    title: 'sends `Connected to server!` to the newcomer, after its own `<nick> joined!`',
    requirements: ['NICK-JOIN-2'],
    level: 'MUST',
    hint: 'After broadcasting "<nick> joined!", send "Connected to server!" to the newcomer only.',
    async run(t) {
      const me = t.nick('carol');
      const conn = await t.connect(me);
      await t.expectReceives(conn, [t.prompt], { requirement: 'NICK-PROMPT-1', what: 'the prompt' });
      conn.send(me);
      const joinedEnd = await t.expectReceives(conn, [t.joined(me)], {
        requirement: 'NICK-JOIN-1',
        what: `its own "${t.joined(me)}"`,
      });
      await t.expectReceives(conn, ['Connected to server!'], {
        requirement: 'NICK-JOIN-2',
        what: '"Connected to server!" after its own join announcement',
        after: joinedEnd,
      });
    },
  },
  {
    ...nick,
    id: 'nick.relay.all',
    title: "relays a member's chunk unchanged to every member, the sender included",
    requirements: ['NICK-RELAY-1'],
    level: 'MUST',
    hint: "In the client's thread: data = recv(1024); then send exactly those bytes to every client in the list, the sender too.",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const relay = t.say(alice, t.token('hello'));
      for (const m of [alice, bob]) {
        await t.expectReceives(m.conn, [relay], {
          requirement: 'NICK-RELAY-1',
          what: `${m === alice ? 'the sender' : 'another member'} receives "${relay}" unchanged`,
          after: m.joinedAt,
        });
      }
    },
  },
  {
    ...nick,
    id: 'nick.leave.reset',
    title: "sends `<nick> left!` to the remaining members when a member's connection is reset",
    requirements: ['NICK-LEAVE-1', 'ROBUST-RESET-1'],
    level: 'MUST',
    hint: 'When recv() raises (connection reset), remove the client from your lists, close it and broadcast "<nick> left!".',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      bob.conn.reset();
      await t.expectReceives(alice.conn, [t.left(bob.nick)], {
        requirement: 'NICK-LEAVE-1',
        what: `the remaining member receives "${t.left(bob.nick)}" after bob's reset`,
        after: alice.joinedAt,
      });
    },
  },
];
