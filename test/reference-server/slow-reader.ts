/**
 * The slow-reader scenario (ROBUST-SLOW-1, the fix of D-NS-8), shared by the model test and the annex
 * test: `fast`, `watch` and `slow` join a server whose per-member queue is small; `slow` stops reading;
 * `fast` floods paced batches while `watch` keeps reading. The server must close `slow` once its queue
 * overflows, announce it as a leave, and go on delivering every byte to the others.
 *
 * How much it takes depends on the kernel's buffers toward `slow` (a few MB on loopback), so the flood
 * runs until the leave is observed, bounded by bytes and time. Streams are scanned chunk by chunk:
 * re-concatenating megabytes after every chunk would make the wait quadratic.
 */
import { expect } from 'vitest';
import type { Connection } from '../../conformance/harness/connection.js';
import type { DialectName } from '../../src/codec/index.js';
import type { ServerEvents } from '../../src/reference-server/index.js';
import { wireFormat } from '../support/room-model.js';
import { expectServerState, join, type Session, WAIT_MS } from './helpers.js';

/** The per-member output bound for the scenario: small, so the flood stays short. */
export const SLOW_QUEUE_BYTES = 64 * 1024;
/** Bytes of `x` in one flood write (the NICK message adds `fast: `). */
const FLOOD_X = 994;
/** Writes per batch; the next batch waits until `watch` has the previous one (paced, bounded memory). */
const FLOOD_BATCH = 64;
/** Bound on the flood: far more than loopback buffers hold (a few MB), far less than would be slow. */
const FLOOD_MAX_BYTES = 64 * 1024 * 1024;
const FLOOD_DEADLINE_MS = 40_000;

const X = 0x78;

/** Counts `x` bytes in a connection's chunks from `fromChunk` on, incrementally. */
class XCounter {
  #next: number;
  count = 0;
  constructor(
    readonly conn: Connection,
    fromChunk: number,
  ) {
    this.#next = fromChunk;
  }
  update(): number {
    const chunks = this.conn.chunks();
    for (; this.#next < chunks.length; this.#next++) {
      for (const byte of chunks[this.#next]!) if (byte === X) this.count++;
    }
    return this.count;
  }
}

/** Polls (bounded) until `counter` has seen `count` x bytes. */
async function awaitX(counter: XCounter, count: number, deadline: number): Promise<void> {
  while (counter.update() < count) {
    if (performance.now() > deadline || counter.conn.closed)
      throw new Error(
        `${counter.conn.label} received ${counter.count} of ${count} flooded bytes (closed: ${counter.conn.closed})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;

/**
 * Runs the scenario on a fresh server of `session` and asserts it. `prompt` selects the NICK variant.
 */
export async function floodPastSlowMember(
  session: Session,
  dialect: DialectName,
  prompt = 'NICK',
): Promise<void> {
  const server = await session.server({
    dialect,
    maxQueueBytes: SLOW_QUEUE_BYTES,
    ...(dialect === 'nick' ? { prompt } : {}),
  });
  const leaves: ServerEvents['leave'][0][] = [];
  server.on('leave', (e) => leaves.push(e));
  const wire = wireFormat(dialect, prompt);
  const fast = (await join(session, server, dialect, 'fast', prompt)).conn;
  const watch = (await join(session, server, dialect, 'watch', prompt)).conn;
  const slow = (await join(session, server, dialect, 'slow', prompt)).conn;
  const slowJoined = latin1(wire.joined('slow'));
  await fast.waitForText(slowJoined, { timeoutMs: WAIT_MS });
  await watch.waitForText(slowJoined, { timeoutMs: WAIT_MS });
  // Everything up to here is the handshakes; the flood is judged on what comes after.
  const start = { fast: fast.chunks().length, watch: watch.chunks().length, slow: slow.chunks().length };
  slow.pauseReading();

  const message = Buffer.from(dialect === 'nick' ? `fast: ${'x'.repeat(FLOOD_X)}` : 'x'.repeat(FLOOD_X));
  const left = latin1(wire.left('slow'));
  const seen = { fast: new XCounter(fast, start.fast), watch: new XCounter(watch, start.watch) };
  const deadline = performance.now() + FLOOD_DEADLINE_MS;
  let writes = 0;
  const batch = async () => {
    for (let i = 0; i < FLOOD_BATCH; i++) fast.send(message);
    writes += FLOOD_BATCH;
    // Paced: `watch` and `fast` have every byte so far before the next batch (ROBUST-SLOW-1: no stall).
    await awaitX(seen.watch, writes * FLOOD_X, deadline);
    await awaitX(seen.fast, writes * FLOOD_X, deadline);
  };
  const leftSeen = () => leaves.some((e) => e.nick === 'slow');
  while (!leftSeen()) {
    if (writes * message.length > FLOOD_MAX_BYTES)
      throw new Error(`slow was not closed after ${writes * message.length} flooded bytes`);
    await batch();
  }
  // The announcement reaches the others, and delivery goes on after it.
  await watch.waitForText(left, { timeoutMs: WAIT_MS });
  await batch();
  expect(leaves.map((e) => [e.nick, e.reason])).toEqual([['slow', 'SLOW_CONSUMER']]);
  await expectServerState(server, ['fast', 'watch'], 2);

  // Every other member got every flooded byte, in order, and `slow left` exactly once.
  const floodOf = (conn: Connection, from: number) => latin1(Buffer.concat(conn.chunks().slice(from)));
  for (const [conn, from] of [
    [watch, start.watch],
    [fast, start.fast],
  ] as const) {
    const stream = floodOf(conn, from);
    expect(occurrences(stream, left), `"${left}" in ${conn.label}'s stream`).toBe(1);
    const flood = stream.replace(left, '');
    if (dialect === 'nick') {
      // NICK-RELAY-1 is stream-transparent: exactly the written bytes, whatever the server's reads were.
      expect(flood.length, `${conn.label}'s flood bytes`).toBe(writes * message.length);
      expect(flood === message.toString('latin1').repeat(writes), `${conn.label}'s flood is unchanged`).toBe(
        true,
      );
    } else {
      // TILDE-RELAY-1: the server relays each chunk it reads as `fast~<chunk>`, so only the contents join up.
      expect(
        /^(?:fast~x{1,2015})+$/.test(flood),
        `${conn.label}'s flood is a sequence of fast's relays`,
      ).toBe(true);
      expect(occurrences(flood, 'x'), `${conn.label}'s flooded bytes`).toBe(writes * FLOOD_X);
    }
  }

  // A member that is not flooding is heard too (D-NS-8: its message also stalled at the slow reader).
  const after = fast.stream().length;
  const hello = wire.chat('watch', 'still here');
  watch.send(hello);
  await fast.waitForText(wire.relay('watch', hello), { timeoutMs: WAIT_MS, after });

  // The slow member got a prefix of the flood and no announcement of its own leave, then the end.
  slow.resumeReading();
  const kind = await slow.waitForClose({ timeoutMs: WAIT_MS });
  expect(['eof', 'reset']).toContain(kind);
  const got = floodOf(slow, start.slow);
  expect(got.includes(left), 'slow is not told of its own leave').toBe(false);
  const whole = dialect === 'nick' ? message.toString('latin1').repeat(writes) : undefined;
  if (whole !== undefined) expect(whole.startsWith(got), "slow's stream is a prefix of the flood").toBe(true);
  else expect(/^(?:fast~x{1,2015})*(?:fast~x*|f|fa|fas|fast)?$/.test(got), "slow's stream").toBe(true);
}
