/**
 * chatkit's public API: the codecs generated from `spec/`, the error table and the limits.
 *
 * @packageDocumentation
 */
export * from './codec/index.js';
export { ChatkitError, CodecError, ERROR_CODES, type ErrorCode } from './errors.js';
export * from './limits.js';
export * from './reference-client/client.js';
export * from './reference-client/tui.js';
export * from './reference-server/index.js';
