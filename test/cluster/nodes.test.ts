import { describe, expect, it } from 'vitest';
import { roundRobin } from '../../src/nodes.js';

describe('roundRobin', () => {
  it('gives the i-th connection the i-th address, starting with the first, wrapping around', () => {
    const next = roundRobin([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
      { host: 'c', port: 3 },
    ]);
    expect(Array.from({ length: 7 }, () => next().host)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('with one address, always gives it (a single server is judged as before)', () => {
    const next = roundRobin([{ host: 'a', port: 1 }]);
    expect([next(), next()]).toEqual([
      { host: 'a', port: 1 },
      { host: 'a', port: 1 },
    ]);
  });
});
