/**
 * The reference client's handshake, driven by what the decoder reports in stream order: NICK
 * answers the prompt with the nickname and waits for `Connected to server!` (answering the admin
 * profile's `PASS` on the way), tilde speaks first and waits for its own `added`, and `auto` tells
 * the two apart by whether a prompt token arrives. It owns the decoder it chooses; the socket is
 * the adapter's, reached through {@link HandshakeHost}.
 *
 * @module
 */
import { createDecoder, type Decoder } from '../codec/decoder.js';
import { encode } from '../codec/encode.js';
import { escapeBytes } from '../codec/escape.js';
import { decodeExtension, encodeExtension } from '../codec/extension.js';
import type { ExtensionName, NickMessage, TildeMessage } from '../codec/generated/index.js';
import { isPromptToken, withoutLineEnd } from '../codec/prompt.js';
import { concatBytes, decodeLossy } from '../codec/text.js';
import type { ErrorCode } from '../errors.js';
import { AUTO_PROMPT_SETTLE_MS, PROMPT_TOKEN_MAX_BYTES } from '../limits.js';
import { ClientError } from './errors.js';
import type { ClientEvent } from './events.js';
import type { Settings } from './settings.js';

/** Where the client stands. `detecting` is `auto` before it knows the dialect. */
export type Phase = 'detecting' | 'await-prompt' | 'await-connected' | 'await-added' | 'session' | 'closed';

/** The decoder of the dialect in use, with the dialect's name. */
export type Codec =
  | { readonly dialect: 'nick'; readonly decoder: Decoder<NickMessage> }
  | { readonly dialect: 'tilde'; readonly decoder: Decoder<TildeMessage> };

/** What the handshake needs from the socket adapter. */
export interface HandshakeHost {
  /** Writes handshake bytes (nickname, username, password) as one write each. */
  write(bytes: Uint8Array): void;
  /** Decodes and delivers bytes with the codec just chosen (`auto`: the prompt token's bytes). */
  feed(bytes: Uint8Array): void;
  /** Ends the connection of a handshake that failed; the client was never handed out. */
  abort(): void;
  /** Runs a timer's work so that nothing it throws escapes (the adapter's guard). */
  guard(fn: () => void): void;
}

type Details = { reason?: string; bytes?: Uint8Array; cause?: unknown };

const textEncoder = new TextEncoder();
const REFUSED_PREFIX = textEncoder.encode('SERVER~Refused: ');

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** One connection's handshake, from the first byte to membership or a coded failure. */
export class Handshake {
  readonly #settings: Settings;
  readonly #host: HandshakeHost;
  #phase: Phase;
  #codec: Codec | undefined;
  #prompt: string | undefined;
  /** The extension profiles the server is known to speak. */
  #extensions: readonly ExtensionName[];
  #pending: { resolve: () => void; reject: (error: Error) => void } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #autoTimer: NodeJS.Timeout | undefined;
  #autoBytes: Uint8Array[] = [];

  constructor(settings: Settings, host: HandshakeHost) {
    this.#settings = settings;
    this.#host = host;
    this.#phase = settings.dialect === 'auto' ? 'detecting' : 'await-prompt';
    this.#extensions = settings.extensions;
  }

  /** Where the connection stands. */
  get phase(): Phase {
    return this.#phase;
  }

  /** The decoder in use; undefined while `auto` is still detecting. */
  get codec(): Codec | undefined {
    return this.#codec;
  }

  /** NICK: the prompt token in use. */
  get prompt(): string | undefined {
    return this.#prompt;
  }

  /** The extension profiles the server is known to speak: those given, and `admin` once it asked for the password. */
  get extensions(): readonly ExtensionName[] {
    return this.#extensions;
  }

  /** Whether the handshake has neither completed nor failed yet. */
  get pending(): boolean {
    return this.#pending !== undefined;
  }

