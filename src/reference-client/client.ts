/**
 * The reference client as a library: one `node:net` socket per user, wired to the pure decoder
 * (`src/codec`). {@link connect} performs the handshake of either dialect (or detects it) and resolves
 * with a {@link ChatClient} once the user is a member; every byte the server sends afterwards reaches
 * the caller as a message or a coded issue carrying those bytes (FRAME-4, CLIENT-BYTES-1).
 *
 * The socket code is a thin adapter: framing, classification and validation are the codec's. What
 * lives here is what the codec cannot know: when to answer the prompt, when the handshake is
 * complete, how long to wait, and how to hand events to a reader that may be slow or absent.
 *
 * Every wait is bounded by a named constant that an option can override; nothing in a socket
 * callback throws.
 *
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net';
import { createDecoder, type Decoder, maxBufferedBytes } from '../codec/decoder.js';
import type { DialectName, Framing } from '../codec/dialect.js';
import { encode } from '../codec/encode.js';
import { decodeExtension, encodeExtension, type ExtensionMessageOf } from '../codec/extension.js';
import { escapeBytes } from '../codec/escape.js';
import type { ExtensionName, NickMessage, TildeMessage } from '../codec/generated/index.js';
import { isPromptToken } from '../codec/prompt.js';
import { concatBytes, decodeLossy } from '../codec/text.js';
import { PROMPT_TOKEN_MAX_BYTES } from '../limits.js';
import { ChatkitError, CodecError, ERROR_CODES, type ErrorCode } from '../errors.js';

/** Default bound on establishing the TCP connection. */
export const CLIENT_CONNECT_TIMEOUT_MS = 5_000;
/**
 * Default bound on the whole handshake, from the connection to `Connected to server!` (NICK) or the
 * user's own `SERVER~<user> added to the chat` (tilde). Matches the server's default
 * (ROBUST-HANDSHAKE-2), so a conformant server gives up no later than the client does.
 */
export const CLIENT_HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * `auto`: how long the client listens for a prompt before it concludes that the server waits for it
 * to speak first (tilde). A NICK server prompts at once (NICK-PROMPT-1), so on loopback or a LAN the
 * prompt arrives well within this; over a slow link, name the dialect instead.
 */
export const AUTO_PROMPT_WAIT_MS = 750;
/**
 * `auto`: after the first bytes arrive, how long more bytes are still taken as part of the prompt
 * token. NICK-PROMPT-2 guarantees that nothing but the prompt comes before the nickname, so bytes in
 * this window can only be the rest of a prompt that TCP split.
 */
export const AUTO_PROMPT_SETTLE_MS = 50;
/** Longest prompt token `auto` accepts, as the generated `token` field allows (§4.2). */
export { PROMPT_TOKEN_MAX_BYTES };
/**
 * Default bound on events waiting in {@link ChatClient.events}. Each event holds at most one frame
 * (2048 bytes), so a reader that never reads costs at most about 2 MiB; past the bound the oldest
 * events are dropped and counted (see {@link EventOverflowError}).
 */
export const CLIENT_MAX_QUEUED_EVENTS = 1_000;
/** How long {@link ChatClient.close} waits for its FIN to be flushed before it destroys the socket. */
export const CLIENT_CLOSE_TIMEOUT_MS = 1_000;
/**
 * Most bytes {@link ChatClient.send} lets wait in the socket's write buffer. A server that stops
 * reading would otherwise make the client buffer without bound; chat messages are small, so a
 * backlog this large means the server is not reading at all.
 */
export const CLIENT_SEND_BACKLOG_BYTES = 64 * 1024;
/** Default bound of {@link ChatClient.waitFor}. */
export const CLIENT_WAIT_TIMEOUT_MS = 5_000;

