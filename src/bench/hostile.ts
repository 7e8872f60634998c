/**
 * Hostile peers for soaks and tests of a chat server: flooders, bad-byte clients (invalid UTF-8,
 * NULs and escapes, huge lines, half-open and silent handshakes); churn (members joining and
 * leaving all the time) is in `churn.ts`. They join with the load generator's own handshakes ({@link benchDialect}),
 * so they work against any server the generator measures, and they never decide anything from
 * chunk boundaries.
 *
 * Flood bytes are chosen outside everything else on the wire (the token alphabet and its marks,
 * the names used here, every announcement), so a flooder counts exactly its own bytes coming back:
 * a throttled flood arrives late and whole, a lost one does not.
 *
 * @module
 */
import { connect, type Socket } from 'node:net';
import { type BenchDialect, benchDialect } from './dialects.js';

/** Bytes a flooder may flood with: none is a token digit or mark (token.ts), a name or announcement byte. */
export const FLOOD_BYTES = [0x25, 0x26, 0x2a] as const; // % & *
/** One flood write: the dialect's prefix and flood bytes, this long. */
export const FLOOD_WRITE_BYTES = 8 * 1024;

/** Where hostile peers connect, and how. */
export interface PeerTarget {
  readonly host: string;
  readonly port: number;
  readonly dialect: BenchDialect;
  /** NICK prompt (default `NICK`). */
  readonly prompt?: string;
  /**
   * Source address (e.g. `127.0.0.2`): hostile peers on loopback come from other addresses than
   * the members, as real attackers do, so per-address caps see them as the strangers they are.
   */
  readonly localAddress?: string;
}

/** Raised when a peer does not become a member. */
export class PeerJoinError extends Error {
  constructor(
    readonly peer: string,
    readonly why: string,
  ) {
    super(`${peer} did not join: ${why}`);
    this.name = 'PeerJoinError';
  }
}

/** A joined peer: its socket (paused reads are the caller's business) and what it got after joining. */
export interface JoinedPeer {
  readonly name: string;
  readonly socket: Socket;
}

/**
 * Connects and joins as `name` with the dialect's handshake; `onData` sees every chunk received
 * after the join (the chunk that completed it included). Bounded by `timeoutMs`.
 */
