/**
 * Hostile peers against the reference server (issue 16): descriptors and slots stay bounded,
 * look-alike names are refused, relayed text can be made harmless, and strict prefix judges a
 * whole chunk. Real sockets on 127.0.0.1; every wait bounded.
 */
import { readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, openConnection } from '../../conformance/harness/connection.js';
import { spawnTarget, type TargetHandle } from '../../src/processes/index.js';
import { SERVER_CLOSE_LINGER_MS, SERVER_SWEEP_MAX_INTERVAL_MS } from '../../src/limits.js';
import { type ChatServer, type ServerOptions, startServer } from '../../src/reference-server/index.js';
import { CHATKIT, assertBuilt, startChatkit } from '../support/cli.js';
import { until } from '../support/wait.js';
import { WAIT_MS } from './helpers.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function server(options: ServerOptions): Promise<ChatServer> {
  const s = await startServer({ port: 0, ...options });
  cleanup.push(() => s.close());
  return s;
}

async function peer(port: number, label: string): Promise<Connection> {
  const conn = await openConnection({ host: '127.0.0.1', port, label });
  cleanup.push(() => conn.close());
  return conn;
}

async function nickMember(port: number, nick: string): Promise<Connection> {
  const conn = await peer(port, nick);
  await conn.waitForText('NICK', { timeoutMs: WAIT_MS });
  conn.send(nick);
  await conn.waitForText('Connected to server!', { timeoutMs: WAIT_MS });
  return conn;
}

/** A bare socket from a chosen loopback address (the harness's connections always come from 127.0.0.1). */
interface RawPeer {
  readonly socket: Socket;
  text(): string;
  closed(): boolean;
}

async function rawPeer(port: number, localAddress: string): Promise<RawPeer> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  cleanup.push(() => socket.destroy());
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  socket.once('close', () => (closed = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, text: () => Buffer.concat(chunks).toString('utf8'), closed: () => closed };
}

const text = (conn: Connection) => Buffer.from(conn.stream()).toString('utf8');
const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

/** Opens `n` connections, a few at a time, so the listen backlog never overflows. */
async function openMany(port: number, n: number, label: string): Promise<Connection[]> {
  const conns: Connection[] = [];
  const BATCH = 50;
  for (let i = 0; i < n; i += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => peer(port, `${label}${i + j}`)),
    );
    conns.push(...batch);
  }
  return conns;
}

