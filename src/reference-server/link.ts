/**
 * The seam between the server and a room that spans several processes. The server owns sockets,
 * handshakes and the local {@link Room}; a link carries what the room broadcasts to the other
 * processes and claims nicknames for the whole room. Without a link the server broadcasts
 * directly, as it always did; with one, every broadcast goes out through the link and comes back
 * (from every process, in one order) through {@link RoomSink}. Nothing here knows Redis.
 *
 * @module
 */
import type { ErrorCode } from '../errors.js';
import type { LogEntry } from './log.js';

/** What a link calls back into the server. */
export interface RoomSink {
  /** Bytes broadcast by some process of the room: give them to every local member. */
  deliver(bytes: Uint8Array): void;
  /**
   * The join notice of this process's own connection `id` came back: from here on the member
   * receives what the room broadcasts (its own join notice first, then its welcome), as in one server.
   */
  joined(id: number, bytes: Uint8Array): void;
  /** The leave notice for `nick` in this dialect (for members of a process that died). */
  leftNotice(nick: string): Uint8Array;
  /** A log entry from the link (coded: lost messages, outages, dead nodes). */
  log(entry: Omit<LogEntry, 'time'>): void;
}

/** Outcome of a nickname claim: true when this member now owns it, or why not. */
export type ClaimResult = true | Extract<ErrorCode, 'NICKNAME_IN_USE' | 'CLUSTER_UNAVAILABLE'>;

/** A room shared with other processes. */
export interface RoomLink {
  /** Connects and starts receiving; resolves once broadcasts of the room arrive. */
  start(sink: RoomSink): Promise<void>;
  /** Claims a nickname for the whole room, atomically. */
  claim(nick: string): Promise<ClaimResult>;
  /**
   * Gives a claimed nickname back and, with `notice`, broadcasts its leave notice in the same step,
   * so that whoever saw the notice finds the nickname free.
   */
  release(nick: string, notice?: Uint8Array): void;
  /** Broadcasts bytes to every member of the room, on every process. */
  publish(bytes: Uint8Array): void;
  /** Broadcasts connection `id`'s join notice; it comes back through {@link RoomSink.joined}. */
  publishJoin(id: number, bytes: Uint8Array): void;
  /** Leaves the room (after what was published went out) and disconnects. Idempotent. */
  close(): Promise<void>;
}