export function joinPeer(
  target: PeerTarget,
  name: string,
  opts: { timeoutMs: number; onData?: (chunk: Buffer) => void },
): Promise<JoinedPeer> {
  const handshake = benchDialect(target.dialect, target.prompt).handshake(name);
  const socket = connect({
    host: target.host,
    port: target.port,
    noDelay: true,
    ...(target.localAddress === undefined ? {} : { localAddress: target.localAddress }),
  });
  return new Promise<JoinedPeer>((resolve, reject) => {
    let joined = false;
    const fail = (why: string) => {
      if (joined) return;
      clearTimeout(timer);
      socket.destroy();
      reject(new PeerJoinError(name, why));
    };
    const timer = setTimeout(() => fail(`no join within ${opts.timeoutMs} ms`), opts.timeoutMs);
    const step = (s: ReturnType<typeof handshake.connected>) => {
      if (s.kind === 'send') socket.write(s.bytes);
      else if (s.kind === 'failed') fail(`${s.why}: ${s.detail}`);
      else if (s.kind === 'joined') {
        joined = true;
        clearTimeout(timer);
        resolve({ name, socket });
      }
    };
    socket.once('connect', () => step(handshake.connected()));
    socket.on('data', (chunk: Buffer) => {
      if (!joined) step(handshake.received(chunk));
      if (joined) opts.onData?.(chunk);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    socket.on('close', () => fail('closed'));
  });
}

/** Resolves on the socket's next `drain`; rejects after `timeoutMs` or when it closes. */
function drained(socket: Socket, timeoutMs: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error(`${what}: closed while waiting for drain`));
    const timer = setTimeout(() => done(new Error(`${what} never drained within ${timeoutMs} ms`)), timeoutMs);
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/** A member that floods the room with one byte value and counts that byte in what it receives. */
export interface Flooder extends JoinedPeer {
  /** The byte it floods with. */
  readonly byte: number;
  /** How many of its flood bytes it has received back so far. */
  received(): number;
  /** Flood bytes written so far. */
  sent(): number;
  /** When (performance.now()) the last of its flood bytes arrived; undefined before the first. */
  lastReceivedAt(): number | undefined;
  /**
   * Writes `bytes` flood bytes (in writes of {@link FLOOD_WRITE_BYTES}, prefix included) as fast as
   * the socket takes them, waiting on `drain` (each wait bounded by `timeoutMs`). Resolves with the
   * flood bytes written and how long the writing took.
   */
  flood(bytes: number, timeoutMs: number): Promise<{ bytes: number; ms: number }>;
}

/** Counts occurrences of `byte` in `chunk`. */
export function countByte(chunk: Uint8Array, byte: number): number {
  let n = 0;
  for (let i = chunk.indexOf(byte); i !== -1; i = chunk.indexOf(byte, i + 1)) n++;
  return n;
}

/** Joins a {@link Flooder} (also usable as a watcher: one that never floods and only counts). */
export async function joinFlooder(
  target: PeerTarget,
  name: string,
  byte: number,
  opts: { timeoutMs: number },
): Promise<Flooder> {
  let received = 0;
  let sent = 0;
  let lastAt: number | undefined;
  const peer = await joinPeer(target, name, {
    timeoutMs: opts.timeoutMs,
    onData: (chunk) => {
      const n = countByte(chunk, byte);
      if (n > 0) {
        received += n;
        lastAt = performance.now();
      }
    },
  });
  const prefix = Buffer.from(benchDialect(target.dialect, target.prompt).prefix(name));
  const write = Buffer.concat([prefix, Buffer.alloc(FLOOD_WRITE_BYTES - prefix.length, byte)]);
  const perWrite = FLOOD_WRITE_BYTES - prefix.length;
  return {
    ...peer,
    byte,
    received: () => received,
    sent: () => sent,
    lastReceivedAt: () => lastAt,
    async flood(bytes, timeoutMs) {
      const started = performance.now();
      let written = 0;
      while (written < bytes) {
        const n = Math.min(perWrite, bytes - written);
        const ok = peer.socket.write(n === perWrite ? write : write.subarray(0, prefix.length + n));
        written += n;
        sent += n;
        if (!ok) await drained(peer.socket, timeoutMs, name);
      }
      return { bytes: written, ms: performance.now() - started };
    },
  };
}

/** The kinds of bad-byte clients. */
export const BAD_BYTE_KINDS = ['invalid-utf8', 'control-bytes', 'huge-line', 'half-open', 'silent'] as const;
/** One kind of bad-byte client. */
export type BadByteKind = (typeof BAD_BYTE_KINDS)[number];

/** What a bad-byte client did. */
export interface BadByteReport {
  readonly kind: BadByteKind;
  /** Connections it opened. */
  connections: number;
  /** Of them, joined as members (the silent kind never tries). */
  joined: number;
  /** Connections the server closed (refused, timed out, evicted: all fine for a bad peer). */
  closedByServer: number;
  /** Bad bytes written. */
  bytes: number;
}

/** Bytes that are not UTF-8: lone continuation bytes, a truncated sequence, overlong forms, 0xFF. */
const INVALID_UTF8 = Buffer.from([0x80, 0xbf, 0xc3, 0x28, 0xe2, 0x82, 0xc0, 0xaf, 0xff, 0xfe, 0xed, 0xa0, 0x80]);
/** NUL, ESC sequences that would clear or recolour a terminal, BEL, backspace, CR, a forged line. */
const CONTROL_BYTES = Buffer.from('\0\x1b[2J\x1b[31m\x07\b\r\nSERVER left!\n\x1b]0;pwned\x07\0\0', 'latin1');
/** The byte a huge line is made of (outside the token alphabet and the flood bytes). */
const HUGE_BYTE = 0x7a; // z

/** How a bad-byte client behaves. */
export interface BadByteOptions {
  /** Bound on every join. */
  readonly joinTimeoutMs: number;
  /** Pause between its bad writes (and between silent reconnections). */
  readonly everyMs: number;
  /** Bytes of one huge line (huge-line kind). */
  readonly hugeLineBytes: number;
  /** Silent connections held open at once (silent kind). */
  readonly silentConnections: number;
}

/**
 * Runs one bad-byte client of `kind` until `stop` resolves, reconnecting whenever the server closes
 * it. Never rejects: whatever the server does to a bad peer is counted, not an error.
 */
export async function runBadByteClient(
  target: PeerTarget,
  kind: BadByteKind,
  name: string,
  opts: BadByteOptions,
  stop: Promise<void>,
): Promise<BadByteReport> {
  const report: BadByteReport = { kind, connections: 0, joined: 0, closedByServer: 0, bytes: 0 };
  let stopping = false;
  const sockets = new Set<Socket>();
  let wake: () => void = () => undefined;
  void stop.then(() => {
    stopping = true;
    wake();
  });
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const watchClose = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => {
      sockets.delete(socket);
      if (!stopping) report.closedByServer++;
    });
  };
  const write = (socket: Socket, bytes: Uint8Array) => {
    if (socket.destroyed) return;
    socket.write(bytes);
    report.bytes += bytes.length;
  };

  let round = 0;
  while (!stopping) {
    round++;
    if (kind === 'silent') {
      // Connect and say nothing: the handshake is never finished (server closes it on its timeout).
      while (sockets.size < opts.silentConnections && !stopping) {
        report.connections++;
        const socket = connect({
          host: target.host,
          port: target.port,
          ...(target.localAddress === undefined ? {} : { localAddress: target.localAddress }),
        });
        socket.resume(); // read (and drop) the prompt: a silent peer, not a slow one
        watchClose(socket);
      }
      await pause(opts.everyMs);
      continue;
    }
    report.connections++;
    let peer: JoinedPeer;
    try {
      peer = await joinPeer(target, `${name}r${round.toString(36)}`, { timeoutMs: opts.joinTimeoutMs });
    } catch {
      report.closedByServer++;
      await pause(opts.everyMs);
      continue;
    }
    report.joined++;
    const { socket } = peer;
    socket.resume();
    watchClose(socket);
    const prefix = Buffer.from(benchDialect(target.dialect, target.prompt).prefix(peer.name));
    if (kind === 'half-open') {
      // Half a message, then FIN: the server sees the write side end while ours stays open.
      write(socket, Buffer.concat([prefix, Buffer.from('half a messa', 'latin1')]));
      socket.end();
      await pause(opts.everyMs);
      socket.destroy();
      continue;
    }
    if (kind === 'huge-line') {
      // One line with no end, as fast as the socket takes it; then again after a pause.
      while (!stopping && !socket.destroyed) {
        write(socket, Buffer.concat([prefix, Buffer.alloc(opts.hugeLineBytes, HUGE_BYTE)]));
        await pause(opts.everyMs);
      }
      continue;
    }
    const bad = kind === 'invalid-utf8' ? INVALID_UTF8 : CONTROL_BYTES;
    while (!stopping && !socket.destroyed) {
      write(socket, Buffer.concat([prefix, bad]));
      await pause(opts.everyMs);
    }
  }
  for (const socket of sockets) socket.destroy();
  return report;
}
