import { afterEach, describe, expect, it } from 'vitest';
import { stallThread } from '../../test/support/stall.js';
import { CaseContext } from './case-context.js';
import { type Connection, type Listener, listen, openConnection } from './connection.js';
import { NameSource } from './names.js';
import { watchReadGaps } from './read-gaps.js';
import { READ_GAP_MAX_MS, WHOLE_READ_SESSIONS } from './timing.js';
import { CaseFailure } from './verdict.js';
import { expectWholeReads, type WholeReadCheck } from './whole-reads.js';

/** Bound on waits for loopback bytes already on their way. */
const WAIT_MS = 2_000;
/** How long a test holds the judge's thread: far past READ_GAP_MAX_MS. */
const STALL_MS = 4 * READ_GAP_MAX_MS;

class TestContext extends CaseContext {
  constructor() {
    super({ dialect: 'nick', names: new NameSource({ seed: 1, caseId: 'whole-reads', dialect: 'nick' }) });
  }
}

let listener: Listener | undefined;
const open: Connection[] = [];

afterEach(async () => {
  for (const connection of open.splice(0)) connection.close();
  await listener?.close();
  listener = undefined;
});

async function pair(): Promise<{ reader: Connection; writer: Connection }> {
  listener ??= await listen({ label: 'server' });
  const reader = await openConnection({ port: listener.port, label: 'reader' });
  const writer = await listener.nextConnection({ timeoutMs: WAIT_MS });
  open.push(reader, writer);
  return { reader, writer };
}

const wholeCheck = (conn: Connection, message: string): WholeReadCheck => ({
  conn,
  message,
  requirement: 'FRAME-3',
  what: 'a test message',
});

/**
 * A session that writes "hello world" in two pieces, the second only once the first was read
 * (the pieces are surely two reads), or, with `stalled`, the second right after the first while
 * the judge's thread stands still, so that both pieces wait in the kernel and are read as one.
 */
async function splitSession(stalled: boolean): Promise<WholeReadCheck[]> {
  const { reader, writer } = await pair();
  writer.send('hello ');
  if (stalled) {
    // No await until both pieces are written: the reader must not get a turn in between. A write
    // on an idle socket goes to the kernel at once.
    stallThread(STALL_MS / 2);
    writer.send('world');
    stallThread(STALL_MS / 2);
  } else {
    await reader.waitForText('hello ', { timeoutMs: WAIT_MS });
    writer.send('world');
  }
  await reader.waitForText('hello world', { timeoutMs: WAIT_MS });
  return [wholeCheck(reader, 'hello world')];
}

describe('the read-gap watch', () => {
  it('reports a stall of the judge in a window around it, not in a window before it', async () => {
    const watch = watchReadGaps();
    try {
      await new Promise((resolve) => setTimeout(resolve, 30));
      const earlier = performance.now();
      const before = earlier + 1;
      stallThread(STALL_MS);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(watch.longestGap(before, performance.now())).toBeGreaterThanOrEqual(STALL_MS);
      // Only a gap that overlaps a window counts for it (the gap began at the tick before the stall).
      expect(watch.longestGap(earlier - 30, earlier - 20)).toBeLessThan(STALL_MS);
    } finally {
      watch.stop();
    }
  });
});

describe('expectWholeReads', () => {
  it('fails a message split across reads under its requirement, showing the reads', async () => {
    const error = await expectWholeReads(new TestContext(), () => splitSession(false)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CaseFailure);
    const { details } = error as CaseFailure;
    expect(details.requirement).toBe('FRAME-3');
    expect(details.message).toContain('"hello world" arrived split across two or more recv() calls');
    expect(details.actual).toBe('"hello " | "world"');
  });

  it('runs the session again when a stalled judge read a split message whole, and then sees the split', async () => {
    let sessions = 0;
    const merged: string[][] = [];
    const error = await expectWholeReads(new TestContext(), async () => {
      sessions++;
      const checks = await splitSession(sessions === 1);
      merged.push(checks[0]!.conn.chunks().map((c) => Buffer.from(c).toString()));
      return checks;
    }).catch((e: unknown) => e);
    // The stalled first session read both pieces as one, which alone would have passed.
    expect(merged[0]).toEqual(['hello world']);
    expect(sessions).toBe(2);
    expect(error).toBeInstanceOf(CaseFailure);
  });

  it(`stops after ${WHOLE_READ_SESSIONS} sessions when the judge stood still in every one`, async () => {
    let sessions = 0;
    await expectWholeReads(new TestContext(), () => {
      sessions++;
      return splitSession(true);
    });
    expect(sessions).toBe(WHOLE_READ_SESSIONS);
  });
});
