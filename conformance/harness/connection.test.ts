import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, ConnectionErrorCode, type Listener, listen, openConnection } from './connection.js';
import { freePort } from '../../src/processes/index.js';
import { stallThread } from '../../test/support/stall.js';

/** Short deadlines: these tests only wait for loopback traffic that is already on its way. */
const WAIT_MS = 2_000;
/** A deadline that is meant to pass. */
const SHORT_TIMEOUT_MS = 50;

let listener: Listener | undefined;
const open: Connection[] = [];

afterEach(async () => {
  for (const connection of open.splice(0)) connection.close();
  await listener?.close();
  listener = undefined;
});

/** A client connection and the server side of it, both recorded. */
async function pair(): Promise<{ client: Connection; server: Connection }> {
  listener = await listen({ label: 'server' });
  const client = await openConnection({ port: listener.port, label: 'client' });
  const server = await listener.nextConnection({ timeoutMs: WAIT_MS });
  open.push(client, server);
  return { client, server };
}

describe('connection recorder', () => {
  it('keeps each received chunk separately and reassembles the stream', async () => {
    const { client, server } = await pair();
    server.send('ab');
    await client.waitForText('ab', { timeoutMs: WAIT_MS });
    server.send('cd');
    await client.waitForText('cd', { timeoutMs: WAIT_MS });
    expect(Buffer.from(client.stream()).toString()).toBe('abcd');
    // Paced writes: each arrived before the next was made, so they are two chunks.
    expect(client.chunks().map((c) => Buffer.from(c).toString())).toEqual(['ab', 'cd']);
    expect(Buffer.from(server.stream()).toString()).toBe('');
  });

  it('resolves waitForText with the offset after the match, searching from `after`', async () => {
    const { client, server } = await pair();
    server.send('x-y-x-');
    expect(await client.waitForText('x-', { timeoutMs: WAIT_MS })).toBe(2);
    expect(await client.waitForText('x-', { after: 1, timeoutMs: WAIT_MS })).toBe(6);
  });

  it('rejects a wait at its deadline with WAIT_TIMEOUT and the escaped stream so far', async () => {
    const { client, server } = await pair();
    server.send('hi\n\x01');
    await client.waitForText('hi', { timeoutMs: WAIT_MS });
    const error = await client
      .waitForText('never', { timeoutMs: SHORT_TIMEOUT_MS, what: 'the word never' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: ConnectionErrorCode.WAIT_TIMEOUT,
      what: expect.stringContaining('the word never'),
      stream: 'hi\\n\\x01',
    });
  });

  it('fails a wait at once with CLOSED_BEFORE_MATCH when the peer closes first', async () => {
    const { client, server } = await pair();
    const waiting = client.waitForText('never', { timeoutMs: WAIT_MS }).catch((e: unknown) => e);
    server.close();
    expect(await waiting).toMatchObject({ code: ConnectionErrorCode.CLOSED_BEFORE_MATCH });
  });

  it('tells EOF from reset', async () => {
    const first = await pair();
    first.server.end();
    expect(await first.client.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    await listener?.close();
    const second = await pair();
    second.server.reset();
    expect(await second.client.waitForClose({ timeoutMs: WAIT_MS })).toBe('reset');
    expect(second.client.closed).toBe(true);
  });

  it('waits for a close while a backlog still arrives, and gives up on a peer that never stops', async () => {
    // A server draining a backlog before its FIN is working: the close wait's bound counts from
    // the last byte. The sender and the waiter share this event loop, so a stalled machine delays
    // both alike.
    const draining = await pair();
    let sent = 0;
    const drip = setInterval(() => {
      draining.server.send('x');
      if (++sent === 20) {
        clearInterval(drip);
        draining.server.end();
      }
    }, SHORT_TIMEOUT_MS / 5);
    try {
      expect(await draining.client.waitForClose({ timeoutMs: SHORT_TIMEOUT_MS })).toBe('eof');
      expect(draining.client.stream()).toHaveLength(20);
    } finally {
      clearInterval(drip);
    }
    const endless = await pair();
    const stream = setInterval(() => endless.server.send('y'), SHORT_TIMEOUT_MS / 5);
    try {
      const error = await endless.client.waitForClose({ timeoutMs: SHORT_TIMEOUT_MS }).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: ConnectionErrorCode.WAIT_TIMEOUT,
        what: expect.stringContaining('bytes still arriving'),
      });
      expect(endless.client.closed).toBe(false);
    } finally {
      clearInterval(stream);
    }
  });

  it('returns what arrived during a quiet window', async () => {
    const { client, server } = await pair();
    server.send('before');
    await client.waitForText('before', { timeoutMs: WAIT_MS });
    const window = client.quiet(200);
    server.send('during');
    expect(Buffer.from(await window).toString()).toBe('during');
    expect(Buffer.from(await client.quiet(20)).toString()).toBe('');
  });

  it('renders a transcript with directions, times and escaped bytes', async () => {
    const { client, server } = await pair();
    client.send('nick\r\n');
    await server.waitForText('nick', { timeoutMs: WAIT_MS });
    server.send('alice joined!');
    await client.waitForText('joined!', { timeoutMs: WAIT_MS });
    const lines = client.transcript().split('\n');
    expect(lines[0]).toBe('# client');
    expect(lines).toContainEqual(expect.stringMatching(/^\+\d+\.\dms out "nick\\r\\n"$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\+\d+\.\dms in {2}"alice joined!"$/));
  });

  it('records what this side did beyond reads and writes, and nothing for ordinary traffic', async () => {
    const { client, server } = await pair();
    client.send('hello');
    await server.waitForText('hello', { timeoutMs: WAIT_MS });
    expect(client.localActs()).toEqual([]);
    client.pauseReading();
    client.resumeReading();
    client.end();
    client.reset();
    client.send('late');
    expect(client.localActs()).toEqual(['pause', 'half-close', 'reset', 'send-after-close']);
    expect(server.localActs()).toEqual([]);
  });

  it('rejects a connection to a closed port with CONNECT_FAILED', async () => {
    const port = await freePort();
    const error = await openConnection({ port, label: 'nobody' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ConnectionErrorCode.CONNECT_FAILED, label: 'nobody' });
  });

  it('bounds the wait for an incoming connection with ACCEPT_TIMEOUT', async () => {
    listener = await listen();
    const error = await listener.nextConnection({ timeoutMs: SHORT_TIMEOUT_MS }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ConnectionErrorCode.ACCEPT_TIMEOUT });
  });

  it('refuses an unbounded quiet window', async () => {
    const { client } = await pair();
    await expect(client.quiet(Number.POSITIVE_INFINITY)).rejects.toMatchObject({
      code: ConnectionErrorCode.BAD_ARGUMENT,
    });
  });
});

