/**
 * One bug costs one failure (issue 9): a server that is correct but for one defect fails exactly the
 * cases of the requirement that defect breaks, at most three, and every other case passes or is
 * `blocked` by one of them. Each mutant of the zoo (conformance/mutants) runs the whole server suite
 * as `chatkit conform --spawn` runs it (root causes settled, two cases at a time), and its failing
 * set is pinned here. `@variant` runs the mutant with a student's wording of every text: the text
 * requirements fail once each, and the defect under them is still found (no masking).
 *
 * CI runs {@link CI_ROWS} (about four minutes); `CHATKIT_ROOT_CAUSE_MATRIX=1` runs every row
 * (about half an hour). `tsx scripts/root-cause-matrix.ts nick DEFECT…` prints a row's sets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import type { CaseResult } from '../../conformance/harness/report.js';
import { runCases } from '../../conformance/harness/runner.js';
import { selectCases } from '../../conformance/harness/select.js';
import { pythonExecutable } from '../../src/processes/index.js';
import type { DialectName } from '../../src/codec/index.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

/** Bound on one row: the whole suite against one mutant, two cases at a time. */
const ROW_TIMEOUT_MS = 400_000;
/** Most cases one defect may fail. */
const MAX_FAILURES = 3;

vi.setConfig({ maxConcurrency: 2 });

/** The cases each mutant fails (fail or warn), by dialect and `defect[@wording]`. */
const PINS: Readonly<Record<DialectName, Readonly<Record<string, readonly string[]>>>> = {
  nick: {
    'wrong-join-text': ['nick.join.broadcast'],
    'no-echo-to-sender': ['nick.relay.echo'],
    'no-leave': ['nick.leave.reset'],
    'dies-on-disconnect': ['nick.leave.reset'],
    'one-client-at-a-time': ['nick.join.broadcast', 'nick.robust.many-clients'],
    // The echo case's wait on the other member is nick.relay.all's precondition: one failure.
    truncates: ['nick.relay.all'],
    'no-connected': ['nick.join.connected'],
    'prompt-late': ['nick.handshake.prompt', 'nick.robust.many-clients'],
    'relays-non-ascii': ['nick.relay.non-ascii'],
    'leave-twice': ['nick.leave.reset'],
    'cuts-oversize': ['nick.relay.oversize', 'nick.robust.slow-reader', 'nick.robust.slow-reader-closed'],
    'split-writes': ['nick.frame.one-write'],
    'blocking-send': ['nick.robust.slow-reader', 'nick.robust.slow-reader-closed'],
    'blocking-handshake': ['nick.robust.handshake-nonblocking', 'nick.robust.handshake-timeout'],
    'admits-invalid': ['nick.handshake.invalid-nick', 'nick.handshake.non-ascii-nick'],
    'admits-duplicates': ['nick.handshake.duplicate-nick'],
    'keeps-newline': ['nick.handshake.trailing-newline'],
    'relay-to-prompted': ['nick.handshake.prompt-alone'],
    'connected-to-all': ['nick.join.connected'],
    // One exit, one cause: the SHOULD case that meets the same exit is blocked by the MUST one.
    'exits-on-non-ascii-nick': ['nick.handshake.non-ascii-nick'],
    'lowercase-announce': ['nick.join.broadcast', 'nick.leave.reset'],
    // Every member is closed for nothing: one cause (causes.ts), failed by the first case it shows in.
    'kick-after-join': ['nick.join.broadcast'],
    reformat: ['nick.relay.all', 'nick.relay.split-merge', 'nick.relay.oversize'],
    'announces-ghost': ['nick.leave.handshake-eof'],
    'ignores-eof': ['nick.leave.eof'],
    'none@variant': ['nick.join.broadcast', 'nick.join.connected', 'nick.leave.reset'],
    'no-echo-to-sender@variant': ['nick.join.broadcast', 'nick.join.connected', 'nick.relay.echo', 'nick.leave.reset'],
    'no-leave@variant': ['nick.join.broadcast', 'nick.join.connected', 'nick.leave.reset'],
  },
  tilde: {
    latin1: ['tilde.join.broadcast', 'tilde.relay.invalid-utf8', 'tilde.leave.eof'],
    'wrong-added-text': ['tilde.join.broadcast'],
    'no-echo-to-sender': ['tilde.relay.echo'],
    'no-leave-removal': ['tilde.relay.invalid-utf8', 'tilde.leave.eof', 'tilde.leave.announce'],
    // The process exits when a member leaves: one exit cause, failed by the first case it shows in.
    'dies-on-disconnect': ['tilde.relay.invalid-utf8'],
    'one-client-at-a-time': ['tilde.join.broadcast'],
    truncates: ['tilde.relay.all'],
    'split-at-last-tilde': ['tilde.relay.tilde-in-content'],
    'relays-invalid-utf8': ['tilde.relay.invalid-utf8', 'tilde.relay.split-character'],
    'no-username-validation': ['tilde.user.refuse-invalid', 'tilde.user.refuse-duplicate', 'tilde.user.trailing-newline'],
    'no-holdback': ['tilde.relay.split-character'],
    'no-content-limit': ['tilde.relay.oversize'],
    'cuts-inside-character': ['tilde.relay.oversize'],
    'spins-on-eof': ['tilde.handshake.eof-before-username'],
    'leaks-to-pending': ['tilde.handshake.nothing-before-username'],
    'no-leave-announcement': ['tilde.leave.announce'],
    'blocking-send': ['tilde.slow.others-unaffected', 'tilde.join.no-late-announcement'],
    'split-writes': ['tilde.frame.one-message-per-recv'],
    'speaks-first': ['tilde.handshake.nothing-before-username'],
    'kick-after-join': ['tilde.join.broadcast'],
    'none@variant': ['tilde.join.broadcast', 'tilde.leave.announce'],
    'no-echo-to-sender@variant': ['tilde.join.broadcast', 'tilde.relay.echo', 'tilde.leave.announce'],
  },
};

