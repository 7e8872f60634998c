/**
 * Where the judge's own event loop stood still. A message that arrives in one `recv()` proves that
 * it was written whole only if the judge was reading while it arrived: a judge stalled for 200 ms
 * (the machine is busy, a GC) finds both pieces of a split write waiting in the kernel and reads
 * them as one. This watch notes each turn of the loop with a short timer and keeps the gaps, so a
 * case can ask how long the judge stood still around a given read.
 *
 * @module
 */
import { READ_GAP_SAMPLE_MS } from './timing.js';

/** Gaps kept at most (the oldest go first): bounded memory, whatever the case's length. */
const KEPT_GAPS = 1_000;

/** The gaps in the judge's event loop, from {@link watchReadGaps}. */
export interface ReadGapWatch {
  /**
   * The longest stretch (ms) without a turn of the loop that overlaps `[from, to]`
   * (`performance.now()` times): the pieces of a message that arrived within it may have been
   * read together without being written together.
   */
  longestGap(from: number, to: number): number;
  stop(): void;
}

/** Starts noting the loop's turns; call `stop()` in `finally`. */
export function watchReadGaps(): ReadGapWatch {
  // Each entry a stretch [start, end] between two ticks that was longer than two sample periods.
  const gaps: [number, number][] = [];
  let last = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = performance.now();
    if (now - last > 2 * READ_GAP_SAMPLE_MS) {
      gaps.push([last, now]);
      if (gaps.length > KEPT_GAPS) gaps.shift();
    }
    last = now;
    timer = setTimeout(tick, READ_GAP_SAMPLE_MS);
    timer.unref();
  };
  timer = setTimeout(tick, READ_GAP_SAMPLE_MS);
  timer.unref();
  return {
    longestGap(from, to) {
      let longest = 0;
      // The stretch still open (no tick since `last`) counts too.
      for (const [start, end] of [...gaps, [last, performance.now()] as [number, number]]) {
        if (start <= to && end >= from) longest = Math.max(longest, end - start);
      }
      // A regular tick's own period is not a stall.
      return longest > 2 * READ_GAP_SAMPLE_MS ? longest : 0;
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
