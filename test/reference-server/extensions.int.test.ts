/**
 * The reference server's extension profiles (spec §14) on real sockets: `admin` (PASS, REFUSE, KICK,
 * BAN, the ban file), `commands` (/users, /msg, /quit, /nick) and `rooms` (/join, /rooms, relay within
 * a room), and that each is off unless asked for (EXT-1).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../conformance/harness/connection.js';
import { escapeBytes } from '../../src/codec/escape.js';
import { startServer } from '../../src/reference-server/index.js';
import { expectServerState, join, QUIET_MS, Session, WAIT_MS } from './helpers.js';

const session = new Session();
let dir: string | undefined;
afterEach(async () => {
  await session.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const PASSWORD = 'adminpass';
const tail = (conn: Connection, from: number) => escapeBytes(conn.stream().subarray(from));

/** Connects as `admin` and answers `PASS` with `password`. */
async function asAdmin(server: { port: number }, password: string): Promise<Connection> {
  const conn = await session.open(server as never, 'admin');
  await conn.waitForText('NICK', { timeoutMs: WAIT_MS });
  conn.send('admin');
  await conn.waitForText('NICKPASS', { timeoutMs: WAIT_MS });
  conn.send(password);
  return conn;
}

describe('admin (spec §14.2)', () => {
  it('ADMIN-PASS-1, ADMIN-PASS-2: asks `admin` for the password, admits it when right, announcing it only then', async () => {
    const server = await session.server({ dialect: 'nick', adminPassword: PASSWORD });
    const bob = await join(session, server, 'nick', 'bob');
    const admin = await asAdmin(server, `${PASSWORD}\n`);
    await admin.waitForText('Connected to server!', { timeoutMs: WAIT_MS });
    expect(escapeBytes(admin.stream())).toMatch(/^NICKPASSadmin joined!Connected to server!$/);
    await bob.conn.waitForText('admin joined!', { timeoutMs: WAIT_MS });
  });

  it('ADMIN-PASS-2: answers a wrong password with REFUSE and a close, never announced', async () => {
    const server = await session.server({ dialect: 'nick', adminPassword: PASSWORD });
    const bob = await join(session, server, 'nick', 'bob');
    const admin = await asAdmin(server, 'wrong');
    await admin.waitForClose({ timeoutMs: WAIT_MS, what: 'a close after REFUSE' });
    expect(escapeBytes(admin.stream())).toBe('NICKPASSREFUSE');
    await bob.conn.quiet(QUIET_MS);
    expect(tail(bob.conn, bob.at)).toBe('');
    await expectServerState(server, ['bob'], 1);
  });

  it('ADMIN-KICK-1: the admin kicks a member: told, closed, and the others get the kick notice instead of `left!`', async () => {
    const server = await session.server({ dialect: 'nick', adminPassword: PASSWORD });
    const bob = await join(session, server, 'nick', 'bob');
    const carol = await join(session, server, 'nick', 'carol');
    const admin = await asAdmin(server, PASSWORD);
    const at = await admin.waitForText('Connected to server!', { timeoutMs: WAIT_MS });
    const bobAt = bob.conn.stream().length;
    admin.send('KICK bob');
    await bob.conn.waitForClose({ timeoutMs: WAIT_MS, what: 'the kicked member closed' });
    expect(escapeBytes(bob.conn.stream().subarray(bobAt))).toBe('You were kicked by an admin!');
    await carol.conn.waitForText('bob was kicked by an admin!', { timeoutMs: WAIT_MS });
    await admin.waitForText('bob was kicked by an admin!', { timeoutMs: WAIT_MS });
    await carol.conn.quiet(QUIET_MS);
    expect(tail(carol.conn, carol.at)).not.toContain('left!');
    expect(tail(admin, at)).not.toContain('KICK');
    await expectServerState(server, ['carol', 'admin'], 2);
  });

  it('ADMIN-CMD-1: refuses KICK from a member that is not the admin, and relays chat that merely starts with BAN', async () => {
    const server = await session.server({ dialect: 'nick', adminPassword: PASSWORD });
    const banana = await join(session, server, 'nick', 'BANana');
    const bob = await join(session, server, 'nick', 'bob');
    bob.conn.send('KICK BANana');
    await bob.conn.waitForText('Command was refused!', { timeoutMs: WAIT_MS });
    banana.conn.send('BANana: hi');
    await bob.conn.waitForText('BANana: hi', { timeoutMs: WAIT_MS });
    await banana.conn.quiet(QUIET_MS);
    expect(tail(banana.conn, banana.at)).toBe('bob joined!BANana: hi');
    await expectServerState(server, ['BANana', 'bob'], 2);
  });

  it('ADMIN-BAN-1, ADMIN-BAN-2: a ban kicks, refuses the nickname with BAN, and survives a restart in the ban file', async () => {
    dir = mkdtempSync(joinPath(tmpdir(), 'chatkit-bans-'));
    const banFile = joinPath(dir, 'bans.txt');
    writeFileSync(banFile, 'mallory\n');
    const server = await session.server({ dialect: 'nick', adminPassword: PASSWORD, banFile });
    const bob = await join(session, server, 'nick', 'bob');
    const admin = await asAdmin(server, PASSWORD);
    await admin.waitForText('Connected to server!', { timeoutMs: WAIT_MS });
    admin.send('BAN bob');
    await bob.conn.waitForClose({ timeoutMs: WAIT_MS, what: 'the banned member closed' });
    await admin.waitForText('bob was kicked by an admin!', { timeoutMs: WAIT_MS });
    for (const nick of ['bob', 'mallory']) {
      const again = await session.open(server, `${nick}-again`);
      await again.waitForText('NICK', { timeoutMs: WAIT_MS });
      again.send(nick);
      await again.waitForClose({ timeoutMs: WAIT_MS, what: 'a banned nickname closed' });
      expect(escapeBytes(again.stream())).toBe('NICKBAN');
    }
    expect(readFileSync(banFile, 'utf8')).toBe('mallory\nbob\n');
    const restarted = await session.server({ dialect: 'nick', adminPassword: PASSWORD, banFile });
    const after = await session.open(restarted, 'bob-after-restart');
    await after.waitForText('NICK', { timeoutMs: WAIT_MS });
    after.send('bob');
    await after.waitForClose({ timeoutMs: WAIT_MS, what: 'banned after a restart' });
    expect(escapeBytes(after.stream())).toBe('NICKBAN');
  });

  it('EXT-1: without a password the nickname admin is an ordinary nickname and KICK an ordinary chunk', async () => {
    const server = await session.server({ dialect: 'nick' });
    const admin = await join(session, server, 'nick', 'admin');
    const bob = await join(session, server, 'nick', 'bob');
    admin.conn.send('KICK bob');
    await bob.conn.waitForText('KICK bob', { timeoutMs: WAIT_MS });
    await expectServerState(server, ['admin', 'bob'], 2);
  });

  it('refuses extension options the spec does not define: tilde, or a ban file without a password', async () => {
    await expect(startServer({ dialect: 'tilde', port: 0, commands: true })).rejects.toThrow(/only for nick/);
    await expect(startServer({ dialect: 'nick', port: 0, banFile: 'x' })).rejects.toThrow(/needs adminPassword/);
  });
});

