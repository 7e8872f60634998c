/**
 * A recording TCP peer for conformance checks: one real `node:net` socket with Nagle off, every received
 * chunk kept separately (the recv boundary, FRAME-6), bounded waits on the reassembled stream, and a
 * transcript in chatkit's escaped form.
 *
 * Checks judge content on {@link Connection.stream} (TCP may merge or split writes); chunk boundaries are
 * evidence only. Every wait has a deadline, and a wait that can no longer succeed (the peer closed) fails at
 * once.
 *
 * @module
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { escapeBytes } from '../../src/codec/escape.js';
import { ChatkitError } from '../../src/errors.js';
import { setDeadline } from '../../src/deadline.js';
import { renderTranscript, type TranscriptEvent, transcriptOf } from './transcript.js';

/** Default deadline to establish a connection. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Default deadline of {@link Connection.waitFor} and friends. */
export const DEFAULT_WAIT_TIMEOUT_MS = 5_000;
/** Longest window {@link Connection.quiet} accepts, so that a typo cannot stall a suite. */
export const MAX_QUIET_WINDOW_MS = 10_000;
/**
 * {@link Connection.waitForClose}'s bound restarts while bytes keep arriving, up to this many times
 * its timeout in all. A peer that is still handing over a backlog (a server draining megabytes queued
 * for a member that stopped reading, before its FIN) is working, not hung; on a loaded machine that
 * drain alone can outlast one step. The cap keeps a peer that streams forever from stalling a run.
 */
export const CLOSE_WAIT_MAX_TIMEOUTS = 6;
/** Default deadline of {@link Listener.nextConnection}. */
export const DEFAULT_ACCEPT_TIMEOUT_MS = 5_000;
/** How much of the stream a failure message shows (the tail), escaped. */
export const ERROR_STREAM_TAIL_BYTES = 2_048;

/**
 * Most bytes one connection records (stream, chunks and transcript hold them); past it the
 * connection stops recording, is closed, and every wait on it fails with TARGET_FLOODED.
 */
export const MAX_RECORDED_BYTES_PER_CONNECTION = 8 * 1024 * 1024;
/** Most bytes the open connections of one process (one `conform` run) hold recorded at once. */
export const MAX_RECORDED_BYTES_PER_RUN = 128 * 1024 * 1024;

const recordingCaps = { perConnection: MAX_RECORDED_BYTES_PER_CONNECTION, perRun: MAX_RECORDED_BYTES_PER_RUN };
let recordedThisRun = 0;

/** Sets the recording caps (`conform --max-recorded-bytes`, `--max-run-recorded-bytes`). */
export function setRecordingCaps(caps: { perConnection?: number | undefined; perRun?: number | undefined }): void {
  if (caps.perConnection !== undefined) recordingCaps.perConnection = caps.perConnection;
  if (caps.perRun !== undefined) recordingCaps.perRun = caps.perRun;
}

/** Stable codes of {@link ConnectionError}. */
export const ConnectionErrorCode = {
  /** The connection was not established before the deadline. */
  CONNECT_TIMEOUT: 'CONNECT_TIMEOUT',
  /** The connection attempt failed (refused, unreachable, ...). */
  CONNECT_FAILED: 'CONNECT_FAILED',
  /** A wait passed its deadline. */
  WAIT_TIMEOUT: 'WAIT_TIMEOUT',
  /** A wait could not be satisfied because the connection closed first. */
  CLOSED_BEFORE_MATCH: 'CLOSED_BEFORE_MATCH',
  /** No connection arrived at a {@link Listener} before the deadline. */
  ACCEPT_TIMEOUT: 'ACCEPT_TIMEOUT',
  /** An argument out of range (e.g. a quiet window over {@link MAX_QUIET_WINDOW_MS}). */
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  /** The peer sent more than a recording cap allows; nothing past it was recorded. */
  FLOODED: 'TARGET_FLOODED',
} as const;
/** One of the {@link ConnectionErrorCode} values. */
export type ConnectionErrorCode = (typeof ConnectionErrorCode)[keyof typeof ConnectionErrorCode];

/** A failed connection or wait; `stream` is the escaped tail of what had been received. */
export class ConnectionError extends ChatkitError {
  /** Stable code: match on this, never on the message. */
  declare readonly code: ConnectionErrorCode;
  /** The connection's label. */
  readonly label: string;
  /** What was awaited, as the caller described it. */
  readonly what: string;
  /** Escaped tail of the received stream at the time of failure. */
  readonly stream: string;
  constructor(code: ConnectionErrorCode, label: string, what: string, stream = '', cause?: unknown) {
    super(code, `[${label}] ${code}: ${what}${stream === '' ? '' : `\n  received so far: "${stream}"`}`, {
      cause,
    });
    this.name = 'ConnectionError';
    this.label = label;
    this.what = what;
    this.stream = stream;
  }
}