/** Which dialect to speak: one of the two, or `auto` to detect it (see {@link connect}). */
export type ClientDialect = DialectName | 'auto';

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Server host, e.g. `127.0.0.1` (TRANSPORT-1). */
  readonly host: string;
  /** Server port (TRANSPORT-2 lists the defaults: 55555 NICK, 11826 `Hii`, 9999 tilde). */
  readonly port: number;
  /** The dialect, or `auto` to detect it from whether the server prompts first. */
  readonly dialect: ClientDialect;
  /** The nickname (NICK) or username (tilde). With `auto` it must be valid in both dialects. */
  readonly nick: string;
  /** NICK: the prompt token to expect (default `NICK`; `Hii` for seed 003). Ignored by `auto`, which takes the token the server sends. */
  readonly prompt?: string;
  /** `chunk` (default, the legacy wire) or `line` (the optional line profile, §8; the server must use it too). */
  readonly framing?: Framing;
  /** Bound on establishing the connection; default {@link CLIENT_CONNECT_TIMEOUT_MS}. */
  readonly connectTimeoutMs?: number;
  /** Bound on the whole handshake; default {@link CLIENT_HANDSHAKE_TIMEOUT_MS}. */
  readonly handshakeTimeoutMs?: number;
  /** `auto`: how long to wait for a prompt; default {@link AUTO_PROMPT_WAIT_MS}. */
  readonly autoPromptWaitMs?: number;
  /** Bound on unread events; default {@link CLIENT_MAX_QUEUED_EVENTS}. */
  readonly maxQueuedEvents?: number;
  /** NICK, admin profile (spec §14.2): the password to answer `PASS` with when the nickname is `admin`. */
  readonly adminPassword?: string;
  /**
   * NICK: the extension profiles the server speaks (spec §14), as the user knows them; with `commands`
   * the client takes `<old> is now known as <new>` naming itself as its new nickname (CMD-CLIENT-1).
   */
  readonly extensions?: readonly ExtensionName[];
}

/** How a connection ended: the server's FIN, a reset, our own {@link ChatClient.close}, or another socket error. */
export type CloseReason = 'eof' | 'reset' | 'local' | 'error';

/**
 * What a {@link ChatClient} reports, in stream order. Every byte received after the connection
 * opened is in exactly one `message` or `issue` (`bytes`), so the concatenation of those `bytes` is the
 * received stream (chunk framing; the line profile discards over-long lines, LINE-2). `closed` is
 * always the last event and comes exactly once.
 */
export type ClientEvent =
  | {
      readonly kind: 'message';
      readonly dialect: 'nick';
      readonly message: NickMessage;
      readonly bytes: Uint8Array;
    }
  | {
      readonly kind: 'message';
      readonly dialect: 'tilde';
      readonly message: TildeMessage;
      readonly bytes: Uint8Array;
    }
  | {
      readonly kind: 'issue';
      readonly dialect: DialectName;
      /** A decoding issue (bytes the dialect forbids, a frame no message matches), or an overflow of the event queue. */
      readonly error: CodecError | EventOverflowError;
      /** The bytes of the issue (empty for an overflow, whose bytes were dropped and are counted instead). */
      readonly bytes: Uint8Array;
    }
  | { readonly kind: 'closed'; readonly reason: CloseReason; readonly error?: Error };

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

/** A connection or handshake failure, or misuse of a closed client. Match on `code`. */
export class ClientError extends ChatkitError {
  /** `CLIENT_REFUSED`: the reason the server gave (`Refused: <reason>`), as text. */
  readonly reason: string | undefined;
  /** Bytes that explain the failure, e.g. the first bytes when `auto` could not detect the dialect. */
  readonly bytes: Uint8Array;

  /** Creates the error; `message` is for people, `code` is the contract. */
  constructor(
    code: ErrorCode,
    message: string,
    details: { reason?: string; bytes?: Uint8Array; cause?: unknown } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ClientError';
    this.reason = details.reason;
    this.bytes = details.bytes ?? new Uint8Array(0);
  }
}

/** Reported (as an `issue` event) when unread events were dropped to keep memory bounded. */
export class EventOverflowError extends ChatkitError {
  /** How many events were dropped. */
  readonly dropped: number;
  /** How many received bytes those events carried. */
  readonly droppedBytes: number;

