/**
 * Schema 2 in every reporter: `blocked` (neither pass nor fail), optional hints, preconditions, the
 * seed, `unjudged`, and `--transcripts`. Reports are built by hand (report-fixtures.ts), so each
 * verdict is exactly what the test says.
 */
import { describe, expect, it } from 'vitest';
import type { CaseResult, RunReport } from '../../conformance/harness/report.js';
import { runReportSchema } from '../../conformance/harness/report.js';
import { matrixMarkdown } from '../../conformance/matrix.js';
import { badgeJson, badgeState } from '../../conformance/report/badge.js';
import { applyBaseline, updatedBaseline } from '../../conformance/report/baseline.js';
import { renderJson } from '../../conformance/report/json.js';
import { junitOutcome, renderJunit } from '../../conformance/report/junit.js';
import {
  caseDetails,
  detailsAndSummary,
  LiveProgress,
  PROVISIONAL,
  failureGroups,
  progressLine,
  renderPretty,
} from '../../conformance/report/pretty.js';
import { keepTranscripts, transcriptLines } from '../../conformance/report/transcript.js';
import { unjudgedReport } from '../../conformance/report/unjudged.js';
import { checkJunit } from './junit-schema.js';
import { caseResult, FAILED, mixedReport } from './report-fixtures.js';

const plain = { color: false };
const requirement = (id: string, level = 'MUST') => ({ id, level, text: `the text of ${id}` });
const transcript = [{ label: 'alice', events: [{ t: 1, dir: 'in' as const, bytes: 'NICK' }] }];

/** The echo case failed; two relay cases stand on it and are blocked. */
const ECHO = caseResult({
  id: 'nick.relay.echo',
  verdict: 'fail',
  requirements: [requirement('NICK-RELAY-1')],
  failure: {
    requirement: 'NICK-RELAY-1',
    requirementText: 'the text of NICK-RELAY-1',
    message: 'alice never received her own line back',
    expected: ['alice: hi'],
    actual: '',
  },
  transcript,
});
const blocked = (id: string, level: 'MUST' | 'SHOULD' = 'MUST') =>
  caseResult({
    id,
    verdict: 'blocked',
    level,
    blockedBy: { id: 'nick.relay.echo', requirement: 'NICK-RELAY-1' },
    transcript,
  });
const ORDER = blocked('nick.relay.order');
const BURST = blocked('nick.relay.burst', 'SHOULD');
const PASSED = caseResult({ id: 'nick.handshake.prompt', verdict: 'pass', transcript });

function report(cases: CaseResult[], extra: Partial<RunReport> = {}): RunReport {
  return { ...mixedReport({}, cases), ...extra };
}

