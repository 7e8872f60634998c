/**
 * What each dialect puts on the wire at each point of a member's life. Every byte comes from the
 * one encoder (`src/codec/encode.ts`), so the server cannot drift from the spec's templates.
 *
 * @module
 */
import type { AnyMessage, DialectName, Framing, NickMessage, TildeMessage } from '../codec/index.js';
import { encode } from '../codec/encode.js';
import type { ErrorCode } from '../errors.js';

/** What to relay for one received frame: bytes, or why it is dropped. */
export type RelayDecision =
  | { readonly bytes: Uint8Array }
  | { readonly drop: ErrorCode; readonly reason: string };

/** The dialect-specific part of the server. */
export interface DialectAdapter {
  /** Sent on accept, before anything else (NICK-PROMPT-1); tilde sends nothing. */
  readonly greeting: Uint8Array | undefined;
  /** The nickname a handshake message carries, if it is one. */
  nickOf(message: AnyMessage): string | undefined;
  /** To every member, the newcomer included (NICK-JOIN-1, TILDE-JOIN-1). */
  joined(nick: string): Uint8Array;
  /** To the newcomer only, after `joined` (NICK-JOIN-2); tilde has none. */
  welcome(nick: string): Uint8Array | undefined;
  /** To every remaining member (NICK-LEAVE-1, TILDE-LEAVE-2). */
  left(nick: string): Uint8Array;
  /** Before closing a refused connection (NICK-NICK-3, TILDE-USER-3). */
  refusal(reason: string): Uint8Array;
  /**
   * What to relay for a frame a member sent; `continued` marks a later piece of a chunk whose first
   * piece was relayed (chunk framing), which is judged with that first piece (NICK-RELAY-3).
   */
  relay(nick: string, message: AnyMessage, frame: Uint8Array, continued?: boolean): RelayDecision;
  /** Told to every member on shutdown, before the server closes the connection. */
  readonly shutdown: Uint8Array;
}

const SHUTDOWN_TEXT = 'Server shutting down';

function nickAdapter(framing: Framing, prompt: string, strictPrefix: boolean): DialectAdapter {
  const enc = (m: NickMessage) => encode('nick', m, { framing });
  return {
    greeting: enc({ type: 'prompt', token: prompt }),
    nickOf: (m) => (m.type === 'nickname' ? m.nick : undefined),
    joined: (nick) => enc({ type: 'joined', nick }),
    welcome: () => enc({ type: 'connected' }),
    left: (nick) => enc({ type: 'left', nick }),
    refusal: (reason) => enc({ type: 'refused', reason }),
    shutdown: enc({ type: 'raw', body: `${SHUTDOWN_TEXT}!` }),
    relay(nick, message, frame, continued = false) {
      if (strictPrefix && !continued && (message.type !== 'chat' || message.nick !== nick)) {
        return { drop: 'PREFIX_MISMATCH', reason: `does not start with "${nick}: "` };
      }
      // NICK-RELAY-1: the chunk goes out byte for byte. Under the line profile the line is
      // re-terminated with a single LF, whatever ending it came with.
      if (framing === 'chunk') return { bytes: frame };
      try {
        return { bytes: enc(message as NickMessage) };
      } catch {
        return {
          drop: 'TEXT_FORBIDDEN_CHAR',
          reason: 'a line holding CR cannot be relayed under the line profile',
        };
      }
    },
  };
}

function tildeAdapter(framing: Framing): DialectAdapter {
  const enc = (m: TildeMessage) => encode('tilde', m, { framing });
  return {
    greeting: undefined,
    nickOf: (m) => (m.type === 'username' ? m.user : undefined),
    joined: (user) => enc({ type: 'added', user }),
    welcome: () => undefined,
    left: (user) => enc({ type: 'left', user }),
    refusal: (reason) => enc({ type: 'refused', reason }),
    shutdown: enc({ type: 'notice', text: SHUTDOWN_TEXT }),
    relay(user, message) {
      if (message.type !== 'content')
        return { drop: 'UNEXPECTED_MESSAGE', reason: `a ${message.type} is not content` };
      try {
        return { bytes: enc({ type: 'relay', user, text: message.content }) };
      } catch {
        return {
          drop: 'TEXT_FORBIDDEN_CHAR',
          reason: 'content holding CR or LF cannot be relayed under the line profile',
        };
      }
    },
  };
}

/** The adapter for a dialect and its settings. */
export function dialectAdapter(
  dialect: DialectName,
  settings: { framing: Framing; prompt: string; strictPrefix: boolean },
): DialectAdapter {
  return dialect === 'nick'
    ? nickAdapter(settings.framing, settings.prompt, settings.strictPrefix)
    : tildeAdapter(settings.framing);
}
