import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../src/reference-server/log.js';
import { limitLogRate } from '../../src/reference-server/log-limit.js';

const entry = (event: LogEntry['event'], peer: string): LogEntry => ({
  time: 't',
  level: 'warn',
  event,
  peer,
  code: 'SERVER_FULL',
});

describe('log rate limit', () => {
  it('passes a burst of one kind, counts the rest, and reports the count once the window is over', () => {
    const out: LogEntry[] = [];
    let t = 0;
    const log = limitLogRate((e) => out.push(e), { burst: 3, windowMs: 1_000, now: () => t });
    for (let i = 0; i < 10; i++) log.log(entry('reject', `p${i}`));
    log.log(entry('connect', 'other kind'));
    expect(out.map((e) => e.peer)).toEqual(['p0', 'p1', 'p2', 'other kind']);
    t = 1_000;
    log.log(entry('reject', 'p10'));
    expect(out.slice(4).map((e) => [e.peer, e.detail])).toEqual([
      [undefined, '7 more like this in 1000 ms not logged (rate limit 3 per 1000 ms)'],
      ['p10', undefined],
    ]);
    expect(out[4]).toMatchObject({ event: 'reject', code: 'SERVER_FULL' });
  });

  it('flush reports what is still counted', () => {
    const out: LogEntry[] = [];
    const log = limitLogRate((e) => out.push(e), { burst: 1, windowMs: 60_000, now: () => 0 });
    log.log(entry('reject', 'a'));
    log.log(entry('reject', 'b'));
    log.flush();
    expect(out.map((e) => e.detail)).toEqual([undefined, '1 more like this in 60000 ms not logged (rate limit 1 per 60000 ms)']);
  });
});
