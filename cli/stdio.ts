/**
 * The way out of a command: stdout and stderr are written completely before the process exits, and
 * a reader that closes early (`| head`) ends nothing but the output.
 *
 * Why this exists: oclif ends every command through `process.exit`, and Node writes to a pipe
 * asynchronously once the pipe's buffer (64 KiB on Linux) is full, so a report larger than that was
 * cut at exactly 65,536 bytes when piped (`> file` was whole: file writes are synchronous).
 *
 * @module
 */

/** How long a stream may go without taking a byte before the exit stops waiting for it. */
export const STDIO_STALL_MS = 30_000;
/** How often a pending drain checks whether the reader took anything. */
const STALL_POLL_MS = 500;

/** Errors of a stream whose reader went away: not worth a word, the reader does not want more. */
const GONE = new Set(['EPIPE', 'ERR_STREAM_DESTROYED', 'ECONNRESET']);

const guarded = new WeakSet<NodeJS.WriteStream>();

/**
 * Makes EPIPE (and writes after it) on the stream quiet: without a listener Node throws it as an
 * uncaught exception with a stack trace when the reader of a pipe closes early. Any other error is
 * rethrown as before, unless another listener handles it. Idempotent.
 */
export function quietOnClosedReader(stream: NodeJS.WriteStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== undefined && GONE.has(error.code)) return;
    // Another listener owns this stream's errors (e.g. chatkit serve's log sink).
    if (stream.listenerCount('error') > 1) return;
    throw error;
  });
}

/**
 * Resolves once everything written to `stream` so far has been handed to the OS, the stream has
 * failed or closed (its reader is gone), or the reader took no byte for {@link STDIO_STALL_MS}.
 */
export function drained(stream: NodeJS.WriteStream, stallMs = STDIO_STALL_MS): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let last = stream.writableLength;
    let still = 0;
    const done = () => {
      clearInterval(timer);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    // Progress, not a deadline: a slow reader that keeps reading gets everything.
    const timer = setInterval(() => {
      const now = stream.writableLength;
      still = now < last ? 0 : still + STALL_POLL_MS;
      last = now;
      if (now === 0 || still >= stallMs) done();
    }, STALL_POLL_MS);
    timer.unref();
    stream.once('close', done);
    stream.once('error', done);
    // Writes complete in order: the callback of an empty write runs after every earlier one.
    stream.write('', () => done());
  });
}

/** {@link drained} for stdout and stderr. */
export async function drainStdio(): Promise<void> {
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
}