  /** Creates the error for `dropped` events carrying `droppedBytes` bytes. */
  constructor(dropped: number, droppedBytes: number) {
    super(
      'CLIENT_EVENT_OVERFLOW',
      `${dropped} events (${droppedBytes} bytes) were dropped because nobody read them in time`,
    );
    this.name = 'EventOverflowError';
    this.dropped = dropped;
    this.droppedBytes = droppedBytes;
  }
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

interface Settings {
  readonly host: string;
  readonly port: number;
  readonly dialect: ClientDialect;
  readonly nick: string;
  readonly prompt: string | undefined;
  readonly framing: Framing;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly autoPromptWaitMs: number;
  readonly maxQueuedEvents: number;
  readonly adminPassword: string | undefined;
  readonly extensions: readonly ExtensionName[];
}

function positive(name: string, value: number | undefined, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new ClientError('CLIENT_BAD_OPTION', `${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
  return value;
}

/** Validates every option, the nickname with the codec (so a bad one never reaches the wire). */
function resolveOptions(options: ConnectOptions): Settings {
  const { dialect } = options;
  if (dialect !== 'nick' && dialect !== 'tilde' && dialect !== 'auto') {
    throw new ClientError('CLIENT_BAD_OPTION', `dialect must be 'nick', 'tilde' or 'auto', got ${String(dialect)}`);
  }
  const framing = options.framing ?? 'chunk';
  if (framing !== 'chunk' && framing !== 'line') {
    throw new ClientError('CLIENT_BAD_OPTION', `framing must be 'chunk' or 'line', got ${String(framing)}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
    throw new ClientError('CLIENT_BAD_OPTION', `port must be an integer from 0 to 65535, got ${options.port}`);
  }
  // NICK-NICK-2 / TILDE-USER-2: the codec's encoder runs the generated checks and throws the CodecError.
  if (dialect !== 'tilde') encode('nick', { type: 'nickname', nick: options.nick });
  if (dialect !== 'nick') encode('tilde', { type: 'username', user: options.nick });
  const prompt = dialect === 'nick' ? (options.prompt ?? 'NICK') : undefined;
  if (prompt !== undefined) encode('nick', { type: 'prompt', token: prompt });
  return {
    host: options.host,
    port: options.port,
    dialect,
    nick: options.nick,
    prompt,
    framing,
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, CLIENT_CONNECT_TIMEOUT_MS),
    handshakeTimeoutMs: positive(
      'handshakeTimeoutMs',
      options.handshakeTimeoutMs,
      CLIENT_HANDSHAKE_TIMEOUT_MS,
    ),
    autoPromptWaitMs: positive('autoPromptWaitMs', options.autoPromptWaitMs, AUTO_PROMPT_WAIT_MS),
    maxQueuedEvents: positive('maxQueuedEvents', options.maxQueuedEvents, CLIENT_MAX_QUEUED_EVENTS, true),
    adminPassword: options.adminPassword,
    extensions: [...(options.extensions ?? [])],
  };
}

