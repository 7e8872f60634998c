/**
 * Input flow control: backpressure from the room's output queues to its members' input, and a
 * per-member rate limit. Nothing here drops a byte: a member that sends too fast, or while the
 * room cannot keep up, has its socket paused (`socket.pause()`), so its messages wait in its own
 * kernel buffers and, beyond them, in its own program. That is throttling, never eviction.
 *
 * - **Rate** (`--max-rate`): a token bucket per member, in bytes and in messages per second, with
 *   {@link SERVER_RATE_BURST_SECONDS} of burst. A member past it is paused until it is back within
 *   it; the first time in an episode this is logged with the code `FLOODING`.
 * - **Room backlog**: every member's outbox reports when its waiting output passes
 *   {@link SERVER_BACKLOG_HIGH_BYTES} and when it is back under {@link SERVER_BACKLOG_LOW_BYTES}.
 *   While enough members are backed up (a share of the room, never one alone), the input of every
 *   member who sends is paused, and all of them resume together once the room has caught up: a
 *   flooder's broadcasts can no longer fill everyone's queues to the slow-consumer bound.
 * - **Stall**: a backed-up member whose output has not moved for {@link SERVER_STALL_MS} does not
 *   read while others do; {@link FlowControl.sweep} names it, and the server closes it as a slow
 *   consumer (with a notice and a reason in the log).
 *
 * One shared timer for every throttled member (none per member).
 *
 * @module
 */
import type { Socket } from 'node:net';
import {
  SERVER_BACKLOG_HIGH_BYTES,
  SERVER_BACKLOG_LOW_BYTES,
  SERVER_FLOOD_EPISODE_QUIET_MS,
  SERVER_RATE_BURST_SECONDS,
  SERVER_ROOM_BACKLOG_MIN_MEMBERS,
  SERVER_ROOM_BACKLOG_SHARE,
  SERVER_STALL_MS,
} from '../limits.js';

/** What a member may send per second; 0 turns a limit off. */
export interface RateLimit {
  /** Bytes per second. */
  readonly bytes: number;
  /** Messages (chunks read) per second. */
  readonly messages: number;
}

/** What an outbox tells about its waiting output (see `Outbox`). */
export interface BacklogListener {
  /** Waiting output passed the high mark. */
  backedUp(): void;
  /** Waiting output is back under the low mark. */
  caughtUp(): void;
  /** Some waiting output went out (the socket drained). */
  progressed(): void;
}

/**
 * The marks an outbox compares its waiting output with: the defaults, or less for a smaller
 * slow-consumer bound (a quarter and a sixteenth of it), so that input is paused well before any
 * queue reaches the bound.
 */
export function backlogMarks(maxQueueBytes: number): { readonly high: number; readonly low: number } {
  // One object per bound, shared by every outbox, not one per member (issue 11).
  let marks = marksByBound.get(maxQueueBytes);
  if (marks === undefined) {
    marks = Object.freeze({
      high: Math.min(SERVER_BACKLOG_HIGH_BYTES, Math.floor(maxQueueBytes / 4)),
      low: Math.min(SERVER_BACKLOG_LOW_BYTES, Math.floor(maxQueueBytes / 16)),
    });
    marksByBound.set(maxQueueBytes, marks);
  }
  return marks;
}
const marksByBound = new Map<number, { readonly high: number; readonly low: number }>();

/** What a member's flow state reports it as (its nickname, or its address before it has one). */
export interface Labelled {
  readonly label: string;
}

/** Reported once per flood episode, for the log. */

export interface FloodReport {
  /** The member. */
  readonly member: MemberFlow;
  /** Why, in words. */
  readonly reason: string;
}

/** The room-wide flow state: backlog count, paused members, the shared resume timer. */
export class FlowControl {
  readonly #rate: RateLimit;
  readonly #members = new Set<MemberFlow>();
  readonly #backedUp = new Set<MemberFlow>();
  /** Paused because the room is backed up. */
  readonly #roomPaused = new Set<MemberFlow>();
  /** Paused because of their rate, until their `throttledUntil`. */
  readonly #throttled = new Set<MemberFlow>();
  readonly #onFlood: (report: FloodReport) => void;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  /** When any backed-up member's output last moved. */
  #lastProgressAt = 0;
  /** Bytes broadcast this turn and not yet handed to the members (the fan-out's, or 0). */
  readonly #unflushed: () => number;
  readonly #high: number;

