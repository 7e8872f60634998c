/**
 * The codecs: generated zod schemas and types for both dialects, the one encoder, and the
 * streaming decoder.
 *
 * @module
 */

export {
  createDecoder,
  type DecodeEvent,
  type Decoder,
  type DecoderOptions,
  maxBufferedBytes,
} from './decoder.js';
export {
  type AnyMessage,
  type DecoderState,
  type DialectName,
  type Direction,
  type Framing,
  frameLimit,
  initialState,
  type MessageDefinition,
  type MessageOf,
  messagesFor,
  messageTable,
} from './dialect.js';
export type { CheckResult, FieldCheck, FieldIssue, MessageCheck, MessageIssue } from './check.js';
export { type EncodeOptions, encode } from './encode.js';
export { EscapeSyntaxError, escapeBytes, unescapeBytes } from './escape.js';
export * from './generated/index.js';
export { codecErrorFromZod, codeOfZodError } from './issues.js';
export { isPromptToken, PROMPT_TOKEN_RULE, withoutLineEnd } from './prompt.js';
export { decodeLossy, type WireEncoding } from './text.js';
export {
  commandText,
  decodeExtension,
  EXTENSION_NAMES,
  type ExtensionMessageOf,
  type ExtensionState,
  encodeExtension,
  withoutLineEnding,
} from './extension.js';
