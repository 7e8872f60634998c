import { describe, expect, it } from 'vitest';
import { defaultWorkers, MEMBERS_PER_WORKER } from '../../src/bench/bench-threads.js';

describe('defaultWorkers', () => {
  it('is one thread for small runs, whatever the cores', () => {
    expect(defaultWorkers(100, 8)).toBe(1);
    expect(defaultWorkers(MEMBERS_PER_WORKER * 2 - 1, 8)).toBe(1);
  });
  it('adds a thread per MEMBERS_PER_WORKER members, up to one per core', () => {
    expect(defaultWorkers(MEMBERS_PER_WORKER * 2, 8)).toBe(2);
    expect(defaultWorkers(10_000, 2)).toBe(2);
    expect(defaultWorkers(10_000, 1)).toBe(1);
  });
});
