/**
 * Spec Annex E (issue 15, ambiguity 1: "no timing bound has a normative minimum"): every checker
 * bound has a minimum, and `chatkit conform --timeout-scale` can shorten a bound but never below it
 * (§3.7 item 10). The table's minimum and default columns are checked against the constants, and
 * the smallest scale the CLI accepts against the minimums.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scaledTiming, TIMING_MINIMUMS } from '../../conformance/conform.js';
import { CASE_TIMEOUT_MIN_MS, CASE_TIMEOUT_MS, caseBudgetMs } from '../../conformance/harness/case.js';
import { QUIET_WINDOW_MS, STEP_TIMEOUT_MS } from '../../conformance/harness/timing.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

/** The smallest `--timeout-scale` the CLI accepts (cli/commands/conform.ts). */
const SMALLEST_SCALE = 0.1;

const spec = readFileSync(join(PACKAGE_ROOT, 'spec/PROTOCOL.md'), 'utf8');
const annexE = spec.slice(spec.indexOf('## Annex E'));

/** Annex E's row for `name`: its minimum and default, as numbers. */
function row(name: string): { minimum: number; default: number } {
  const line = annexE.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
  if (line === undefined) throw new Error(`Annex E has no row for ${name}`);
  const cells = line.split('|').map((c) => c.trim());
  return { minimum: Number(cells[3]), default: Number(cells[4]) };
}

describe('spec Annex E: checker bounds have minimums that --timeout-scale respects', () => {
  it('the table states the constants the checker uses', () => {
    expect(row('STEP_TIMEOUT_MS')).toEqual({ minimum: TIMING_MINIMUMS.stepMs, default: STEP_TIMEOUT_MS });
    expect(row('QUIET_WINDOW_MS')).toEqual({ minimum: TIMING_MINIMUMS.quietMs, default: QUIET_WINDOW_MS });
    expect(row('CASE_TIMEOUT_MS')).toEqual({ minimum: CASE_TIMEOUT_MIN_MS, default: CASE_TIMEOUT_MS });
  });

  it('the smallest scale keeps every step, quiet window and case budget at its minimum', () => {
    expect(scaledTiming(SMALLEST_SCALE)).toEqual(TIMING_MINIMUMS);
    expect(caseBudgetMs({}, SMALLEST_SCALE)).toBe(CASE_TIMEOUT_MIN_MS);
    // A case with a larger budget of its own keeps more than the minimum.
    expect(caseBudgetMs({ timeoutMs: 100_000 }, SMALLEST_SCALE)).toBe(10_000);
  });

  it('scale 1 is the defaults, and larger scales raise every bound', () => {
    expect(scaledTiming(1)).toEqual({ stepMs: STEP_TIMEOUT_MS, quietMs: QUIET_WINDOW_MS });
    expect(caseBudgetMs({})).toBe(CASE_TIMEOUT_MS);
    expect(scaledTiming(3)).toEqual({ stepMs: 3 * STEP_TIMEOUT_MS, quietMs: 3 * QUIET_WINDOW_MS });
    expect(caseBudgetMs({}, 3)).toBe(3 * CASE_TIMEOUT_MS);
  });
});
