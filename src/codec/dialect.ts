/**
 * The runtime view of the generated dialect tables: which messages travel in which direction,
 * in which decoder state, and how long a frame may be.
 *
 * @module
 */
import type { MessageCheck } from './check.js';
import type { DialectName, NickMessage, TildeMessage } from './generated/index.js';
import { DIALECTS } from './generated/tables.js';
import type { WireEncoding } from './text.js';

export type { DialectName } from './generated/index.js';

/** Which way bytes travel: from the server to a client, or from a client to the server. */
export type Direction = 'toClient' | 'toServer';

/**
 * Where a decoder stands. `handshake`: before the prompt (client side) or the nickname/username
 * (server side). `joining`: a NICK client between the prompt and `Connected to server!`.
 * `session`: everything after.
 */
export type DecoderState = 'handshake' | 'joining' | 'session';

/**
 * How messages are delimited. `chunk` is the legacy wire: one write is one message and a receiver
 * treats each chunk as one (FRAME-1). `line` is the optional line profile: every message ends in LF.
 */
export type Framing = 'chunk' | 'line';

/** The message type of a dialect. */
export type MessageOf<D extends DialectName> = D extends 'nick' ? NickMessage : TildeMessage;

/** A message of either dialect. */
export type AnyMessage = NickMessage | TildeMessage;

/** One row of a generated message table. */
export interface MessageDefinition {
  /** The `type` discriminant of the message. */
  readonly type: string;
  /** Which way it travels. */
  readonly direction: Direction | 'both';
  /** The decoder states in which it may arrive. */
  readonly states: readonly DecoderState[];
  /** The state receiving it leads to, if it changes the state. */
  readonly next: DecoderState | undefined;
  /** The wire form, with `{field}` placeholders. */
  readonly template: string;
  /** The template as an anchored pattern with one named group per field. */
  readonly pattern: RegExp;
  /** The template's fields, in order. */
  readonly fields: readonly string[];
  /** The requirement that defines it. */
  readonly requirement: string;
  /** Validates it as its generated zod schema does, without zod (src/codec/check.ts). */
  readonly check: MessageCheck;
}

/** The encoding a dialect's bytes are in. */
export function encodingOf(dialect: DialectName): WireEncoding {
  return DIALECTS[dialect].encoding;
}

/** The message table of a dialect, in parsing priority. */
export function messageTable(dialect: DialectName): readonly MessageDefinition[] {
  return DIALECTS[dialect].messages as readonly MessageDefinition[];
}

/** The messages that travel in `direction`, in parsing priority. */
export function messagesFor(dialect: DialectName, direction: Direction): readonly MessageDefinition[] {
  return messageTable(dialect).filter((m) => m.direction === direction || m.direction === 'both');
}

/**
 * The longest frame a receiver treats as one message: the legacy receive size for NICK (1024) and
 * tilde server-to-client (2048); the content limit (2015) for tilde client-to-server, so that the
 * relay of one frame still fits a legacy client's `recv(2048)`.
 */
export function frameLimit(dialect: DialectName, direction: Direction): number {
  const limits = DIALECTS[dialect].limits;
  if (dialect === 'tilde' && direction === 'toServer' && 'contentMaxBytes' in limits)
    return limits.contentMaxBytes;
  return limits.recvBytes;
}

/** The state a fresh connection's decoder starts in: tilde servers never prompt, so clients start in session. */
export function initialState(dialect: DialectName, direction: Direction): DecoderState {
  return dialect === 'tilde' && direction === 'toClient' ? 'session' : 'handshake';
}
