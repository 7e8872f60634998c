/**
 * The reference server's options, their defaults, and their validation.
 *
 * @module
 */
import { DIALECTS } from '../codec/generated/tables.js';
import { ChatkitError } from '../errors.js';
import type { DialectName, Framing } from '../codec/index.js';
import { frameLimit } from '../codec/dialect.js';
import { isPromptToken, PROMPT_TOKEN_RULE } from '../codec/prompt.js';
import {
  SERVER_HANDSHAKE_TIMEOUT_MS,
  SERVER_IDLE_TIMEOUT_MS,
  SERVER_MAX_CLIENTS,
  SERVER_MAX_PENDING,
  SERVER_MAX_PENDING_PER_ADDRESS,
  SERVER_MAX_QUEUE_BYTES,
  SERVER_MAX_RATE_BYTES,
  SERVER_MAX_RATE_MESSAGES,
  SERVER_SHUTDOWN_GRACE_MS,
} from '../limits.js';
import type { RoomLink } from './link.js';
import type { Logger } from './log.js';
import type { WriteBatching } from './outbox.js';

/** Options of {@link startServer}. Everything but `dialect` has a default. */
export interface ServerOptions {
  /** The wire dialect. */
  readonly dialect: DialectName;
  /** Address to listen on; default `127.0.0.1` (TRANSPORT-1). */
  readonly host?: string;
  /** Port; default the dialect's (55555, 11826 with prompt `Hii`, 9999); 0 picks a free one. */
  readonly port?: number;
  /** NICK: the prompt token; default `NICK` (`Hii` for seed 003's variant). */
  readonly prompt?: string;
  /** `chunk` (default, the legacy wire) or `line` (the optional line profile, LINE-*). */
  readonly framing?: Framing;
  /** NICK: do not relay chunks that do not start with the sender's own `<nick>: ` (NICK-RELAY-3). */
  readonly strictPrefix?: boolean;
  /** Most members at once; connections still in their handshake do not count (see `maxPending`). */
  readonly maxClients?: number;
  /** Most connections in their handshake at once; past it the oldest of the address holding the most is closed (HANDSHAKE_EVICTED). */
  readonly maxPending?: number;
  /** Most connections in their handshake from one address; past it that address's oldest is closed. */
  readonly maxPendingPerAddress?: number;
  /**
   * Replace control bytes (C0, DEL, C1) in relayed messages with `?`, all but a final line ending.
   * Off by default: relaying unchanged is the legacy wire (NICK-RELAY-1). See `sanitize.ts`.
   */
  readonly sanitize?: boolean;
  /** Longest chunk relayed as one message; longer ones are relayed in pieces (NICK-RELAY-4, TILDE-RELAY-3). */
  readonly maxMessageBytes?: number;
  /** Time a connection has to finish its handshake (ROBUST-HANDSHAKE-2). */
  readonly handshakeTimeoutMs?: number;
  /** A member silent this long is closed; 0 (default) never. */
  readonly idleTimeoutMs?: number;
  /** Output queued for one member past which it is closed as a slow reader (ROBUST-SLOW-1). */
  readonly maxQueueBytes?: number;
  /** Time members get on shutdown to take their queued output. */
  readonly shutdownGraceMs?: number;
  /**
   * When several messages for one member may go out in one write (FRAME-7): `turn` (default) the
   * messages of one event-loop turn (one batch of ready input) go out together, which at human pace
   * is one message per write and under load one write per member per turn; `backpressure` only
   * while the member's socket does not take data (one write per message otherwise, the strictest
   * reading of FRAME-2, and slow under load). See `Outbox`.
   */
  readonly writeBatching?: WriteBatching;
  /**
   * What one connection may send per second, in bytes and in messages (chunks read); past it its
   * input is paused until it is back within the rate (throttled, never dropped: `FLOODING`, logged
   * once per episode). 0 turns a limit off. Default {@link SERVER_MAX_RATE_BYTES} bytes and
   * {@link SERVER_MAX_RATE_MESSAGES} messages.
   */
  readonly maxRate?: { readonly bytes: number; readonly messages: number };
  /** Where log entries go; default nowhere. */
  readonly logger?: Logger;
  /** A room shared with other processes (`chatkit serve --cluster`); default none: this process is the room. */
  readonly link?: RoomLink;
  /** NICK: the `admin` extension profile's password (spec §14.2); the profile is off without one (EXT-1). */
  readonly adminPassword?: string;
  /** NICK, with `adminPassword`: the ban list's file, one nickname per line (ADMIN-BAN-2). */
  readonly banFile?: string;
  /** NICK: the `commands` extension profile (spec §14.3); off by default (EXT-1). */
  readonly commands?: boolean;
  /** NICK: the `rooms` extension profile (spec §14.4); off by default (EXT-1). */
  readonly rooms?: boolean;
}

/** Options with every default filled in. */
export type ResolvedServerOptions = Required<Omit<ServerOptions, 'logger' | 'link' | 'adminPassword' | 'banFile'>> & {
  readonly logger: Logger | undefined;
  readonly link: RoomLink | undefined;
  readonly adminPassword: string | undefined;
  readonly banFile: string | undefined;
};

