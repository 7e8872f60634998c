/**
 * The slow-reader scenario (ROBUST-SLOW-1, the fix of D-NS-8), shared by the model test and the annex
 * test: `fast`, `watch` and `slow` join a server whose per-member queue is small; `slow` stops reading;
 * `fast` floods paced batches while `watch` keeps reading. The server must close `slow` once its queue
 * overflows, announce it as a leave, and go on delivering every byte to the others.
 *
 * How much it takes depends on the kernel's buffers toward `slow` (a few MB on loopback), so the flood
 * runs until the leave is observed, bounded by bytes and time. Streams are scanned chunk by chunk:
 * re-concatenating megabytes after every chunk would make the wait quadratic.
 *
 * Also here: {@link backUp}, the state D-NS-11 and D-TS-9 need, a member whose queue holds a backlog
 * but has not overflowed.
 */
import { expect } from 'vitest';
import type { Connection } from '../../conformance/harness/connection.js';
import { tcpSockets } from '../../src/processes/index.js';
import type { DialectName } from '../../src/codec/index.js';
import type { ChatServer, ServerEvents } from '../../src/reference-server/index.js';
import { NO_RATE_LIMIT } from '../../src/reference-server/flow.js';
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
    // A flood is how this state is reached quickly: no rate limit (it would only make it slower).
    maxRate: NO_RATE_LIMIT,
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
  const stream = floodOf(slow, start.slow);
  expect(stream.includes(left), 'slow is not told of its own leave').toBe(false);
  // Then, if its socket still took bytes, the notice that says why (`Refused: … (SLOW_CONSUMER)`,
  // prefixed `SERVER~` in tilde), possibly cut by the close: neither `R` nor `S` is in the flood.
  const cut = stream.search(/[RS]/);
  const got = cut < 0 ? stream : stream.slice(0, cut);
  if (cut >= 0) {
    const notice = stream.slice(cut).replace(/^SERVER~/, '');
    expect(notice.startsWith('Refused: ') || 'Refused: '.startsWith(notice), `slow's notice: ${notice}`).toBe(true);
  }
  const whole = dialect === 'nick' ? message.toString('latin1').repeat(writes) : undefined;
  if (whole !== undefined) expect(whole.startsWith(got), "slow's stream is a prefix of the flood").toBe(true);
  else expect(/^(?:fast~x{1,2015})*(?:fast~x*|f|fa|fas|fast)?$/.test(got), "slow's stream").toBe(true);
}

/**
 * What the server must hold in its own queue for a backed-up member, beyond what the kernel buffers
 * toward it, before {@link backUp} returns. It covers, with room to spare, the one thing the estimate
 * cannot see: bytes the paused peer's own stream already took from the kernel but has not emitted
 * (at most its high-water mark plus one read, well under 128 KiB). What is left still exceeds any
 * socket's write high-water mark, so the server's `write()` has returned false and the next message
 * it sends the member waits in its queue behind the flood (FRAME-7).
 */
export const BACKLOG_BYTES = 256 * 1024;
/**
 * Bytes `slow` writes per round of {@link backUp}, in one write: the server relays them in pieces
 * (NICK-RELAY-4, TILDE-RELAY-3), so one write costs the flooder one call instead of one per message.
 * The estimate is taken between rounds, so it overshoots by at most one round.
 */
const BACKLOG_ROUND_BYTES = 64 * 1024;
/**
 * The per-member queue bound a server needs for {@link backUp}: room for {@link BACKLOG_BYTES}, one
 * round and the slack, several times over (it is the default, `SERVER_MAX_QUEUE_BYTES`, today).
 */
export const BACKLOG_QUEUE_BYTES = 1024 * 1024;

/** Bytes the kernel holds from the server toward `peer`: the server side's send queue and `peer`'s receive queue. */
function kernelHeldToward(serverPort: number, peer: Connection): number {
  const rows = tcpSockets();
  const serverSide = rows.find((r) => r.localPort === serverPort && r.remotePort === peer.localPort);
  const peerSide = rows.find((r) => r.localPort === peer.localPort && r.remotePort === serverPort);
  if (serverSide === undefined || peerSide === undefined)
    throw new Error(`no /proc/net/tcp rows for ${peer.label} (port ${peer.localPort}): cannot measure`);
  return serverSide.txQueue + peerSide.rxQueue;
}

const receivedBytes = (conn: Connection): number => conn.chunks().reduce((n, c) => n + c.length, 0);

/**
 * Backs up member `nick` (on `slow`) without overflowing its queue, the state D-NS-11 and D-TS-9 need:
 * `slow` stops reading and floods the room itself with `x` bytes, so its own relays come back to it
 * (the seeds' scripts are stalled the same way in test/legacy; in NICK these are raw relays). Each
 * round is paced on the server's `relay` events; between rounds the bytes relayed toward `slow`, less
 * what it read and what the kernel holds toward it (both queues in /proc/net/tcp, observed rather than
 * guessed from timing), is what the server itself still holds. Once that reaches
 * {@link BACKLOG_BYTES}, anything broadcast next waits at `slow`.
 *
 * The server must run with `maxQueueBytes` of at least {@link BACKLOG_QUEUE_BYTES}. Resolves with the
 * bytes relayed to `slow` since it stopped reading: its stream holds exactly those once it reads
 * again, before whatever the server sent it later.
 */
export async function backUp(
  server: ChatServer,
  slow: Connection,
  nick: string,
  dialect: DialectName,
): Promise<number> {
  let relayed = 0;
  let content = 0;
  let active = true;
  // The tilde server adds `<user>~` to each relay (TILDE-RELAY-1); NICK relays the chunk unchanged.
  const prefix = dialect === 'tilde' ? Buffer.byteLength(`${nick}~`) : 0;
  server.on('relay', (e) => {
    if (!active || e.nick !== nick) return;
    relayed += e.bytes;
    content += e.bytes - prefix;
  });
  slow.pauseReading();
  const readBefore = receivedBytes(slow);
  const round = Buffer.alloc(BACKLOG_ROUND_BYTES, 'x');
  const deadline = performance.now() + FLOOD_DEADLINE_MS;
  let sent = 0;
  try {
    for (;;) {
      slow.send(round);
      sent += round.length;
      while (content < sent) {
        if (performance.now() > deadline || slow.closed)
          throw new Error(
            `${content} of ${sent} flooded bytes relayed (${slow.label} closed: ${slow.closed})`,
          );
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const held = relayed - (receivedBytes(slow) - readBefore) - kernelHeldToward(server.port, slow);
      if (held >= BACKLOG_BYTES) return relayed;
      if (sent > FLOOD_MAX_BYTES)
        throw new Error(`${slow.label} was not backed up after ${sent} flooded bytes`);
    }
  } finally {
    active = false;
  }
}

/**
 * Polls (bounded) until `conn` has received `length` bytes, summing its chunks incrementally: after a flood
 * of megabytes, waiting on the concatenated stream after every chunk would be quadratic.
 */
export async function awaitLength(
  conn: Connection,
  length: number,
  timeoutMs = FLOOD_DEADLINE_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let next = 0;
  let total = 0;
  for (;;) {
    const chunks = conn.chunks();
    for (; next < chunks.length; next++) total += chunks[next]!.length;
    if (total >= length) return;
    if (performance.now() > deadline || conn.closed)
      throw new Error(`${conn.label} received ${total} of ${length} bytes (closed: ${conn.closed})`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
