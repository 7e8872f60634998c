/**
 * FRAME-2 and FRAME-7 on the reference server's output, where they can be seen: at its `write()`
 * calls. On the wire a batched write and back-to-back writes merged by TCP look the same, so no
 * conformance case can judge FRAME-7; here each outbox writes to a real loopback socket whose
 * `write` is wrapped to record every call (and then makes it).
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Fanout, Outbox } from '../../src/reference-server/outbox.js';
import { until } from '../support/wait.js';

/** Bound on every wait of this file. */
const WAIT_MS = 10_000;
/** Big enough that a peer that reads nothing fills the kernel's buffers in a few hundred writes. */
const BIG = 64 * 1024;
/** No queue bound in play unless a test sets one. */
const UNBOUNDED = 1 << 30;

interface Pair {
  /** The server's side, whose writes are recorded. */
  readonly socket: Socket;
  /** Every `write()` call on `socket`, as the bytes passed. */
  readonly writes: Buffer[];
  /** The peer (the member's side). */
  readonly peer: Socket;
  /** Everything the peer read. */
  readonly received: () => Buffer;
  /** How many bytes the peer read. */
  readonly receivedBytes: () => number;
}

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn();
});

async function pair(): Promise<Pair> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const peer = tcpConnect(port, '127.0.0.1');
  const socket = await accepted;
  server.close();
  const writes: Buffer[] = [];
  const write = socket.write.bind(socket) as (chunk: Uint8Array) => boolean;
  socket.write = ((chunk: Uint8Array) => {
    writes.push(Buffer.from(chunk));
    return write(chunk);
  }) as typeof socket.write;
  const chunks: Buffer[] = [];
  let bytes = 0;
  peer.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    bytes += chunk.length;
  });
  cleanup.push(() => {
    socket.destroy();
    peer.destroy();
  });
  return { socket, writes, peer, received: () => Buffer.concat(chunks), receivedBytes: () => bytes };
}

const msg = (i: number) => Buffer.from(`alice: message ${i};`);

describe("reference server output, writeBatching 'backpressure'", () => {
  it('writes each message with its own write while the member keeps up (FRAME-2)', async () => {
    const p = await pair();
    const outbox = new Outbox(p.socket, UNBOUNDED, () => undefined);
    const sent = Array.from({ length: 200 }, (_, i) => msg(i));
    for (const m of sent) outbox.send(m);
    const all = Buffer.concat(sent);
    await until(() => p.receivedBytes() >= all.length, 'every byte to arrive', WAIT_MS);
    expect(p.writes).toEqual(sent);
    expect(p.received()).toEqual(all);
  });

  it('queues while the socket is backed up and writes the queue in one write on drain, in order (FRAME-7)', async () => {
    const p = await pair();
    p.peer.pause(); // the member reads nothing
    const outbox = new Outbox(p.socket, UNBOUNDED, () => undefined);
    const sent: Buffer[] = [];
    for (let i = 0; !p.socket.writableNeedDrain; i++) {
      if (i > 10_000) throw new Error('the socket never signalled backpressure');
      const big = Buffer.alloc(BIG, 97 + (i % 26));
      sent.push(big);
      outbox.send(big);
    }
    const writesBefore = p.writes.length;
    const queued = Array.from({ length: 5 }, (_, i) => msg(i));
    for (const m of queued) outbox.send(m);
    expect(p.writes.length, 'nothing is written while the socket is backed up').toBe(writesBefore);
    p.peer.resume();
    const all = Buffer.concat([...sent, ...queued]);
    await until(() => p.receivedBytes() >= all.length, 'every byte to arrive', WAIT_MS);
    expect(p.writes.slice(writesBefore)).toEqual([Buffer.concat(queued)]);
    // Megabytes: compared natively (a deep equality walks them byte by byte for seconds).
    expect(p.receivedBytes()).toBe(all.length);
    expect(p.received().equals(all), 'the stream is every message, in order').toBe(true);
  });

  it('closes a member whose queue passes its bound, once, and writes nothing more to it', async () => {
    const p = await pair();
    p.peer.pause();
    let overflows = 0;
    const outbox = new Outbox(p.socket, 4 * BIG, () => overflows++);
    for (let i = 0; i < 10_000 && overflows === 0; i++) outbox.send(Buffer.alloc(BIG, 120));
    expect(overflows).toBe(1);
    const writes = p.writes.length;
    outbox.send(msg(1));
    expect(p.writes.length).toBe(writes);
    expect(overflows).toBe(1);
  });
});

describe("reference server output, writeBatching 'turn' (the default)", () => {
  it("writes one turn's broadcasts to each member in one write, and a later turn's in another", async () => {
    const fanout = new Fanout();
    const members = await Promise.all([pair(), pair()]);
    for (const p of members) new Outbox(p.socket, UNBOUNDED, () => undefined, fanout).subscribe();
    const first = [msg(1), msg(2), msg(3)];
    for (const m of first) fanout.broadcast(m);
    await until(() => members.every((p) => p.writes.length === 1), 'the first turn to be written', WAIT_MS);
    const second = msg(4);
    fanout.broadcast(second);
    await until(() => members.every((p) => p.writes.length === 2), 'the second turn to be written', WAIT_MS);
    const all = Buffer.concat([...first, second]);
    for (const p of members) {
      expect(p.writes).toEqual([Buffer.concat(first), second]);
      await until(() => p.receivedBytes() >= all.length, 'every byte to arrive', WAIT_MS);
      expect(p.received()).toEqual(all);
    }
  });

  it("puts a member's own message after the broadcasts made before it, in the same write", async () => {
    const fanout = new Fanout();
    const p = await pair();
    const outbox = new Outbox(p.socket, UNBOUNDED, () => undefined, fanout);
    outbox.subscribe();
    fanout.broadcast(msg(1));
    outbox.send(Buffer.from('only for you;'));
    fanout.broadcast(msg(2));
    await until(() => p.writes.length === 1, 'the turn to be written', WAIT_MS);
    // The member's own message is queued after the broadcast before it; the turn's remaining
    // broadcasts follow.
    expect(p.writes).toEqual([Buffer.concat([msg(1), Buffer.from('only for you;'), msg(2)])]);
  });
});
