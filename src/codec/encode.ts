/**
 * The one encoder: validates a message with its generated zod schema, fills the dialect's
 * template and returns the bytes of one write (FRAME-2). Every writer (server, client, harness)
 * writes what this returns, so there is no second encoder to drift.
 *
 * @module
 */
import { CodecError, ERROR_CODES } from '../errors.js';
import type { DialectName, Framing, MessageOf } from './dialect.js';
import { messageTable } from './dialect.js';
import { DIALECTS } from './generated/tables.js';
import { codecErrorFromCheck } from './issues.js';
import { encodeText } from './text.js';

/** Options of {@link encode}. */
export interface EncodeOptions {
  /** `chunk` (default): the bare message, one write. `line`: the message followed by LF (LINE-1). */
  readonly framing?: Framing;
}

/**
 * Encodes one message of `dialect` to the bytes of one write (FRAME-2).
 *
 * @throws {@link CodecError} with the code of the first check the message fails
 *   (e.g. `NICKNAME_FORBIDDEN_CHAR`), or `MESSAGE_TOO_LONG` past the dialect's limit.
 * @example
 * ```ts
 * encode('nick', { type: 'joined', nick: 'alice' }); // bytes of "alice joined!"
 * encode('tilde', { type: 'relay', user: 'bob', text: 'hi~there' }); // "bob~hi~there"
 * ```
 */
export function encode<D extends DialectName>(
  dialect: D,
  message: MessageOf<D>,
  options: EncodeOptions = {},
): Uint8Array {
  const def = messageTable(dialect).find((d) => d.type === (message as { type?: unknown }).type);
  if (def === undefined) {
    const type = String((message as { type?: unknown }).type);
    throw new CodecError(
      'UNKNOWN_MESSAGE_TYPE',
      `${ERROR_CODES.UNKNOWN_MESSAGE_TYPE} (${dialect}: "${type}")`,
      {
        requirement: 'FRAME-1',
      },
    );
  }
  const parsed = def.check(message);
  if (!parsed.success) throw codecErrorFromCheck(parsed.issue, { fallbackRequirement: def.requirement });
  const values = parsed.data as Record<string, string>;
  const text = def.template.replace(/\{([a-z]+)\}/g, (_, field: string) => values[field] ?? '');
  const body = encodeText(text, DIALECTS[dialect].encoding);
  if (body.length > DIALECTS[dialect].limits.messageMaxBytes) {
    throw new CodecError(
      'MESSAGE_TOO_LONG',
      `${ERROR_CODES.MESSAGE_TOO_LONG} (${body.length} bytes, TRANSPORT-3)`,
      { requirement: 'TRANSPORT-3', bytes: body },
    );
  }
  if (options.framing !== 'line') return body;
  if (body.includes(0x0a) || body.includes(0x0d)) {
    throw new CodecError(
      'TEXT_FORBIDDEN_CHAR',
      `${ERROR_CODES.TEXT_FORBIDDEN_CHAR} (CR or LF inside a line, LINE-1)`,
      {
        requirement: 'LINE-1',
        bytes: body,
      },
    );
  }
  const line = new Uint8Array(body.length + 1);
  line.set(body);
  line[body.length] = 0x0a;
  return line;
}
