/**
 * A flooder must never evict the room (input backpressure, `flow.ts`). One member writes
 * {@link FLOOD_BYTES} as fast as its socket takes them while 990 members chat at 5 messages a
 * second each, against the server in its default mode. Before input backpressure, a flood like
 * this filled every member's queue past the slow-consumer bound (with turn batching, 525 of 990
 * members were evicted within 3 s). Now the flooder's input is paused: its messages arrive late,
 * every one of them, and nobody else loses anything.
 *
 * The chat is `chatkit bench`'s paced run (every member's stream scanned for every message's
 * token); the flood is bytes `%`, which no token, nickname or announcement holds, counted at the
 * flooder (it gets its own relays back) and at a watcher.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Flooder, joinFlooder } from '../../src/bench/hostile.js';
import { runBench } from '../../src/bench/loadgen.js';
import { SERVER_MAX_RATE_BYTES, SERVER_RATE_BURST_SECONDS } from '../../src/limits.js';
import { until } from '../support/wait.js';
import type { LogEntry } from '../../src/reference-server/log.js';
import { type ChatServer, type ServerEvents, startServer } from '../../src/reference-server/index.js';

const MEMBERS = 990;
const RATE = 5;
const CHAT_MS = 5_000;
/**
 * The slow-consumer bound of this server: a quarter of the default, so that the flood is many
 * times it (unthrottled, it alone pushes most queues past it: the test fails without input
 * backpressure) and more than the rate limit's burst (so the flooder is rate-limited too).
 */
const QUEUE_BYTES = 256 * 1024;
const FLOOD_BYTES = SERVER_MAX_RATE_BYTES * SERVER_RATE_BURST_SECONDS + 16 * QUEUE_BYTES;
const PERCENT = 0x25;
/** Bound on each wait of this file. */
const WAIT_MS = 120_000;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A NICK member counting the `%` bytes it receives (the shared hostile peer of the soak). */
async function percentCounter(server: ChatServer, nick: string): Promise<Flooder> {
  const f = await joinFlooder({ host: '127.0.0.1', port: server.port, dialect: 'nick' }, nick, PERCENT, {
    timeoutMs: WAIT_MS,
  });
  cleanup.push(() => f.socket.destroy());
  return f;
}

describe('reference server, default mode, one flooder in a busy room', () => {
  it('throttles the flooder (its messages delayed, none lost) while 990 members chatting at 5 msg/s lose nothing and nobody is evicted', async () => {
    const log: LogEntry[] = [];
    const server = await startServer({
      dialect: 'nick',
      port: 0,
      maxQueueBytes: QUEUE_BYTES,
      logger: (e) => log.push(e),
    });
    cleanup.push(() => server.close());
    const leaves: ServerEvents['leave'][0][] = [];
    server.on('leave', (e) => leaves.push(e));

    const flooder = await percentCounter(server, 'flooder');
    const watcher = await percentCounter(server, 'watcher');
    let flooding: Promise<void> | undefined;
    let floodWrites = 0;
    const result = await runBench({
      host: '127.0.0.1',
      port: server.port,
      dialect: 'nick',
      clients: MEMBERS,
      senders: MEMBERS,
      durationMs: CHAT_MS,
      rate: RATE,
      size: 64,
      joinConcurrency: 64,
      joinRate: 0,
      joinTimeoutMs: WAIT_MS,
      drainMs: WAIT_MS,
      drainQuietMs: 10_000,
      deadlineMs: 4 * WAIT_MS,
      onProgress: (p) => {
        // The flood starts with the chat, once every member has joined and the room is quiet.
        if (p.phase === 'send' && flooding === undefined) {
          flooding = flooder.flood(FLOOD_BYTES, WAIT_MS).then(() => {
            floodWrites++;
          });
        }
      },
    });
    expect(flooding).toBeDefined();
    await flooding;
    expect(floodWrites).toBe(1);
    const floodPercent = FLOOD_BYTES;
    await until(
      () => watcher.received() >= floodPercent && flooder.received() >= floodPercent,
      'the whole flood at the watcher and the flooder',
      WAIT_MS,
    );

    // The chat: every member joined, got every message, and was never closed (the bench ends
    // with closing them itself, so the server's member list is empty by now).
    expect(result.join.joined).toBe(MEMBERS);
    expect(result.deliveries.expected).toBe(result.send.messages * MEMBERS);
    expect(result.deliveries.lost).toBe(0);
    expect(result.membersLost).toBe(0);
    expect(leaves.filter((e) => e.reason === 'SLOW_CONSUMER')).toEqual([]);
    // The flood: delayed, and every byte relayed exactly once. Whether the rate limit (logged once as
    // FLOODING) or the room's backlog throttles it first depends on how fast the members read, which
    // a loaded machine changes (as in the hostile soak); flow.int.test.ts pins the rate limit's line.
    const floods = log.filter((e) => e.event === 'flood');
    expect(floods.map((e) => [e.nick, e.code])).toEqual(floods.length === 0 ? [] : [['flooder', 'FLOODING']]);
    expect(watcher.received()).toBe(floodPercent);
    expect(flooder.received()).toBe(floodPercent);
  }, 6 * WAIT_MS);
});
