/**
 * The reference server: both dialects exactly as the spec says, with every defect of the seeds'
 * servers (spec/PROTOCOL.md, Annex A) fixed.
 *
 * @module
 */
export { type DialectAdapter, dialectAdapter, type RelayDecision } from './adapters.js';
export {
  ClusterAddressError,
  type ClusterOptions,
  DEFAULT_CLUSTER_ROOM,
  type ResolvedClusterOptions,
  resolveClusterOptions,
} from './cluster/address.js';
export { openClusterLink } from './cluster/load.js';
export type { ClaimResult, RoomLink, RoomSink } from './link.js';
export {
  formatLogText,
  type LogEntry,
  type LogEvent,
  type LogFormat,
  type Logger,
  lineLogger,
} from './log.js';
export {
  type ResolvedServerOptions,
  resolveServerOptions,
  ServerOptionError,
  type ServerOptions,
} from './options.js';
export { type BacklogListener, NO_RATE_LIMIT, type RateLimit } from './flow.js';
export { Fanout, Outbox, type WriteBatching } from './outbox.js';
export { Room, type RoomMember } from './room.js';
export {
  type ChatServer,
  type LeaveReason,
  type ServerEvents,
  ServerListenError,
  startServer,
} from './server.js';
