/**
 * The advanced tutorial's admin server and client (conformance/targets/python/admin_server.py and
 * admin_client.py, transcribed from the wire of spec §14.2): an ordinary admin session, then one test
 * per defect of spec Annex A.5 and A.6 (D-AS-n, D-AC-n), on loopback against the real scripts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Connection, openConnection } from '../../conformance/harness/connection.js';
import { spawnPythonServer, type TargetHandle } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { escapeBytes } from '../../src/codec/escape.js';
import { SHOWN_QUIET_MS, text, useSeedClient } from './helpers.js';

const SERVER = join(PYTHON_TARGETS_DIR, 'admin_server.py');
const CLIENT = join(PYTHON_TARGETS_DIR, 'admin_client.py');
const WAIT = { timeoutMs: 5_000 };

describe('admin_server.py (the advanced tutorial, spec Annex A.5)', () => {
  let dir: string;
  let server: TargetHandle | undefined;
  let peers: Connection[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chatkit-admin-'));
    peers = [];
  });
  afterEach(async () => {
    for (const p of peers) p.close();
    await server?.stop();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the script with a ban file (created empty unless `missing`). */
  async function start(missing = false): Promise<string> {
    const bans = join(dir, 'bans.txt');
    if (!missing) writeFileSync(bans, '');
    server = await spawnPythonServer(SERVER, { args: [bans] });
    return bans;
  }
  async function connect(label: string): Promise<Connection> {
    const conn = await openConnection({ port: server!.port!, label });
    peers.push(conn);
    return conn;
  }
  async function joinAs(nick: string): Promise<Connection> {
    const conn = await connect(nick);
    await conn.waitForText('NICK', WAIT);
    conn.send(nick);
    await conn.waitForText('Connected to server!', WAIT);
    return conn;
  }

  it('an ordinary session: PASS, the admin joins, kicks and bans, and the ban refuses the name', async () => {
    await start();
    const bob = await joinAs('bob');
    const admin = await connect('admin');
    await admin.waitForText('NICK', WAIT);
    admin.send('admin');
    await admin.waitForText('PASS', WAIT);
    admin.send('adminpass');
    await admin.waitForText('Connected to server!', WAIT);
    await bob.waitForText('admin joined!', WAIT);
    admin.send('BAN bob');
    await bob.waitForText('You were kicked by an admin!', WAIT);
    expect(text(bob)).toBe('NICKbob joined!Connected to server!admin joined!You were kicked by an admin!');
    await admin.waitForText('bob was kicked by an admin!', WAIT);
    const again = await connect('bob-again');
    await again.waitForText('NICK', WAIT);
    again.send('bob');
    await again.waitForClose({ ...WAIT, what: 'banned' });
    expect(text(again)).toBe('NICKBAN');
  });

  it('D-AS-1: without the ban file the accept loop dies at the first nickname, and with it the server', async () => {
    await start(true);
    const first = await connect('first');
    await first.waitForText('NICK', WAIT);
    first.send('alice');
    await server!.waitForOutput('stderr', 'FileNotFoundError', WAIT);
    const exit = await server!.exited;
    expect(exit).toMatchObject({ code: 1 });
    expect(text(first)).toBe('NICK');
  });

  it('D-AS-4: a kicked member is told but not disconnected: it stays connected until it writes', async () => {
    await start();
    const bob = await joinAs('bob');
    const carol = await joinAs('carol');
    const admin = await connect('admin');
    await admin.waitForText('NICK', WAIT);
    admin.send('admin');
    await admin.waitForText('PASS', WAIT);
    admin.send('adminpass');
    await admin.waitForText('Connected to server!', WAIT);
    admin.send('KICK bob');
    await bob.waitForText('You were kicked by an admin!', WAIT);
    await carol.waitForText('bob was kicked by an admin!', WAIT);
    await bob.quiet(SHOWN_QUIET_MS * 2);
    expect(bob.closed).toBe(false);
  });

  it('D-AS-2: a member whose nickname starts with BAN cannot chat: "Command was refused!", nothing relayed', async () => {
    await start();
    const banana = await joinAs('BANana');
    const bob = await joinAs('bob');
    const from = bob.stream().length;
    banana.send('BANana: hi');
    await banana.waitForText('Command was refused!', WAIT);
    await bob.quiet(SHOWN_QUIET_MS);
    expect(escapeBytes(bob.stream().subarray(from))).toBe('');
  });

  it('D-AS-3: the right password with a trailing LF (nc) is refused', async () => {
    await start();
    const admin = await connect('admin');
    await admin.waitForText('NICK', WAIT);
    admin.send('admin');
    await admin.waitForText('PASS', WAIT);
    admin.send('adminpass\n');
    await admin.waitForClose({ ...WAIT, what: 'refused' });
    expect(text(admin)).toBe('NICKPASSREFUSE');
  });
});

describe('admin_client.py (the advanced tutorial, spec Annex A.6)', () => {
  const { start } = useSeedClient(CLIENT, 'admin_client.py');

  it('an ordinary admin session: answers PASS with the password, and /kick becomes KICK <nick>', async () => {
    const { client, server } = await start('admin\nadminpass\n');
    server.send('NICK');
    await server.waitForText('admin', WAIT);
    server.send('PASS');
    await server.waitForText('adminadminpass', WAIT);
    server.send('admin joined!Connected to server!');
    await server.quiet(SHOWN_QUIET_MS);
    client.writeStdin('/kick bob\n');
    await server.waitForText('KICK bob', WAIT);
    expect(text(server)).toBe('adminadminpassKICK bob');
  });

  it('D-AC-1: a client that is not the admin drops the message after its nickname: its own `joined!` is never shown', async () => {
    const { client, server } = await start('alice\n');
    server.send('NICK');
    await server.waitForText('alice', WAIT);
    server.send('alice joined!');
    await server.quiet(SHOWN_QUIET_MS);
    server.send('bob: hi');
    await client.waitForOutput('stdout', 'bob: hi\n', WAIT);
    expect(client.stdout()).not.toContain('alice joined!');
  });

  it('D-AC-2: a client that is not the admin never sends a line starting with "/"', async () => {
    const { client, server } = await start('alice\n');
    server.send('NICK');
    await server.waitForText('alice', WAIT);
    server.send('alice joined!');
    await server.quiet(SHOWN_QUIET_MS);
    server.send('Connected to server!');
    await client.waitForOutput('stdout', 'Connected to server!\n', WAIT);
    client.writeStdin('/users\n');
    await client.waitForOutput('stdout', 'Commands can only be executed by the admin!', WAIT);
    client.writeStdin('after\n');
    await server.waitForText('alice: after', WAIT);
    expect(text(server)).toBe('alicealice: after');
  });
});
