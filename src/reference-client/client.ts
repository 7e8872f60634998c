/**
 * The reference client as a library: one `node:net` socket per user, wired to the pure decoder
 * (`src/codec`). {@link connect} performs the handshake of either dialect (or detects it) and resolves
 * with a {@link ChatClient} once the user is a member; every byte the server sends afterwards reaches
 * the caller as a message or a coded issue carrying those bytes (FRAME-4, CLIENT-BYTES-1).
 *
 * This module is the thin socket adapter and the client's public API. Framing, classification and
 * validation are the codec's; the rest has one module each: the options and their bounds
 * (`settings.ts`, bounds in `src/limits.ts`), opening the socket (`open-socket.ts`), the handshake
 * (`handshake.ts`), the bounded event queue (`event-queue.ts`) and what a person sees
 * (`display.ts`).
 *
 * Every wait is bounded by a named constant that an option can override; nothing in a socket
 * callback throws.
 *
 * @module
 */
import type { Socket } from 'node:net';
import { maxBufferedBytes } from '../codec/decoder.js';
import type { DialectName, Framing } from '../codec/dialect.js';
import { encode } from '../codec/encode.js';
import { decodeExtension, encodeExtension, type ExtensionMessageOf } from '../codec/extension.js';
import type { ExtensionName, NickMessage, TildeMessage } from '../codec/generated/index.js';
import { CodecError, ERROR_CODES } from '../errors.js';
import { CLIENT_CLOSE_TIMEOUT_MS, CLIENT_SEND_BACKLOG_BYTES } from '../limits.js';
import { ClientError } from './errors.js';
import { EventQueue } from './event-queue.js';
import type { ClientEvent, CloseReason } from './events.js';
import { type Codec, Handshake } from './handshake.js';
import { openSocket } from './open-socket.js';
import { type ConnectOptions, resolveOptions, type Settings } from './settings.js';

export {
  AUTO_PROMPT_SETTLE_MS,
  AUTO_PROMPT_WAIT_MS,
  CLIENT_CLOSE_TIMEOUT_MS,
  CLIENT_CONNECT_TIMEOUT_MS,
  CLIENT_HANDSHAKE_TIMEOUT_MS,
  CLIENT_MAX_QUEUED_EVENTS,
  CLIENT_SEND_BACKLOG_BYTES,
  CLIENT_WAIT_TIMEOUT_MS,
  PROMPT_TOKEN_MAX_BYTES,
} from '../limits.js';
export { type DisplayOptions, escapeForTerminal, formatForDisplay } from './display.js';
export { ClientError, EventOverflowError } from './errors.js';
export type { ClientEvent, CloseReason } from './events.js';
export type { ClientDialect, ConnectOptions } from './settings.js';

/** Counters that show the client's memory stays bounded (the fuzz tests assert them). */
export interface ClientStats {
  /** Bytes the decoder holds right now. */
  readonly bufferedBytes: number;
  /** Most bytes the decoder held after any chunk. */
  readonly peakBufferedBytes: number;
  /** The decoder's bound ({@link maxBufferedBytes}). */
  readonly maxBufferedBytes: number;
  /** Events waiting to be read. */
  readonly queuedEvents: number;
  /** Most events that ever waited at once. */
  readonly peakQueuedEvents: number;
  /** The queue's bound. */
  readonly maxQueuedEvents: number;
  /** Events dropped because nobody read them in time. */
  readonly droppedEvents: number;
  /** Bytes received since the connection opened. */
  readonly receivedBytes: number;
}

