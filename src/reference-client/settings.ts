/**
 * The options of `connect()`, and their validation into the settings a connection runs with: every
 * bound defaults to its named constant in `src/limits.ts`, and the nickname and prompt are checked
 * by the codec before anything reaches the wire.
 *
 * @module
 */
import type { DialectName, Framing } from '../codec/dialect.js';
import { encode } from '../codec/encode.js';
import type { ExtensionName } from '../codec/generated/index.js';
import {
  AUTO_PROMPT_WAIT_MS,
  CLIENT_CONNECT_TIMEOUT_MS,
  CLIENT_HANDSHAKE_TIMEOUT_MS,
  CLIENT_MAX_QUEUED_EVENTS,
} from '../limits.js';
import { ClientError } from './errors.js';

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

/** {@link ConnectOptions} checked, with every default filled in. */
export interface Settings {
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
export function resolveOptions(options: ConnectOptions): Settings {
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