describe('commands (spec §14.3)', () => {
  it('CMD-USERS-1, CMD-MSG-1: /users and /msg answer only those they concern, bare or after `<nick>: `', async () => {
    const server = await session.server({ dialect: 'nick', commands: true });
    const alice = await join(session, server, 'nick', 'alice');
    const bob = await join(session, server, 'nick', 'bob');
    const carol = await join(session, server, 'nick', 'carol');
    alice.conn.send('alice: /users');
    await alice.conn.waitForText('Users: alice, bob, carol', { timeoutMs: WAIT_MS });
    alice.conn.send('/msg bob psst');
    await bob.conn.waitForText('alice -> bob: psst', { timeoutMs: WAIT_MS });
    await alice.conn.waitForText('alice -> bob: psst', { timeoutMs: WAIT_MS });
    alice.conn.send('alice: /msg zed hi');
    await alice.conn.waitForText('No such user: zed', { timeoutMs: WAIT_MS });
    alice.conn.send('alice: /shrug');
    await carol.conn.waitForText('alice: /shrug', { timeoutMs: WAIT_MS });
    expect(tail(carol.conn, carol.at)).toBe('alice: /shrug');
  });

  it('CMD-NICK-1, CMD-QUIT-1: /nick renames (announced to all), a taken name is refused, /quit leaves under the new name', async () => {
    const server = await session.server({ dialect: 'nick', commands: true });
    const alice = await join(session, server, 'nick', 'alice');
    const bob = await join(session, server, 'nick', 'bob');
    alice.conn.send('alice: /nick bob');
    await alice.conn.waitForText('Nickname refused: nickname in use', { timeoutMs: WAIT_MS });
    alice.conn.send('alice: /nick a:b');
    await alice.conn.waitForText('Nickname refused: not a valid nickname', { timeoutMs: WAIT_MS });
    alice.conn.send('/nick ally');
    await bob.conn.waitForText('alice is now known as ally', { timeoutMs: WAIT_MS });
    await expectServerState(server, ['ally', 'bob'], 2);
    alice.conn.send('ally: /quit');
    await alice.conn.waitForClose({ timeoutMs: WAIT_MS, what: '/quit closes' });
    await bob.conn.waitForText('ally left!', { timeoutMs: WAIT_MS });
    await expectServerState(server, ['bob'], 1);
  });
});

