/**
 * Output to members: one bounded queue per member ({@link Outbox}) and, by default, one shared
 * fan-out per server ({@link Fanout}) that hands the same bytes to every member.
 *
 * **What a member receives, and in how many writes** (FRAME-2, FRAME-7). A broadcast (a relay, a
 * join or leave announcement) is appended once to the fan-out's log for the current turn of the
 * event loop (the handling of one batch of ready input); at the end of the turn every member gets
 * the turn's broadcasts, and any message meant for it alone, in order, in **one write**. When the
 * server is keeping up, a turn handles one input and so produces one message: every message is
 * then its own write, as legacy clients want (one message per `recv()`). When the server is
 * behind (a join storm, several senders' chunks read at once), the messages of one turn reach
 * each member together, as TCP would deliver back-to-back writes to a busy reader anyway (FRAME-5):
 * the stream is the same, only the write boundaries differ. The payoff is that a busy server makes
 * one write per member per turn instead of one per message (on loopback each `write()` costs
 * microseconds of kernel time, and a fan-out costs members × messages of them), and the bytes of
 * a turn are concatenated once and shared by every member that is in step.
 *
 * A member whose socket does not take data (backpressure: `write()` returned false) keeps its
 * share of each turn in its own queue, written in one write on `drain`; past `maxBytes` it is a
 * slow reader and `onOverflow` closes it (ROBUST-SLOW-1), so it never delays anyone else. Nothing
 * is written to a socket that can no longer take bytes: a mass disconnect costs no error per
 * message.
 *
 * With `writeBatching: 'backpressure'` (an option; `turn` is the default) there is no fan-out: every message is written at once, one
 * write per message and member, and only backpressure batches (the literal reading of FRAME-7).
 *
 * @module
 */
import type { Socket } from 'node:net';
import { type BacklogListener, backlogMarks } from './flow.js';

/** When an outbox may put several messages in one write. */
export type WriteBatching = 'turn' | 'backpressure';

/**
 * After a flush (every member's share of a turn written) that cost D ms of CPU, the next flush
 * waits until at least `FLUSH_PAUSE_FACTOR × D` ms have passed since it ended: writing to members
 * then takes at most about half of the server's time, and the input that arrives meanwhile is
 * read and sent out together. A flush to a few members costs microseconds, so a small room is
 * flushed at the end of every turn; a flush to 10,000 members costs milliseconds, so a busy big
 * room is flushed a few hundred times a second at most. CPU time, not wall time: a server that
 * other processes preempt must not slow itself down further.
 */
export const FLUSH_PAUSE_FACTOR = 1;
/** The longest pause between two flushes, whatever the last one cost. */
export const FLUSH_PAUSE_MAX_MS = 50;

/**
 * The broadcasts of the current event-loop turn, shared by every subscribed member, and the end
 * of the turn (one `setImmediate` for the whole server), when each member gets its share in one
 * write. A broadcast costs the same whatever the number of members; the end of a turn costs one
 * write per member.
 */
export class Fanout {
  readonly #subscribers = new Set<Outbox>();
  /** Outboxes with a message of their own this turn (also non-members: a prompt, a refusal). */
  readonly #touched: Outbox[] = [];
  #entries: Uint8Array[] = [];
  /** Byte offset of each entry in the turn's concatenation. */
  #offsets: number[] = [];
  #entryBytes = 0;
  /** Broadcasts ever appended; an outbox's cursor counts the ones it has taken. */
  #seq = 0;
  /** `#seq` when the current turn began: `#entries[i]` is broadcast `#turnStart + i`. */
  #turnStart = 0;
  #scheduled = false;
  /** The turn's broadcasts concatenated, while the turn ends. */
  #shared: Uint8Array | undefined;
  /** Earliest time (performance.now()) of the next flush. */
  #nextFlushAt = 0;

  readonly #onTurnEnd: (() => void) | undefined;

  /** `onTurnEnd` is called after each turn's output went out (input flow control resumes then). */
  constructor(onTurnEnd?: () => void) {
    this.#onTurnEnd = onTurnEnd;
  }

  /** Bytes broadcast in this turn, not yet handed to the members. */
  get pendingBytes(): number {
    return this.#entryBytes;
  }

  /** Members receiving broadcasts. */
  get size(): number {
    return this.#subscribers.size;
  }

  /** Broadcasts appended so far. */
  get seq(): number {
    return this.#seq;
  }

