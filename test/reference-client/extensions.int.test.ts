/**
 * The reference client and the extension profiles (spec §14) against the reference server on real
 * sockets: the admin's password exchange (ADMIN-CLIENT-1), refusals it reports, its own rename
 * (CMD-CLIENT-1), and the terminal's `/help` and typed commands.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type ChatClient, connect } from '../../src/reference-client/client.js';
import { extensionCommand, helpLines } from '../../src/reference-client/tui.js';
import { type ChatServer, startServer } from '../../src/reference-server/index.js';

let servers: ChatServer[] = [];
let clients: ChatClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  clients = [];
});

async function serve(options: Parameters<typeof startServer>[0]): Promise<ChatServer> {
  const server = await startServer({ host: '127.0.0.1', port: 0, ...options });
  servers.push(server);
  return server;
}
async function join(server: ChatServer, nick: string, more: Partial<Parameters<typeof connect>[0]> = {}) {
  const client = await connect({ host: '127.0.0.1', port: server.port, dialect: 'nick', nick, ...more });
  clients.push(client);
  return client;
}
const text = (e: { kind: string; bytes?: Uint8Array }) => (e.bytes ? Buffer.from(e.bytes).toString('latin1') : '');

describe('the reference client with the admin profile', () => {
  it('answers PASS with the password, never shows it, and kicks with sendExtension', async () => {
    const server = await serve({ dialect: 'nick', adminPassword: 'pw' });
    const bob = await join(server, 'bob');
    const admin = await join(server, 'admin', { adminPassword: 'pw' });
    expect(admin.extensions).toEqual(['admin']);
    admin.sendExtension('admin', { type: 'kick', nick: 'bob' });
    await admin.waitFor((e) => text(e).includes('bob was kicked by an admin!'));
    await bob.closed;
    const seen: string[] = [];
    for await (const e of admin.events) {
      seen.push(text(e));
      if (text(e).includes('kicked')) break;
    }
    expect(seen.join('|')).not.toContain('PASS');
  });

  it('reports a wrong password, a banned nickname and a missing password as refusals', async () => {
    const server = await serve({ dialect: 'nick', adminPassword: 'pw' });
    await expect(join(server, 'admin', { adminPassword: 'nope' })).rejects.toMatchObject({
      code: 'CLIENT_REFUSED',
      reason: 'wrong admin password (REFUSE)',
    });
    await expect(join(server, 'admin')).rejects.toMatchObject({ code: 'CLIENT_REFUSED' });
    const admin = await join(server, 'admin', { adminPassword: 'pw' });
    const mallory = await join(server, 'mallory');
    admin.sendExtension('admin', { type: 'ban', nick: 'mallory' });
    await mallory.closed;
    await expect(join(server, 'mallory')).rejects.toMatchObject({
      code: 'CLIENT_REFUSED',
      reason: 'this nickname is banned (BAN)',
    });
  });
});

describe('the reference client with the commands profile', () => {
  it('takes its new nickname from the rename notice and chats under it (CMD-CLIENT-1)', async () => {
    const server = await serve({ dialect: 'nick', commands: true });
    const alice = await join(server, 'alice', { extensions: ['commands'] });
    const bob = await join(server, 'bob');
    alice.sendExtension('commands', { type: 'rename', nick: 'ally' });
    await alice.waitFor((e) => text(e) === 'alice is now known as ally');
    expect(alice.nick).toBe('ally');
    alice.send('hi');
    await bob.waitFor((e) => text(e) === 'ally: hi');
  });
});

describe('the terminal: /help and typed commands', () => {
  it('lists the commands of the profiles the server speaks, and only those', () => {
    expect(helpLines([]).join('\n')).not.toMatch(/\/kick|\/users|\/join/);
    expect(helpLines(['admin', 'rooms']).join('\n')).toMatch(/\/kick[\s\S]*\/ban[\s\S]*\/join[\s\S]*\/rooms/);
    expect(helpLines(['admin', 'rooms']).join('\n')).not.toMatch(/\/users/);
  });

  it('turns typed commands into the profile messages', () => {
    const all = ['admin', 'commands', 'rooms'] as const;
    expect(extensionCommand('/kick bob', all)).toEqual({ ext: 'admin', message: { type: 'kick', nick: 'bob' } });
    expect(extensionCommand('/msg bob hi there', all)).toEqual({
      ext: 'commands',
      message: { type: 'msg', nick: 'bob', text: 'hi there' },
    });
    expect(extensionCommand('/join dev', all)).toEqual({ ext: 'rooms', message: { type: 'join', room: 'dev' } });
    expect(extensionCommand('/users', ['rooms'])).toBeUndefined();
    expect(extensionCommand('/shrug', all)).toBeUndefined();
  });
});
