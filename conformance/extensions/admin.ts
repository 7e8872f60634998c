/**
 * The `admin` extension profile (spec §14.2): the advanced tutorial's admin role. Every case needs
 * the target's admin password (`chatkit conform --profile admin --admin-password P`).
 *
 * @module
 */
import { CONNECTED, prompted, show } from '../nick/support.js';
import { needingPassword, type OptionCase } from './options.js';
import { ADMIN, EXT_SERVER, expectNoneSince, joinAdmin } from './support.js';

const admin = { ...EXT_SERVER, profile: 'admin' } as const;

const KICKED = 'You were kicked by an admin!';
const kickNotice = (nick: string) => `${nick} was kicked by an admin!`;
const COMMAND_REFUSED = 'Command was refused!';

export const ADMIN_CASES: readonly OptionCase[] = [
  needingPassword({
    ...admin,
    id: 'admin.pass.asks',
    title: 'answers the nickname `admin` with `PASS` alone, and announces nothing before the password',
    requirements: ['ADMIN-PASS-1'],
    level: 'MUST',
    hint: 'When the nickname is exactly "admin", send "PASS" (one send()) and read the password before adding the client to your lists or broadcasting anything.',
    async run(t) {
      const bob = await t.join(t.nick('bob'));
      const mark = bob.conn.stream().length;
      const { conn, at } = await prompted(t, ADMIN);
      conn.send(t.wire(ADMIN));
      const end = await t.expectReceives(conn, ['PASS'], {
        requirement: 'ADMIN-PASS-1',
        what: 'the nickname admin is asked for the password with "PASS"',
        after: at,
      });
      await conn.quiet(t.timing.quietMs);
      if (end !== at + 4 || conn.stream().length !== end) {
        t.fail({
          requirement: 'ADMIN-PASS-1',
          message: 'admin: the server sent more than "PASS" before the password',
          expected: ['PASS, and nothing else until the password'],
          actual: t.tail(conn, at),
          connection: conn.label,
        });
      }
      await expectNoneSince(t, bob, [{ member: bob, mark }], [`${ADMIN} joined!`], {
        requirement: 'ADMIN-PASS-1',
        what: 'a member heard of admin before its password',
      });
    },
  }),
  needingPassword({
    ...admin,
    id: 'admin.pass.right',
    standsOn: ['admin.pass.asks'],
    title: 'admits `admin` with the right password and announces it as any member',
    requirements: ['ADMIN-PASS-2'],
    level: 'MUST',
    hint: 'After the right password, do what you do for any nickname: add the client, broadcast "admin joined!", send "Connected to server!".',
    async run(t, password) {
      const bob = await t.join(t.nick('bob'));
      const me = await joinAdmin(t, password);
      await t.expectReceives(bob.conn, [t.joined(ADMIN)], {
        requirement: 'ADMIN-PASS-2',
        what: 'a member receives "admin joined!"',
        after: bob.joinedAt,
      });
      const relay = t.say(me, t.token('hello'));
      await t.expectReceives(bob.conn, [relay], { requirement: 'ADMIN-PASS-2', what: "the admin's chat is relayed", after: bob.joinedAt });
    },
  }),
  needingPassword({
    ...admin,
    id: 'admin.pass.wrong',
    standsOn: ['admin.pass.asks'],
    title: 'answers a wrong password with `REFUSE` and a close, never announced',
    requirements: ['ADMIN-PASS-2'],
    level: 'MUST',
    hint: 'Compare the password; when it is wrong, send "REFUSE", close the socket and go on accepting, without adding the client anywhere.',
    async run(t, password) {
      const bob = await t.join(t.nick('bob'));
      const mark = bob.conn.stream().length;
      const { conn, at } = await prompted(t, ADMIN);
      conn.send(t.wire(ADMIN));
      const passAt = await t.expectReceives(conn, ['PASS'], { requirement: 'ADMIN-PASS-1', what: '"PASS" after admin', after: at });
      conn.send(`${password}-not`);
      await t.expectReceives(conn, ['REFUSE'], { requirement: 'ADMIN-PASS-2', what: '"REFUSE" after a wrong password', after: passAt });
      await t.expectClosed(conn, { requirement: 'ADMIN-PASS-2', what: 'the connection is closed after REFUSE' });
      if (conn.stream().length !== passAt + 'REFUSE'.length) {
        t.fail({
          requirement: 'ADMIN-PASS-2',
          message: 'admin: after a wrong password the server sent more than "REFUSE"',
          expected: ['REFUSE, then the close'],
          actual: t.tail(conn, passAt),
          connection: conn.label,
        });
      }
      await expectNoneSince(t, bob, [{ member: bob, mark }], [`${ADMIN} joined!`, `${ADMIN} left!`, CONNECTED], {
        requirement: 'ADMIN-PASS-2',
        what: 'a member heard of a refused admin',
      });
    },
  }),
  needingPassword({
    ...admin,
    id: 'admin.pass.line-ending',
    standsOn: ['admin.pass.asks', 'admin.pass.right'],
    catches: ['D-AS-3'],
    title: 'takes the password with one trailing LF removed (an `nc` admin)',
    requirements: ['ADMIN-PASS-1'],
    level: 'MUST',
    hint: 'Strip one trailing "\\n" (or "\\r\\n") from the password before comparing, as you do for the nickname.',
    async run(t, password) {
      const { conn, at } = await prompted(t, ADMIN);
      conn.send(t.wire(ADMIN));
      const passAt = await t.expectReceives(conn, ['PASS'], { requirement: 'ADMIN-PASS-1', what: '"PASS" after admin', after: at });
      conn.send(`${password}\n`);
      await t.expectReceives(conn, [CONNECTED], {
        requirement: 'ADMIN-PASS-1',
        what: `"${CONNECTED}" after the right password followed by LF`,
        after: passAt,
      });
    },
  }),
  needingPassword({
    ...admin,
    id: 'admin.kick',
    standsOn: ['admin.pass.asks', 'admin.pass.right'],
    catches: ['D-AS-4'],
    title: 'on the admin\'s `KICK <nick>`: tells the member, closes it, and tells the others `<nick> was kicked by an admin!`',
    requirements: ['ADMIN-KICK-1'],
    level: 'MUST',
    hint: 'In kick_user: remove the member, send it "You were kicked by an admin!", really disconnect it (shutdown(SHUT_RDWR) before close() if its own thread is blocked in recv()), then broadcast "<nick> was kicked by an admin!". Never relay the KICK itself.',
    async run(t, password) {
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      const me = await joinAdmin(t, password);
      const marks = { bob: bob.conn.stream().length, carol: carol.conn.stream().length };
      me.conn.send(`KICK ${bob.nick}`);
      await t.expectReceives(bob.conn, [KICKED], { requirement: 'ADMIN-KICK-1', what: `${bob.nick} is told "${KICKED}"`, after: marks.bob });
      await t.expectReceives(carol.conn, [kickNotice(bob.nick)], {
        requirement: 'ADMIN-KICK-1',
        what: `the others receive "${kickNotice(bob.nick)}"`,
        after: marks.carol,
      });
      await t.expectReceives(me.conn, [kickNotice(bob.nick)], {
        requirement: 'ADMIN-KICK-1',
        what: `the admin receives "${kickNotice(bob.nick)}"`,
        after: me.joinedAt,
      });
      await t.expectClosed(bob.conn, { requirement: 'ADMIN-KICK-1', what: `the kicked member ${bob.nick} is disconnected` });
      await expectNoneSince(t, me, [{ member: carol, mark: marks.carol }], [`KICK ${bob.nick}`], {
        requirement: 'ADMIN-KICK-1',
        what: 'the KICK command was relayed to the members',
      });
    },
  }),
  needingPassword({
    ...admin,
    id: 'admin.ban',
    standsOn: ['admin.pass.asks', 'admin.pass.right', 'admin.kick'],
    title: 'on the admin\'s `BAN <nick>`: kicks the member and answers that nickname with `BAN` and a close from then on',
    requirements: ['ADMIN-BAN-1'],
    level: 'MUST',
    hint: 'On BAN, kick the member and remember the nickname (bans.txt); at every handshake check the list first, and for a banned nickname send "BAN" and close.',
    async run(t, password) {
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      const me = await joinAdmin(t, password);
      const mark = carol.conn.stream().length;
      me.conn.send(`BAN ${bob.nick}`);
      await t.expectReceives(bob.conn, [KICKED], { requirement: 'ADMIN-BAN-1', what: `the banned member is told "${KICKED}"`, after: bob.joinedAt });
      await t.expectReceives(carol.conn, [kickNotice(bob.nick)], {
        requirement: 'ADMIN-BAN-1',
        what: `the others receive "${kickNotice(bob.nick)}"`,
        after: mark,
      });
      const { conn, at } = await prompted(t, 'banned');
      conn.send(t.wire(bob.nick));
      await t.expectReceives(conn, ['BAN'], { requirement: 'ADMIN-BAN-1', what: `the banned nickname ${bob.nick} is answered "BAN"`, after: at });
      await t.expectClosed(conn, { requirement: 'ADMIN-BAN-1', what: 'the banned connection is closed' });
      if (conn.stream().length !== at + 3) {
        t.fail({
          requirement: 'ADMIN-BAN-1',
          message: `banned: after the nickname ${bob.nick} the server sent more than "BAN"`,
          expected: ['BAN, then the close'],
          actual: t.tail(conn, at),
          connection: conn.label,
        });
      }
      await expectNoneSince(t, carol, [{ member: carol, mark }], [t.joined(bob.nick)], {
        requirement: 'ADMIN-BAN-1',
        what: 'the banned nickname was announced',
      });
    },
  }),
  needingPassword({
    ...admin,
    id: 'admin.cmd.refused',
    title: 'answers `KICK <nick>` from a member that is not the admin with `Command was refused!`, to it only',
    requirements: ['ADMIN-CMD-1'],
    level: 'MUST',
    hint: 'Before acting on KICK or BAN, check that the sender is the admin; otherwise send "Command was refused!" to the sender alone.',
    async run(t) {
      const bob = await t.join(t.nick('bob'));
      const carol = await t.join(t.nick('carol'));
      const marks = { bob: bob.conn.stream().length, carol: carol.conn.stream().length };
      bob.conn.send(`KICK ${carol.nick}`);
      await t.expectReceives(bob.conn, [COMMAND_REFUSED], {
        requirement: 'ADMIN-CMD-1',
        what: `the member is told "${COMMAND_REFUSED}"`,
        after: marks.bob,
      });
      await expectNoneSince(t, bob, [{ member: carol, mark: marks.carol }], [KICKED, `KICK ${carol.nick}`, COMMAND_REFUSED], {
        requirement: 'ADMIN-CMD-1',
        what: 'a refused KICK reached another member (kicked, relayed, or its refusal)',
      });
      if (carol.conn.closed) {
        t.fail({
          requirement: 'ADMIN-CMD-1',
          message: `${carol.nick} was disconnected by a KICK from a member that is not the admin`,
          expected: ['the connection stays open'],
          actual: t.tail(carol.conn, marks.carol),
          connection: carol.conn.label,
        });
      }
    },
  }),
  needingPassword({
    ...admin,
    id: 'admin.cmd.chat',
    catches: ['D-AS-2'],
    title: 'relays the chat of a member whose nickname starts with `BAN` or `KICK` (it is no command)',
    requirements: ['ADMIN-CMD-1', 'EXT-2'],
    level: 'MUST',
    hint: 'A command is the whole chunk "KICK <nick>" or "BAN <nick>", not any chunk that starts with KICK or BAN: "BANana: hi" is chat.',
    async run(t) {
      const banana = await t.join(`BAN${t.nick('ana')}`.slice(0, 32));
      const kicker = await t.join(`KICK${t.nick('er')}`.slice(0, 32));
      const bob = await t.join(t.nick('bob'));
      for (const m of [banana, kicker]) {
        const relay = t.say(m, t.token('hi'));
        await t.expectReceives(bob.conn, [relay], {
          requirement: 'ADMIN-CMD-1',
          what: `the chat of ${show(m.nick)} is relayed as chat`,
          after: bob.joinedAt,
        });
      }
    },
  }),
];