/** Opens the TCP connection with Nagle off (FRAME-3); bounded by `timeoutMs`. */
function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ClientError('CONNECT_TIMEOUT', `no connection to ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const failed = (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new ClientError(
          'CONNECT_FAILED',
          `cannot connect to ${host}:${port}: ${error.code ?? error.message}`,
          {
            cause: error,
          },
        ),
      );
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', failed);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** Where the client stands. `detecting` is `auto` before it knows the dialect. */
type Phase = 'detecting' | 'await-prompt' | 'await-connected' | 'await-added' | 'session' | 'closed';

type Codec =
  | { readonly dialect: 'nick'; readonly decoder: Decoder<NickMessage> }
  | { readonly dialect: 'tilde'; readonly decoder: Decoder<TildeMessage> };

type Waiter = { readonly check: (event: ClientEvent) => void };

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The socket adapter. One instance per connection; exposed only through {@link ChatClient}. */
class SocketClient implements ChatClient {
  readonly #socket: Socket;
  readonly #settings: Settings;
  #phase: Phase;
  #codec: Codec | undefined;
  #prompt: string | undefined;
  /** The nickname after a rename (CMD-CLIENT-1); undefined: the one given. */
  #nick: string | undefined;
  /** The extension profiles the server is known to speak. */
  #extensions: readonly ExtensionName[] = [];
  #handshake: { resolve: (client: ChatClient) => void; reject: (error: Error) => void } | undefined;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #autoTimer: NodeJS.Timeout | undefined;
  #autoBytes: Uint8Array[] = [];
  #queue: ClientEvent[] = [];
  #dropped = 0;
  #droppedBytes = 0;
  #droppedTotal = 0;
  #readers: Array<(result: IteratorResult<ClientEvent>) => void> = [];
  #waiters = new Set<Waiter>();
  #closedQueued = false;
  #closedTaken = false;
  #finished = false;
  #localClose = false;
  #resolveClosed!: (reason: CloseReason) => void;
  #peakBuffered = 0;
  #peakQueued = 0;
  #received = 0;
  readonly closed: Promise<CloseReason>;
  readonly events: AsyncIterable<ClientEvent>;

  constructor(socket: Socket, settings: Settings) {
    this.#socket = socket;
    this.#settings = settings;
    this.#phase = settings.dialect === 'auto' ? 'detecting' : 'await-prompt';
    this.#extensions = settings.extensions;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    const iterator: AsyncIterator<ClientEvent> = {
      next: () => this.#next(),
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
    this.events = { [Symbol.asyncIterator]: () => iterator };
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
    return this.#codec?.dialect ?? 'tilde';
  }

  get nick(): string {
    return this.#nick ?? this.#settings.nick;
  }

  get extensions(): readonly ExtensionName[] {
    return this.#extensions;
  }

  get prompt(): string | undefined {
    return this.#prompt;
  }

  get framing(): Framing {
    return this.#settings.framing;
  }

  get isClosed(): boolean {
    return this.#finished;
  }

  /** Starts the handshake; settles once the user is a member or the handshake has failed. */
  handshake(): Promise<ChatClient> {
    return new Promise((resolve, reject) => {
      this.#handshake = { resolve, reject };
      const { handshakeTimeoutMs, dialect } = this.#settings;
      this.#handshakeTimer = setTimeout(
        () =>
          this.#fail(
            'CLIENT_HANDSHAKE_TIMEOUT',
            `handshake not complete within ${handshakeTimeoutMs} ms (state ${this.#phase})`,
          ),
        handshakeTimeoutMs,
      );
      if (dialect === 'nick') this.#startNick(this.#settings.prompt ?? 'NICK');
      else if (dialect === 'tilde') this.#startTilde();
      else
        this.#autoTimer = setTimeout(
          () => this.#guard(() => this.#decide()),
          this.#settings.autoPromptWaitMs,
        );
    });
  }

  send(text: string): void {
    if (this.#phase !== 'session' || this.#finished || this.#socket.destroyed) {
      throw new ClientError('CLIENT_NOT_CONNECTED', 'the connection has ended; nothing can be sent');
    }
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
    if (this.#socket.writableLength + bytes.length > CLIENT_SEND_BACKLOG_BYTES) {
      throw new ClientError(
        'CLIENT_SEND_BACKLOG',
        `${this.#socket.writableLength} bytes are still waiting to be sent: the server is not reading`,
      );
    }
    this.#write(bytes);
  }

  sendExtension<X extends ExtensionName>(ext: X, message: ExtensionMessageOf<X>): void {
    if (this.#phase !== 'session' || this.#finished || this.#socket.destroyed || this.dialect !== 'nick') {
      throw new ClientError('CLIENT_NOT_CONNECTED', 'the connection has ended; nothing can be sent');
    }
    this.#write(encodeExtension(ext, message));
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

  waitFor(
    predicate: (event: ClientEvent) => boolean,
    timeoutMs = CLIENT_WAIT_TIMEOUT_MS,
  ): Promise<ClientEvent> {
    return new Promise((resolve, reject) => {
      try {
        for (const event of this.#queue) {
          if (predicate(event)) {
            resolve(event);
            return;
          }
        }
      } catch (error) {
        reject(error);
        return;
      }
      if (this.#closedQueued) {
        reject(new ClientError('CLIENT_NOT_CONNECTED', 'the connection ended before a matching event'));
        return;
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new ClientError('CLIENT_WAIT_TIMEOUT', `no matching event within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        fn();
      };
      const waiter: Waiter = {
        check: (event) => {
          let matched: boolean;
          try {
            matched = predicate(event);
          } catch (error) {
            settle(() => reject(error));
            return;
          }
          if (matched) settle(() => resolve(event));
          else if (event.kind === 'closed') {
            settle(() =>
              reject(
                new ClientError(
                  'CLIENT_NOT_CONNECTED',
                  `the connection ended (${event.reason}) before a matching event`,
                ),
              ),
            );
          }
        },
      };
      this.#waiters.add(waiter);
    });
  }

  stats(): ClientStats {
    const { dialect } = this;
    return {
      bufferedBytes: this.#codec?.decoder.bufferedBytes ?? 0,
      peakBufferedBytes: this.#peakBuffered,
      maxBufferedBytes: maxBufferedBytes({
        dialect,
        direction: 'toClient',
        framing: this.#settings.framing,
      }),
      queuedEvents: this.#queue.length,
      peakQueuedEvents: this.#peakQueued,
      maxQueuedEvents: this.#settings.maxQueuedEvents,
      droppedEvents: this.#droppedTotal,
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

  /** Socket callbacks must never throw: a bug here ends this connection, not the process. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#finish('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  #startNick(prompt: string): void {
    this.#prompt = prompt;
    this.#codec = {
      dialect: 'nick',
      decoder: createDecoder({
        dialect: 'nick',
        direction: 'toClient',
        framing: this.#settings.framing,
        prompt,
      }),
    };
    this.#phase = 'await-prompt';
  }

  #startTilde(): void {
    this.#codec = {
      dialect: 'tilde',
      decoder: createDecoder({ dialect: 'tilde', direction: 'toClient', framing: this.#settings.framing }),
    };
    this.#phase = 'await-added';
    // TILDE-USER-1: the username is the first write, alone.
    this.#socket.write(
      encode('tilde', { type: 'username', user: this.#settings.nick }, { framing: this.#settings.framing }),
    );
  }

  /** `auto`: bytes before the decision are the candidate prompt token. */
  #collectAuto(chunk: Uint8Array): void {
    const first = this.#autoBytes.length === 0;
    this.#autoBytes.push(chunk);
    const total = this.#autoBytes.reduce((n, b) => n + b.length, 0);
    // A token cannot be longer than this (plus a line terminator): decide now, there is nothing to wait for.
    if (total > PROMPT_TOKEN_MAX_BYTES + 2) this.#decide();
    else if (first) {
      clearTimeout(this.#autoTimer);
      this.#autoTimer = setTimeout(() => this.#guard(() => this.#decide()), AUTO_PROMPT_SETTLE_MS);
    }
  }

  #decide(): void {
    clearTimeout(this.#autoTimer);
    if (this.#phase !== 'detecting') return;
    if (this.#autoBytes.length === 0) {
      this.#startTilde();
      return;
    }
    const bytes = concatBytes(this.#autoBytes);
    this.#autoBytes = [];
    let token = bytes;
    if (this.#settings.framing === 'line') {
      // Under the line profile the prompt is `NICK\n` (§8); the terminator is no part of the token.
      if (token.at(-1) === 0x0a) token = token.subarray(0, token.length - 1);
      if (token.at(-1) === 0x0d) token = token.subarray(0, token.length - 1);
    }
    const text = decodeLossy(token, 'ascii');
    if (!isPromptToken(text)) {
      this.#fail(
        'CLIENT_DIALECT_UNDETECTED',
        `the server's first bytes are no prompt token: "${escapeBytes(bytes)}"`,
        { bytes },
      );
      return;
    }
    this.#startNick(text);
    // The decoder gets the token's bytes too, so the prompt is an event like every other received byte.
    this.#feed(bytes);
  }

  #onData(chunk: Buffer): void {
    if (this.#finished) return;
    // A copy: a chunk's bytes outlive the read buffer in events, and must not pin a larger allocation.
    const bytes = new Uint8Array(chunk);
    this.#received += bytes.length;
    if (this.#phase === 'detecting') this.#collectAuto(bytes);
    else this.#feed(bytes);
  }

  #feed(bytes: Uint8Array): void {
    const codec = this.#codec;
    if (codec === undefined) return;
    const events = codec.decoder.push(bytes);
    this.#peakBuffered = Math.max(this.#peakBuffered, codec.decoder.bufferedBytes);
    for (const event of events) {
      if (this.#finished) return;
      this.#deliver(this.#toEvent(codec, event));
    }
  }

  #toEvent(
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

  #deliver(event: ClientEvent): void {
    if (this.#adminHandshake(event)) return; // PASS is answered, not shown (as the prompt, CLIENT-PROMPT-1)
    this.#advanceHandshake(event);
    this.#followRename(event);
    this.#enqueue(event);
  }

  /**
   * ADMIN-CLIENT-1: after the nickname, `PASS` is answered with the password, `REFUSE` and `BAN` are
   * refusals. True when the event was `PASS` (consumed).
   */
  #adminHandshake(event: ClientEvent): boolean {
    if (this.#phase !== 'await-connected' || event.kind === 'closed') return false;
    const admin = decodeExtension('admin', 'toClient', event.bytes, 'handshake');
    if (admin === undefined) return false;
    if (admin.type === 'pass') {
      const password = this.#settings.adminPassword;
      if (password === undefined) {
        this.#fail('CLIENT_REFUSED', 'the server asks for the admin password (give --admin-password)', {
          reason: 'admin password needed',
        });
      } else {
        if (!this.#extensions.includes('admin')) this.#extensions = [...this.#extensions, 'admin'];
        this.#socket.write(encodeExtension('admin', { type: 'password', password }));
      }
      return true;
    }
    const reason = admin.type === 'refuse' ? 'wrong admin password (REFUSE)' : 'this nickname is banned (BAN)';
    this.#fail('CLIENT_REFUSED', reason, { reason });
    return false;
  }

  /** CMD-CLIENT-1: with `commands`, `<old> is now known as <new>` naming this client renames it. */
  #followRename(event: ClientEvent): void {
    if (this.#phase !== 'session' || event.kind === 'closed' || !this.#extensions.includes('commands')) return;
    const renamed = decodeExtension('commands', 'toClient', event.bytes);
    if (renamed?.type === 'renamed' && renamed.old === this.nick) this.#nick = renamed.new;
  }

  /** The handshake is driven by what the decoder reports, in stream order. */
  #advanceHandshake(event: ClientEvent): void {
    if (event.kind === 'closed') return;
    const { nick, framing } = this.#settings;
    if (this.#phase === 'await-prompt') {
      if (event.kind === 'message' && event.dialect === 'nick' && event.message.type === 'prompt') {
        // NICK-NICK-1: answer the prompt, and only the prompt, with the nickname in one write.
        this.#socket.write(encode('nick', { type: 'nickname', nick }, { framing }));
        this.#phase = 'await-connected';
      }
    } else if (this.#phase === 'await-connected') {
      if (event.kind !== 'message' || event.dialect !== 'nick') return;
      if (event.message.type === 'refused')
        this.#fail('CLIENT_REFUSED', event.message.reason, { reason: event.message.reason });
      else if (event.message.type === 'connected') this.#succeed(); // NICK-CHAT-2
    } else if (this.#phase === 'await-added') {
      // TILDE-JOIN-2: the first thing a newcomer receives is its refusal or its own `added`; anything TCP
      // merged behind it does not change that, so the frame is matched by its prefix, issue or not.
      if (startsWith(event.bytes, textEncoder.encode(`SERVER~${nick} added to the chat`))) this.#succeed();
      else if (startsWith(event.bytes, REFUSED_PREFIX)) {
        const reason =
          event.kind === 'message' && event.dialect === 'tilde' && event.message.type === 'refused'
            ? event.message.reason
            : decodeLossy(event.bytes.subarray(REFUSED_PREFIX.length), 'utf-8');
        this.#fail('CLIENT_REFUSED', reason, { reason });
      }
    }
  }

  #succeed(): void {
    clearTimeout(this.#handshakeTimer);
    this.#phase = 'session';
    const handshake = this.#handshake;
    this.#handshake = undefined;
    handshake?.resolve(this);
  }

  /** Ends a handshake that cannot complete; the client was never handed out, so its events go with it. */
  #fail(
    code: ErrorCode,
    message: string,
    details: { reason?: string; bytes?: Uint8Array; cause?: unknown } = {},
  ) {
    const handshake = this.#handshake;
    if (handshake === undefined) return;
    this.#handshake = undefined;
    clearTimeout(this.#handshakeTimer);
    clearTimeout(this.#autoTimer);
    this.#phase = 'closed';
    this.#finished = true;
    this.#socket.destroy();
    this.#resolveClosed('local');
    handshake.reject(new ClientError(code, message, details));
  }

  #finish(reason: CloseReason, error?: Error): void {
    if (this.#finished) return;
    if (this.#handshake !== undefined) {
      const how = reason === 'eof' ? 'the server closed the connection' : `the connection ended (${reason})`;
      this.#fail('CLIENT_CLOSED_DURING_HANDSHAKE', `${how} before the handshake completed`, {
        ...(error === undefined ? {} : { cause: error }),
      });
      return;
    }
    // What the decoder held back (a split character, a partial line) is reported, not lost (FRAME-4).
    const codec = this.#codec;
    if (codec !== undefined)
      for (const event of codec.decoder.end()) this.#enqueue(this.#toEvent(codec, event));
    this.#finished = true;
    this.#phase = 'closed';
    this.#socket.destroy();
    this.#enqueue(error === undefined ? { kind: 'closed', reason } : { kind: 'closed', reason, error });
    this.#resolveClosed(reason);
  }

  #enqueue(event: ClientEvent): void {
    if (event.kind === 'closed') this.#closedQueued = true;
    for (const waiter of [...this.#waiters]) waiter.check(event);
    this.#queue.push(event);
    // Drop-oldest: the newest events are what a late reader needs, and `closed` (always last) survives.
    while (this.#queue.length > this.#settings.maxQueuedEvents) {
      const old = this.#queue.shift()!;
      this.#dropped++;
      this.#droppedTotal++;
      if (old.kind !== 'closed') this.#droppedBytes += old.bytes.length;
    }
    this.#peakQueued = Math.max(this.#peakQueued, this.#queue.length);
    while (this.#readers.length > 0) {
      const next = this.#take();
      if (next === undefined) break;
      this.#readers.shift()!({ value: next, done: false });
    }
    if (this.#closedTaken)
      for (const reader of this.#readers.splice(0)) reader({ value: undefined, done: true });
  }

  #take(): ClientEvent | undefined {
    if (this.#dropped > 0) {
      const error = new EventOverflowError(this.#dropped, this.#droppedBytes);
      this.#dropped = 0;
      this.#droppedBytes = 0;
      return { kind: 'issue', dialect: this.dialect, error, bytes: EMPTY };
    }
    const event = this.#queue.shift();
    if (event?.kind === 'closed') this.#closedTaken = true;
    return event;
  }

  #next(): Promise<IteratorResult<ClientEvent>> {
    const event = this.#take();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.#closedTaken) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#readers.push(resolve));
  }
}

const REFUSED_PREFIX = textEncoder.encode('SERVER~Refused: ');
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// ---------------------------------------------------------------------------------------------------------
// Display

/** Options of {@link formatForDisplay}. */
export interface DisplayOptions {
  /** Whether to use ANSI colours (only for a terminal, and never when `NO_COLOR` is set). */
  readonly color: boolean;
}

const ANSI = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  yellow: '\x1b[33m',
} as const;

/**
 * Characters a peer could use to drive the terminal or to disguise text: C0 controls but TAB, DEL,
 * C1 controls, and the Unicode line separators and bidirectional overrides.
 */
const UNSAFE_FOR_TERMINAL =
  /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Makes received text safe to print: every control character except TAB is shown escaped (`\n`,
 * `\r`, `\x1b`, `\u{202e}`), so a peer cannot move the cursor, clear the screen or fake a line.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE_FOR_TERMINAL, (ch) => {
    const code = ch.codePointAt(0)!;
    if (code === 0x0a) return '\\n';
    if (code === 0x0d) return '\\r';
    if (code < 0x80) return `\\x${code.toString(16).padStart(2, '0')}`;
    return `\\u{${code.toString(16)}}`;
  });
}

