/**
 * A shared target (`--target`) that stops answering is named once, with the case during which it
 * did and the advice to use `--spawn`, and every later case is `error` (not judged), never a
 * failure with an unrelated hint; the run exits 3. Shown on chatkit's reference server stopped in the
 * middle of a run, and on the tutorial's own NICK and tilde servers, which die of the suite's
 * traffic (spec Annex A) — the run says so instead of blaming them 25 times.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import { runConformance } from '../../conformance/conform.js';
import { CONFORM_EXIT } from '../../conformance/harness/report.js';
import { runCases, type TargetLost } from '../../conformance/harness/runner.js';
import { selectCases } from '../../conformance/harness/select.js';
import { spawnPythonServer, type TargetHandle } from '../../src/processes/index.js';
import type { DialectName } from '../../src/codec/index.js';
import { startServer } from '../../src/reference-server/index.js';

const RUN_TIMEOUT_MS = 240_000;
/** The case after which the reference server is stopped. */
const KILL_AFTER = 2;

const serverCases = (dialect: DialectName) =>
  selectCases(ALL_CASES, { dialect, kind: 'server', profiles: ['core', 'robustness'] });

describe('a --target that stops answering', () => {
  it.each(['nick', 'tilde'] as const)(
    'is named with the case during which it stopped, and every later case is not judged (%s)',
    async (dialect) => {
      const server = await startServer({ dialect, host: '127.0.0.1', port: 0 });
      const cases = serverCases(dialect);
      const lost: TargetLost[] = [];
      const ran: string[] = [];
      let stopped = false;
      try {
        const results = await runCases(cases, {
          target: { kind: 'address', host: '127.0.0.1', port: server.port },
          dialect,
          onCaseEnd: (result) => {
            ran.push(result.id);
            // Stopped while the next case has not started: that case meets a dead target.
            if (ran.length === KILL_AFTER && !stopped) {
              stopped = true;
              void server.close();
            }
          },
          onTargetLost: (l) => lost.push(l),
        });
        const verdictOf = (id: string) => results.find((r) => r.id === id)?.verdict;
        expect(ran.slice(0, KILL_AFTER).map(verdictOf)).toEqual(Array.from({ length: KILL_AFTER }, () => 'pass'));
        expect(lost).toHaveLength(1);
        // The case that met the dead target got nothing: it stopped during the one before.
        const during = ran[KILL_AFTER - 1]!;
        expect(lost[0]!.during).toBe(during);
        const after = ran.slice(KILL_AFTER + 1);
        expect(after.length).toBeGreaterThan(10);
        for (const id of after) {
          const r = results.find((x) => x.id === id)!;
          expect(r.verdict, r.id).toBe('error');
          expect(r.error).toContain(`stopped answering during ${during}`);
          expect(r.error).toContain('--spawn');
        }
      } finally {
        if (!stopped) await server.close();
      }
    },
    RUN_TIMEOUT_MS,
  );
});

describe("the tutorial's own servers under --target", () => {
  let seed: TargetHandle | undefined;
  afterEach(async () => {
    await seed?.stop();
    seed = undefined;
  });

  it.each([
    ['nick', 'nick_server.py'],
    ['tilde', 'tilde_server.py'],
  ] as const)(
    'a seed server the suite stops is named, and the run exits 3 (%s)',
    async (dialect, script) => {
      seed = await spawnPythonServer(`conformance/targets/python/${script}`);
      const { report } = await runConformance({
        spec: { kind: 'address', host: '127.0.0.1', port: seed.port! },
        resolution: { dialect, detected: false, release: async () => {} },
        cases: serverCases(dialect),
        allIds: ALL_CASES.map((c) => c.id),
        profiles: ['core', 'robustness'],
        only: [],
        exclude: [],
        framing: 'chunk',
        retries: 0,
        failOn: 'must',
        timeoutScale: 1,
      });
      const errors = report.cases.filter((c) => c.verdict === 'error');
      if (report.unjudged) {
        // It died of the suite's traffic (Annex A): named once, the rest not judged, exit 3.
        expect(report.exitCode).toBe(CONFORM_EXIT.UNJUDGED);
        expect(report.cases.map((c) => c.id)).toContain(report.unjudged.during);
        expect(errors.length).toBeGreaterThan(0);
        for (const c of errors) expect(c.error).toContain(`stopped answering during ${report.unjudged.during}`);
      } else {
        // It survived the whole run: then no case was left unjudged.
        expect(errors).toEqual([]);
      }
      // Never the old symptom: a run of failures in a millisecond each, blaming TRANSPORT-1.
      const instant = report.cases.filter((c) => c.verdict === 'fail' && c.failure?.requirement === 'TRANSPORT-1');
      expect(instant.length).toBeLessThanOrEqual(1);
    },
    RUN_TIMEOUT_MS,
  );
});
