/**
 * Where `chatkit serve` writes its log: stdout, and stderr when stdout's reader goes away. The log
 * is never a reason to stop serving: a closed pipe (EPIPE), a reader that stops reading (the pipe
 * full, EAGAIN underneath) or any other write error on a log stream costs log lines, never the
 * server, and never unbounded memory. What was lost is said where it can still be read.
 *
 * The policy, one case each:
 * - **The reader of stdout goes away** (`chatkit serve | head`, a log collector that exits): one
 *   `LOG_OUTPUT_LOST` line goes to stderr, and every later line too (stderr is usually a terminal
 *   or a separate file when stdout is piped).
 * - **stderr is gone as well** (`2>&1` into the same closed pipe): lines are dropped and counted;
 *   there is nowhere left to say so.
 * - **The reader stays but stops reading**: at most {@link LOG_SINK_MAX_BUFFERED_BYTES} wait in
 *   memory; past that, lines are dropped and counted, and once the reader has caught up one line
 *   says how many were dropped.
 * - **At shutdown**, if any line was lost, one line with the total goes to whichever stream still
 *   takes lines.
 *
 * Hand-written rather than pino: the server logs a few lines per connection or incident, never
 * per relayed message, so pino's speed buys nothing here, while its line shape (numeric level,
 * epoch time, pid, host) would break the documented `--log-format json` entries, and sonic-boom's
 * buffering and EPIPE handling are not the policy above (stderr fallback, bounded memory,
 * `LOG_OUTPUT_LOST` counts).
 *
 * @module
 */
import type { Writable } from 'node:stream';
import { LOG_SINK_MAX_BUFFERED_BYTES } from '../limits.js';
import { formatLogText, type LogEntry, type LogFormat, type Logger } from './log.js';

/** A log that survives its readers. */
export interface LogSink {
  /** Writes one entry (or drops and counts it). Never throws. */
  readonly log: Logger;
  /** Lines that never reached a stream that takes them. */
  readonly lost: number;
  /** Says how many lines were lost, if any, where it still can (at shutdown). */
  close(): void;
}

/** The log streams in order of preference, with a name each for the lines about them. */
export interface LogStreams {
  readonly primary: Writable;
  readonly primaryName: string;
  readonly fallback?: Writable;
  readonly fallbackName?: string;
}

interface Slot {
  readonly stream: Writable;
  readonly name: string;
  dead: boolean;
  /** Lines dropped because this stream's reader did not keep up, not yet reported. */
  backlogDropped: number;
}

/**
 * A {@link LogSink} writing lines in `format` to `streams.primary`, then to `streams.fallback`
 * once the primary fails (see the module's policy).
 */
export function logSink(
  format: LogFormat,
  streams: LogStreams,
  opts: { maxBufferedBytes?: number } = {},
): LogSink {
  const maxBuffered = opts.maxBufferedBytes ?? LOG_SINK_MAX_BUFFERED_BYTES;
  const render = (entry: LogEntry) => `${format === 'json' ? JSON.stringify(entry) : formatLogText(entry)}\n`;
  const slots: Slot[] = [{ stream: streams.primary, name: streams.primaryName, dead: false, backlogDropped: 0 }];
  if (streams.fallback !== undefined && streams.fallback !== streams.primary) {
    slots.push({ stream: streams.fallback, name: streams.fallbackName ?? 'fallback', dead: false, backlogDropped: 0 });
  }
  let lost = 0;

  const notice = (reason: string, detail?: string): LogEntry => ({
    time: new Date().toISOString(),
    level: 'error',
    event: 'error',
    code: 'LOG_OUTPUT_LOST',
    reason,
    ...(detail === undefined ? {} : { detail }),
  });
  /** Whether the slot takes lines; a stream found destroyed before its error event is dead now. */
  const alive = (slot: Slot): boolean => {
    if (slot.dead) return false;
    if (!slot.stream.destroyed && !slot.stream.writableEnded) return true;
    die(slot, (slot.stream.errored as NodeJS.ErrnoException | null) ?? Object.assign(new Error('closed'), { code: 'closed' }));
    return false;
  };
  const current = () => slots.find(alive);

  /**
   * Writes to one slot; false when the stream failed at once (a synchronous file or tty write). A
   * line that fails later (EPIPE on a pipe) is counted by its callback.
   */
  const put = (slot: Slot, line: string): boolean => {
    try {
      slot.stream.write(line, (error) => {
        if (error) lost++;
      });
      return true;
    } catch (error) {
      die(slot, error as NodeJS.ErrnoException);
      return false;
    }
  };

  const die = (slot: Slot, error: NodeJS.ErrnoException) => {
    if (slot.dead) return;
    slot.dead = true;
    const next = current();
    if (next === undefined) return; // nowhere left to say it: the count is all there is
    const why = error.code === 'EPIPE' ? "the log's reader went away" : 'the log could not be written';
    put(
      next,
      render(
        notice(
          `${why} (${error.code ?? error.message} on ${slot.name}): logging to ${next.name} from now on`,
          lost > 0 ? `lost so far=${lost}` : undefined,
        ),
      ),
    );
  };

  const reportBacklog = (slot: Slot) => {
    if (slot.backlogDropped === 0 || !alive(slot)) return;
    const n = slot.backlogDropped;
    slot.backlogDropped = 0;
    put(
      slot,
      render(
        notice(
          `${n} log line${n === 1 ? '' : 's'} dropped: the reader of ${slot.name} did not keep up (more than ${maxBuffered} bytes waiting)`,
          `dropped=${n}`,
        ),
      ),
    );
  };

  for (const slot of slots) {
    // First in line, so the stream is known dead before anyone else hears of the error; with this
    // listener present, the CLI's own guard (cli/stdio.ts) leaves the error to us.
    slot.stream.prependListener('error', (error: NodeJS.ErrnoException) => die(slot, error));
    slot.stream.on('drain', () => reportBacklog(slot));
  }

  return {
    log(entry) {
      const line = render(entry);
      // A stream that fails at once is dead: the line goes to the next one (which got the notice).
      for (let slot = current(); slot !== undefined; slot = current()) {
        if (slot.stream.writableLength >= maxBuffered) {
          lost++;
          slot.backlogDropped++;
          return;
        }
        if (slot.backlogDropped > 0 && slot.stream.writableLength === 0) reportBacklog(slot);
        if (put(slot, line)) return;
      }
      lost++;
    },
    get lost() {
      return lost;
    },
    close() {
      const slot = current();
      if (lost === 0 || slot === undefined) return;
      put(slot, render(notice(`${lost} log line${lost === 1 ? '' : 's'} lost in all while serving`, `lost=${lost}`)));
    },
  };
}
