/**
 * Spec 1.0 FRAME-4 (issue 15, ambiguity 4): a tilde receiver holds back AT LEAST the incomplete
 * character at a chunk's end and AT MOST that chunk's last message. chatkit's own decoder holds back
 * the whole last message; a student's server that decodes with Python's incremental UTF-8 decoder
 * holds back only the character's first bytes and relays the rest at once. Both are correct, so the
 * second must pass every tilde server case (test/fixtures/framing/tilde_server.py, a real Python
 * process per case, as `chatkit conform --spawn` runs it). The converse: the same student's first
 * version collects content until a newline, which holds back far more than the last message (the
 * protocol has no delimiter, TILDE-RELAY-1 relays each chunk): one bug, one failure, on the relay.
 * NICK has no multi-byte character to hold back: its twin (nick_server.py) relays every chunk at once
 * and passes every NICK case, and its newline-waiting version fails once, on NICK-RELAY-1.
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import type { CaseResult } from '../../conformance/harness/report.js';
import { runCases } from '../../conformance/harness/runner.js';
import { selectCases } from '../../conformance/harness/select.js';
import { pythonExecutable } from '../../src/processes/index.js';
import type { DialectName } from '../../src/codec/index.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

/** Bound on one run of the suite (every case, two at a time, each on a fresh process). */
const RUN_TIMEOUT_MS = 300_000;

// Two suites at a time, each two cases at a time: the machine's two cores stay the bound.
vi.setConfig({ maxConcurrency: 2 });

const casesOf = (dialect: DialectName) =>
  selectCases(ALL_CASES, { dialect, kind: 'server', profiles: ['core', 'robustness'] });

/** The dialect's whole server suite against its fixture, started with `flags`, as `conform --spawn` runs it. */
const run = (dialect: DialectName, ...flags: string[]): Promise<CaseResult[]> => {
  const fixture = join(PACKAGE_ROOT, `test/fixtures/framing/${dialect}_server.py`);
  return runCases(casesOf(dialect), {
    target: { kind: 'spawn', command: `'${pythonExecutable()}' '${fixture}' ${flags.join(' ')} 127.0.0.1 {port}` },
    dialect,
    jobs: 2,
  });
};

/** One line per case that did not pass: what a reader needs to see why. */
const explain = (results: readonly CaseResult[]): string =>
  results
    .filter((r) => r.verdict !== 'pass')
    .map(
      (r) =>
        `${r.id}: ${r.verdict} ${r.blockedBy?.id ?? ''} [${r.failure?.requirement ?? ''}] ${r.failure?.message ?? r.error ?? ''}`,
    )
    .join('\n');

describe.concurrent('FRAME-4: a server relays what it reads at once, holding back at most an incomplete character', () => {
  it('tilde: a server that holds back only the incomplete character passes every case', { timeout: RUN_TIMEOUT_MS }, async () => {
    const results = await run('tilde');
    expect(results.map((r) => r.id)).toEqual(casesOf('tilde').map((c) => c.id));
    expect(explain(results), 'cases that did not pass').toBe('');
    // The case that writes a character in two pieces ran and passed: the fixture relayed `h` at
    // once and `éllo` with the next chunk, a cut a whole-relay reading of FRAME-4 would fail.
    expect(results.find((r) => r.id === 'tilde.relay.split-character')?.verdict).toBe('pass');
  });

  it('NICK: a server that relays every chunk at once passes every case', { timeout: RUN_TIMEOUT_MS }, async () => {
    const results = await run('nick');
    expect(results.map((r) => r.id)).toEqual(casesOf('nick').map((c) => c.id));
    expect(explain(results), 'cases that did not pass').toBe('');
    expect(results.find((r) => r.id === 'nick.relay.split-merge')?.verdict).toBe('pass');
  });

  for (const [dialect, requirement] of [
    ['tilde', 'TILDE-RELAY-1'],
    ['nick', 'NICK-RELAY-1'],
  ] as const) {
    it(`${dialect}: a server that waits for a newline fails once, on ${requirement}; every other case passes or is blocked by it`, {
      timeout: RUN_TIMEOUT_MS,
    }, async () => {
      const results = await run(dialect, '--until-newline');
      const failing = results.filter((r) => r.verdict === 'fail' || r.verdict === 'warn');
      expect(
        failing.map((r) => r.id),
        explain(results),
      ).toEqual([`${dialect}.relay.all`]);
      const root = failing[0]!;
      expect(root.verdict).toBe('fail');
      expect(root.failure?.requirement).toBe(requirement);
      // The hint a student reads names the bug: the server waits for an end marker.
      expect(root.failure?.hint).toMatch(/no newline or other end marker/);
      for (const r of results.filter((r) => r !== root)) {
        expect(['pass', 'blocked', 'skip'], `${r.id}\n${explain(results)}`).toContain(r.verdict);
        if (r.verdict === 'blocked') expect(r.blockedBy?.id, r.id).toBe(root.id);
      }
    });
  }
});
