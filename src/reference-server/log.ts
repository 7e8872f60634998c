/**
 * The server's log: one entry per connect, join, leave, rejection, dropped chunk and error, with
 * the peer address, as readable lines or as JSON lines for machines.
 *
 * @module
 */
import type { ErrorCode } from '../errors.js';

/** What happened. */
export type LogEvent =
  | 'listening'
  | 'connect'
  | 'join'
  | 'leave'
  | 'reject'
  | 'drop'
  | 'flood'
  | 'error'
  | 'recovered'
  | 'shutdown'
  | 'closed'
  /** An extension command a member sent (spec §14: a kick, a ban, a rename, a room change). */
  | 'command'
  /** A clustered server's link to the other nodes (Redis up or down, a dead node, lost messages). */
  | 'cluster';

/** One log entry. */
export interface LogEntry {
  /** ISO time. */
  readonly time: string;
  /** `info` for the ordinary, `warn` for one client's misbehaviour, `error` for the server's own trouble. */
  readonly level: 'info' | 'warn' | 'error';
  /** What happened. */
  readonly event: LogEvent;
  /** The peer, `host:port`. */
  readonly peer?: string;
  /** The member's nickname or username, once known. */
  readonly nick?: string;
  /** A stable code for rejections, drops and errors. */
  readonly code?: ErrorCode;
  /** Why, in words; for leaves: `eof`, `reset`, `error`, or the code's reason. */
  readonly reason?: string;
  /** Anything else worth a look (an address, a count). */
  readonly detail?: string;
}

/** Receives log entries. */
export type Logger = (entry: LogEntry) => void;

/** The two log formats. */
export type LogFormat = 'text' | 'json';

/** A readable line: `2026-11-21T15:50:00.123Z info  join     127.0.0.1:53422 nick=alice`. */
export function formatLogText(entry: LogEntry): string {
  const parts = [entry.time, entry.level.padEnd(5), entry.event.padEnd(9)];
  if (entry.peer !== undefined) parts.push(entry.peer);
  if (entry.nick !== undefined) parts.push(`nick=${JSON.stringify(entry.nick)}`);
  if (entry.code !== undefined) parts.push(`code=${entry.code}`);
  if (entry.reason !== undefined) parts.push(`reason=${JSON.stringify(entry.reason)}`);
  if (entry.detail !== undefined) parts.push(entry.detail);
  return parts.join(' ');
}

/** A logger that writes one line per entry to `write` in `format`. */
export function lineLogger(format: LogFormat, write: (line: string) => void): Logger {
  return (entry) => write(format === 'json' ? JSON.stringify(entry) : formatLogText(entry));
}