describe('the blocked verdict', () => {
  const run = report([PASSED, ECHO, ORDER, BURST]);

  it('counts neither as passed nor as failed: MUST 1/2 over the judged cases, and the JSON keeps it', () => {
    expect(run.summary).toMatchObject({ blocked: 2, fail: 1, pass: 1, must: { passed: 1, total: 2 }, should: { total: 0 } });
    const back = runReportSchema.parse(JSON.parse(renderJson(run)));
    expect(back.cases[2]).toMatchObject({ verdict: 'blocked', blockedBy: { id: 'nick.relay.echo', requirement: 'NICK-RELAY-1' } });
  });

  it('shows as BLOCKED with what blocks it in the progress line and the details', () => {
    expect(progressLine(ORDER, 2, 4, plain)).toBe(
      '[3/4] BLOCKED nick.relay.order blocked by nick.relay.echo (NICK-RELAY-1) (42 ms)',
    );
    expect(caseDetails(ORDER, plain)).toMatch(/^BLOCKED nick\.relay\.order: .*\n {2}blocked by nick\.relay\.echo \(NICK-RELAY-1\): neither a pass nor a fail/);
    expect(detailsAndSummary(run, plain)).toMatch(/1 pass, 1 fail, 2 blocked/);
  });

  it('marks live failures provisional, and says after the run how many turned out blocked', () => {
    const written: string[] = [];
    const stream = { write: (text: string) => written.push(text) } as unknown as NodeJS.WritableStream;
    const live = new LiveProgress(stream, false, plain);
    live.caseEnded(PASSED, 0, 2);
    live.caseEnded({ ...ORDER, verdict: 'fail' }, 1, 2);
    expect(written[0]).not.toContain(PROVISIONAL);
    expect(written[1]).toContain(PROVISIONAL);
    expect(detailsAndSummary(run, plain)).toContain('root causes settled: 2 cases shown above as FAIL or WARN are blocked');
    expect(detailsAndSummary(report([PASSED, ECHO]), plain)).not.toContain('root causes settled');
  });

  it('is a JUnit <skipped> with the reason, and the document stays valid', async () => {
    expect(junitOutcome(ORDER, 'must')).toBe('skipped');
    const xml = renderJunit(run);
    expect(await checkJunit(xml)).toEqual([]);
    expect(xml).toContain('<skipped message="blocked by nick.relay.echo (NICK-RELAY-1)"/>');
    expect(xml).not.toMatch(/KNOWN FAILURE/);
    expect(xml).toMatch(/tests="4" failures="1" errors="0" skipped="2"/);
  });

  it('leaves the badge at MUST x/y over judged cases, red for the one real failure', () => {
    expect(badgeState(run)).toBe('fail');
    expect(badgeJson(run).message).toBe('MUST 1/2');
    const onlyBlockedAndPassed = report([PASSED, ORDER]);
    expect(badgeJson(onlyBlockedAndPassed)).toMatchObject({ message: 'MUST 1/1', color: 'brightgreen' });
  });

  it('is neither known nor fixed against a baseline, and keeps its old entry', () => {
    const entries = [{ id: 'nick.relay.order', verdict: 'fail' as const, date: '2025-01-01' }];
    const ids = run.cases.map((c) => c.id);
    const { cases } = applyBaseline(run.cases, entries, ids);
    expect(cases.find((c) => c.id === 'nick.relay.order')?.baseline).toBeUndefined();
    expect(updatedBaseline(entries, run.cases, ids, '2026-12-04')).toEqual([
      { id: 'nick.relay.echo', verdict: 'fail', date: '2026-12-04' },
      { id: 'nick.relay.order', verdict: 'fail', date: '2025-01-01' },
    ]);
  });

  it('has its own symbol in the verdict matrix', () => {
    const target = { name: 'no-echo', dialect: 'nick', kind: 'server' } as const;
    const md = matrixMarkdown([{ target: target as never, results: run.cases }], { date: '2026-12-04', durationMs: 1 });
    expect(md).toContain('| `nick.relay.order` | MUST | blocked (NICK-RELAY-1) |');
    expect(md).toContain('| `nick.relay.echo` | MUST | **FAIL** |');
  });
});

describe('the pretty report, grouped by root cause', () => {
  const single = caseResult({
    id: 'nick.leave.ghost',
    verdict: 'warn',
    level: 'SHOULD',
    requirements: [requirement('NICK-LEAVE-2')],
    failure: { ...FAILED.failure!, requirement: 'NICK-LEAVE-2' },
  });
  const run = report([PASSED, ECHO, ORDER, single, BURST], { seed: 424242 });
  const text = detailsAndSummary(run, plain);

  it('says in one line at the top what to fix first: the MUST failure that blocks the most', () => {
    const lines = text.split('\n').filter((l) => l !== '');
    expect(lines[0]).toBe('seed 424242: the names and texts of this run (--seed 424242 reproduces them)');
    expect(lines[1]).toBe(
      'fix first: nick.relay.echo (NICK-RELAY-1): alice never received her own line back; it takes 2 other cases down with it (2 root causes in all, below)',
    );
  });

  it('puts each failure with the cases it blocks, shortest group first', () => {
    const groups = failureGroups(run);
    expect(groups.map((g) => [g.root.id, g.members.map((m) => m.id)])).toEqual([
      ['nick.leave.ghost', []],
      ['nick.relay.echo', ['nick.relay.order', 'nick.relay.burst']],
    ]);
    const ghost = text.indexOf('WARN  nick.leave.ghost');
    const echo = text.indexOf('FAIL  nick.relay.echo');
    expect(ghost).toBeGreaterThan(0);
    expect(echo).toBeGreaterThan(ghost);
    expect(text.slice(echo)).toMatch(/\n {2}BLOCKED nick\.relay\.order: blocked by nick\.relay\.echo \(NICK-RELAY-1\)\n {2}BLOCKED nick\.relay\.burst/);
  });

  it('a case that failed on a precondition joins the group of the case that judges it', () => {
    const pre = caseResult({
      id: 'nick.relay.many',
      verdict: 'fail',
      failure: { ...ECHO.failure!, precondition: 'nick.relay.echo' },
    });
    const groups = failureGroups(report([ECHO, pre]));
    expect(groups.map((g) => [g.root.id, g.members.map((m) => m.id)])).toEqual([['nick.relay.echo', ['nick.relay.many']]]);
    expect(caseDetails(pre, plain)).toContain('a precondition of this case failed: the one nick.relay.echo judges');
  });

  it('shows a WARN case at the level of the sentence it checks, not the block\'s (spec §9.2)', () => {
    const warn = caseResult({
      id: 'nick.frame.one-write',
      verdict: 'warn',
      level: 'SHOULD',
      requirements: [requirement('FRAME-2', 'MUST')],
      failure: { ...ECHO.failure!, requirement: 'FRAME-2', requirementText: 'the text of FRAME-2' },
    });
    expect(caseDetails(warn, plain)).toContain('FRAME-2 (SHOULD): the text of FRAME-2');
    expect(caseDetails(warn, plain)).not.toContain('(MUST)');
  });

  it('prints no hint line when the failure has none, only what was expected and what arrived', () => {
    const details = caseDetails(ECHO, plain);
    expect(details).not.toMatch(/hint:/);
    expect(details).toMatch(/expected:\n {4}"alice: hi"\n {2}received:\n {4}""/);
    expect(caseDetails(FAILED, plain)).toMatch(/hint: When recv\(\) returns/);
  });

  it('folds repeated identical transcript lines into one note', () => {
    const flood = caseResult({
      id: 'nick.robust.flood',
      verdict: 'fail',
      failure: ECHO.failure!,
      transcript: [
        {
          label: 'bob',
          events: [
            { t: 1, dir: 'in', bytes: 'NICK' },
            ...Array.from({ length: 24 }, (_, i) => ({ t: 2 + i, dir: 'in' as const, bytes: 'xxxx' })),
            { t: 30, dir: 'event', note: 'eof' },
          ],
        },
      ],
    });
    const lines = transcriptLines(flood);
    expect(lines).toHaveLength(4);
    expect(lines.filter((l) => l.includes('"xxxx"'))).toHaveLength(1);
    expect(lines[2]).toMatch(/… 23 more like this \(until \+25\.0ms\)$/);
    expect(renderPretty(report([flood]), plain)).toContain('… 23 more like this');
  });
});

