/**
 * Causes: ways a target breaks that show in whatever case happens to be running, not in one
 * requirement. A server that closes every member right after its join, or whose process exits when a
 * member leaves, makes every case that keeps a member fail, each on its own requirement. Those
 * failures carry the same `cause`, and blocking.ts keeps the first as the failure and marks the others
 * `blocked` by it: one bug, one failure, with a hint about the cause instead of each case's own.
 *
 * @module
 */

/** The server closed a member that had only joined and chatted (it did nothing to be closed for). */
export const MEMBER_CLOSED = 'member-closed';

/** The prefix of a spawned server's exit cause (see {@link exitedCause}). */
const EXITED = 'exited';

/** A Python traceback's last line: the exception's name, then its message (which may name members). */
const EXCEPTION_LINE = /^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt))\b/;

/**
 * The cause of failures during which the spawned server process exited: the same exit status and
 * the same uncaught exception (by name: its message may name the case's members) are the same bug.
 */
export function exitedCause(exit: { code: number | null; signal: string | null }, stderr: string): string {
  const exception = stderr
    .split('\n')
    .map((line) => EXCEPTION_LINE.exec(line.trim())?.[1])
    .filter((name) => name !== undefined)
    .at(-1);
  return `${EXITED}: code ${exit.code}, signal ${exit.signal}${exception ? `: ${exception}` : ''}`;
}

/** What to fix, for a failure with `cause`; undefined when the cause is not one of these. */
export function hintOfCause(cause: string): string | undefined {
  if (cause === MEMBER_CLOSED) {
    return "Keep a member's socket open after it joins: close it only when recv() returns b'' or raises (the member left), never right after the join announcement or a relay.";
  }
  if (cause.startsWith(EXITED)) {
    return 'Your server process ended during this case (its exit status and last output are under "actual"). Catch the exception in the thread that serves one client (around recv(), send() and the broadcast) and remove only that client; never call exit() there or let the error reach the accept loop.';
  }
  return undefined;
}
