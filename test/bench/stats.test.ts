import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  bucketRange,
  HISTOGRAM_MAX_VALUE,
  Histogram,
  median,
  percentile,
} from '../../src/bench/stats.js';

const RUNS = Number(process.env.CHATKIT_PROPERTY_RUNS ?? 200);

describe('percentile (exact, nearest rank)', () => {
  // The worked example of the nearest-rank method.
  it.each([
    [0, 15],
    [5, 15],
    [30, 20],
    [40, 20],
    [50, 35],
    [100, 50],
  ])('of 15 20 35 40 50 at p%i is %i', (p, expected) => {
    expect(percentile([50, 15, 40, 35, 20], p)).toBe(expected);
  });

  it('is NaN for no values', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('median', () => {
  it('is the middle value of an odd count and the mean of the two middle values of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });
});

describe('Histogram', () => {
  it('keeps values below 256 exactly', () => {
    const h = new Histogram();
    for (const v of [0, 1, 2, 3, 255]) h.record(v);
    expect([
      h.percentile(20),
      h.percentile(40),
      h.percentile(60),
      h.percentile(80),
      h.percentile(100),
    ]).toEqual([0, 1, 2, 3, 255]);
    expect(h.count).toBe(5);
    expect(h.min).toBe(0);
    expect(h.max).toBe(255);
    expect(h.mean).toBeCloseTo(52.2);
  });

  it('answers 0 when empty', () => {
    const h = new Histogram();
    expect([h.percentile(99), h.max, h.min, h.mean, h.count]).toEqual([0, 0, 0, 0, 0]);
  });

  it('puts every value in a bucket whose range holds it, up to its largest value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: HISTOGRAM_MAX_VALUE }), (v) => {
        const { low, high } = bucketRange(bucketOf(v));
        expect(low).toBeLessThanOrEqual(v);
        expect(high).toBeGreaterThanOrEqual(v);
        expect(high - low).toBeLessThanOrEqual(Math.max(0, low / 128));
      }),
      { numRuns: RUNS },
    );
  });

  it('gives every percentile at least the exact one and at most 1/128 above it, never above the maximum', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2_000_000_000 }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (values, p) => {
          const h = new Histogram();
          for (const v of values) h.record(v);
          const exact = percentile(values, p);
          const approx = h.percentile(p);
          expect(approx).toBeGreaterThanOrEqual(exact);
          expect(approx).toBeLessThanOrEqual(exact + exact / 128 + 1);
          expect(approx).toBeLessThanOrEqual(Math.max(...values));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('merges: the merged histogram answers as one that recorded both', () => {
    const a = new Histogram();
    const b = new Histogram();
    const both = new Histogram();
    for (let i = 0; i < 1000; i++) {
      const v = (i * 7919) % 100_003;
      (i % 2 ? a : b).record(v);
      both.record(v);
    }
    a.merge(b);
    for (const p of [1, 50, 90, 99, 100]) expect(a.percentile(p)).toBe(both.percentile(p));
    expect([a.count, a.min, a.max]).toEqual([both.count, both.min, both.max]);
  });
});