/** How a connection ended, as far as this side observed it. */
export type CloseKind = 'eof' | 'reset' | 'error' | 'local';

/**
 * What this side did to a connection beyond ordinary reads and writes: a half-close, a reset, a
 * close, paused reading, or a write after the socket had closed. A case uses it to tell a target
 * that closed a member for nothing from one that answered the judge's own doing.
 */
export type LocalAct = 'half-close' | 'reset' | 'close' | 'pause' | 'send-after-close';

/** Options of the waits. */
export interface WaitOptions {
  timeoutMs?: number;
  /** Description for the failure message; defaults to a rendering of the expectation. */
  what?: string;
}

/** A recording peer over one socket. Call {@link Connection.close} in `finally`/`afterEach`. */
export interface Connection {
  readonly label: string;
  /** performance.now() when recording began: the origin of every event's `t` (one clock for all connections). */
  readonly openedAt: number;
  readonly localPort: number;
  readonly remotePort: number;
  /** All bytes received so far, concatenated. */
  stream(): Uint8Array;
  /** The received chunks, each as one recv() returned it. */
  chunks(): readonly Uint8Array[];
  /** Writes the bytes (a string is UTF-8 encoded) with exactly one write. */
  send(data: Uint8Array | string): void;
  /** Resolves once every write has been handed to the kernel; bounded. */
  flushed(opts?: WaitOptions): Promise<void>;
  /** Half-close: sends FIN and keeps reading. */
  end(): void;
  /** Aborts with RST (`resetAndDestroy`). */
  reset(): void;
  /**
   * From now on counts `byte` in what arrives without recording it (`undefined`: record everything
   * again). A case that floods the target through its own members bounds the judge's memory by
   * what it judges, not by its flood; the transcript says so.
   */
  elide(byte: number | undefined): void;
  /** How many bytes {@link Connection.elide} has counted without recording them. */
  elided(): number;
  /** Stops reading (the kernel buffers fill and the peer's window closes) / starts again. */
  pauseReading(): void;
  resumeReading(): void;
  /** Resolves with the stream length once `predicate(stream)` holds. */
  waitFor(predicate: (stream: Uint8Array) => boolean, opts?: WaitOptions): Promise<number>;
  /**
   * Resolves with the offset just past the first occurrence of `text` (UTF-8) that starts at or after
   * `after` (default 0).
   */
  waitForText(text: string | Uint8Array, opts?: WaitOptions & { after?: number }): Promise<number>;
  /**
   * Resolves with how the connection ended (EOF, reset, other error, or our own close). The timeout
   * counts from the last byte received, up to {@link CLOSE_WAIT_MAX_TIMEOUTS} timeouts in all.
   */
  waitForClose(opts?: WaitOptions): Promise<CloseKind>;
  /** Waits `ms` and resolves with the bytes that arrived meanwhile (a bounded "nothing happens" window). */
  quiet(ms: number): Promise<Uint8Array>;
  /** Whether the connection has ended (either side). */
  readonly closed: boolean;
  /** How it ended, once it did. */
  readonly closeKind: CloseKind | undefined;
  /** The events so far. */
  events(): readonly TranscriptEvent[];
  /** What this side did to the connection beyond reads and writes ({@link LocalAct}), in order. */
  localActs(): readonly LocalAct[];
  /** Readable lines such as `+12.3ms in  "alice joined!"`. */
  transcript(): string;
  /** Destroys the socket (FIN, or RST if unread data remains). Idempotent. */
  close(): void;
}

const encoder = new TextEncoder();
const toBytes = (data: Uint8Array | string) => (typeof data === 'string' ? encoder.encode(data) : data);

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from);
}

