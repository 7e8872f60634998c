/**
 * tilde dialect, `core` profile: what the seed's server does right in an ordinary, paced session
 * (spec/PROTOCOL.md §5.3 handshake, §5.4 relay, §3.3 writes). `tilde_server.py` passes every case
 * here; every case paces on observed effects and looks only for its own members' messages.
 *
 * @module
 */
import type { ServerCase } from '../harness/case.js';
import type { Connection } from '../harness/connection.js';
import { standingOn } from '../harness/preconditions.js';
import { expectWholeReads, type WholeReadCheck } from '../harness/whole-reads.js';
import { CONTENT_MAX_BYTES, expectRelayedContent, show, utf8 } from './support.js';

const tilde = { kind: 'server', dialect: 'tilde', profile: 'core' } as const;

/** The longest username (NICKNAME_MAX_BYTES), built from a unique nickname. */
const NAME_MAX_BYTES = 32;

export const TILDE_CORE_CASES: readonly ServerCase[] = [
  {
    ...tilde,
    id: 'tilde.handshake.nothing-before-username',
    // Its stimulus is a member's relay: a server that cannot relay shows that in tilde.relay.all.
    standsOn: ['tilde.join.broadcast', 'tilde.relay.all'],
    title:
      "sends nothing to a connection before its username is accepted: no other member's join or message, then its own `SERVER~<user> added to the chat`",
    requirements: ['TILDE-JOIN-2', 'TILDE-JOIN-1'],
    level: 'MUST',
    hint: 'Add a connection to your list of clients only after you have read and accepted its username; broadcast only to that list.',
    async run(t) {
      const pendingName = t.nick('pending');
      const pending = await t.connect('pending');
      // The client speaks first: the server must wait silently for the username.
      await pending.quiet(t.timing.quietMs);
      const alice = await t.join(t.nick('alice'));
      const relay = t.say(alice, t.token('before-you'));
      await t.expectReceives(alice.conn, [relay], {
        requirement: 'TILDE-RELAY-1',
        what: 'the sender receives its own relay',
        after: alice.joinedAt,
      });
      // A legacy broadcast loop may still be between its last send and its end; let it finish
      // (it would reach a newcomer appended meanwhile: D-TS-9, judged by its own case).
      await alice.conn.quiet(t.timing.quietMs / 4);
      const before = [t.joined(alice.nick), relay];
      t.expectAbsent(pending, before, {
        requirement: 'TILDE-JOIN-2',
        what: 'a connection that has not sent its username receives the messages of members',
      });
      if (pending.stream().length > 0) {
        // A greeting or a prompt before the username is also "something" (TILDE-JOIN-2).
        t.fail({
          requirement: 'TILDE-JOIN-2',
          message: 'pending: the server sent something to a connection that has not sent its username yet',
          expected: ['nothing at all until the username is accepted'],
          actual: t.tail(pending),
          connection: 'pending',
        });
      }
      pending.send(t.wire(pendingName));
      const own = t.joined(pendingName);
      const end = await t.expectReceives(pending, [own], {
        requirement: 'TILDE-JOIN-1',
        what: `its own "${own}" after sending the username`,
      });
      t.expectAbsent(pending, before, {
        requirement: 'TILDE-JOIN-2',
        what: 'a newcomer receives messages sent before its username was accepted',
        before: end,
      });
    },
  },
  {
    ...tilde,
    id: 'tilde.join.broadcast',
    title: 'sends `SERVER~<user> added to the chat` to every member, the newcomer included',
    requirements: ['TILDE-JOIN-1', 'TRANSPORT-1'],
    level: 'MUST',
    hint: 'After reading the username, append the client to your list, then send "SERVER~<user> added to the chat" to every client in the list, the newcomer too.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bobNick = t.nick('bob');
      const conn = await t.connect(bobNick);
      conn.send(t.wire(bobNick));
      const added = t.joined(bobNick);
      await t.expectReceives(conn, [added], {
        requirement: 'TILDE-JOIN-1',
        what: `the newcomer receives its own "${added}"`,
      });
      await t.expectReceives(alice.conn, [added], {
        requirement: 'TILDE-JOIN-1',
        what: `an existing member receives "${added}"`,
        after: alice.joinedAt,
      });
    },
  },
  {
    ...tilde,
    id: 'tilde.relay.all',
    title: "relays a member's content as `<user>~<content>` to every other member",
    requirements: ['TILDE-RELAY-1'],
    level: 'MUST',
    hint: "In the client's thread: data = recv(2048); then send username + '~' + data, in one sendall(), to every client in the list Relay each chunk as soon as recv() returns it: the protocol has no newline or other end marker to wait for.",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      // Longer than a tiny receive buffer, so a server that reads in small pieces shows it. Observed
      // by the other member only: the sender's own copy is judged by tilde.relay.echo.
      for (const [sender, hearer, text] of [
        [alice, bob, `${t.token('hello')} from the first member, in one write`],
        [bob, alice, `${t.token('reply')} from the second member, in one write`],
      ] as const) {
        const relay = t.say(sender, text);
        await t.expectReceives(hearer.conn, [relay], {
          requirement: 'TILDE-RELAY-1',
          what: `another member receives "${relay}"`,
          after: hearer.joinedAt,
        });
      }
    },
  },
  {
    ...tilde,
    id: 'tilde.relay.echo',
    title: "relays a member's content back to the sender too, as `<user>~<content>`",
    requirements: ['TILDE-RELAY-1'],
    level: 'MUST',
    hint: 'Broadcast to every client in the list, the sender included: do not skip the client the message came from.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const relay = t.say(alice, t.token('echo'));
      // Wait for the other member first: then a missing echo is the echo, not a slow relay. That
      // relay is what tilde.relay.all judges: a server that relays nothing fails there, once.
      await standingOn('tilde.relay.all', () =>
        t.expectReceives(bob.conn, [relay], {
          requirement: 'TILDE-RELAY-1',
          what: `another member receives "${relay}"`,
          after: bob.joinedAt,
        }),
      );
      await t.expectReceives(alice.conn, [relay], {
        requirement: 'TILDE-RELAY-1',
        what: `the sender receives its own "${relay}"`,
        after: alice.joinedAt,
      });
    },
  },
  {
    ...tilde,
    id: 'tilde.relay.tilde-in-content',
    standsOn: ['tilde.relay.echo', 'tilde.relay.all'],
    title: 'relays content that contains `~` unchanged (only the username ends at the first `~`)',
    requirements: ['TILDE-RELAY-1'],
    level: 'MUST',
    hint: "Relay the received bytes as they are after username + '~'; never split or strip the content at a '~'.",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const relay = t.say(alice, `${t.token('a')}~b~ c ~~d~`);
      for (const m of [alice, bob]) {
        await t.expectReceives(m.conn, [relay], {
          requirement: 'TILDE-RELAY-1',
          what: `${m === alice ? 'the sender' : 'another member'} receives "${relay}" with every "~" kept`,
          after: m.joinedAt,
        });
      }
    },
  },
  {
    ...tilde,
    id: 'tilde.relay.utf8',
    standsOn: ['tilde.join.broadcast', 'tilde.relay.echo', 'tilde.relay.all'],
    title: 'relays multi-byte UTF-8 content (é, 中, 🌍) and a non-ASCII username unchanged',
    requirements: ['TILDE-RELAY-1', 'TILDE-JOIN-1'],
    level: 'MUST',
    hint: "Decode and encode with UTF-8 (recv(2048).decode('utf-8'), message.encode('utf-8')), never Latin-1 or ASCII.",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('b\u00f8b'));
      await t.expectReceives(alice.conn, [t.joined(bob.nick)], {
        requirement: 'TILDE-JOIN-1',
        what: `an existing member receives "${t.joined(bob.nick)}" with the username's bytes unchanged`,
        after: alice.joinedAt,
      });
      for (const [sender, text] of [
        [alice, `${t.token('utf8')} caf\u00e9 \u4e2d\u6587 \u{1f30d}!`],
        [bob, `${t.token('utf8')} \u{1f30d}\u00e9\u4e2d`],
      ] as const) {
        const relay = t.say(sender, text);
        for (const m of [alice, bob]) {
          await t.expectReceives(m.conn, [relay], {
            requirement: 'TILDE-RELAY-1',
            what: `${m === sender ? 'the sender' : 'another member'} receives "${show(relay)}" byte for byte`,
            after: m.joinedAt,
          });
        }
      }
    },
  },
  {
    ...tilde,
    id: 'tilde.relay.order',
    standsOn: ['tilde.relay.echo'],
    title: "relays one sender's paced messages to every member in the order they were sent",
    requirements: ['TILDE-RELAY-1'],
    level: 'MUST',
    hint: "Relay each chunk from the client's own thread as soon as it is read, before reading the next one.",
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const relays: string[] = [];
      for (let i = 1; i <= 5; i++) {
        const relay = t.say(alice, t.token(`n${i}`));
        relays.push(relay);
        // Paced: the next message is written only once this one came back to the sender (§3.7).
        await t.expectReceives(alice.conn, [relay], {
          requirement: 'TILDE-RELAY-1',
          what: `the sender receives its message ${i}`,
          after: alice.joinedAt,
        });
      }
      let at = bob.joinedAt;
      for (const [i, relay] of relays.entries()) {
        at = await t.expectReceives(bob.conn, [relay], {
          requirement: 'TILDE-RELAY-1',
          what: `another member receives message ${i + 1} after message ${i}`,
          after: at,
        });
      }
    },
  },
  {
    ...tilde,
    id: 'tilde.relay.max-content',
    standsOn: ['tilde.join.broadcast', 'tilde.relay.echo', 'tilde.relay.all'],
    title:
      'relays the longest content (2015 bytes of mixed UTF-8) from the longest username (32 bytes), so the relay is exactly 2048 bytes',
    requirements: ['TILDE-RELAY-1', 'TILDE-JOIN-1'],
    level: 'MUST',
    hint: 'Read with recv(2048) (or more) and relay the whole chunk; accept usernames of up to 32 bytes.',
    async run(t) {
      const base = t.nick('maxlen');
      const longest = base + 'x'.repeat(NAME_MAX_BYTES - utf8(base).length);
      const alice = await t.join(longest);
      const bob = await t.join(t.nick('bob'));
      const head = `${t.token('max')} `;
      const body = 'caf\u00e9 \u4e2d\u6587 \u{1f30d} ';
      let text = head;
      while (utf8(text + body).length <= CONTENT_MAX_BYTES) text += body;
      text += '.'.repeat(CONTENT_MAX_BYTES - utf8(text).length);
      const content = utf8(text);
      alice.conn.send(content);
      // One write; TCP may still hand it to the server in pieces, so any split of it is accepted.
      for (const m of [alice, bob]) {
        await expectRelayedContent(t, m.conn, alice.nick, content, {
          requirement: 'TILDE-RELAY-1',
          what: `${m === alice ? 'the sender' : 'another member'} receives the 2015 bytes of content`,
          after: m.joinedAt,
          maxPieceBytes: CONTENT_MAX_BYTES,
        });
      }
    },
  },
  {
    ...tilde,
    id: 'tilde.frame.one-message-per-recv',
    standsOn: ['tilde.join.broadcast', 'tilde.relay.echo', 'tilde.relay.all'],
    title:
      'writes each announcement and relay with one write, so that in a paced session each arrives whole in one recv()',
    requirements: ['FRAME-3', 'FRAME-2'],
    level: 'SHOULD',
    hint: "Send each message with a single sendall(username + '~' + data) (never the prefix and the content separately) and set TCP_NODELAY on every client socket.",
    async run(t) {
      await expectWholeReads(t, async () => {
        const alice = await t.join(t.nick('alice'));
        const bob = await t.join(t.nick('bob'));
        // Every message of this paced session, where it ends in its receiver's stream.
        const checks: WholeReadCheck[] = [];
        const expectWhole = (conn: Connection, message: string, end: number) =>
          checks.push({
            conn,
            message,
            from: end - utf8(message).length,
            onlyFirst: true,
            requirement: 'FRAME-3',
            what: 'a message of a paced session',
          });
        expectWhole(alice.conn, t.joined(alice.nick), alice.joinedAt);
        expectWhole(bob.conn, t.joined(bob.nick), bob.joinedAt);
        const added = t.joined(bob.nick);
        const aliceSawBob = await t.expectReceives(alice.conn, [added], {
          requirement: 'TILDE-JOIN-1',
          what: `an existing member receives "${added}"`,
          after: alice.joinedAt,
        });
        expectWhole(alice.conn, added, aliceSawBob);
        let marks = [aliceSawBob, bob.joinedAt];
        for (const sender of [alice, bob]) {
          const relay = t.say(sender, `${t.token('one')} in a single write`);
          const ends: number[] = [];
          for (const [i, m] of [alice, bob].entries()) {
            const end = await t.expectReceives(m.conn, [relay], {
              requirement: 'TILDE-RELAY-1',
              what: `${m.conn.label} receives "${relay}"`,
              after: marks[i]!,
            });
            ends.push(end);
            expectWhole(m.conn, relay, end);
          }
          marks = ends;
        }
        return checks;
      });
    },
  },
];