  /** Starts the handshake; settles once the user is a member or the handshake has failed. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      const { handshakeTimeoutMs, dialect } = this.#settings;
      this.#timer = setTimeout(
        () =>
          this.fail(
            'CLIENT_HANDSHAKE_TIMEOUT',
            `handshake not complete within ${handshakeTimeoutMs} ms (state ${this.#phase})`,
          ),
        handshakeTimeoutMs,
      );
      if (dialect === 'nick') this.#startNick(this.#settings.prompt ?? 'NICK');
      else if (dialect === 'tilde') this.#startTilde();
      else
        this.#autoTimer = setTimeout(
          () => this.#host.guard(() => this.#decide()),
          this.#settings.autoPromptWaitMs,
        );
    });
  }

  /** `auto`: bytes before the decision are the candidate prompt token. */
  collect(chunk: Uint8Array): void {
    const first = this.#autoBytes.length === 0;
    this.#autoBytes.push(chunk);
    const total = this.#autoBytes.reduce((n, b) => n + b.length, 0);
    // A token cannot be longer than this (plus a line terminator): decide now, there is nothing to wait for.
    if (total > PROMPT_TOKEN_MAX_BYTES + 2) this.#decide();
    else if (first) {
      clearTimeout(this.#autoTimer);
      this.#autoTimer = setTimeout(() => this.#host.guard(() => this.#decide()), AUTO_PROMPT_SETTLE_MS);
    }
  }

  /**
   * Advances the handshake on one decoded event. True when the event was consumed (the admin
   * profile's `PASS` is answered, not shown, as the prompt is not, CLIENT-PROMPT-1).
   */
  observe(event: ClientEvent): boolean {
    if (this.#adminStep(event)) return true;
    this.#advance(event);
    return false;
  }

  /** Ends a handshake that cannot complete: the connection goes, the caller gets the coded error. */
  fail(code: ErrorCode, message: string, details: Details = {}): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    clearTimeout(this.#timer);
    clearTimeout(this.#autoTimer);
    this.#phase = 'closed';
    this.#host.abort();
    pending.reject(new ClientError(code, message, details));
  }

  /** The connection has ended after the handshake. */
  end(): void {
    this.#phase = 'closed';
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
    this.#host.write(
      encode('tilde', { type: 'username', user: this.#settings.nick }, { framing: this.#settings.framing }),
    );
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
    const first = decodeLossy(bytes, 'ascii');
    const text = this.#settings.framing === 'line' ? withoutLineEnd(first) : first;
    if (!isPromptToken(text)) {
      this.fail('CLIENT_DIALECT_UNDETECTED', `the server's first bytes are no prompt token: "${escapeBytes(bytes)}"`, {
        bytes,
      });
      return;
    }
    this.#startNick(text);
    // The decoder gets the token's bytes too, so the prompt is an event like every other received byte.
    this.#host.feed(bytes);
  }

  /**
   * ADMIN-CLIENT-1: after the nickname, `PASS` is answered with the password, `REFUSE` and `BAN` are
   * refusals. True when the event was `PASS` (consumed).
   */
  #adminStep(event: ClientEvent): boolean {
    if (this.#phase !== 'await-connected' || event.kind === 'closed') return false;
    const admin = decodeExtension('admin', 'toClient', event.bytes, 'handshake');
    if (admin === undefined) return false;
    if (admin.type === 'pass') {
      const password = this.#settings.adminPassword;
      if (password === undefined) {
        this.fail('CLIENT_REFUSED', 'the server asks for the admin password (give --admin-password)', {
          reason: 'admin password needed',
        });
      } else {
        if (!this.#extensions.includes('admin')) this.#extensions = [...this.#extensions, 'admin'];
        this.#host.write(encodeExtension('admin', { type: 'password', password }));
      }
      return true;
    }
    const reason = admin.type === 'refuse' ? 'wrong admin password (REFUSE)' : 'this nickname is banned (BAN)';
    this.fail('CLIENT_REFUSED', reason, { reason });
    return false;
  }

  #advance(event: ClientEvent): void {
    if (event.kind === 'closed') return;
    const { nick, framing } = this.#settings;
    if (this.#phase === 'await-prompt') {
      if (event.kind === 'message' && event.dialect === 'nick' && event.message.type === 'prompt') {
        // NICK-NICK-1: answer the prompt, and only the prompt, with the nickname in one write.
        this.#host.write(encode('nick', { type: 'nickname', nick }, { framing }));
        this.#phase = 'await-connected';
      }
    } else if (this.#phase === 'await-connected') {
      if (event.kind !== 'message' || event.dialect !== 'nick') return;
      if (event.message.type === 'refused')
        this.fail('CLIENT_REFUSED', event.message.reason, { reason: event.message.reason });
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
        this.fail('CLIENT_REFUSED', reason, { reason });
      }
    }
  }

  #succeed(): void {
    clearTimeout(this.#timer);
    this.#phase = 'session';
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve();
  }
}

