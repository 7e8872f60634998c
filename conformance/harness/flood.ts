/**
 * The one paced flood (§6.3): a member writes batches of messages while others watch what arrives,
 * and each batch waits until every watcher has had all of it, so the flood never outruns a working
 * server, memory stays bounded, and a stall shows at once. Both dialects' slow-reader cases use it
 * (nick/support.ts, tilde/support.ts), each with its own message, counting and stall rule.
 *
 * @module
 */
import type { Connection } from './connection.js';

/** How often watchers' new chunks are scanned while a batch is on its way. */
export const FLOOD_POLL_MS = 2;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const encoder = new TextEncoder();

/**
 * Counts what a connection receives and looks for one needle, touching each received chunk once
 * (re-reading a stream of megabytes after every chunk would make a flood quadratic). It counts every
 * byte, or only `byte` (a flood made of one byte that no other traffic holds); bytes the connection
 * elided (Connection.elide) count too.
 */
export class FloodWatch {
  readonly conn: Connection;
  #next: number;
  #carry: Buffer = Buffer.alloc(0);
  readonly #needle: Buffer | undefined;
  readonly #byte: number | undefined;
  readonly #elidedBase: number;
  #scanned = 0;
  /** Bytes counted since the watch started. */
  count = 0;
  /** Whether the needle was seen. */
  found = false;

  /** Starts at the connection's current end; `needle` is looked for from there on. */
  constructor(conn: Connection, options: { needle?: string | Uint8Array | undefined; byte?: number } = {}) {
    this.conn = conn;
    this.#next = conn.chunks().length;
    const needle = options.needle;
    this.#needle =
      needle === undefined || needle.length === 0
        ? undefined
        : Buffer.from(typeof needle === 'string' ? encoder.encode(needle) : needle);
    this.#byte = options.byte;
    this.#elidedBase = conn.elided();
  }

  /** Takes in the chunks that arrived since the last call. */
  update(): this {
    const chunks = this.conn.chunks();
    const needle = this.#needle;
    for (; this.#next < chunks.length; this.#next++) {
      const chunk = Buffer.from(chunks[this.#next]!);
      if (this.#byte === undefined) this.#scanned += chunk.length;
      else for (const b of chunk) if (b === this.#byte) this.#scanned++;
      if (needle === undefined || this.found) continue;
      // The needle may straddle the previous chunk's end.
      const edge = Buffer.concat([this.#carry, chunk.subarray(0, needle.length)]);
      if (edge.indexOf(needle) !== -1 || chunk.indexOf(needle) !== -1) this.found = true;
      this.#carry = Buffer.from(Buffer.concat([this.#carry, chunk]).subarray(-needle.length));
    }
    this.count = this.#scanned + this.conn.elided() - this.#elidedBase;
    return this;
  }
}

/** Options of {@link paceFlood}. */
export interface PaceFloodOptions {
  /** The n-th write. */
  readonly write: (n: number) => Uint8Array;
  /** How many bytes of a write each watcher counts (all of them, or its flood bytes). */
  readonly counted: (write: Uint8Array) => number;
  /** Writes per batch. */
  readonly batchWrites: number;
  /** Stop once this many counted bytes were written. */
  readonly budgetBytes: number;
  /** Stop after this long, whatever was written (the end's kind is then `time`). */
  readonly maxMs?: number;
  /** Stop once this holds (checked after each look at the watchers). */
  readonly until?: () => boolean;
  /**
   * When a batch counts as stalled: `batch`, when the watchers have not all had it within `stallMs`
   * of its writing; `progress`, when no watcher's count moved for `stallMs`.
   */
  readonly stall: 'batch' | 'progress';
  readonly stallMs: number;
  /**
   * With `progress`: a probe of a spawned target's threads blocked in a send; above 0 once nothing
   * arrived for `probeAfterMs`, the flood is stalled at once.
   */
  readonly probe?: (() => number) | undefined;
  readonly probeAfterMs?: number;
  /** With `progress`: end the flood when a watcher's connection ends. */
  readonly stopOnClose?: boolean;
}

/** How a flood ended, with the counted bytes written. */
export type PaceFloodEnd =
  | { readonly kind: 'until'; readonly written: number }
  | { readonly kind: 'budget'; readonly written: number }
  /** The time bound ({@link PaceFloodOptions.maxMs}) passed before the budget was written. */
  | { readonly kind: 'time'; readonly written: number }
  | { readonly kind: 'stalled'; readonly written: number; readonly counts: readonly number[]; readonly laggard?: FloodWatch }
  | { readonly kind: 'closed'; readonly written: number; readonly watch: FloodWatch };

/**
 * `sender` writes batches of {@link PaceFloodOptions.write}; after each batch every watcher must have
 * counted as many bytes as were written so far. Ends when `until` holds, after the budget or the time
 * bound, when a batch stalls, or (optionally) when a watcher's connection ends.
 */
export async function paceFlood(
  sender: Connection,
  watchers: readonly FloodWatch[],
  options: PaceFloodOptions,
): Promise<PaceFloodEnd> {
  const base = watchers.map((w) => w.update().count);
  const got = () => watchers.map((w, i) => w.update().count - base[i]!);
  const deadline = options.maxMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + options.maxMs;
  let written = 0;
  let n = 0;
  for (;;) {
    got();
    if (options.until?.()) return { kind: 'until', written };
    if (written >= options.budgetBytes) return { kind: 'budget', written };
    if (performance.now() > deadline) return { kind: 'time', written };
    for (let i = 0; i < options.batchWrites; i++) {
      const message = options.write(n++);
      sender.send(message);
      written += options.counted(message);
    }
    const batchAt = performance.now();
    let last = got();
    let lastProgress = batchAt;
    for (;;) {
      const counts = got();
      if (options.until?.()) return { kind: 'until', written };
      if (counts.every((c) => c >= written)) break;
      const now = performance.now();
      if (options.stall === 'batch') {
        if (now - batchAt >= options.stallMs) {
          const laggard = watchers.find((_, i) => counts[i]! < written);
          return laggard === undefined ? { kind: 'stalled', written, counts } : { kind: 'stalled', written, counts, laggard };
        }
      } else {
        const closed = options.stopOnClose ? watchers.find((w) => w.conn.closed) : undefined;
        if (closed) return { kind: 'closed', written, watch: closed };
        if (counts.some((c, i) => c !== last[i])) {
          last = counts;
          lastProgress = now;
        } else if (now - lastProgress > options.stallMs) {
          return { kind: 'stalled', written, counts };
        } else if (
          options.probe &&
          now - lastProgress > (options.probeAfterMs ?? 0) &&
          options.probe() > 0
        ) {
          // A spawned target shows a blocked write sooner: a thread asleep in a send while nothing
          // arrives for a moment (a thread blocked only by a watcher that reads late goes on).
          return { kind: 'stalled', written, counts };
        }
      }
      await sleep(FLOOD_POLL_MS);
    }
  }
}