/** Wraps a connected socket (ours or an accepted one) in a recorder. */
export function recordSocket(socket: Socket, label: string): Connection {
  const opened = performance.now();
  const now = () => performance.now() - opened;
  const events: TranscriptEvent[] = [];
  const acts: LocalAct[] = [];
  const received: Uint8Array[] = [];
  // The stream grows in place (capacity doubles), so that reading it after every chunk stays
  // linear even when a case floods megabytes; bytes already received never change, so views
  // handed out earlier stay valid.
  let streamBuffer = Buffer.alloc(0);
  let streamLength = 0;
  let closeKind: CloseKind | undefined;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of waiters) waiter();
  };
  const stream = (): Uint8Array => streamBuffer.subarray(0, streamLength);
  const append = (chunk: Uint8Array) => {
    if (streamLength + chunk.length > streamBuffer.length) {
      // Doubling, but never past the recording cap: a flooded connection would otherwise hold twice it.
      const grown = Buffer.allocUnsafe(
        Math.max(streamLength + chunk.length, Math.min(2 * streamBuffer.length, recordingCaps.perConnection), 4096),
      );
      streamBuffer.copy(grown, 0, 0, streamLength);
      streamBuffer = grown;
    }
    streamBuffer.set(chunk, streamLength);
    streamLength += chunk.length;
  };
  const escapedTail = () => {
    const all = stream();
    return escapeBytes(all.subarray(Math.max(0, all.length - ERROR_STREAM_TAIL_BYTES)));
  };
  const finish = (kind: CloseKind, note: string) => {
    if (closeKind !== undefined) return;
    closeKind = kind;
    events.push({ t: now(), dir: 'event', note });
    wake();
  };

  socket.setNoDelay(true);
  const localPort = socket.localPort ?? 0;
  const remotePort = socket.remotePort ?? 0;
  events.push({ t: 0, dir: 'event', note: `connected 127.0.0.1:${localPort} -> :${remotePort}` });
  let flood: string | undefined;
  let elideByte: number | undefined;
  let elidedBytes = 0;
  /** Every byte that arrived, recorded, elided or past a flood cap: progress, for the close wait. */
  let bytesIn = 0;
  /** `chunk` without the elided byte, counted. */
  const withoutElided = (chunk: Buffer): Buffer => {
    if (elideByte === undefined || chunk.indexOf(elideByte) === -1) return chunk;
    const kept = Buffer.allocUnsafe(chunk.length);
    let n = 0;
    for (const b of chunk) if (b !== elideByte) kept[n++] = b;
    elidedBytes += chunk.length - n;
    return kept.subarray(0, n);
  };
  socket.on('data', (data: Buffer) => {
    bytesIn += data.length;
    if (flood !== undefined) return;
    const chunk = withoutElided(data);
    if (chunk.length === 0) {
      wake();
      return;
    }
    const overConnection = streamLength + chunk.length > recordingCaps.perConnection;
    if (overConnection || recordedThisRun + chunk.length > recordingCaps.perRun) {
      // Bounded memory beats a complete record: say what happened, stop reading, close.
      const cap = overConnection
        ? `${recordingCaps.perConnection} bytes per connection`
        : `${recordingCaps.perRun} bytes per run`;
      flood = `the target flooded: ${streamLength + chunk.length} bytes in ${Math.round(now())} ms (recording cap ${cap})`;
      events.push({ t: now(), dir: 'event', note: `${flood}; recording stopped` });
      socket.destroy();
      wake();
      return;
    }
    recordedThisRun += chunk.length;
    // One copy for the chunk list and the transcript: both only read it.
    const copy = new Uint8Array(chunk);
    received.push(copy);
    append(chunk);
    events.push({ t: now(), dir: 'in', bytes: copy });
    wake();
  });
  // With allowHalfOpen, the peer's FIN does not close our side: we record EOF and keep the socket writable.
  socket.on('end', () => finish('eof', 'EOF (peer sent FIN)'));
  socket.on('error', (error: NodeJS.ErrnoException) =>
    finish(error.code === 'ECONNRESET' ? 'reset' : 'error', `error ${error.code ?? error.message}`),
  );
  socket.on('close', () => {
    // The run's cap bounds what open connections hold; a closed one's record is the report's to trim.
    recordedThisRun -= streamLength;
    finish('local', 'closed');
  });

  /**
   * A bounded waiter: resolves with `check()`'s first defined value (undefined keeps it waiting). `timeoutMs` bounds the wait; with
   * `extendWhileReceiving` it bounds the time since the last byte arrived instead, up to
   * {@link CLOSE_WAIT_MAX_TIMEOUTS} times `timeoutMs` in all.
   */
  function wait<T>(
    check: () => T | undefined,
    what: string,
    timeoutMs: number,
    failOnClose: boolean,
    extendWhileReceiving = false,
  ) {
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        const value = check();
        if (value !== undefined) {
          cleanup();
          resolve(value);
        } else if (flood !== undefined) {
          cleanup();
          reject(new ConnectionError(ConnectionErrorCode.FLOODED, label, `${flood}; ${what}`, escapedTail()));
        } else if (failOnClose && closeKind !== undefined) {
          cleanup();
          reject(
            new ConnectionError(
              ConnectionErrorCode.CLOSED_BEFORE_MATCH,
              label,
              `${what} (connection ended: ${closeKind})`,
              escapedTail(),
            ),
          );
        }
      };
      let settled = false;
      const started = performance.now();
      let bytesAtArm = bytesIn;
      const expire = () => {
        if (settled) return;
        run();
        if (settled) return;
        const waited = performance.now() - started;
        if (extendWhileReceiving && bytesIn > bytesAtArm && waited < timeoutMs * (CLOSE_WAIT_MAX_TIMEOUTS - 1)) {
          bytesAtArm = bytesIn;
          timer = setDeadline(timeoutMs, expire);
          return;
        }
        cleanup();
        const bound = !extendWhileReceiving
          ? `after ${timeoutMs} ms`
          : bytesIn > bytesAtArm
            ? `after ${Math.round(waited)} ms, bytes still arriving: the most it waits`
            : `after ${Math.round(waited)} ms, the last ${timeoutMs} ms without a byte`;
        reject(new ConnectionError(ConnectionErrorCode.WAIT_TIMEOUT, label, `${what} (${bound})`, escapedTail()));
      };
      let timer = setDeadline(timeoutMs, expire);
      const cleanup = () => {
        settled = true;
        clearTimeout(timer);
        waiters.delete(run);
      };
      waiters.add(run);
      run();
    });
  }

  const connection: Connection = {
    label,
    openedAt: opened,
    localPort,
    remotePort,
    stream,
    chunks: () => received,
    send(data) {
      const bytes = toBytes(data);
      if (socket.destroyed || socket.writableEnded) {
        acts.push('send-after-close');
        events.push({ t: now(), dir: 'event', note: `not sent (socket closed): "${escapeBytes(bytes)}"` });
        return;
      }
      events.push({ t: now(), dir: 'out', bytes });
      socket.write(bytes);
    },
    flushed(opts = {}) {
      return new Promise<void>((resolve, reject) => {
        if (socket.writableLength === 0 || socket.destroyed) {
          resolve();
          return;
        }
        const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
        const timer = setDeadline(timeoutMs, () => {
          socket.off('drain', done);
          if (socket.writableLength === 0 || socket.destroyed) {
            resolve();
            return;
          }
          reject(
            new ConnectionError(
              ConnectionErrorCode.WAIT_TIMEOUT,
              label,
              `${opts.what ?? 'writes flushed'} (${socket.writableLength} bytes pending after ${timeoutMs} ms)`,
            ),
          );
        });
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        socket.once('drain', done);
      });
    },
    end() {
      acts.push('half-close');
      events.push({ t: now(), dir: 'event', note: 'local FIN (half-close)' });
      socket.end();
    },
    reset() {
      acts.push('reset');
      events.push({ t: now(), dir: 'event', note: 'local RST' });
      if (!socket.destroyed) socket.resetAndDestroy();
      finish('local', 'closed (reset)');
    },
    elide(byte) {
      if (byte === elideByte) return;
      elideByte = byte;
      events.push({
        t: now(),
        dir: 'event',
        note: byte === undefined ? 'recording every byte again' : `counting ${escapeBytes(new Uint8Array([byte]))} bytes without recording them (a flood the case sends)`,
      });
    },
    elided: () => elidedBytes,
    pauseReading() {
      acts.push('pause');
      events.push({ t: now(), dir: 'event', note: 'reading paused' });
      socket.pause();
    },
    resumeReading() {
      events.push({ t: now(), dir: 'event', note: 'reading resumed' });
      socket.resume();
    },
    waitFor(predicate, opts = {}) {
      const what = opts.what ?? 'a predicate on the stream';
      return wait(
        () => (predicate(stream()) ? stream().length : undefined),
        what,
        opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS,
        true,
      );
    },
    waitForText(text, opts = {}) {
      const needle = toBytes(text);
      const what = opts.what ?? `"${escapeBytes(needle)}"${opts.after ? ` after offset ${opts.after}` : ''}`;
      return wait(
        () => {
          const at = indexOf(stream(), needle, opts.after ?? 0);
          return at < 0 ? undefined : at + needle.length;
        },
        what,
        opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS,
        true,
      );
    },
    waitForClose(opts = {}) {
      return wait(
        () => closeKind,
        opts.what ?? 'the connection to end',
        opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS,
        false,
        true,
      );
    },
    quiet(ms) {
      if (!(ms >= 0 && ms <= MAX_QUIET_WINDOW_MS)) {
        return Promise.reject(
          new ConnectionError(ConnectionErrorCode.BAD_ARGUMENT, label, `quiet window ${ms} ms out of range`),
        );
      }
      const start = stream().length;
      // The window ends after one more poll: bytes that came while a busy judge stood still are
      // read first, so they count as having arrived in the window.
      return new Promise((resolve) => setDeadline(ms, () => resolve(stream().slice(start))));
    },
    get closed() {
      return closeKind !== undefined;
    },
    get closeKind() {
      return closeKind;
    },
    events: () => events,
    localActs: () => acts,
    transcript() {
      return [`# ${label}`, ...renderTranscript([transcriptOf(connection, 0)], { style: 'bare' })].join('\n');
    },
    close() {
      if (!socket.destroyed) {
        acts.push('close');
        events.push({ t: now(), dir: 'event', note: 'local close' });
        socket.destroy();
      }
      finish('local', 'closed');
    },
  };
  return connection;
}