function paint(text: string, style: keyof typeof ANSI, color: boolean): string {
  return color ? `${ANSI[style]}${text}${ANSI.reset}` : text;
}

/** One trailing line terminator is framing, not text (line profile, LINE-1). */
function withoutTerminator(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  if (bytes[end - 1] === 0x0a) end--;
  if (bytes[end - 1] === 0x0d) end--;
  return bytes.subarray(0, end);
}

/** The text without one trailing LF or CRLF. */
function withoutLineEnd(text: string): string {
  return text.replace(/\r?\n$/, '');
}

function formatNick(message: NickMessage, color: boolean): string | undefined {
  const safe = escapeForTerminal;
  switch (message.type) {
    case 'prompt':
      return undefined; // CLIENT-PROMPT-1: the prompt token is never shown.
    case 'chat':
      return `${paint(safe(message.nick), 'bold', color)}: ${safe(message.text)}`;
    case 'joined':
      return paint(`${safe(message.nick)} joined!`, 'yellow', color);
    case 'left':
      return paint(`${safe(message.nick)} left!`, 'yellow', color);
    case 'connected':
      return paint('Connected to server!', 'yellow', color);
    case 'refused':
      return paint(`Refused: ${safe(message.reason)}`, 'yellow', color);
    case 'raw':
      // An nc or telnet user's line ends in LF or CRLF: that is their Enter, not content to show.
      return safe(withoutLineEnd(message.body));
    case 'nickname':
      return safe(message.nick);
  }
}