describe('descriptors and slots', () => {
  it('1,000 refused and timed-out connections whose peers never close leave the descriptor count at its baseline', async () => {
    const target: TargetHandle = await startChatkit([
      'serve',
      '--port',
      '0',
      '--handshake-timeout-ms',
      '300',
      '--max-pending',
      '2000',
      '--max-pending-per-address',
      '2000',
    ]);
    cleanup.push(() => target.stop());
    let port = 0;
    await target.waitForOutput(
      'stdout',
      (out) => {
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) port = Number(m[1]);
        return m !== null;
      },
      { timeoutMs: WAIT_MS * 2, what: 'the announced port' },
    );
    const baseline = fdCount(target.pid);
    // Half are refused (a nickname with a space), half say nothing until the handshake times out.
    const conns = await openMany(port, 1_000, 'hostile');
    conns.forEach((conn, i) => {
      if (i % 2 === 0) conn.send('two words');
    });
    await until(() => fdCount(target.pid) >= baseline + 100, 'the server to hold the connections');
    // Nobody closes: only the server's bounded linger can free the descriptors.
    const bound = 300 + SERVER_CLOSE_LINGER_MS + 2 * SERVER_SWEEP_MAX_INTERVAL_MS + WAIT_MS;
    await until(() => fdCount(target.pid) <= baseline, 'descriptors back at the baseline', bound);
    expect(fdCount(target.pid)).toBeLessThanOrEqual(baseline);
    expect(conns.filter((c) => c.closed).length).toBe(1_000);
    // Refusals went out before the close, and the log did not write a line per connection.
    expect(text(conns[0]!)).toContain('Refused: ');
    expect(target.stdout().split('\n').length).toBeLessThan(500);
    expect(target.stdout()).toMatch(/more like this in 1000 ms not logged/);
  });

  it('1,100 silent handshakes do not stop a real newcomer from joining', async () => {
    const s = await server({ dialect: 'nick', maxClients: 50 });
    const silent = await openMany(s.port, 1_100, 'silent');
    await until(() => silent.filter((c) => c.closed).length >= 1_100 - 256, 'the oldest handshakes to make room');
    const alice = await nickMember(s.port, 'alice');
    expect(s.members()).toEqual(['alice']);
    expect(text(alice)).toBe('NICK' + 'alice joined!' + 'Connected to server!');
    // The evicted ones were told why.
    expect(text(silent[0]!)).toContain('(HANDSHAKE_EVICTED)');
  });

  it('silent handshakes from other addresses filling --max-pending do not push out a newcomer on its way to answering', async () => {
    // The churn case: a real newcomer has its prompt and is about to answer when silent connections
    // from three other addresses fill the handshake limit. Evicting the oldest pending would close
    // the newcomer; the crowded addresses give up their own oldest instead.
    const s = await server({ dialect: 'nick', maxPending: 8, maxPendingPerAddress: 4 });
    const alice = await rawPeer(s.port, '127.0.0.1');
    await until(() => alice.text().startsWith('NICK'), 'the prompt to the newcomer');
    const silent: RawPeer[] = [];
    for (const address of ['127.0.0.20', '127.0.0.21', '127.0.0.22']) {
      for (let i = 0; i < 4; i++) {
        const p = await rawPeer(s.port, address);
        // The prompt went out on accept, so the server has decided on this one.
        await until(() => p.text().startsWith('NICK') || p.closed(), `the prompt to a silent peer from ${address}`);
        silent.push(p);
      }
    }
    // 13 handshakes against a limit of 8: five silent ones made room, the newcomer stayed.
    await until(() => silent.filter((p) => p.closed()).length >= 5, 'five silent handshakes to make room');
    expect(alice.closed()).toBe(false);
    alice.socket.write('alice');
    await until(() => alice.text().includes('Connected to server!') || alice.closed(), 'the newcomer to join');
    expect(alice.text()).toBe('NICK' + 'alice joined!' + 'Connected to server!');
    expect(s.members()).toEqual(['alice']);
    expect(silent.filter((p) => p.closed()).length).toBe(5);
    expect(silent.find((p) => p.closed())!.text()).toContain('(HANDSHAKE_EVICTED)');
  });

  it('out of descriptors (EMFILE): logged once with a code, and members join again once they free up', async () => {
    assertBuilt();
    // A soft limit of 160 descriptors (loading the CLI opens many files at once).
    const target = await spawnTarget({
      command: `ulimit -n 160 && exec "${process.execPath}" "${CHATKIT}" serve --port 0 --log-format json --max-pending 1000 --max-pending-per-address 1000`,
      env: { NO_COLOR: '1' },
    });
    cleanup.push(() => target.stop());
    let port = 0;
    await target.waitForOutput(
      'stdout',
      (out) => {
        const m = /"detail":"127\.0\.0\.1:(\d+) /.exec(out);
        if (m) port = Number(m[1]);
        return m !== null;
      },
      { timeoutMs: WAIT_MS * 2, what: 'the announced port' },
    );
    const crowd = await openMany(port, 250, 'crowd');
    await target.waitForOutput('stdout', 'SERVER_NO_DESCRIPTORS', { timeoutMs: WAIT_MS });
    for (const conn of crowd) conn.close();
    await target.waitForOutput('stdout', '"event":"recovered"', { timeoutMs: WAIT_MS });
    await nickMember(port, 'alice');
    expect(target.stdout().match(/SERVER_NO_DESCRIPTORS/g)?.length).toBe(1);
  });

  it('a full server tells the newcomer SERVER_FULL before it closes', async () => {
    const s = await server({ dialect: 'nick', maxClients: 1 });
    await nickMember(s.port, 'alice');
    const bob = await peer(s.port, 'bob');
    expect(await bob.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    expect(text(bob)).toMatch(/^Refused: .*\(SERVER_FULL\)$/);
  });

  it('a room that filled while a handshake was pending refuses it at the nickname', async () => {
    const s = await server({ dialect: 'nick', maxClients: 1 });
    const late = await peer(s.port, 'late');
    await late.waitForText('NICK', { timeoutMs: WAIT_MS });
    await nickMember(s.port, 'alice');
    late.send('late');
    expect(await late.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    expect(text(late)).toMatch(/Refused: .*\(SERVER_FULL\)$/);
    expect(s.members()).toEqual(['alice']);
  });
});

describe('tilde usernames that cannot deceive', () => {
  it.each([
    ['trailing space', 'SERVER '],
    ['zero-width space', 'SERVER\u200b'],
    ['fullwidth', 'ＳＥＲＶＥＲ'],
    ['lower case', 'server'],
    ['Cyrillic Е', 'S\u0415RVER'],
    ['soft hyphen', 'SER\u00adVER'],
  ])('refuses a SERVER look-alike (%s) as NICKNAME_RESERVED', async (_what, name) => {
    const s = await server({ dialect: 'tilde' });
    const conn = await peer(s.port, 'spoof');
    conn.send(name);
    expect(await conn.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    expect(text(conn)).toMatch(/^SERVER~Refused: .*\(NICKNAME_RESERVED\)/);
    expect(s.members()).toEqual([]);
  });

  it('refuses a name holding a bidi control (right-to-left override) as NICKNAME_FORBIDDEN_CHAR', async () => {
    const s = await server({ dialect: 'tilde' });
    const conn = await peer(s.port, 'rlo');
    conn.send('\u202eecila');
    expect(await conn.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    expect(text(conn)).toMatch(/\(NICKNAME_FORBIDDEN_CHAR\)/);
  });

  it('still admits names that only contain the word (serverless, zoë)', async () => {
    const s = await server({ dialect: 'tilde' });
    for (const name of ['serverless', 'zoë']) {
      const conn = await peer(s.port, name);
      conn.send(name);
      await conn.waitForText(`SERVER~${name} added to the chat`, { timeoutMs: WAIT_MS });
    }
    expect(s.members()).toEqual(['serverless', 'zoë']);
  });
});

describe('relayed text', () => {
  it('--sanitize replaces ESC, NUL and an inner newline, and keeps a final newline', async () => {
    const s = await server({ dialect: 'nick', sanitize: true });
    const alice = await nickMember(s.port, 'alice');
    const bob = await nickMember(s.port, 'bob');
    const start = bob.stream().length;
    alice.send('alice: hi\x1b[2J\x00\n[SERVER] bob left\n');
    await bob.waitForText('left\n', { timeoutMs: WAIT_MS, after: start });
    expect(Buffer.from(bob.stream().subarray(start)).toString('latin1')).toBe(
      'alice: hi?[2J??[SERVER] bob left\n',
    );
  });

  it('without --sanitize relays the same bytes unchanged (the legacy wire)', async () => {
    const s = await server({ dialect: 'nick' });
    const alice = await nickMember(s.port, 'alice');
    const bob = await nickMember(s.port, 'bob');
    const start = bob.stream().length;
    alice.send('alice: hi\x1b[2J\x00\n');
    await bob.waitForText('\x00\n', { timeoutMs: WAIT_MS, after: start });
    expect(Buffer.from(bob.stream().subarray(start)).toString('latin1')).toBe('alice: hi\x1b[2J\x00\n');
  });

  it('--strict-prefix relays every piece of a long chunk with the right prefix', async () => {
    const s = await server({ dialect: 'nick', strictPrefix: true });
    const alice = await nickMember(s.port, 'alice');
    const bob = await nickMember(s.port, 'bob');
    const start = bob.stream().length;
    const long = `alice: ${'x'.repeat(2_000)}END`;
    alice.send(long);
    await bob.waitForText('END', { timeoutMs: WAIT_MS, after: start });
    expect(Buffer.from(bob.stream().subarray(start)).toString()).toBe(long);
  });

  it('--strict-prefix drops every piece of a long chunk with a wrong prefix, not only the first', async () => {
    const s = await server({ dialect: 'nick', strictPrefix: true });
    const alice = await nickMember(s.port, 'alice');
    const bob = await nickMember(s.port, 'bob');
    const start = bob.stream().length;
    const drops: string[] = [];
    s.on('drop', ({ code }) => drops.push(code));
    alice.send(`bob: ${'x'.repeat(1_019)}alice: forged`);
    // Sent apart, or TCP may merge the two writes into one chunk (which is one message).
    await until(() => drops.length > 0, 'the long chunk to be dropped');
    alice.send('alice: marker');
    await bob.waitForText('alice: marker', { timeoutMs: WAIT_MS, after: start });
    expect(Buffer.from(bob.stream().subarray(start)).toString()).toBe('alice: marker');
    expect(drops).toEqual(['PREFIX_MISMATCH']);
  });
});