  /** Appends one message for every subscriber; returns how many will get it. */
  broadcast(bytes: Uint8Array): number {
    this.#entries.push(bytes);
    this.#offsets.push(this.#entryBytes);
    this.#entryBytes += bytes.length;
    this.#seq++;
    this.#schedule();
    return this.#subscribers.size;
  }

  /** This turn's broadcasts from `seq` on (a subscriber's cursor) to now. */
  since(seq: number): Uint8Array[] {
    return this.#entries.slice(seq - this.#turnStart);
  }

  /**
   * While a turn ends: the turn's broadcasts from `seq` on as one byte array, a view of the shared
   * concatenation (the same bytes for every member in step); undefined when there are none.
   */
  endingTurnFrom(seq: number): Uint8Array | undefined {
    const shared = this.#shared;
    const i = seq - this.#turnStart;
    if (shared === undefined || i >= this.#entries.length) return undefined;
    const from = this.#offsets[i]!;
    return from === 0 ? shared : shared.subarray(from);
  }

  /** From now on `outbox` gets every broadcast (and none made before). */
  subscribe(outbox: Outbox): number {
    this.#subscribers.add(outbox);
    return this.#seq;
  }

  /** `outbox` gets no more broadcasts. */
  unsubscribe(outbox: Outbox): void {
    this.#subscribers.delete(outbox);
  }

  /** `outbox` has a message of its own to send at the end of this turn. */
  touch(outbox: Outbox): void {
    this.#touched.push(outbox);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const wait = this.#nextFlushAt - performance.now();
    if (wait <= 0) setImmediate(() => this.#endTurn());
    else setTimeout(() => this.#endTurn(), Math.ceil(wait));
  }

  #endTurn(): void {
    this.#scheduled = false;
    const cpu = process.cpuUsage();
    const count = this.#entries.length;
    if (count > 0) {
      this.#shared = count === 1 ? this.#entries[0]! : Buffer.concat(this.#entries, this.#entryBytes);
      for (const outbox of this.#subscribers) outbox.endTurn(this);
    }
    this.#shared = undefined;
    for (const outbox of this.#touched.splice(0)) outbox.endTurn(this);
    this.#entries = [];
    this.#offsets = [];
    this.#entryBytes = 0;
    this.#turnStart = this.#seq;
    const used = process.cpuUsage(cpu);
    const costMs = (used.user + used.system) / 1000;
    this.#nextFlushAt = performance.now() + Math.min(FLUSH_PAUSE_MAX_MS, costMs * FLUSH_PAUSE_FACTOR);
    this.#onTurnEnd?.();
  }
}

/** The outbox of a socket, for the one `drain` listener every outbox shares. */
const OUTBOX = Symbol('outbox');
type OutboxSocket = Socket & { [OUTBOX]?: Outbox };

/** A bounded, batching writer for one socket. */
export class Outbox {
  readonly #socket: Socket;
  readonly #maxBytes: number;
  readonly #onOverflow: (socket: Socket) => void;
  readonly #fanout: Fanout | undefined;
  /** Made on first use: most members of a big room never have anything queued (issue 11). */
  #queue: Uint8Array[] | undefined;
  #queuedBytes = 0;
  #closed = false;
  /** Broadcasts taken from the fan-out (written or queued); -1 while not subscribed. */
  #cursor = -1;
  /** Listed in the fan-out's `touched` for this turn. */
  #touched = false;
  readonly #backlog: BacklogListener | undefined;
  /** More than the high mark waits (told to `backlog`). */
  #backedUp = false;
  readonly #marks: { high: number; low: number };

  /** One `drain` listener for every outbox, not a closure per member. */
  static readonly #onDrain = function (this: OutboxSocket): void {
    const outbox = this[OUTBOX];
    if (outbox !== undefined) outbox.#drained();
  };

  /**
   * Wraps `socket`; `onOverflow` is called once (with the socket) when more than `maxBytes` wait. With a `fanout`,
   * messages go out at the end of each turn (see the module's documentation); without one, each
   * message is written at once and only backpressure batches. `backlog` hears when the waiting
   * output passes the high mark, moves, and is back under the low mark (input flow control).
   */
  constructor(
    socket: Socket,
    maxBytes: number,
    onOverflow: (socket: Socket) => void,
    fanout?: Fanout,
    backlog?: BacklogListener,
  ) {
    this.#socket = socket;
    this.#maxBytes = maxBytes;
    this.#onOverflow = onOverflow;
    this.#fanout = fanout;
    this.#backlog = backlog;
    this.#marks = backlogMarks(maxBytes);
    (socket as OutboxSocket)[OUTBOX] = this;
    socket.on('drain', Outbox.#onDrain);
  }

  #drained(): void {
    this.#catchUp();
    this.#flush();
    if (this.#backedUp) {
      this.#backlog?.progressed();
      this.#checkBacklog();
    }
  }

  /** Bytes waiting, in this queue and in the socket's own buffer. */
  get pendingBytes(): number {
    return this.#queuedBytes + this.#socket.writableLength;
  }

  /** Starts taking the fan-out's broadcasts (a member joined). */
  subscribe(): void {
    if (this.#fanout !== undefined && this.#cursor < 0 && !this.#closed) {
      this.#cursor = this.#fanout.subscribe(this);
    }
  }

  /** Queues or writes one message for this member alone. Shared byte arrays are fine: never modified. */
  send(bytes: Uint8Array): void {
    if (this.#closed) return;
    const socket = this.#socket;
    if (!socket.writable) return; // reset or destroyed: the close handler ends the member
    if (this.#fanout === undefined) {
      if (this.#queue === undefined && !socket.writableNeedDrain) socket.write(bytes);
      else this.#enqueue(bytes);
    } else {
      // Broadcasts made before this message come before it on the wire.
      this.#catchUp();
      this.#enqueue(bytes);
      if (!this.#touched) {
        this.#touched = true;
        this.#fanout.touch(this);
      }
    }
    this.#checkBound();
  }

  /**
   * The fan-out's turn is ending: this member's share (its own messages, then the turn's
   * broadcasts since its cursor, one view of the shared bytes) goes out in one write, or, while
   * the socket is backed up, joins its queue as one entry per turn.
   */
  endTurn(fanout: Fanout): void {
    this.#touched = false;
    if (this.#closed) return;
    if (this.#cursor >= 0) {
      const rest = fanout.endingTurnFrom(this.#cursor);
      if (rest !== undefined) this.#enqueue(rest);
      this.#cursor = fanout.seq;
    }
    if (!this.#socket.writableNeedDrain) this.#flush();
    this.#checkBound();
  }

  /** Sends what is queued, then half-closes (FIN) once it is written; takes no more broadcasts. */
  end(last?: Uint8Array): void {
    if (this.#closed) return;
    this.#catchUp();
    if (last) this.send(last);
    if (this.#closed) return; // `last` overflowed the queue
    this.#closed = true;
    this.#fanout?.unsubscribe(this);
    this.#flush(true);
    if (!this.#socket.destroyed) this.#socket.end();
  }

  /** Drops whatever is queued; nothing more is sent. */
  discard(): void {
    this.#closed = true;
    this.#fanout?.unsubscribe(this);
    this.#queue = undefined;
    this.#queuedBytes = 0;
  }

  /** Moves the broadcasts this member has not taken yet into its own queue. */
  #catchUp(): void {
    const fanout = this.#fanout;
    if (fanout === undefined || this.#cursor < 0 || this.#cursor === fanout.seq || this.#closed) return;
    for (const bytes of fanout.since(this.#cursor)) this.#enqueue(bytes);
    this.#cursor = fanout.seq;
  }

  #enqueue(bytes: Uint8Array): void {
    (this.#queue ??= []).push(bytes);
    this.#queuedBytes += bytes.length;
  }

  #checkBacklog(): void {
    if (this.#backlog === undefined) return;
    const pending = this.#closed ? 0 : this.#queuedBytes + this.#socket.writableLength;
    if (!this.#backedUp && pending > this.#marks.high) {
      this.#backedUp = true;
      this.#backlog.backedUp();
    } else if (this.#backedUp && pending <= this.#marks.low) {
      this.#backedUp = false;
      this.#backlog.caughtUp();
    }
  }

  #checkBound(): void {
    this.#checkBacklog();
    if (!this.#closed && this.#queuedBytes + this.#socket.writableLength > this.#maxBytes) {
      this.#closed = true;
      this.#fanout?.unsubscribe(this);
      this.#queue = undefined;
      this.#queuedBytes = 0;
      this.#onOverflow(this.#socket);
    }
  }

  #flush(force = false): void {
    const queue = this.#queue;
    if (queue === undefined || (this.#closed && !force)) return;
    const batch = queue.length === 1 ? queue[0]! : Buffer.concat(queue, this.#queuedBytes);
    this.#queue = undefined;
    this.#queuedBytes = 0;
    if (this.#socket.writable) this.#socket.write(batch);
  }
}