function formatTilde(message: TildeMessage, color: boolean): string | undefined {
  const safe = escapeForTerminal;
  const server = (text: string) => paint(`[SERVER] ${safe(text)}`, 'yellow', color);
  switch (message.type) {
    case 'relay':
      // TILDE-DISPLAY-1: split at the first `~` only; the content keeps any further `~`.
      return `[${paint(safe(message.user), 'bold', color)}] ${safe(withoutLineEnd(message.text))}`;
    case 'added':
      return server(`${message.user} added to the chat`);
    case 'left':
      return server(`${message.user} left the chat`);
    case 'refused':
      return server(`Refused: ${message.reason}`);
    case 'notice':
      return server(message.text);
    case 'username':
      return safe(message.user);
    case 'content':
      return safe(message.content);
  }
}

/**
 * The line a person sees for an event, without a line terminator, or `undefined` when nothing is
 * shown (the prompt, CLIENT-PROMPT-1; a close the user asked for).
 *
 * - NICK: as the legacy client prints it: `alice: hi`, `bob joined!`, `Connected to server!`.
 * - tilde: `[<user>] <content>`, split at the first `~` (TILDE-DISPLAY-1); server notices as `[SERVER] ...`.
 * - issues: the bytes decoded lossily (U+FFFD for what the dialect forbids, CLIENT-BYTES-1) after a
 *   marker `[!]`; a tilde frame with a `~` is still split there, one without is shown as it is.
 * - `closed`: `disconnected by server` on EOF (CLIENT-EOF-1).
 *
 * Control characters other than TAB are escaped ({@link escapeForTerminal}); colours only when
 * `color` is true.
 */
