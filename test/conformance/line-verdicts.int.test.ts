/**
 * The line-profile server cases (spec/PROTOCOL.md §8) give the verdicts they must, run through the
 * runner as `chatkit conform` runs them, against chatkit's reference server on loopback:
 * - started with the line profile and judged with `--framing line`, it passes every line case;
 * - judged without `--framing line` (the profile is optional), every line case is `skip`, with the
 *   reason, never `pass` or `fail`;
 * - started without the line profile (chunk framing, its default) but judged with `--framing line`,
 *   it fails every line case on LINE-1: its messages carry no LF.
 *
 * No retries, so a flaky verdict shows as a failure here. Every case has its own budget; the rows
 * of the two dialects run concurrently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import type { Verdict } from '../../conformance/harness/case.js';
import type { CaseResult } from '../../conformance/harness/report.js';
import { runCases } from '../../conformance/harness/runner.js';
import { selectCases } from '../../conformance/harness/select.js';
import { LINE_CASES } from '../../conformance/line/cases.js';
import { LINE_PROFILE_SKIP_REASON } from '../../conformance/line/support.js';
import { requirementCoverage } from '../../conformance/report/coverage.js';
import type { DialectName } from '../../src/codec/index.js';
import { type ChatServer, startServer } from '../../src/reference-server/index.js';

/** Bound on one row (three cases, each with its own budget; a failing one waits out a step bound). */
const ROW_TIMEOUT_MS = 120_000;
const DIALECTS: readonly DialectName[] = ['nick', 'tilde'];

const casesOf = (dialect: DialectName) => LINE_CASES.filter((c) => c.dialect === dialect);

/** What a result shows when its verdict is not the expected one. */
function explain(r: CaseResult): string {
  const f = r.failure;
  return [
    `${r.id}: ${r.verdict} after ${r.durationMs} ms`,
    f ? `[${f.requirement}] ${f.message}\n  expected: ${f.expected.join(' | ')}\n  actual: ${f.actual}` : '',
    r.skipReason ?? '',
    r.error ?? '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** The verdict and, for a failure, the requirement of each result, by case id. */
const verdicts = (results: readonly CaseResult[]) =>
  Object.fromEntries(results.map((r) => [r.id, { verdict: r.verdict, requirement: r.failure?.requirement }]));

describe('the line cases are registered', () => {
  it('one case per requirement of §8 in each dialect, MUST, in the profile Annex C gives it', () => {
    for (const dialect of DIALECTS) {
      expect(
        casesOf(dialect).map((c) => [c.id, c.requirements[0], c.level, c.profile, c.kind]),
        dialect,
      ).toEqual([
        [`${dialect}.line.terminated`, 'LINE-1', 'MUST', 'core', 'server'],
        [`${dialect}.line.chunk-boundaries`, 'LINE-3', 'MUST', 'core', 'server'],
        [`${dialect}.line.too-long`, 'LINE-2', 'MUST', 'robustness', 'server'],
      ]);
      const profiles = ['core', 'robustness'] as const;
      const selected = selectCases(ALL_CASES, { dialect, kind: 'server', profiles, framing: 'line' });
      for (const c of casesOf(dialect)) expect(selected, c.id).toContain(c);
      // A run against a target not declared to speak the line profile leaves them out.
      const chunk = selectCases(ALL_CASES, { dialect, kind: 'server', profiles });
      for (const c of casesOf(dialect)) expect(chunk, c.id).not.toContain(c);
    }
  });

  it('covers LINE-1, LINE-2 and LINE-3 in the requirement coverage of --list', () => {
    const rows = requirementCoverage(ALL_CASES).filter((r) => r.id.startsWith('LINE-'));
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      ['LINE-1', 'covered'],
      ['LINE-2', 'covered'],
      ['LINE-3', 'covered'],
    ]);
  });
});

describe.concurrent('line cases on the reference server', () => {
  const lineServers = new Map<DialectName, ChatServer>();
  const chunkServers = new Map<DialectName, ChatServer>();
  beforeAll(async () => {
    for (const dialect of DIALECTS) {
      lineServers.set(dialect, await startServer({ dialect, port: 0, framing: 'line' }));
      chunkServers.set(dialect, await startServer({ dialect, port: 0 }));
    }
  });
  afterAll(async () => {
    for (const server of [...lineServers.values(), ...chunkServers.values()]) await server.close();
  });

  const address = (servers: Map<DialectName, ChatServer>, dialect: DialectName) =>
    ({ kind: 'address', host: '127.0.0.1', port: servers.get(dialect)!.port }) as const;

  for (const dialect of DIALECTS) {
    it(`${dialect}: with the line profile, judged with --framing line, passes every line case`, {
      timeout: ROW_TIMEOUT_MS,
    }, async () => {
      const results = await runCases(casesOf(dialect), {
        target: address(lineServers, dialect),
        dialect,
        framing: 'line',
      });
      expect(results.filter((r) => r.verdict !== 'pass').map(explain).join('\n\n')).toBe('');
      expect(results.map((r) => r.verdict)).toEqual(['pass', 'pass', 'pass']);
    });

    it(`${dialect}: judged without --framing line, every line case is skipped with the reason`, {
      timeout: ROW_TIMEOUT_MS,
    }, async () => {
      for (const servers of [lineServers, chunkServers]) {
        const results = await runCases(casesOf(dialect), { target: address(servers, dialect), dialect });
        for (const r of results) {
          expect(r.verdict, explain(r)).toBe<Verdict>('skip');
          expect(r.skipReason).toBe(LINE_PROFILE_SKIP_REASON);
          expect(r.failure).toBeUndefined();
        }
      }
    });

    it(`${dialect}: without the line profile (chunk framing), judged with --framing line, fails every line case on LINE-1`, {
      timeout: ROW_TIMEOUT_MS,
    }, async () => {
      const results = await runCases(casesOf(dialect), {
        target: address(chunkServers, dialect),
        dialect,
        framing: 'line',
      });
      expect(verdicts(results), results.map(explain).join('\n\n')).toEqual({
        [`${dialect}.line.terminated`]: { verdict: 'fail', requirement: 'LINE-1' },
        [`${dialect}.line.chunk-boundaries`]: { verdict: 'fail', requirement: 'LINE-1' },
        [`${dialect}.line.too-long`]: { verdict: 'fail', requirement: 'LINE-1' },
      });
      const terminated = results.find((r) => r.id === `${dialect}.line.terminated`)!;
      expect(terminated.failure?.message).toMatch(/is not followed by LF/);
    });
  }
});