describe('rooms (spec §14.4)', () => {
  it('ROOM-1, ROOM-RELAY-1, ROOM-JOIN-1, ROOM-LIST-1: lobby by default, notices per room, relay within a room', async () => {
    const server = await session.server({ dialect: 'nick', rooms: true });
    const alice = await join(session, server, 'nick', 'alice');
    const bob = await join(session, server, 'nick', 'bob');
    const carol = await join(session, server, 'nick', 'carol');
    alice.conn.send('alice: /join dev');
    await alice.conn.waitForText('alice joined #dev', { timeoutMs: WAIT_MS });
    await bob.conn.waitForText('alice left #lobby', { timeoutMs: WAIT_MS });
    bob.conn.send('/join dev');
    await alice.conn.waitForText('bob joined #dev', { timeoutMs: WAIT_MS });
    await carol.conn.waitForText('bob left #lobby', { timeoutMs: WAIT_MS });
    const carolAt = carol.conn.stream().length;
    alice.conn.send('alice: in dev');
    await bob.conn.waitForText('alice: in dev', { timeoutMs: WAIT_MS });
    carol.conn.send('carol: in lobby');
    await carol.conn.waitForText('carol: in lobby', { timeoutMs: WAIT_MS });
    carol.conn.send('/rooms');
    await carol.conn.waitForText('Rooms: lobby (1), dev (2)', { timeoutMs: WAIT_MS });
    expect(tail(carol.conn, carolAt)).toBe('carol: in lobbyRooms: lobby (1), dev (2)');
    const dave = await join(session, server, 'nick', 'dave');
    await carol.conn.waitForText('dave joined!', { timeoutMs: WAIT_MS });
    await alice.conn.quiet(QUIET_MS);
    expect(tail(alice.conn, alice.at)).not.toContain('dave joined!');
    bob.conn.close();
    await alice.conn.waitForText('bob left!', { timeoutMs: WAIT_MS });
    await dave.conn.quiet(QUIET_MS);
    expect(tail(dave.conn, dave.at)).not.toContain('bob left!');
    alice.conn.send('/join a#b');
    await alice.conn.waitForText('Bad room name: a#b', { timeoutMs: WAIT_MS });
  });
});
