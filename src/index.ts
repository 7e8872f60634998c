/**
 * chatkit's public API: the codecs generated from `spec/`, the error table and the limits, the
 * reference server and the reference client library. The terminal program behind `chatkit
 * connect` and the server's internals (fan-out, output queues, the room, dialect adapters) are
 * not part of it.
 *
 * @packageDocumentation
 */
export * from './codec/index.js';
export { ChatkitError, CodecError, ERROR_CODES, type ErrorCode } from './errors.js';
export * from './limits.js';
export * from './reference-client/client.js';
export {
  type ChatServer,
  type ClaimResult,
  ClusterAddressError,
  type ClusterOptions,
  DEFAULT_CLUSTER_ROOM,
  formatLogText,
  type LeaveReason,
  lineLogger,
  type LogEntry,
  type LogEvent,
  type LogFormat,
  type Logger,
  NO_RATE_LIMIT,
  openClusterLink,
  type RateLimit,
  type ResolvedClusterOptions,
  type ResolvedServerOptions,
  resolveClusterOptions,
  resolveServerOptions,
  type RoomLink,
  type RoomSink,
  type ServerEvents,
  ServerListenError,
  ServerOptionError,
  type ServerOptions,
  startServer,
  type WriteBatching,
} from './reference-server/index.js';
