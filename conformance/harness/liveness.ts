/**
 * Whether a shared target (`--target`) still answers, asked after a case that did not pass, so that
 * a target that died or wedged is named once ("the target stopped answering during <case>") instead
 * of failing every later case in a millisecond with unrelated hints.
 *
 * The check is a real member and leaves the way the probe does, because the legacy servers are
 * harmed by careless clients (probe.ts): on NICK it answers the prompt and resets only once the
 * server answered its nickname (else it stays connected until the run ends, D-NS-4); on tilde it
 * stays connected until the run ends (any leave harms the seed, D-TS-1/D-TS-3).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { DialectName } from '../../src/codec/index.js';
import { type Connection, ConnectionError, openConnection } from './connection.js';
import type { CaseTiming } from './timing.js';

/** Bound on opening the check's connection. */
export const LIVENESS_CONNECT_TIMEOUT_MS = 5_000;

/** The answer, and how the check's member leaves (at the end of the run, or already gone). */
export interface Liveness {
  readonly answers: boolean;
  /** What was seen, for the report, when the target does not answer. */
  readonly why: string;
  /** Ends the check's member; call once the run is over. Never rejects. */
  release(): void;
}

async function arrives(conn: Connection, after: number, timeoutMs: number): Promise<boolean> {
  try {
    await conn.waitFor((s) => s.length > after, { timeoutMs, what: 'any answer' });
    return true;
  } catch (error) {
    if (error instanceof ConnectionError) return false;
    throw error;
  }
}

/** Asks the target at `host:port` whether it still answers a newcomer (see the module comment). */
export async function checkLiveness(
  host: string,
  port: number,
  dialect: DialectName,
  timing: CaseTiming,
): Promise<Liveness> {
  const name = `chatkit-alive-${randomBytes(3).toString('hex')}`;
  let conn: Connection;
  try {
    conn = await openConnection({ host, port, label: name, connectTimeoutMs: LIVENESS_CONNECT_TIMEOUT_MS });
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    return { answers: false, why: `a new connection failed: ${why}`, release: () => {} };
  }
  const hold = () => conn.reset();
  if (dialect === 'nick') {
    if (!(await arrives(conn, 0, timing.stepMs))) {
      const why = conn.closed
        ? 'a new connection was closed without a prompt'
        : `a new connection got no prompt within ${timing.stepMs} ms`;
      return { answers: false, why, release: hold };
    }
    const at = conn.stream().length;
    conn.send(name);
    // Once the nickname is answered the accept loop is done with this member: a reset is a clean leave.
    if (await arrives(conn, at, timing.stepMs)) {
      conn.reset();
      return { answers: true, why: '', release: () => {} };
    }
    return { answers: true, why: '', release: hold };
  }
  conn.send(name);
  if (!(await arrives(conn, 0, timing.stepMs))) {
    const why = conn.closed
      ? 'a new member was closed without being announced'
      : `a new member was not announced within ${timing.stepMs} ms`;
    return { answers: false, why, release: hold };
  }
  return { answers: true, why: '', release: hold };
}
