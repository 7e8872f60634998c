/**
 * The report of a run that judged nothing: the target was unreachable, spoke neither dialect, a
 * spawned target never listened, or no case was selected. Exit 3 still writes every report the
 * command line asked for (JSON, JUnit, the grey "not judged" badge), so a CI job that publishes
 * them replaces an old, perhaps green, badge instead of failing at a missing file.
 *
 * @module
 */
import type { Profile } from '../harness/case.js';
import { CONFORM_EXIT, REPORT_SCHEMA, type RunReport, summarise } from '../harness/report.js';

/** What an unjudged run still knows: the target as given, the options, and why nothing was judged. */
export interface UnjudgedRun {
  readonly chatkitVersion: string;
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly target: RunReport['target'];
  readonly profiles: readonly Profile[];
  readonly only: readonly string[];
  readonly exclude: readonly string[];
  readonly retries: number;
  readonly failOn: 'must' | 'should';
  /** One sentence: why nothing could be judged (the probe's or the spawn's error, with its code). */
  readonly reason: string;
}

/** A schema-valid report without cases, `unjudged.reason` set and exit code 3. */
export function unjudgedReport(run: UnjudgedRun): RunReport {
  return {
    schema: REPORT_SCHEMA,
    chatkitVersion: run.chatkitVersion,
    startedAt: run.startedAt.toISOString(),
    durationMs: Math.round(run.durationMs),
    target: run.target,
    options: {
      profiles: [...run.profiles],
      only: [...run.only],
      exclude: [...run.exclude],
      retries: run.retries,
      failOn: run.failOn,
    },
    summary: summarise([], run.failOn).summary,
    unjudged: { reason: run.reason },
    cases: [],
    exitCode: CONFORM_EXIT.UNJUDGED,
  };
}