/** Options of {@link openConnection}. */
export interface OpenConnectionOptions {
  host?: string;
  port: number;
  /** Names the peer in transcripts and errors, e.g. `alice`. */
  label: string;
  connectTimeoutMs?: number;
}

/** Connects to `host:port` (default 127.0.0.1) and returns a recorder; bounded by `connectTimeoutMs`. */
export function openConnection(opts: OpenConnectionOptions): Promise<Connection> {
  const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: opts.host ?? '127.0.0.1', port: opts.port, allowHalfOpen: true });
    let settled = false;
    const timer = setDeadline(timeoutMs, () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(
        new ConnectionError(
          ConnectionErrorCode.CONNECT_TIMEOUT,
          opts.label,
          `connect to port ${opts.port} (after ${timeoutMs} ms)`,
        ),
      );
    });
    const failed = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(
        new ConnectionError(
          ConnectionErrorCode.CONNECT_FAILED,
          opts.label,
          `connect to port ${opts.port}: ${error.message}`,
          '',
          error,
        ),
      );
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('error', failed);
      resolve(recordSocket(socket, opts.label));
    });
  });
}

/** A listening socket playing the server for a client under test. Call {@link Listener.close} when done. */
export interface Listener {
  readonly port: number;
  /** The next accepted connection (recorded from the moment it was accepted); bounded. */
  nextConnection(opts?: { timeoutMs?: number }): Promise<Connection>;
  /** Stops listening and destroys every connection it accepted. */
  close(): Promise<void>;
}

