/**
 * Rate limiting for the server's log: a peer that opens thousands of connections must not make the
 * server write thousands of lines a second (or fill a disk). Lines of one kind (event, level and
 * code) pass up to a burst per window; the rest are counted and reported in one line with the count
 * once the window is over.
 *
 * @module
 */
import { SERVER_LOG_BURST, SERVER_LOG_WINDOW_MS } from '../limits.js';
import type { LogEntry, Logger } from './log.js';

/** A logger that rate-limits, and reports what it suppressed on {@link LimitedLogger.flush}. */
export interface LimitedLogger {
  /** Logs the entry, or counts it if its kind is over the burst. */
  readonly log: Logger;
  /** Reports every count still held (at shutdown). */
  flush(): void;
}

interface Kind {
  windowStart: number;
  passed: number;
  suppressed: number;
  last: LogEntry;
}

/** Wraps `logger` so that each kind of entry passes at most `burst` times per `windowMs`. */
export function limitLogRate(
  logger: Logger,
  opts: { burst?: number; windowMs?: number; now?: () => number } = {},
): LimitedLogger {
  const burst = opts.burst ?? SERVER_LOG_BURST;
  const windowMs = opts.windowMs ?? SERVER_LOG_WINDOW_MS;
  const now = opts.now ?? Date.now;
  const kinds = new Map<string, Kind>();
  const report = (kind: Kind) => {
    if (kind.suppressed === 0) return;
    const { time: _time, peer: _peer, nick: _nick, detail: _detail, ...same } = kind.last;
    logger({
      ...same,
      time: new Date(now()).toISOString(),
      detail: `${kind.suppressed} more like this in ${windowMs} ms not logged (rate limit ${burst} per ${windowMs} ms)`,
    });
    kind.suppressed = 0;
  };
  return {
    log(entry) {
      const key = `${entry.level}:${entry.event}:${entry.code ?? ''}`;
      const t = now();
      let kind = kinds.get(key);
      if (kind === undefined) kinds.set(key, (kind = { windowStart: t, passed: 0, suppressed: 0, last: entry }));
      if (t - kind.windowStart >= windowMs) {
        report(kind);
        kind.windowStart = t;
        kind.passed = 0;
      }
      kind.last = entry;
      if (kind.passed < burst) {
        kind.passed++;
        logger(entry);
      } else if (kind.suppressed++ === 0) {
        // Reported when the window ends even if no line of this kind follows.
        const held = kind;
        setTimeout(() => report(held), Math.max(0, held.windowStart + windowMs - t)).unref();
      }
    },
    flush() {
      for (const kind of kinds.values()) report(kind);
    },
  };
}
