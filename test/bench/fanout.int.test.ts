/**
 * The reference server with `writeBatching: 'turn'` (the shared fan-out that `npm run bench`
 * measures as `--write-batching turn`): every member's stream is exactly what the one-write-per-
 * message server sends, in the same order; only write boundaries may differ under load.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import { type Connection, openConnection } from '../../conformance/harness/connection.js';
import { runCases } from '../../conformance/harness/runner.js';
import { selectCases } from '../../conformance/harness/select.js';
import { type ChatServer, startServer } from '../../src/reference-server/index.js';

const WAIT_MS = 5_000;
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const text = (conn: Connection) => Buffer.from(conn.stream()).toString('utf8');

async function server(dialect: 'nick' | 'tilde'): Promise<ChatServer> {
  const s = await startServer({ dialect, port: 0, writeBatching: 'turn' });
  cleanup.push(() => s.close());
  return s;
}

async function nick(s: ChatServer, name: string): Promise<Connection> {
  const conn = await openConnection({ host: '127.0.0.1', port: s.port, label: name });
  cleanup.push(() => conn.close());
  await conn.waitForText('NICK', { timeoutMs: WAIT_MS });
  conn.send(name);
  await conn.waitForText('Connected to server!', { timeoutMs: WAIT_MS });
  return conn;
}

describe("reference server, writeBatching 'turn'", () => {
  it('gives every member the same stream as one write per message would: joins, relays in order, leaves', async () => {
    const s = await server('nick');
    const alice = await nick(s, 'alice');
    const bob = await nick(s, 'bob');
    // Back to back, not paced: they may share a write, never change the stream.
    for (let i = 0; i < 50; i++) alice.send(`alice: ${i};`);
    const relays = Array.from({ length: 50 }, (_, i) => `alice: ${i};`).join('');
    await bob.waitForText(`alice: 49;`, { timeoutMs: WAIT_MS });
    await alice.waitForText(`alice: 49;`, { timeoutMs: WAIT_MS });
    expect(text(alice)).toBe(`NICKalice joined!Connected to server!bob joined!${relays}`);
    expect(text(bob)).toBe(`NICKbob joined!Connected to server!${relays}`);
    bob.close();
    await alice.waitForText('bob left!', { timeoutMs: WAIT_MS });
    expect(text(alice)).toBe(`NICKalice joined!Connected to server!bob joined!${relays}bob left!`);
  });

  it('never gives a newcomer what was broadcast before it joined', async () => {
    const s = await server('tilde');
    const conns: Connection[] = [];
    for (const user of ['ann', 'ben']) {
      const conn = await openConnection({ host: '127.0.0.1', port: s.port, label: user });
      cleanup.push(() => conn.close());
      conn.send(user);
      await conn.waitForText(`SERVER~${user} added to the chat`, { timeoutMs: WAIT_MS });
      conns.push(conn);
    }
    const [ann, ben] = conns as [Connection, Connection];
    ann.send('hello');
    await ben.waitForText('ann~hello', { timeoutMs: WAIT_MS });
    const cat = await openConnection({ host: '127.0.0.1', port: s.port, label: 'cat' });
    cleanup.push(() => cat.close());
    cat.send('cat');
    await cat.waitForText('SERVER~cat added to the chat', { timeoutMs: WAIT_MS });
    ann.send('again');
    await cat.waitForText('ann~again', { timeoutMs: WAIT_MS });
    await ben.waitForText('ann~again', { timeoutMs: WAIT_MS });
    expect(text(cat)).toBe('SERVER~cat added to the chatann~again');
    expect(text(ben)).toBe('SERVER~ben added to the chatann~helloSERVER~cat added to the chatann~again');
  });
});

/** Bound on one dialect's whole suite (it takes seconds; the slow-reader cases wait out floods). */
const SUITE_MS = 240_000;

describe("reference server, writeBatching 'turn', judged by the conformance suite", () => {
  it.concurrent.each(['nick', 'tilde'] as const)(
    '%s: passes every server case (core and robustness)',
    async (dialect) => {
      const cases = selectCases(ALL_CASES, { dialect, kind: 'server', profiles: ['core', 'robustness'] });
      expect(cases.length).toBeGreaterThan(20);
      // Its own server, closed here: the file's afterEach would close it under the other dialect's run.
      const s = await startServer({ dialect, port: 0, writeBatching: 'turn' });
      const target = { kind: 'address', host: '127.0.0.1', port: s.port } as const;
      const results = await runCases(cases, { target, dialect }).finally(() => s.close());
      const notPassed = results
        .filter((r) => r.verdict !== 'pass')
        .map((r) => `${r.id}: ${r.verdict} ${r.failure?.message ?? r.error ?? r.skipReason ?? ''}`);
      expect(notPassed).toEqual([]);
      expect(results).toHaveLength(cases.length);
    },
    SUITE_MS,
  );
});
