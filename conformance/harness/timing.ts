/**
 * The harness's bounds, each defined once: how long a case waits for an effect, how long it watches
 * for nothing, and the CPU and output figures that tell a busy loop or a printing loop from an idle
 * program. The two case timings (step, quiet window) scale together with `--timeout-scale`; the CPU
 * bounds are absolute amounts of CPU time, so a starved loop is still caught. Imports nothing of the
 * harness, so every module of it (both contexts, the CPU watch, the runner) can use it.
 *
 * Where two bounds look alike they measure different things, and their names say which:
 * {@link CLIENT_LOOP_CPU_MS} is CPU over a whole step after a close, {@link BUSY_WINDOW_CPU_MS} CPU
 * over the short {@link BUSY_WINDOW_MS} of an idle server.
 *
 * @module
 */

/** Bound on one expected effect (a relay, a join); met in milliseconds by a working server. */
export const STEP_TIMEOUT_MS = 5_000;
/** How long "nothing more arrives" is watched (a bounded quiet window, §3.7 item 7). */
export const QUIET_WINDOW_MS = 400;
/** Bound on opening a connection. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** How much of a stream a failure shows (its tail). */
export const FAILURE_STREAM_TAIL_BYTES = 600;

/**
 * A wait on a precondition whose own case already failed in this run is cut to this many quiet
 * windows: whatever it finds, the case can at most be `blocked` by that failure, so waiting out the
 * whole step bound would only make a broken target slow to judge.
 */
export const BROKEN_PRECONDITION_QUIET_WINDOWS = 2;

/** Timing knobs, scaled together by `--timeout-scale` on slow machines. */
export interface CaseTiming {
  /** Bound on one expected effect. */
  readonly stepMs: number;
  /** Quiet window. */
  readonly quietMs: number;
}

/** The default timing. */
export const DEFAULT_TIMING: CaseTiming = { stepMs: STEP_TIMEOUT_MS, quietMs: QUIET_WINDOW_MS };

// ---------------------------------------------------------------------------------------------
// A client program after the server closed (CLIENT-EOF-1)

/**
 * Bound on the client program starting and connecting, as a multiple of the step bound: starting
 * an interpreter (Node, a JVM) on a loaded machine takes longer than any protocol step.
 */
export const CLIENT_START_STEPS = 4;
/**
 * CLIENT-EOF-1: CPU time (user + system, whole process group) after the server closed beyond which
 * a client that is still running is looping on the closed connection. An idle client uses a few
 * milliseconds in the whole step; a loop uses a whole core when it can, and even a tenth of one
 * (ten other busy processes on two cores) passes this within the step bound. Absolute, not a rate,
 * so a starved loop is still caught by the end of the step.
 */
export const CLIENT_LOOP_CPU_MS = 250;
/**
 * CLIENT-EOF-1: time the client's threads waited for a CPU while runnable (run-queue wait) after the
 * server closed, beyond which the machine starved it: a loop that got too little CPU to reach
 * {@link CLIENT_LOOP_CPU_MS}, or a report that had no CPU to be printed, is then not judged rather
 * than passed or failed. An idle client waits for a CPU only when it wakes up, a few ms in all.
 */
export const CLIENT_STARVED_WAIT_MS = 250;
/**
 * CLIENT-EOF-1: a client that closed its side is watched this long (for a loop or a flood) before
 * it is taken to have stopped.
 */
export const STOPPED_WATCH_MS = 2_000;
/** CLIENT-EOF-1: time a client gets to finish exiting before its CPU use is judged. */
export const EXIT_GRACE_MS = 1_000;
/** Output after the server closed beyond which a client "keeps printing" (an error printed in a loop). */
export const FLOOD_OUTPUT_BYTES = 16 * 1024;
/** At the end of the step, output within this last window means the client is still printing. */
export const STILL_PRINTING_WINDOW_MS = 1_000;
/** How often the client's CPU time, output and exit are sampled while waiting. */
export const CLIENT_POLL_MS = 50;

// ---------------------------------------------------------------------------------------------
// An idle server (ROBUST-EOF-1, §6.1)

/** How long the busy-loop probe watches an idle target. */
export const BUSY_WINDOW_MS = 1_500;
/**
 * CPU over {@link BUSY_WINDOW_MS} that counts as a busy loop (8 %): an idle server burns ~0; a
 * spinning thread a whole core, and even the seed's loop, slowed down by printing each turn to a
 * pipe, about a quarter of one (measured: 50 ms every 200 ms).
 */
export const BUSY_WINDOW_CPU_MS = 120;
/** How often the busy-loop probe samples the target's CPU time. */
export const BUSY_POLL_MS = 50;

// ---------------------------------------------------------------------------------------------
// One message per recv() (FRAME-3): whether the judge read often enough to see pieces

/** How often the judge notes that its own event loop ran, while it watches for messages written in pieces. */
export const READ_GAP_SAMPLE_MS = 5;
/**
 * The longest the judge may have gone without running its event loop around a message it read
 * whole, for "arrived whole" to count. Pieces written further apart than this always reach a judge
 * that ran this often as two reads; past it (a starved judge), the bytes of both pieces may wait in
 * the kernel and come back as one read, which proves nothing.
 */
export const READ_GAP_MAX_MS = 50;
/** Paced sessions a whole-read case runs at most while the judge stood still around a message it read whole. */
export const WHOLE_READ_SESSIONS = 3;
