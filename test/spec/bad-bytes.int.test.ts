/**
 * Spec 1.0 NICK-RELAY-2 and TILDE-RELAY-2 (issue 15, ambiguity 4: NICK-RELAY-2 was stricter than
 * its case and than the tilde rule). What must never reach a member is the byte that breaks legacy
 * clients; closing the sender is the SHOULD, and a server MAY instead drop the chunk (both dialects),
 * relay only its ASCII bytes (NICK) or relay it with each invalid sequence replaced by U+FFFD
 * (tilde: no invalid UTF-8 is relayed). Each outcome, on the careful student servers of
 * test/fixtures/framing, passes the dialect's bad-bytes case; the tilde `replace` server also still
 * holds back a split character (its decoder replaces only what can never become valid).
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

/** Bound on one run (a case or two, each on a fresh process). */
const RUN_TIMEOUT_MS = 120_000;

vi.setConfig({ maxConcurrency: 2 });

const ROWS: readonly { dialect: DialectName; outcome: string; cases: readonly string[] }[] = [
  { dialect: 'nick', outcome: 'close', cases: ['nick.relay.non-ascii'] },
  { dialect: 'nick', outcome: 'drop', cases: ['nick.relay.non-ascii'] },
  { dialect: 'nick', outcome: 'strip', cases: ['nick.relay.non-ascii'] },
  { dialect: 'tilde', outcome: 'close', cases: ['tilde.relay.invalid-utf8'] },
  { dialect: 'tilde', outcome: 'drop', cases: ['tilde.relay.invalid-utf8'] },
  { dialect: 'tilde', outcome: 'replace', cases: ['tilde.relay.invalid-utf8', 'tilde.relay.split-character'] },
];

function run(dialect: DialectName, outcome: string, ids: readonly string[]): Promise<CaseResult[]> {
  const fixture = join(PACKAGE_ROOT, `test/fixtures/framing/${dialect}_server.py`);
  const cases = selectCases(ALL_CASES, { dialect, kind: 'server', profiles: ['core', 'robustness'] }).filter((c) =>
    ids.includes(c.id),
  );
  return runCases(cases, {
    target: { kind: 'spawn', command: `'${pythonExecutable()}' '${fixture}' --bad-bytes ${outcome} 127.0.0.1 {port}` },
    dialect,
  });
}

describe.concurrent('bad bytes from a member: every outcome the spec allows passes', () => {
  for (const { dialect, outcome, cases } of ROWS) {
    it(`${dialect}: --bad-bytes ${outcome} passes ${cases.join(', ')}`, { timeout: RUN_TIMEOUT_MS }, async () => {
      const results = await run(dialect, outcome, cases);
      expect(results.map((r) => r.id)).toEqual([...cases]);
      const wrong = results
        .filter((r) => r.verdict !== 'pass')
        .map((r) => `${r.id}: ${r.verdict} [${r.failure?.requirement ?? ''}] ${r.failure?.message ?? r.error ?? ''}`);
      expect(wrong.join('\n')).toBe('');
    });
  }
});