/** Longer than SHORT_TIMEOUT_MS, so the deadline has passed when the thread wakes. */
const STALL_MS = 300;

describe('deadlines on a busy checker', () => {
  it('counts bytes that came while the checker was stalled past a quiet window as arrived in it', async () => {
    const { client, server } = await pair();
    const quiet = client.quiet(SHORT_TIMEOUT_MS);
    // No await before the stall: the client gets no turn to read before its window has passed.
    server.send('late');
    stallThread(STALL_MS);
    expect(Buffer.from(await quiet).toString()).toBe('late');
  });

  it('a connect that completed while the checker was stalled past its deadline is not a timeout', async () => {
    listener = await listen({ label: 'server' });
    const opening = openConnection({ port: listener.port, label: 'client', connectTimeoutMs: SHORT_TIMEOUT_MS });
    // The kernel completes the loopback handshake during the stall; the deadline expires during it too.
    stallThread(STALL_MS);
    const client = await opening;
    open.push(client);
    expect(client.label).toBe('client');
  });

  it('bytes and a connection that arrived during the stall are seen before the deadline is judged', async () => {
    listener = await listen({ label: 'server' });
    const client = await openConnection({ port: listener.port, label: 'client' });
    open.push(client);
    const accepting = listener.nextConnection({ timeoutMs: SHORT_TIMEOUT_MS });
    stallThread(STALL_MS);
    const server = await accepting;
    open.push(server);
    const waiting = client.waitForText('late but there', { timeoutMs: SHORT_TIMEOUT_MS });
    server.send('late but there');
    stallThread(STALL_MS);
    await expect(waiting).resolves.toBeTypeOf('number');
  });
});