describe('a run that could not judge', () => {
  const nothing = unjudgedReport({
    chatkitVersion: '0.1.0',
    startedAt: new Date('2026-12-04T16:00:00Z'),
    durationMs: 12,
    target: { address: '127.0.0.1:1', dialect: 'nick', detected: false },
    profiles: ['core', 'robustness'],
    only: [],
    exclude: [],
    retries: 0,
    failOn: 'must',
    reason: 'PROBE_UNREACHABLE: 127.0.0.1:1: connection refused',
  });

  it('is a valid schema-2 report with exit 3 and its reason, a grey badge, a JUnit error and a pretty sentence', async () => {
    expect(runReportSchema.parse(JSON.parse(renderJson(nothing))).unjudged?.reason).toContain('connection refused');
    expect(nothing.exitCode).toBe(3);
    expect(badgeJson(nothing)).toMatchObject({ message: 'not judged', color: 'lightgrey' });
    const xml = renderJunit(nothing);
    expect(await checkJunit(xml)).toEqual([]);
    expect(xml).toMatch(/<testcase name="chatkit conform: not judged"[^>]*>\n\s*<error message="PROBE_UNREACHABLE: 127\.0\.0\.1:1: connection refused" type="unjudged">/);
    expect(detailsAndSummary(nothing, plain)).toMatch(/not judged: PROBE_UNREACHABLE: 127\.0\.0\.1:1: connection refused \(exit 3\)$/);
  });

  it('a target that stopped answering mid-run: grey, never green, and the case it stopped during is named', () => {
    const cut = report([PASSED, caseResult({ id: 'nick.relay.order', verdict: 'error', error: 'the target stopped answering' })], {
      unjudged: { reason: 'the target stopped answering during nick.relay.echo', during: 'nick.relay.echo' },
    });
    expect(cut.exitCode).toBe(3);
    expect(badgeState(cut)).toBe('unjudged');
    expect(detailsAndSummary(cut, plain)).toContain(
      'not judged: the target stopped answering during nick.relay.echo (exit 3)',
    );
  });
});

describe('--transcripts', () => {
  const run = report([PASSED, ECHO, ORDER, caseResult({ id: 'x', verdict: 'error', error: 'boom', transcript })]);

  it('failing (the default) keeps the transcripts of fail, warn, flaky and error cases only', () => {
    const kept = keepTranscripts(run, 'failing');
    expect(kept.cases.map((c) => [c.id, c.transcript.length])).toEqual([
      ['nick.handshake.prompt', 0],
      ['nick.relay.echo', 1],
      ['nick.relay.order', 0],
      ['x', 1],
    ]);
    expect(run.cases[0]!.transcript).toHaveLength(1);
  });

  it('all keeps every one', () => {
    expect(keepTranscripts(run, 'all')).toBe(run);
  });
});