/** A member's connection: send chat, read events, close. Created by {@link connect}. */
export interface ChatClient {
  /** The dialect in use (resolved when `auto` was asked for). */
  readonly dialect: DialectName;
  /** The nickname or username the server accepted. */
  readonly nick: string;
  /** NICK: the prompt token the server sent; `undefined` for tilde. */
  readonly prompt: string | undefined;
  /** The framing in use. */
  readonly framing: Framing;
  /** Whether the connection has ended. */
  readonly isClosed: boolean;
  /** Settles with the close reason once the connection has ended; never rejects. */
  readonly closed: Promise<CloseReason>;
  /**
   * Every event since the connection opened, handshake included, for one reader. Iteration ends after
   * `closed`. When more than `maxQueuedEvents` wait unread, the oldest are dropped and the reader next
   * gets one `issue` with code `CLIENT_EVENT_OVERFLOW` that counts them.
   */
  readonly events: AsyncIterable<ClientEvent>;
  /**
   * Sends one chat message in one write (FRAME-2): NICK `<nick>: <text>` (NICK-CHAT-1), tilde the text
   * as content (TILDE-MSG-1).
   *
   * @throws {@link CodecError} when the dialect cannot carry `text` (e.g. `TEXT_FORBIDDEN_CHAR` for
   *   non-ASCII in NICK, `CONTENT_EMPTY`, `MESSAGE_TOO_LONG`); nothing is sent.
   * @throws {@link ClientError} `CLIENT_NOT_CONNECTED` after the connection ended, or
   *   `CLIENT_SEND_BACKLOG` while the server is not reading.
   */
  send(text: string): void;
  /**
   * Sends one message of an extension profile (spec §14) in one write, e.g. `KICK bob` or `/users`.
   *
   * @throws as {@link ChatClient.send}.
   */
  sendExtension<X extends ExtensionName>(ext: X, message: ExtensionMessageOf<X>): void;
  /** The extension profiles the client knows the server speaks: those given, and `admin` once it asked for the password. */
  readonly extensions: readonly ExtensionName[];
  /**
   * Resolves with the first event, among those not yet read from {@link ChatClient.events} or arriving
   * later, for which `predicate` holds. It does not take the event from the queue.
   *
   * @throws {@link ClientError} (rejects) `CLIENT_WAIT_TIMEOUT` after `timeoutMs` (default
   *   {@link CLIENT_WAIT_TIMEOUT_MS}), or `CLIENT_NOT_CONNECTED` once the connection has ended without a match.
   */
  waitFor(predicate: (event: ClientEvent) => boolean, timeoutMs?: number): Promise<ClientEvent>;
  /** Memory and traffic counters. */
  stats(): ClientStats;
  /** Sends FIN, waits (bounded by {@link CLIENT_CLOSE_TIMEOUT_MS}) for it to leave, then destroys the socket. Idempotent. */
  close(): Promise<void>;
}

/**
 * Connects, performs the handshake and resolves with a member's {@link ChatClient}.
 *
 * - NICK: waits for the prompt (matched as a prefix of the stream, so a split prompt is still found),
 *   answers with the nickname in one write (NICK-NICK-1), resolves on `Connected to server!`
 *   (NICK-CHAT-2), even when it arrives merged with `<nick> joined!`.
 * - tilde: sends the username first (TILDE-USER-1) and resolves on its own
 *   `SERVER~<user> added to the chat` (TILDE-MSG-1).
 * - `auto`: if bytes arrive within {@link AUTO_PROMPT_WAIT_MS} and they are a prompt token (1 to 32
 *   bytes of printable ASCII without spaces), the dialect is NICK with that token; if nothing arrives,
 *   it is tilde.
 *
 * @throws {@link CodecError} before connecting, when `nick` is no valid nickname/username of the
 *   dialect (with `auto`: of either dialect), e.g. `NICKNAME_FORBIDDEN_CHAR`; or `PROMPT_INVALID`.
 * @throws {@link ClientError} `CONNECT_FAILED`, `CONNECT_TIMEOUT`, `CLIENT_REFUSED` (with `reason`),
 *   `CLIENT_CLOSED_DURING_HANDSHAKE`, `CLIENT_HANDSHAKE_TIMEOUT` or `CLIENT_DIALECT_UNDETECTED`.
 * @example
 * ```ts
 * const client = await connect({ host: '127.0.0.1', port: 55555, dialect: 'nick', nick: 'alice' });
 * client.send('hi');
 * for await (const event of client.events) console.log(formatForDisplay(event, { color: false }));
 * ```
 */
