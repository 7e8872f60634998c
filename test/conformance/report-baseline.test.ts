import {readFileSync, writeFileSync} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finishReport } from '../../conformance/conform.js';
import {
  applyBaseline,
  BaselineError,
  parseBaseline,
  readBaseline,
  renderBaseline,
  updatedBaseline,
  writeBaseline,
} from '../../conformance/report/baseline.js';
import { caseResult } from './report-fixtures.js';
import { tempDir } from '../support/temp-dir.js';

const ALL = ['a', 'b', 'c', 'd', 'e'];
const results = [
  caseResult({ id: 'a', verdict: 'fail' }), // listed: known
  caseResult({ id: 'b', verdict: 'fail' }), // not listed: new
  caseResult({ id: 'c', verdict: 'pass' }), // listed: fixed
  caseResult({ id: 'd', verdict: 'warn', level: 'SHOULD' }), // not listed: new
  caseResult({ id: 'e', verdict: 'pass' }),
];
const baseline = [
  { id: 'a', verdict: 'fail' as const, date: '2025-01-01' },
  { id: 'c', verdict: 'fail' as const, date: '2025-01-02' },
  { id: 'gone', verdict: 'fail' as const, date: '2025-01-03' },
];

describe('baselines', () => {
  it('marks known, new and fixed cases and lists stale entries', () => {
    const { cases, stale } = applyBaseline(results, baseline, ALL);
    expect(cases.map((c) => [c.id, c.baseline])).toEqual([
      ['a', 'known'],
      ['b', 'new'],
      ['c', 'fixed'],
      ['d', 'new'],
      ['e', undefined],
    ]);
    expect(stale).toEqual(['gone']);
  });

  it('known failures do not fail the exit code, new ones do', () => {
    const run = {
      spec: { kind: 'address', host: '127.0.0.1', port: 1 } as const,
      resolution: { dialect: 'nick' as const, detected: false, release: async () => {} },
      allIds: ALL,
      profiles: ['core' as const],
      only: [],
      exclude: [],
      framing: 'chunk' as const,
      retries: 0,
      failOn: 'must' as const,
      timeoutScale: 1,
    };
    const onlyKnown = finishReport(
      { ...run, baseline: { entries: baseline, update: false } },
      [results[0]!, results[2]!],
      new Date(),
      1,
    );
    expect(onlyKnown.report.exitCode).toBe(0);
    expect(onlyKnown.report.staleBaseline).toEqual(['gone']);
    const withNew = finishReport(
      { ...run, baseline: { entries: baseline, update: false } },
      results,
      new Date(),
      1,
    );
    expect(withNew.report.exitCode).toBe(1);
    // --update-baseline: the current failures are written, and from then on known.
    const updated = finishReport(
      { ...run, baseline: { entries: baseline, update: true } },
      results,
      new Date('2025-06-01T00:00:00Z'),
      1,
    );
    expect(updated.report.exitCode).toBe(0);
    expect(updated.baseline).toEqual([
      { id: 'a', verdict: 'fail', date: '2025-01-01' },
      { id: 'b', verdict: 'fail', date: '2025-06-01' },
      { id: 'd', verdict: 'warn', date: '2025-06-01' },
    ]);
  });

  it('an update keeps entries of cases this run did not select, and unjudged ones, and drops stale ones', () => {
    const entries = [
      { id: 'a', verdict: 'fail' as const, date: '2025-01-01' },
      { id: 'e', verdict: 'fail' as const, date: '2025-01-05' },
      { id: 'gone', verdict: 'fail' as const, date: '2025-01-03' },
    ];
    const next = updatedBaseline(entries, [caseResult({ id: 'e', verdict: 'error' })], ALL, '2025-06-01');
    expect(next).toEqual([
      { id: 'a', verdict: 'fail', date: '2025-01-01' },
      { id: 'e', verdict: 'fail', date: '2025-01-05' },
    ]);
  });

  it('reads the documented file, a bare list of ids, and rejects anything else with BASELINE_INVALID', () => {
    expect(parseBaseline('[{"id":"a","verdict":"warn","date":"2025-01-01"}]')).toEqual([
      { id: 'a', verdict: 'warn', date: '2025-01-01' },
    ]);
    expect(parseBaseline('["a", "b"]')).toEqual([
      { id: 'a', verdict: 'fail', date: '' },
      { id: 'b', verdict: 'fail', date: '' },
    ]);
    for (const bad of ['{"id":"a"}', '[{"id":"a","verdict":"maybe"}]', 'not json', '[1]']) {
      expect(() => parseBaseline(bad)).toThrow(BaselineError);
    }
    try {
      parseBaseline('[1]');
    } catch (error) {
      expect((error as BaselineError).code).toBe('BASELINE_INVALID');
    }
  });

  it('writes one entry per line and reads it back; a missing file is an error unless updating', () => {
    const dir = tempDir('baseline');
    const path = join(dir, 'baseline.json');
    expect(() => readBaseline(path, false)).toThrow(/does not exist/);
    expect(readBaseline(path, true)).toEqual([]);
    writeBaseline(path, baseline);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(baseline.length + 3);
    expect(readBaseline(path, false)).toEqual(baseline);
    expect(renderBaseline([])).toBe('[]\n');
    writeFileSync(path, '{');
    expect(() => readBaseline(path, false)).toThrow(BaselineError);
  });
});