/** Rows CI runs: the wording variant with and without a real bug, the defects issue 9 names, and causes. */
const CI_ROWS: readonly (readonly [DialectName, string])[] = [
  ['nick', 'no-echo-to-sender'],
  ['nick', 'lowercase-announce'],
  ['nick', 'none@variant'],
  ['nick', 'no-echo-to-sender@variant'],
  ['tilde', 'speaks-first'],
  ['tilde', 'no-echo-to-sender'],
  // One cause in many cases (causes.ts): a member closed for nothing; the process exiting.
  ['tilde', 'kick-after-join'],
  ['tilde', 'dies-on-disconnect'],
];

/** The defects a mutant script offers (its `DEFECTS` table), `none` (the correct server) aside. */
function defectsOf(dialect: DialectName): string[] {
  const source = readFileSync(join(PACKAGE_ROOT, `conformance/mutants/${dialect}_mutant_server.py`), 'utf8');
  const table = source.slice(source.indexOf('DEFECTS = {'), source.indexOf('}', source.indexOf('DEFECTS = {')));
  // `none` is the correct server; `pieces` (tilde) is allowed behaviour, judged by tilde-verdicts.
  return [...table.matchAll(/^\s+"([a-z0-9-]+)":/gm)].map((m) => m[1]!).filter((d) => d !== 'none' && d !== 'pieces');
}

/** The text requirements a wording variant may fail, on top of its defect's own cases. */
const WORDING_CASES = new Set(['nick.join.broadcast', 'nick.join.connected', 'nick.leave.reset', 'tilde.join.broadcast', 'tilde.leave.announce']);

const all = process.env.CHATKIT_ROOT_CAUSE_MATRIX === '1';
const rows = (Object.entries(PINS) as [DialectName, Record<string, readonly string[]>][]).flatMap(([dialect, pins]) =>
  Object.keys(pins)
    .filter((spec) => all || CI_ROWS.some(([d, s]) => d === dialect && s === spec))
    .map((spec) => [dialect, spec] as const),
);

async function runMutant(dialect: DialectName, spec: string): Promise<CaseResult[]> {
  const [defect, wording] = spec.split('@');
  const script = join(PACKAGE_ROOT, `conformance/mutants/${dialect}_mutant_server.py`);
  const wordingArg = wording ? ` --wording ${wording}` : '';
  return runCases(selectCases(ALL_CASES, { dialect, kind: 'server', profiles: ['core', 'robustness'] }), {
    target: { kind: 'spawn', command: `'${pythonExecutable()}' '${script}' --defect ${defect}${wordingArg} 127.0.0.1 {port}` },
    dialect,
    jobs: 2,
  });
}

describe('one bug, one failure: every mutant fails only the cases of its defect', () => {
  it('pins every defect of the zoo and every CI row, and no defect fails more than three cases', () => {
    for (const [dialect, spec] of CI_ROWS) expect(PINS[dialect][spec], `${dialect} ${spec}`).toBeDefined();
    for (const dialect of ['nick', 'tilde'] as const) {
      const defects = defectsOf(dialect);
      expect(defects.length, dialect).toBeGreaterThan(10);
      for (const defect of defects) expect(PINS[dialect][defect], `${dialect} ${defect}`).toBeDefined();
    }
    for (const [, pins] of Object.entries(PINS)) {
      for (const [spec, failing] of Object.entries(pins)) {
        const own = spec.includes('@') ? failing.filter((id) => !WORDING_CASES.has(id)) : failing;
        expect(own.length, spec).toBeLessThanOrEqual(MAX_FAILURES);
      }
    }
  });

  it.concurrent.each(rows)(
    '%s mutant %s',
    async (dialect, spec) => {
      const results = await runMutant(dialect, spec);
      const failing = results.filter((r) => r.verdict === 'fail' || r.verdict === 'warn').map((r) => r.id);
      const explain = results
        .filter((r) => r.verdict !== 'pass')
        .map((r) => `${r.id}: ${r.verdict} ${r.blockedBy?.id ?? ''} ${r.failure?.requirement ?? ''} ${r.failure?.message ?? r.error ?? ''}`)
        .join('\n');
      expect([...failing].sort(), explain).toEqual([...PINS[dialect][spec]!].sort());
      // Every other case passed or stood on one of those failures; none was left unjudged.
      for (const r of results) {
        expect(['pass', 'fail', 'warn', 'blocked', 'skip'], `${r.id}: ${r.error ?? ''}`).toContain(r.verdict);
        if (r.verdict === 'blocked') expect(failing, r.id).toContain(r.blockedBy?.id);
      }
    },
    ROW_TIMEOUT_MS,
  );
});
