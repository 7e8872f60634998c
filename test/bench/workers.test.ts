import { describe, expect, it } from 'vitest';
import {
  defaultWorkers,
  MEMBERS_PER_WORKER,
  ONE_THREAD_DELIVERIES_PER_SECOND,
} from '../../src/bench/bench-threads.js';

const full = (clients: number) => ({ clients, senders: 100, rate: 0 });

describe('defaultWorkers', () => {
  it('is one thread for small runs, whatever the cores', () => {
    expect(defaultWorkers(full(100), 8)).toBe(1);
    expect(defaultWorkers(full(MEMBERS_PER_WORKER * 2 - 1), 8)).toBe(1);
  });
  it('adds a thread per MEMBERS_PER_WORKER members at full speed, up to one per core', () => {
    expect(defaultWorkers(full(MEMBERS_PER_WORKER * 2), 8)).toBe(2);
    expect(defaultWorkers(full(10_000), 2)).toBe(2);
    expect(defaultWorkers(full(10_000), 1)).toBe(1);
  });
  it('is one thread for a paced run that one thread keeps up with, more past it', () => {
    expect(defaultWorkers({ clients: 1000, senders: 100, rate: 5 }, 8)).toBe(1);
    const heavy = { clients: 10_000, senders: 100, rate: 5 };
    expect(heavy.clients * heavy.senders * heavy.rate).toBeGreaterThanOrEqual(ONE_THREAD_DELIVERIES_PER_SECOND);
    expect(defaultWorkers(heavy, 8)).toBe(8);
  });
});
