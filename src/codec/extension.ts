/**
 * The extension profiles' codec (spec §14): classify a NICK frame as a message of `admin`,
 * `commands` or `rooms`, and encode one, both driven by the generated tables
 * (`spec/dialects/extensions/*.yaml`). An extension message is always one whole frame of the NICK
 * dialect; whatever it does not match stays the NICK message the dialect's decoder made of it.
 *
 * @module
 */
import { CodecError, ERROR_CODES } from '../errors.js';
import type { AdminMessage, CommandsMessage, ExtensionName, RoomsMessage } from './generated/index.js';
import { EXTENSIONS } from './generated/tables.js';
import { codecErrorFromCheck } from './issues.js';
import { decodeLossy, encodeText } from './text.js';

export type { ExtensionName } from './generated/index.js';

/** The message type of an extension profile. */
export type ExtensionMessageOf<X extends ExtensionName> = X extends 'admin'
  ? AdminMessage
  : X extends 'commands'
    ? CommandsMessage
    : RoomsMessage;

/** Where an extension message may arrive: before admission (the password exchange) or in the session. */
export type ExtensionState = 'handshake' | 'session';

/** Every extension profile, in the order the spec defines them. */
export const EXTENSION_NAMES: readonly ExtensionName[] = Object.keys(EXTENSIONS) as ExtensionName[];

/** The NICK limit every extension message keeps (TRANSPORT-3). */
const MESSAGE_MAX_BYTES = 1024;

/**
 * The message of extension `ext` that `frame` is, travelling in `direction` in `state`, or undefined
 * when it is none (then it is an ordinary NICK message). The first row of the table whose template
 * matches and whose fields pass their checks wins, as in the dialects (§4.6).
 */
export function decodeExtension<X extends ExtensionName>(
  ext: X,
  direction: 'toClient' | 'toServer',
  frame: Uint8Array | string,
  state: ExtensionState = 'session',
): ExtensionMessageOf<X> | undefined {
  const text = typeof frame === 'string' ? frame : decodeLossy(frame, 'ascii');
  for (const def of EXTENSIONS[ext].messages) {
    if (def.direction !== direction || !(def.states as readonly string[]).includes(state)) continue;
    const match = def.pattern.exec(text);
    if (!match) continue;
    const parsed = def.check({ type: def.type, ...match.groups });
    if (parsed.success) return parsed.data as ExtensionMessageOf<X>;
  }
  return undefined;
}

/**
 * The bytes of one write carrying `message` of extension `ext` (FRAME-2).
 *
 * @throws {@link CodecError} with the code of the first check the message fails.
 * @example
 * ```ts
 * encodeExtension('admin', { type: 'kick', nick: 'bob' }); // bytes of "KICK bob"
 * ```
 */
export function encodeExtension<X extends ExtensionName>(ext: X, message: ExtensionMessageOf<X>): Uint8Array {
  const type = (message as { type?: unknown }).type;
  const def = EXTENSIONS[ext].messages.find((d) => d.type === type);
  if (def === undefined) {
    throw new CodecError('UNKNOWN_MESSAGE_TYPE', `${ERROR_CODES.UNKNOWN_MESSAGE_TYPE} (${ext}: "${String(type)}")`, {
      requirement: 'EXT-1',
    });
  }
  const parsed = def.check(message);
  if (!parsed.success) throw codecErrorFromCheck(parsed.issue, { fallbackRequirement: def.requirement });
  const values = parsed.data as Record<string, string>;
  const body = encodeText(
    def.template.replace(/\{([a-z]+)\}/g, (_, field: string) => values[field] ?? ''),
    'ascii',
  );
  if (body.length > MESSAGE_MAX_BYTES) {
    throw new CodecError('MESSAGE_TOO_LONG', `${ERROR_CODES.MESSAGE_TOO_LONG} (${body.length} bytes, TRANSPORT-3)`, {
      requirement: 'TRANSPORT-3',
      bytes: body,
    });
  }
  return body;
}

/**
 * A member's command text: the frame with one trailing LF or CRLF removed and, when it starts with
 * the sender's own `<nick>: ` (how a legacy client sends what its user typed), without that prefix
 * (CMD-1). Used for the `commands` and `rooms` profiles; `admin` commands are bare (§14.2).
 */
export function commandText(frame: Uint8Array | string, nick: string): string {
  let text = typeof frame === 'string' ? frame : decodeLossy(frame, 'ascii');
  text = withoutLineEnding(text);
  const prefix = `${nick}: `;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}

/** `text` with one trailing LF or CRLF removed (NICK-NICK-3's leniency, used by every extension). */
export function withoutLineEnding(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}
