/**
 * The `rooms` extension profile (spec §14.4): the default room `lobby`, `/join` and its notices,
 * relay within a room, `/rooms`.
 *
 * @module
 */
import type { ServerCase } from '../harness/case.js';
import type { Member, ServerCaseContext } from '../harness/context.js';
import { EXT_SERVER, expectNoneSince } from './support.js';

const rooms = { ...EXT_SERVER, profile: 'rooms' } as const;

/** A room name unique to the case run (ROOM-JOIN-1: letters, digits, `_`, `-`). */
const roomName = (t: ServerCaseContext, base: string) => t.token(base).replace(/[^A-Za-z0-9_-]/g, '_');

/** `member` types `/join <room>` and receives its own `<nick> joined #<room>`. */
async function move(t: ServerCaseContext, member: Member, room: string): Promise<number> {
  const from = member.conn.stream().length;
  member.conn.send(t.line(member.nick, `/join ${room}`));
  return t.expectReceives(member.conn, [`${member.nick} joined #${room}`], {
    requirement: 'ROOM-JOIN-1',
    what: `the mover receives "${member.nick} joined #${room}"`,
    after: from,
  });
}

export const ROOMS_CASES: readonly ServerCase[] = [
  {
    ...rooms,
    id: 'rooms.join',
    title: 'on `/join <room>`: `<nick> left #<old>` to the old room, `<nick> joined #<room>` to the new one, the mover included',
    requirements: ['ROOM-JOIN-1'],
    level: 'MUST',
    hint: 'On "/join <room>": tell the members of the old room "<nick> left #<old>", move the member, then tell every member of the new room (the mover too) "<nick> joined #<room>".',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      const room = roomName(t, 'dev');
      await move(t, alice, room);
      await t.expectReceives(bob.conn, [`${alice.nick} left #lobby`], {
        requirement: 'ROOM-JOIN-1',
        what: 'the old room hears the mover leave',
        after: bob.joinedAt,
      });
      const aliceMark = alice.conn.stream().length;
      await move(t, carol, room);
      await t.expectReceives(alice.conn, [`${carol.nick} joined #${room}`], {
        requirement: 'ROOM-JOIN-1',
        what: 'the new room hears the newcomer',
        after: aliceMark,
      });
      const from = alice.conn.stream().length;
      alice.conn.send(t.line(alice.nick, '/join a#b'));
      await t.expectReceives(alice.conn, ['Bad room name: '], { requirement: 'ROOM-JOIN-1', what: 'an invalid room name is refused', after: from });
    },
  },
  {
    ...rooms,
    id: 'rooms.relay',
    title: 'relays a member\'s chat to the members of its room only, the sender included',
    requirements: ['ROOM-RELAY-1'],
    level: 'MUST',
    hint: 'Broadcast a chat line only to the clients whose room is the sender\'s room.',
    standsOn: ['rooms.join'],
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      const room = roomName(t, 'dev');
      await move(t, alice, room);
      await move(t, carol, room);
      const bobMark = bob.conn.stream().length;
      const text = t.token('secret');
      const relay = t.say(alice, text);
      await t.expectReceives(carol.conn, [relay], { requirement: 'ROOM-RELAY-1', what: 'a member of the room receives the chat', after: carol.joinedAt });
      await t.expectReceives(alice.conn, [relay], { requirement: 'ROOM-RELAY-1', what: 'the sender receives its chat', after: alice.joinedAt });
      // bob is in lobby: a lobby member's sentinel proves what bob got from the server meanwhile.
      await t.join(t.nick('dave')).then(async (dave) => {
        await expectNoneSince(t, dave, [{ member: bob, mark: bobMark }], [text], {
          requirement: 'ROOM-RELAY-1',
          what: 'a member of another room received the chat',
        });
      });
    },
  },
  {
    ...rooms,
    id: 'rooms.default',
    title: 'puts newcomers into `lobby`: `<nick> joined!` and `<nick> left!` reach that room only',
    requirements: ['ROOM-1', 'EXT-2'],
    level: 'MUST',
    hint: 'Give every new client the room "lobby"; broadcast "<nick> joined!" to lobby and "<nick> left!" to the leaver\'s room only.',
    standsOn: ['rooms.join'],
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const room = roomName(t, 'dev');
      await move(t, alice, room);
      const aliceMark = alice.conn.stream().length;
      const carol = await t.join(t.nick('carol'));
      await t.expectReceives(bob.conn, [t.joined(carol.nick)], { requirement: 'ROOM-1', what: 'lobby hears a newcomer', after: bob.joinedAt });
      carol.conn.close();
      await t.expectReceives(bob.conn, [t.left(carol.nick)], { requirement: 'ROOM-1', what: 'lobby hears a leave', after: bob.joinedAt });
      // alice (in another room) writes a sentinel: what the server sent her earlier has arrived.
      await expectNoneSince(t, alice, [{ member: alice, mark: aliceMark }], [t.joined(carol.nick), t.left(carol.nick)], {
        requirement: 'ROOM-1',
        what: 'a member of another room heard of a lobby newcomer or leave',
      });
    },
  },
  {
    ...rooms,
    id: 'rooms.list',
    title: 'answers `/rooms` with `Rooms: ` and each room with members as `<room> (<n>)`, lobby first',
    requirements: ['ROOM-LIST-1'],
    level: 'MUST',
    hint: 'On "/rooms" send "Rooms: lobby (<n>), <room> (<n>), ..." to the sender alone.',
    standsOn: ['rooms.join'],
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const room = roomName(t, 'dev');
      await move(t, alice, room);
      const from = bob.conn.stream().length;
      bob.conn.send(t.line(bob.nick, '/rooms'));
      await t.expectReceives(bob.conn, ['Rooms: lobby ('], { requirement: 'ROOM-LIST-1', what: 'the answer to /rooms, lobby first', after: from });
      await bob.conn.quiet(t.timing.quietMs);
      const answer = Buffer.from(bob.conn.stream().subarray(from)).toString('latin1');
      if (!answer.includes(`, ${room} (1)`)) {
        t.fail({
          requirement: 'ROOM-LIST-1',
          message: `${bob.nick}: the answer to /rooms does not list ${room} with its one member`,
          expected: [`Rooms: lobby (<n>), …, ${room} (1)`],
          actual: t.tail(bob.conn, from),
          connection: bob.conn.label,
        });
      }
    },
  },
];