export function formatForDisplay(event: ClientEvent, options: DisplayOptions): string | undefined {
  const { color } = options;
  switch (event.kind) {
    case 'message':
      return event.dialect === 'nick' ? formatNick(event.message, color) : formatTilde(event.message, color);
    case 'issue': {
      const marker = paint('[!]', 'dim', color);
      if (event.error instanceof EventOverflowError) return `${marker} ${event.error.message}`;
      const encoding = event.dialect === 'nick' ? 'ascii' : 'utf-8';
      const text = decodeLossy(withoutTerminator(event.bytes), encoding);
      const cut = event.dialect === 'tilde' ? text.indexOf('~') : -1;
      const shown =
        cut === -1
          ? escapeForTerminal(text)
          : `[${escapeForTerminal(text.slice(0, cut))}] ${escapeForTerminal(text.slice(cut + 1))}`;
      return `${marker} ${shown}`;
    }
    case 'closed':
      if (event.reason === 'eof') return 'disconnected by server';
      if (event.reason === 'reset') return 'disconnected by server (connection reset)';
      if (event.reason === 'error') {
        const code = (event.error as NodeJS.ErrnoException | undefined)?.code;
        return `disconnected (${escapeForTerminal(code ?? event.error?.message ?? 'socket error')})`;
      }
      return undefined;
  }
}
