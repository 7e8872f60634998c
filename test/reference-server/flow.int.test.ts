/**
 * `--max-rate` on the reference server: past its rate a member is throttled (its input paused,
 * its messages delayed), never dropped and never closed; the episode is logged once, with its code.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, openConnection } from '../../conformance/harness/connection.js';
import { type ChatServer, type LogEntry, startServer } from '../../src/reference-server/index.js';

const WAIT_MS = 20_000;
/** A rate far below what the member sends, so that throttling must happen. */
const RATE = { bytes: 2_000, messages: 0 };
const MESSAGES = 20;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function member(s: ChatServer, name: string): Promise<Connection> {
  const conn = await openConnection({ host: '127.0.0.1', port: s.port, label: name });
  cleanup.push(() => conn.close());
  await conn.waitForText('NICK', { timeoutMs: WAIT_MS });
  conn.send(name);
  await conn.waitForText('Connected to server!', { timeoutMs: WAIT_MS });
  return conn;
}

describe('reference server, --max-rate', () => {
  it('throttles a member past its rate: every message relayed in order, late; one FLOODING line; nobody closed', async () => {
    const log: LogEntry[] = [];
    const s = await startServer({ dialect: 'nick', port: 0, maxRate: RATE, logger: (e) => log.push(e) });
    cleanup.push(() => s.close());
    const fast = await member(s, 'fast');
    const watch = await member(s, 'watch');
    // 20 × ~500 bytes is 10 kB: the 4 kB burst, then about 3 s at 2 kB/s.
    const text = (i: number) => `fast: ${String(i).padStart(3, '0')}${'y'.repeat(490)};`;
    for (let i = 0; i < MESSAGES; i++) fast.send(text(i));
    await watch.waitForText(text(MESSAGES - 1), { timeoutMs: WAIT_MS });
    const seen = Buffer.from(watch.stream()).toString('latin1');
    const relayed = seen.slice(seen.indexOf('fast: 000'));
    expect(relayed).toBe(Array.from({ length: MESSAGES }, (_, i) => text(i)).join(''));
    const floods = log.filter((e) => e.event === 'flood');
    expect(floods.map((e) => [e.nick, e.code])).toEqual([['fast', 'FLOODING']]);
    expect(s.members()).toEqual(['fast', 'watch']);
  });
});