  /**
   * `onFlood` is called once at the start of each member's flood episode; `unflushed` tells the
   * bytes broadcast in this turn that every member is about to get (the room is backed up when
   * they pass the high mark: with flush pauses, several reads can land in one turn).
   */
  constructor(
    rate: RateLimit,
    maxQueueBytes: number,
    onFlood: (report: FloodReport) => void,
    unflushed: () => number = () => 0,
  ) {
    this.#rate = rate;
    this.#onFlood = onFlood;
    this.#unflushed = unflushed;
    this.#high = backlogMarks(maxQueueBytes).high;
  }

  /** The turn's broadcasts went out to every member: paused input may resume. */
  turnEnded(): void {
    this.#resumeRoomIfCaughtUp();
  }

  /** Flow state for a new connection's socket; `named.label` names it in reports. */
  member(socket: Socket, named: Labelled): MemberFlow {
    const member = new MemberFlow(this, socket, named, this.#rate);
    this.#members.add(member);
    return member;
  }

  /** Whether enough members are backed up that input is paused. */
  get roomBackedUp(): boolean {
    const needed = Math.max(
      SERVER_ROOM_BACKLOG_MIN_MEMBERS,
      Math.ceil(this.#members.size * SERVER_ROOM_BACKLOG_SHARE),
    );
    return this.#backedUp.size >= needed || this.#unflushed() > this.#high;
  }

  /** Members paused now, for the room's backlog or their rate. */
  get pausedCount(): number {
    return new Set([...this.#roomPaused, ...this.#throttled]).size;
  }

  /**
   * While the room is backed up (input paused): backed-up members whose output has not moved for
   * {@link SERVER_STALL_MS} while the room's has (or while others are not backed up). They do not
   * read while others do, and would hold the room paused for ever.
   */
  sweep(now: number): MemberFlow[] {
    const stalled: MemberFlow[] = [];
    // Only while the room is held back: otherwise a non-reader's queue grows to the slow-consumer
    // bound on its own, and a member that merely reads slowly is no one's problem.
    if (this.#backedUp.size < Math.max(SERVER_ROOM_BACKLOG_MIN_MEMBERS, Math.ceil(this.#members.size * SERVER_ROOM_BACKLOG_SHARE)))
      return stalled;
    const othersMove = this.#backedUp.size < this.#members.size || now - this.#lastProgressAt < SERVER_STALL_MS;
    for (const member of this.#backedUp) {
      if (now - member.lastProgressAt >= SERVER_STALL_MS && othersMove) stalled.push(member);
    }
    return stalled;
  }

  /** Stops the shared timer (server shutdown). */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** @internal */
  forget(member: MemberFlow): void {
    this.#members.delete(member);
    this.#backedUp.delete(member);
    this.#roomPaused.delete(member);
    this.#throttled.delete(member);
    this.#resumeRoomIfCaughtUp();
  }

  /** @internal */
  setBackedUp(member: MemberFlow, backedUp: boolean): void {
    if (backedUp) this.#backedUp.add(member);
    else {
      this.#backedUp.delete(member);
      this.#resumeRoomIfCaughtUp();
    }
  }

  /** @internal */
  progressed(now: number): void {
    this.#lastProgressAt = now;
  }

  /** @internal */
  pauseForRoom(member: MemberFlow): void {
    this.#roomPaused.add(member);
  }

  /** @internal */
  throttle(member: MemberFlow, until: number, firstInEpisode: boolean, reason: string): void {
    this.#throttled.add(member);
    if (firstInEpisode) this.#onFlood({ member, reason });
    this.#arm(until);
  }

  #resumeRoomIfCaughtUp(): void {
    if (this.#roomPaused.size === 0 || this.roomBackedUp) return;
    const paused = [...this.#roomPaused];
    this.#roomPaused.clear();
    for (const member of paused) member.resumeFromRoom();
  }

  #arm(at: number): void {
    if (at >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(1, Math.ceil(at - performance.now())));
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const member of [...this.#throttled]) {
      if (member.throttledUntil <= now) {
        this.#throttled.delete(member);
        member.resumeFromRate();
      } else next = Math.min(next, member.throttledUntil);
    }
    if (next < Infinity) this.#arm(next);
  }
}

/** One member's input flow: its rate bucket, whether it is paused and why, its backlog. */
export class MemberFlow implements BacklogListener {
  readonly #flow: FlowControl;
  readonly #socket: Socket;
  readonly #rate: RateLimit;
  /** Names the member in reports (its nickname once known). */
  readonly #named: Labelled;
  #byteTokens: number;
  #messageTokens: number;
  #refilledAt = performance.now();
  #pausedForRoom = false;
  #pausedForRate = false;
  #gone = false;
  /** When the current flood episode's last throttling happened; -Infinity when none. */
  #lastThrottleAt = -Infinity;
  /** Until when the rate keeps this member paused. */
  throttledUntil = 0;
  /** When this member's waiting output last moved, or it became backed up. */
  lastProgressAt = 0;

  /** @internal */
  constructor(flow: FlowControl, socket: Socket, named: Labelled, rate: RateLimit) {
    this.#flow = flow;
    this.#socket = socket;
    this.#named = named;
    this.#rate = rate;
    this.#byteTokens = rate.bytes * SERVER_RATE_BURST_SECONDS;
    this.#messageTokens = rate.messages * SERVER_RATE_BURST_SECONDS;
  }

  /** How reports name the member. */
  label(): string {
    return this.#named.label;
  }

  /**
   * Accounts for input just read (already taken, and handled in full: never dropped) and pauses
   * the socket when the member is past its rate or the room is backed up.
   */
  input(bytes: number, messages: number): void {
    if (this.#gone) return;
    const now = performance.now();
    this.#refill(now);
    this.#byteTokens -= bytes;
    this.#messageTokens -= messages;
    const waitMs = Math.max(this.#deficitMs(this.#byteTokens, this.#rate.bytes), this.#deficitMs(this.#messageTokens, this.#rate.messages));
    if (waitMs > 0 && !this.#pausedForRate) {
      const first = now - this.#lastThrottleAt > SERVER_FLOOD_EPISODE_QUIET_MS;
      this.#lastThrottleAt = now;
      this.#pausedForRate = true;
      this.throttledUntil = now + waitMs;
      this.#socket.pause();
      const { bytes: b, messages: m } = this.#rate;
      this.#flow.throttle(
        this,
        this.throttledUntil,
        first,
        `sends faster than ${b} bytes and ${m} messages a second: its input is paused until it is back within the rate (its messages are delayed, not dropped)`,
      );
    }
    if (!this.#pausedForRoom && this.#flow.roomBackedUp) {
      this.#pausedForRoom = true;
      this.#socket.pause();
      this.#flow.pauseForRoom(this);
    }
  }

  /** The connection ended: it leaves every count. */
  close(): void {
    this.#gone = true;
    this.#flow.forget(this);
  }

  backedUp(): void {
    if (this.#gone) return;
    this.lastProgressAt = performance.now();
    this.#flow.setBackedUp(this, true);
  }

  caughtUp(): void {
    if (this.#gone) return;
    this.#flow.setBackedUp(this, false);
  }

  progressed(): void {
    const now = performance.now();
    this.lastProgressAt = now;
    this.#flow.progressed(now);
  }

  /** @internal */
  resumeFromRoom(): void {
    this.#pausedForRoom = false;
    this.#resumeIfFree();
  }

  /** @internal */
  resumeFromRate(): void {
    this.#pausedForRate = false;
    this.#resumeIfFree();
  }

  #resumeIfFree(): void {
    if (this.#gone || this.#pausedForRoom || this.#pausedForRate || this.#socket.destroyed) return;
    this.#socket.resume();
  }

  #refill(now: number): void {
    const seconds = (now - this.#refilledAt) / 1000;
    this.#refilledAt = now;
    const { bytes, messages } = this.#rate;
    this.#byteTokens = Math.min(bytes * SERVER_RATE_BURST_SECONDS, this.#byteTokens + seconds * bytes);
    this.#messageTokens = Math.min(messages * SERVER_RATE_BURST_SECONDS, this.#messageTokens + seconds * messages);
  }

  /** How long until `tokens` is back to 0 at `perSecond`; 0 when the limit is off or not exceeded. */
  #deficitMs(tokens: number, perSecond: number): number {
    return perSecond === 0 || tokens >= 0 ? 0 : (-tokens / perSecond) * 1000;
  }
}

/** A `maxRate` that turns both limits off (the room's backlog still pauses input). */
export const NO_RATE_LIMIT: RateLimit = { bytes: 0, messages: 0 };