/**
 * Listens on `host` (default 127.0.0.1), on port 0 unless given. Accepted connections are recorded at once
 * (labelled `<label>#1`, `<label>#2`, ...) so that no early byte or close goes unseen.
 */
export function listen(opts: { host?: string; port?: number; label?: string } = {}): Promise<Listener> {
  const label = opts.label ?? 'accepted';
  const all: Connection[] = [];
  const unclaimed: Connection[] = [];
  const arrivals = new Set<() => void>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const connection = recordSocket(socket, `${label}#${all.length + 1}`);
    all.push(connection);
    unclaimed.push(connection);
    for (const arrival of arrivals) arrival();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      resolve({
        port,
        nextConnection(nextOpts = {}) {
          const timeoutMs = nextOpts.timeoutMs ?? DEFAULT_ACCEPT_TIMEOUT_MS;
          return new Promise((resolveNext, rejectNext) => {
            const take = () => {
              const connection = unclaimed.shift();
              if (connection === undefined) return;
              clearTimeout(timer);
              arrivals.delete(take);
              resolveNext(connection);
            };
            const timer = setDeadline(timeoutMs, () => {
              if (!arrivals.has(take)) return;
              take();
              if (!arrivals.has(take)) return;
              arrivals.delete(take);
              rejectNext(
                new ConnectionError(
                  ConnectionErrorCode.ACCEPT_TIMEOUT,
                  label,
                  `a connection on port ${port} (after ${timeoutMs} ms)`,
                ),
              );
            });
            arrivals.add(take);
            take();
          });
        },
        close() {
          for (const connection of all) connection.close();
          return new Promise<void>((resolveClose) => server.close(() => resolveClose()));
        },
      });
    });
  });
}
