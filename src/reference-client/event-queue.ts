/**
 * The reference client's bounded event queue: one reader takes events through an async iterator,
 * any number of `waitFor` calls watch them without taking them, and past the bound the oldest
 * events are dropped and counted, so a reader that is slow or absent costs bounded memory.
 *
 * @module
 */
import type { DialectName } from '../codec/dialect.js';
import { CLIENT_WAIT_TIMEOUT_MS } from '../limits.js';
import { ClientError, EventOverflowError } from './errors.js';
import type { ClientEvent } from './events.js';

type Waiter = { readonly check: (event: ClientEvent) => void };

const EMPTY = new Uint8Array(0);

/** The queue's counters (part of the client's stats). */
export interface EventQueueStats {
  /** Events waiting to be read. */
  readonly queuedEvents: number;
  /** Most events that ever waited at once. */
  readonly peakQueuedEvents: number;
  /** The queue's bound. */
  readonly maxQueuedEvents: number;
  /** Events dropped because nobody read them in time. */
  readonly droppedEvents: number;
}

/** Events in stream order for one reader, bounded by drop-oldest; `closed` ends it. */
export class EventQueue {
  readonly #max: number;
  /** The dialect an overflow issue names (the connection's, known only once the handshake chose it). */
  readonly #dialect: () => DialectName;
  #queue: ClientEvent[] = [];
  #dropped = 0;
  #droppedBytes = 0;
  #droppedTotal = 0;
  #peak = 0;
  #readers: Array<(result: IteratorResult<ClientEvent>) => void> = [];
  #waiters = new Set<Waiter>();
  #closedQueued = false;
  #closedTaken = false;
  /** The events for one reader; iteration ends after `closed`. */
  readonly events: AsyncIterable<ClientEvent>;

  constructor(maxQueuedEvents: number, dialect: () => DialectName) {
    this.#max = maxQueuedEvents;
    this.#dialect = dialect;
    const iterator: AsyncIterator<ClientEvent> = {
      next: () => this.#next(),
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
    this.events = { [Symbol.asyncIterator]: () => iterator };
  }

  /** Adds an event: waiters see it first, then a waiting reader gets it or it waits in the queue. */
  push(event: ClientEvent): void {
    if (event.kind === 'closed') this.#closedQueued = true;
    for (const waiter of [...this.#waiters]) waiter.check(event);
    this.#queue.push(event);
    // Drop-oldest: the newest events are what a late reader needs, and `closed` (always last) survives.
    while (this.#queue.length > this.#max) {
      const old = this.#queue.shift()!;
      this.#dropped++;
      this.#droppedTotal++;
      if (old.kind !== 'closed') this.#droppedBytes += old.bytes.length;
    }
    this.#peak = Math.max(this.#peak, this.#queue.length);
    while (this.#readers.length > 0) {
      const next = this.#take();
      if (next === undefined) break;
      this.#readers.shift()!({ value: next, done: false });
    }
    if (this.#closedTaken)
      for (const reader of this.#readers.splice(0)) reader({ value: undefined, done: true });
  }

  /**
   * Resolves with the first event, queued or still to come, for which `predicate` holds, without
   * taking it; rejects with `CLIENT_WAIT_TIMEOUT` after `timeoutMs`, or `CLIENT_NOT_CONNECTED` once
   * `closed` has come without a match.
   */
  waitFor(
    predicate: (event: ClientEvent) => boolean,
    timeoutMs = CLIENT_WAIT_TIMEOUT_MS,
  ): Promise<ClientEvent> {
    return new Promise((resolve, reject) => {
      try {
        for (const event of this.#queue) {
          if (predicate(event)) {
            resolve(event);
            return;
          }
        }
      } catch (error) {
        reject(error);
        return;
      }
      if (this.#closedQueued) {
        reject(new ClientError('CLIENT_NOT_CONNECTED', 'the connection ended before a matching event'));
        return;
      }
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new ClientError('CLIENT_WAIT_TIMEOUT', `no matching event within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        fn();
      };
      const waiter: Waiter = {
        check: (event) => {
          let matched: boolean;
          try {
            matched = predicate(event);
          } catch (error) {
            settle(() => reject(error));
            return;
          }
          if (matched) settle(() => resolve(event));
          else if (event.kind === 'closed') {
            settle(() =>
              reject(
                new ClientError(
                  'CLIENT_NOT_CONNECTED',
                  `the connection ended (${event.reason}) before a matching event`,
                ),
              ),
            );
          }
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** The queue's counters. */
  stats(): EventQueueStats {
    return {
      queuedEvents: this.#queue.length,
      peakQueuedEvents: this.#peak,
      maxQueuedEvents: this.#max,
      droppedEvents: this.#droppedTotal,
    };
  }

  /** The next event for the reader: an overflow report first when events were dropped since the last. */
  #take(): ClientEvent | undefined {
    if (this.#dropped > 0) {
      const error = new EventOverflowError(this.#dropped, this.#droppedBytes);
      this.#dropped = 0;
      this.#droppedBytes = 0;
      return { kind: 'issue', dialect: this.#dialect(), error, bytes: EMPTY };
    }
    const event = this.#queue.shift();
    if (event?.kind === 'closed') this.#closedTaken = true;
    return event;
  }

  #next(): Promise<IteratorResult<ClientEvent>> {
    const event = this.#take();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.#closedTaken) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#readers.push(resolve));
  }
}