/** Checks the extension profiles' options (spec §14): NICK only, not clustered, a printable password. */
function checkExtensions(options: ServerOptions): void {
  const on = options.adminPassword !== undefined || options.commands === true || options.rooms === true;
  if (!on) {
    if (options.banFile !== undefined) throw new ServerOptionError('banFile', 'needs adminPassword (the admin profile)');
    return;
  }
  if (options.dialect !== 'nick') throw new ServerOptionError('extensions', 'the extension profiles exist only for nick');
  if (options.link !== undefined) throw new ServerOptionError('extensions', 'the extension profiles are not available in a cluster');
  if (options.framing === 'line') throw new ServerOptionError('extensions', 'the extension profiles are specified for the chunk profile only');
  if (options.adminPassword !== undefined && !/^[\x20-\x7e]{1,1024}$/.test(options.adminPassword)) {
    throw new ServerOptionError('adminPassword', 'must be 1 to 1024 printable ASCII characters');
  }
}

/** Thrown for an option out of range, before anything listens. */
export class ServerOptionError extends ChatkitError {
  /** Stable code. */
  declare readonly code: 'SERVER_BAD_OPTION';
  /** Creates the error for the named option. */
  constructor(
    readonly option: string,
    detail: string,
  ) {
    super('SERVER_BAD_OPTION', `${option}: ${detail}`);
    this.name = 'ServerOptionError';
  }
}

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min)
    throw new ServerOptionError(name, `must be an integer >= ${min}`);
  return value;
}

function writeBatching(value: WriteBatching | undefined): WriteBatching {
  if (value === undefined) return 'turn';
  if (value !== 'turn' && value !== 'backpressure')
    throw new ServerOptionError('writeBatching', 'must be turn or backpressure');
  return value;
}

/** Fills in defaults and checks ranges. */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  const { dialect } = options;
  if (!(dialect in DIALECTS)) throw new ServerOptionError('dialect', 'must be nick or tilde');
  const defaults = DIALECTS[dialect].defaults;
  const prompt = options.prompt ?? ('prompt' in defaults ? defaults.prompt : 'NICK');
  if (dialect === 'nick' && !isPromptToken(prompt)) {
    throw new ServerOptionError('prompt', `must be ${PROMPT_TOKEN_RULE}`);
  }
  const variantPort = DIALECTS.nick.variants.find((v) => v.prompt === prompt)?.port;
  const port =
    options.port ?? (dialect === 'nick' && variantPort !== undefined ? variantPort : defaults.port);
  const limit = frameLimit(dialect, 'toServer');
  const maxMessageBytes = positiveInt('maxMessageBytes', options.maxMessageBytes ?? limit, 1);
  if (maxMessageBytes > limit)
    throw new ServerOptionError('maxMessageBytes', `must be at most ${limit} for ${dialect}`);
  if (options.strictPrefix && dialect !== 'nick')
    throw new ServerOptionError('strictPrefix', 'exists only for nick');
  checkExtensions(options);
  return {
    dialect,
    host: options.host ?? defaults.host,
    port: positiveInt('port', port, 0),
    prompt,
    framing: options.framing ?? 'chunk',
    strictPrefix: options.strictPrefix ?? false,
    maxClients: positiveInt('maxClients', options.maxClients ?? SERVER_MAX_CLIENTS, 1),
    maxPending: positiveInt('maxPending', options.maxPending ?? SERVER_MAX_PENDING, 1),
    maxPendingPerAddress: positiveInt(
      'maxPendingPerAddress',
      options.maxPendingPerAddress ?? SERVER_MAX_PENDING_PER_ADDRESS,
      1,
    ),
    sanitize: options.sanitize ?? false,
    maxMessageBytes,
    handshakeTimeoutMs: positiveInt(
      'handshakeTimeoutMs',
      options.handshakeTimeoutMs ?? SERVER_HANDSHAKE_TIMEOUT_MS,
      1,
    ),
    idleTimeoutMs: positiveInt('idleTimeoutMs', options.idleTimeoutMs ?? SERVER_IDLE_TIMEOUT_MS, 0),
    maxQueueBytes: positiveInt('maxQueueBytes', options.maxQueueBytes ?? SERVER_MAX_QUEUE_BYTES, 1),
    shutdownGraceMs: positiveInt('shutdownGraceMs', options.shutdownGraceMs ?? SERVER_SHUTDOWN_GRACE_MS, 0),
    writeBatching: writeBatching(options.writeBatching),
    maxRate: {
      bytes: positiveInt('maxRate.bytes', options.maxRate?.bytes ?? SERVER_MAX_RATE_BYTES, 0),
      messages: positiveInt('maxRate.messages', options.maxRate?.messages ?? SERVER_MAX_RATE_MESSAGES, 0),
    },
    logger: options.logger,
    link: options.link,
    adminPassword: options.adminPassword,
    banFile: options.banFile,
    commands: options.commands ?? false,
    rooms: options.rooms ?? false,
  };
}
