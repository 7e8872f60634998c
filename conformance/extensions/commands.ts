/**
 * The `commands` extension profile (spec §14.3): `/users`, `/msg`, `/quit`, `/nick`, each sent as a
 * legacy client sends what its user typed (`<nick>: /users`), and a slash line that is no command
 * still relayed.
 *
 * @module
 */
import type { ServerCase } from '../harness/case.js';
import { EXT_SERVER, expectNoneSince } from './support.js';

const commands = { ...EXT_SERVER, profile: 'commands' } as const;

export const COMMANDS_CASES: readonly ServerCase[] = [
  {
    ...commands,
    id: 'commands.users',
    title: 'answers `/users` with `Users: ` and the members in join order, to the sender only',
    requirements: ['CMD-USERS-1', 'CMD-1'],
    level: 'MUST',
    hint: 'On "<nick>: /users" (or a bare "/users") send "Users: " + ", ".join(nicknames) to the sender alone, and do not broadcast the line.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const mark = bob.conn.stream().length;
      const from = alice.conn.stream().length;
      alice.conn.send(t.line(alice.nick, '/users'));
      const end = await t.expectReceives(alice.conn, ['Users: '], { requirement: 'CMD-USERS-1', what: 'the answer to /users', after: from });
      await alice.conn.quiet(t.timing.quietMs);
      // The answer runs from "Users: " to the end of what arrived (nothing else is in flight to alice).
      const names = Buffer.from(alice.conn.stream().subarray(end)).toString('latin1').split(', ');
      const a = names.indexOf(alice.nick);
      const b = names.indexOf(bob.nick);
      if (a === -1 || b === -1 || a > b) {
        t.fail({
          requirement: 'CMD-USERS-1',
          message: `${alice.nick}: the answer to /users does not list ${alice.nick} then ${bob.nick}, separated by ", "`,
          expected: [`Users: ${alice.nick}, ${bob.nick} (others in join order may be listed too)`],
          actual: t.tail(alice.conn, from),
          connection: alice.conn.label,
        });
      }
      await expectNoneSince(t, alice, [{ member: bob, mark }], ['/users', 'Users: '], {
        requirement: 'CMD-1',
        what: 'another member received the /users command or its answer',
      });
    },
  },
  {
    ...commands,
    id: 'commands.msg',
    title: 'delivers `/msg <nick> <text>` as `<from> -> <nick>: <text>` to that member and the sender only',
    requirements: ['CMD-MSG-1', 'CMD-1'],
    level: 'MUST',
    hint: 'On "/msg <nick> <text>" find the member by nickname and send "<from> -> <nick>: <text>" to it and to the sender; send nothing to anyone else.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      const mark = carol.conn.stream().length;
      const text = t.token('psst');
      const expected = `${alice.nick} -> ${bob.nick}: ${text}`;
      alice.conn.send(t.line(alice.nick, `/msg ${bob.nick} ${text}`));
      await t.expectReceives(bob.conn, [expected], { requirement: 'CMD-MSG-1', what: 'the named member receives the private message', after: bob.joinedAt });
      await t.expectReceives(alice.conn, [expected], { requirement: 'CMD-MSG-1', what: 'the sender receives its private message', after: alice.joinedAt });
      await expectNoneSince(t, alice, [{ member: carol, mark }], [text], {
        requirement: 'CMD-MSG-1',
        what: 'a third member received the private message',
      });
      const nobody = t.nick('nobody');
      const from = alice.conn.stream().length;
      alice.conn.send(t.line(alice.nick, `/msg ${nobody} hi`));
      await t.expectReceives(alice.conn, [`No such user: ${nobody}`], {
        requirement: 'CMD-MSG-1',
        what: '/msg naming no member is answered "No such user: <nick>"',
        after: from,
      });
    },
  },
  {
    ...commands,
    id: 'commands.quit',
    title: 'closes the connection on `/quit`, announced as `<nick> left!`',
    requirements: ['CMD-QUIT-1'],
    level: 'MUST',
    hint: 'On "/quit" remove the member, close its socket and broadcast "<nick> left!" as for any leave.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      alice.conn.send(t.line(alice.nick, '/quit'));
      await t.expectClosed(alice.conn, { requirement: 'CMD-QUIT-1', what: 'the server closes the connection on /quit' });
      await t.expectReceives(bob.conn, [t.left(alice.nick)], { requirement: 'CMD-QUIT-1', what: 'the others receive its leave', after: bob.joinedAt });
    },
  },
  {
    ...commands,
    id: 'commands.nick',
    title: 'renames on `/nick <new>`, announced to every member; a taken name is refused to the sender only',
    requirements: ['CMD-NICK-1'],
    level: 'MUST',
    hint: 'On "/nick <new>" check the name like a nickname (valid, not in use); then change it in your list and broadcast "<old> is now known as <new>"; otherwise send "Nickname refused: <reason>" to the sender.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const from = alice.conn.stream().length;
      const bobMark = bob.conn.stream().length;
      alice.conn.send(t.line(alice.nick, `/nick ${bob.nick}`));
      await t.expectReceives(alice.conn, ['Nickname refused: '], {
        requirement: 'CMD-NICK-1',
        what: 'a taken nickname is refused',
        after: from,
      });
      const next = t.nick('ally');
      alice.conn.send(t.line(alice.nick, `/nick ${next}`));
      const renamed = `${alice.nick} is now known as ${next}`;
      await t.expectReceives(bob.conn, [renamed], { requirement: 'CMD-NICK-1', what: 'the others are told of the rename', after: bobMark });
      await t.expectReceives(alice.conn, [renamed], { requirement: 'CMD-NICK-1', what: 'the renamed member is told', after: from });
      t.expectAbsent(bob.conn, ['Nickname refused'], { requirement: 'CMD-NICK-1', what: 'the refusal reached another member', after: bobMark });
      alice.conn.close();
      await t.expectReceives(bob.conn, [t.left(next)], { requirement: 'CMD-NICK-1', what: 'the leave uses the new nickname', after: bobMark });
    },
  },
  {
    ...commands,
    id: 'commands.unknown',
    title: 'relays a slash line that names no command of the profile unchanged',
    requirements: ['CMD-1', 'EXT-2'],
    level: 'MUST',
    hint: 'Only /users, /msg, /quit and /nick are commands; relay any other line as chat, so a user\'s "/shrug" still reaches the room.',
    async run(t) {
      const alice = await t.join(t.nick('alice'));
      const bob = await t.join(t.nick('bob'));
      const relay = t.say(alice, `/shrug ${t.token('x')}`);
      await t.expectReceives(bob.conn, [relay], { requirement: 'CMD-1', what: 'an unknown slash line is relayed as chat', after: bob.joinedAt });
    },
  },
];