export async function connect(options: ConnectOptions): Promise<ChatClient> {
  const settings = resolveOptions(options);
  const socket = await openSocket(settings.host, settings.port, settings.connectTimeoutMs);
  return new SocketClient(socket, settings).handshake();
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The socket adapter. One instance per connection; exposed only through {@link ChatClient}. */
class SocketClient implements ChatClient {
  readonly #socket: Socket;
  readonly #settings: Settings;
  readonly #handshake: Handshake;
  readonly #queue: EventQueue;
  /** The nickname after a rename (CMD-CLIENT-1); undefined: the one given. */
  #nick: string | undefined;
  #finished = false;
  #localClose = false;
  #resolveClosed!: (reason: CloseReason) => void;
  #peakBuffered = 0;
  #received = 0;
  readonly closed: Promise<CloseReason>;
  readonly events: AsyncIterable<ClientEvent>;

  constructor(socket: Socket, settings: Settings) {
    this.#socket = socket;
    this.#settings = settings;
    this.#handshake = new Handshake(settings, {
      write: (bytes) => socket.write(bytes),
      feed: (bytes) => this.#feed(bytes),
      abort: () => {
        this.#finished = true;
        socket.destroy();
        this.#resolveClosed('local');
      },
      guard: (fn) => this.#guard(fn),
    });
    this.#queue = new EventQueue(settings.maxQueuedEvents, () => this.dialect);
    this.events = this.#queue.events;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    socket.on('data', (chunk: Buffer) => this.#guard(() => this.#onData(chunk)));
    socket.on('end', () => this.#guard(() => this.#finish(this.#localClose ? 'local' : 'eof')));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      this.#guard(() => {
        // EPIPE is a write to a connection the peer already reset: the same event, seen from the other side.
        const reset = error.code === 'ECONNRESET' || error.code === 'EPIPE';
        this.#finish(this.#localClose ? 'local' : reset ? 'reset' : 'error', error);
      }),
    );
    socket.on('close', () => this.#guard(() => this.#finish(this.#localClose ? 'local' : 'error')));
  }

  get dialect(): DialectName {
    return this.#handshake.codec?.dialect ?? 'tilde';
  }

  get nick(): string {
    return this.#nick ?? this.#settings.nick;
  }

  get extensions(): readonly ExtensionName[] {
    return this.#handshake.extensions;
  }

  get prompt(): string | undefined {
    return this.#handshake.prompt;
  }

  get framing(): Framing {
    return this.#settings.framing;
  }

  get isClosed(): boolean {
    return this.#finished;
  }

  /** Starts the handshake; settles once the user is a member or the handshake has failed. */
  async handshake(): Promise<ChatClient> {
    await this.#handshake.start();
    return this;
  }

  send(text: string): void {
    this.#assertSession();
    const { framing } = this.#settings;
    const nick = this.nick;
    let bytes: Uint8Array;
    if (this.dialect === 'nick') bytes = encode('nick', { type: 'chat', nick, text }, { framing });
    else {
      // A lone surrogate would silently become U+FFFD in the encoder; ENC-TILDE-1 wants what was typed or nothing.
      if (LONE_SURROGATE.test(text)) {
        throw new CodecError('INVALID_UTF8', `${ERROR_CODES.INVALID_UTF8} (a lone surrogate, ENC-TILDE-1)`, {
          requirement: 'ENC-TILDE-1',
        });
      }
      bytes = encode('tilde', { type: 'content', content: text }, { framing });
    }
    this.#write(bytes);
  }

  sendExtension<X extends ExtensionName>(ext: X, message: ExtensionMessageOf<X>): void {
    this.#assertSession();
    if (this.dialect !== 'nick') {
      throw new ClientError('CLIENT_NOT_CONNECTED', 'the connection has ended; nothing can be sent');
    }
    this.#write(encodeExtension(ext, message));
  }

  waitFor(predicate: (event: ClientEvent) => boolean, timeoutMs?: number): Promise<ClientEvent> {
    return this.#queue.waitFor(predicate, timeoutMs);
  }

  stats(): ClientStats {
    return {
      bufferedBytes: this.#handshake.codec?.decoder.bufferedBytes ?? 0,
      peakBufferedBytes: this.#peakBuffered,
      maxBufferedBytes: maxBufferedBytes({
        dialect: this.dialect,
        direction: 'toClient',
        framing: this.#settings.framing,
      }),
      ...this.#queue.stats(),
      receivedBytes: this.#received,
    };
  }

  async close(): Promise<void> {
    if (!this.#finished) {
      this.#localClose = true;
      const socket = this.#socket;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, CLIENT_CLOSE_TIMEOUT_MS);
        function done() {
          clearTimeout(timer);
          socket.off('finish', done);
          socket.off('close', done);
          resolve();
        }
        socket.once('finish', done);
        socket.once('close', done);
        socket.end();
      });
      socket.destroy();
    }
    await this.closed;
  }

  #assertSession(): void {
    if (this.#handshake.phase !== 'session' || this.#finished || this.#socket.destroyed) {
      throw new ClientError('CLIENT_NOT_CONNECTED', 'the connection has ended; nothing can be sent');
    }
  }

  #write(bytes: Uint8Array): void {
    if (this.#socket.writableLength + bytes.length > CLIENT_SEND_BACKLOG_BYTES) {
      throw new ClientError(
        'CLIENT_SEND_BACKLOG',
        `${this.#socket.writableLength} bytes are still waiting to be sent: the server is not reading`,
      );
    }
    this.#socket.write(bytes);
  }

  /** Socket callbacks must never throw: a bug here ends this connection, not the process. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#finish('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#finished) return;
    // A copy: a chunk's bytes outlive the read buffer in events, and must not pin a larger allocation.
    const bytes = new Uint8Array(chunk);
    this.#received += bytes.length;
    if (this.#handshake.phase === 'detecting') this.#handshake.collect(bytes);
    else this.#feed(bytes);
  }

  #feed(bytes: Uint8Array): void {
    const codec = this.#handshake.codec;
    if (codec === undefined) return;
    const events = codec.decoder.push(bytes);
    this.#peakBuffered = Math.max(this.#peakBuffered, codec.decoder.bufferedBytes);
    for (const event of events) {
      if (this.#finished) return;
      this.#deliver(toEvent(codec, event));
    }
  }

  #deliver(event: ClientEvent): void {
    if (this.#handshake.observe(event)) return;
    this.#followRename(event);
    this.#queue.push(event);
  }

  /** CMD-CLIENT-1: with `commands`, `<old> is now known as <new>` naming this client renames it. */
  #followRename(event: ClientEvent): void {
    if (this.#handshake.phase !== 'session' || event.kind === 'closed' || !this.extensions.includes('commands'))
      return;
    const renamed = decodeExtension('commands', 'toClient', event.bytes);
    if (renamed?.type === 'renamed' && renamed.old === this.nick) this.#nick = renamed.new;
  }

  #finish(reason: CloseReason, error?: Error): void {
    if (this.#finished) return;
    if (this.#handshake.pending) {
      const how = reason === 'eof' ? 'the server closed the connection' : `the connection ended (${reason})`;
      this.#handshake.fail('CLIENT_CLOSED_DURING_HANDSHAKE', `${how} before the handshake completed`, {
        ...(error === undefined ? {} : { cause: error }),
      });
      return;
    }
    // What the decoder held back (a split character, a partial line) is reported, not lost (FRAME-4).
    const codec = this.#handshake.codec;
    if (codec !== undefined) for (const event of codec.decoder.end()) this.#queue.push(toEvent(codec, event));
    this.#finished = true;
    this.#handshake.end();
    this.#socket.destroy();
    this.#queue.push(error === undefined ? { kind: 'closed', reason } : { kind: 'closed', reason, error });
    this.#resolveClosed(reason);
  }
}

/** A decoder event as the client reports it. */
function toEvent(
  codec: Codec,
  event: { kind: 'message'; message: unknown; bytes: Uint8Array } | { kind: 'issue'; error: CodecError },
): ClientEvent {
  if (event.kind === 'issue') {
    return { kind: 'issue', dialect: codec.dialect, error: event.error, bytes: event.error.bytes };
  }
  // Message bytes are views of the (copied) chunk; each event gets its own so the queue holds no more than it says.
  const bytes = event.bytes.slice();
  return codec.dialect === 'nick'
    ? { kind: 'message', dialect: 'nick', message: event.message as NickMessage, bytes }
    : { kind: 'message', dialect: 'tilde', message: event.message as TildeMessage, bytes };
}
