/**
 * A case whose own evidence fell short for a reason of the judge's (an overloaded machine slowed its
 * flood) is reported as not judged (`error`), never passed. Before, a tilde flood that ran out of
 * time counted as passed, and under load average 20 `tilde.slow.others-unaffected` passed servers
 * that block on a member that stopped reading.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerCase } from '../../conformance/harness/case.js';
import { type Connection, listen, type Listener, openConnection } from '../../conformance/harness/connection.js';
import { FloodWatch, paceFlood } from '../../conformance/harness/flood.js';
import { runCase } from '../../conformance/harness/runner.js';
import { FLOOD_MAX_BYTES, judgedFlood } from '../../conformance/tilde/support.js';
import { startServer } from '../../src/reference-server/server.js';

const WAIT_MS = 5_000;
let server: Awaited<ReturnType<typeof startServer>>;

beforeAll(async () => {
  server = await startServer({ dialect: 'tilde', port: 0 });
});
afterAll(async () => {
  await server.close();
});

/** A server case of the tilde robustness profile that runs `body`. */
const probeCase = (body: ServerCase['run']): ServerCase => ({
  kind: 'server',
  dialect: 'tilde',
  profile: 'robustness',
  id: 'tilde.test.not-judged',
  title: 'a case of this test',
  requirements: ['ROBUST-SLOW-1'],
  level: 'MUST',
  hint: 'no hint',
  run: body,
});

const run = (c: ServerCase) =>
  runCase(c, { target: { kind: 'address', host: '127.0.0.1', port: server.port }, dialect: 'tilde', retries: 0 });

describe('not judged', () => {
  it('a paced flood that runs out of time before its budget ends as `time`, not as a spent budget', async () => {
    const listener: Listener = await listen({ label: 'relay' });
    const open: Connection[] = [];
    try {
      const sender = await openConnection({ port: listener.port, label: 'sender' });
      const receiver = await listener.nextConnection({ timeoutMs: WAIT_MS });
      open.push(sender, receiver);
      const end = await paceFlood(sender, [new FloodWatch(receiver)], {
        write: () => new Uint8Array(1_000).fill(0x78),
        counted: (m) => m.length,
        batchWrites: 1,
        budgetBytes: 1_000_000_000,
        maxMs: 0,
        stall: 'progress',
        stallMs: WAIT_MS,
      });
      expect(end.kind).toBe('time');
      const spent = await paceFlood(sender, [new FloodWatch(receiver)], {
        write: () => new Uint8Array(1_000).fill(0x78),
        counted: (m) => m.length,
        batchWrites: 1,
        budgetBytes: 3_000,
        stall: 'progress',
        stallMs: WAIT_MS,
      });
      expect(spent).toEqual({ kind: 'budget', written: 3_000 });
    } finally {
      for (const conn of open) conn.close();
      await listener.close();
    }
  });

  it('a flood that timed out makes the case `error` (not judged), with what fell short and what to do', async () => {
    const result = await run(
      probeCase(async (t) => {
        await t.join(t.nick('w'));
        judgedFlood(t, { kind: 'timed-out', bytes: 1_234_567, waitedMs: 9_000 }, 'zed');
      }),
    );
    expect(result.verdict).toBe('error');
    expect(result.error).toMatch(
      new RegExp(`^not judged: the judge could send only 1234567 of the ${FLOOD_MAX_BYTES} bytes of its flood toward zed within \\d+ ms, while it waited 9000 ms for a CPU.*quieter machine \\(--only tilde\\.test\\.not-judged\\)$`),
    );
  });

  it('a flood that stopped, was bounded by its budget, or stalled is judged as before', async () => {
    for (const end of [
      { kind: 'stopped', bytes: 10 },
      { kind: 'bound', bytes: FLOOD_MAX_BYTES },
    ] as const) {
      const result = await run(probeCase(async (t) => judgedFlood(t, end, 'zed')));
      expect(result.verdict, end.kind).toBe('pass');
    }
  });
});
