/**
 * Points (docs/grading.md, "The rubric"): each case judged is worth points, looked up in this
 * order: the case id (`cases`), the first of its requirements listed (`requirements`), its profile
 * (`profiles`), its level (`levels`). A case scores its points when it passes (or is flaky); a failed,
 * warned, blocked or errored case scores 0; a skipped case is not part of the maximum.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { CaseResult } from '../conformance/harness/report.js';
import { ChatkitError } from '../src/errors.js';

const points = z.number().min(0).max(1_000_000);

/** The schema of `--rubric FILE` (JSON). */
export const rubricSchema = z.strictObject({
  /** Points per level (a level left out keeps the default's). */
  levels: z.strictObject({ MUST: points.optional(), SHOULD: points.optional(), INFO: points.optional() }).optional(),
  /** Points per profile (`core`, `robustness`, `client`, …), before the level. */
  profiles: z.record(z.string(), points).optional(),
  /** Points per requirement ID (`NICK-RELAY-1`), before the profile. */
  requirements: z.record(z.string(), points).optional(),
  /** Points per case id (`nick.relay.echo`), first of all. */
  cases: z.record(z.string(), points).optional(),
});

/** A rubric. */
export type Rubric = z.infer<typeof rubricSchema>;

/** The default rubric: a MUST case is worth 2 points, a SHOULD case 1, an INFO case nothing. */
export const DEFAULT_RUBRIC: Rubric = { levels: { MUST: 2, SHOULD: 1, INFO: 0 } };

/** A `--rubric` file that cannot be used. */
export class RubricError extends ChatkitError {
  constructor(message: string) {
    super('RUBRIC_INVALID', message);
    this.name = 'RubricError';
  }
}

/** Reads and checks a rubric file; levels it leaves out are the default's. */
export function readRubric(path: string): Rubric {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new RubricError(`--rubric ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = rubricSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new RubricError(`--rubric ${path}: ${issues}`);
  }
  return { ...parsed.data, levels: { ...DEFAULT_RUBRIC.levels, ...parsed.data.levels } };
}

/** What one case is worth. */
export function casePoints(rubric: Rubric, c: Pick<CaseResult, 'id' | 'level' | 'profile' | 'requirements'>): number {
  const byCase = rubric.cases?.[c.id];
  if (byCase !== undefined) return byCase;
  for (const r of c.requirements) {
    const byRequirement = rubric.requirements?.[r.id];
    if (byRequirement !== undefined) return byRequirement;
  }
  const byProfile = rubric.profiles?.[c.profile];
  if (byProfile !== undefined) return byProfile;
  return rubric.levels?.[c.level] ?? DEFAULT_RUBRIC.levels![c.level] ?? 0;
}

/** A case's score and maximum (a skipped case counts for neither). */
export function caseScore(rubric: Rubric, c: CaseResult): { score: number; max: number } {
  if (c.verdict === 'skip') return { score: 0, max: 0 };
  const max = casePoints(rubric, c);
  return { score: c.verdict === 'pass' || c.verdict === 'flaky' ? max : 0, max };
}
