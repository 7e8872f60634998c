/**
 * Baselines (`--baseline FILE`, `--update-baseline`): a JSON list of the cases known to fail, so a
 * project can adopt the suite before it passes it all. Listed failures still run and are reported
 * as `known`, but do not fail the exit code; a failure not listed is `new` and fails it; a listed
 * case that passes now is `fixed`; a listed id that names no case at all is `stale`.
 *
 * The file (docs/ci.md):
 * ```json
 * [
 *   { "id": "nick.leave.eof", "verdict": "fail", "date": "2025-03-01" },
 *   { "id": "nick.nick.invalid", "verdict": "warn", "date": "2025-03-01" }
 * ]
 * ```
 * `date` is when the failure was first recorded (kept across updates). A bare list of ids
 * (`["nick.leave.eof"]`) is read too.
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { ChatkitError } from '../../src/errors.js';
import type { CaseResult } from '../harness/report.js';

/** One baseline entry. */
export interface BaselineEntry {
  /** The case id. */
  readonly id: string;
  /** The verdict it had when recorded: `fail` (MUST) or `warn` (SHOULD). */
  readonly verdict: 'fail' | 'warn';
  /** When it was first recorded, `YYYY-MM-DD`. */
  readonly date: string;
}

const entrySchema = z.union([
  z.string().min(1),
  z.strictObject({
    id: z.string().min(1),
    verdict: z.enum(['fail', 'warn']).default('fail'),
    date: z.string().default(''),
  }),
]);
const fileSchema = z.array(entrySchema);

/** Thrown for an unreadable or malformed baseline file. */
export class BaselineError extends ChatkitError {
  /** Creates the error (code `BASELINE_INVALID`). */
  constructor(message: string) {
    super('BASELINE_INVALID', message);
    this.name = 'BaselineError';
  }
}

/** Parses a baseline document (the file's text). */
export function parseBaseline(text: string, source = 'baseline'): BaselineEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BaselineError(
      `${source} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BaselineError(
      `${source} is not a list of { "id", "verdict", "date" } entries (at ${issue?.path.join('.') || 'the top'}: ${issue?.message ?? '?'})`,
    );
  }
  return parsed.data.map((e) => (typeof e === 'string' ? { id: e, verdict: 'fail', date: '' } : e));
}

/** Reads a baseline file; a missing file is an empty baseline only when `allowMissing`. */
export function readBaseline(path: string, allowMissing: boolean): BaselineEntry[] {
  if (!existsSync(path)) {
    if (allowMissing) return [];
    throw new BaselineError(`baseline file ${path} does not exist (create it with --update-baseline)`);
  }
  return parseBaseline(readFileSync(path, 'utf8'), path);
}

/** The baseline document, one entry per line for readable diffs. */
export function renderBaseline(entries: readonly BaselineEntry[]): string {
  if (entries.length === 0) return '[]\n';
  return `[\n${entries.map((e) => `  ${JSON.stringify({ id: e.id, verdict: e.verdict, date: e.date })}`).join(',\n')}\n]\n`;
}

/** Writes the baseline file. */
export function writeBaseline(path: string, entries: readonly BaselineEntry[]): void {
  writeFileSync(path, renderBaseline(entries));
}

const failing = (c: CaseResult) => c.verdict === 'fail' || c.verdict === 'warn';
const passing = (c: CaseResult) => c.verdict === 'pass' || c.verdict === 'flaky';

/**
 * Marks each result against the baseline (`known`, `new`, `fixed`; skipped, unjudged and blocked
 * cases get no mark: a blocked case is neither known nor fixed) and lists the stale entries: ids that name none of `allIds` (every case chatkit has, not
 * only the ones this run selected).
 */
export function applyBaseline(
  results: readonly CaseResult[],
  entries: readonly BaselineEntry[],
  allIds: readonly string[],
): { cases: CaseResult[]; stale: string[] } {
  const listed = new Set(entries.map((e) => e.id));
  const known = new Set(allIds);
  const cases = results.map((c): CaseResult => {
    if (failing(c)) return { ...c, baseline: listed.has(c.id) ? 'known' : 'new' };
    if (passing(c) && listed.has(c.id)) return { ...c, baseline: 'fixed' };
    return c;
  });
  const stale = [...new Set(entries.map((e) => e.id).filter((id) => !known.has(id)))];
  return { cases, stale };
}

/**
 * The baseline after this run: the current failures (keeping the date an entry was first recorded),
 * entries of cases this run did not select kept as they were, fixed and stale entries dropped.
 */
export function updatedBaseline(
  previous: readonly BaselineEntry[],
  results: readonly CaseResult[],
  allIds: readonly string[],
  today: string,
): BaselineEntry[] {
  const ran = new Map(results.map((c) => [c.id, c]));
  const known = new Set(allIds);
  const before = new Map(previous.map((e) => [e.id, e]));
  const out = new Map<string, BaselineEntry>();
  for (const e of previous) if (known.has(e.id) && !ran.has(e.id)) out.set(e.id, e);
  for (const c of results) {
    if (c.verdict !== 'fail' && c.verdict !== 'warn') {
      // An unjudged or blocked case keeps its entry: it neither failed nor was fixed.
      const old = before.get(c.id);
      if (old && (c.verdict === 'error' || c.verdict === 'skip' || c.verdict === 'blocked')) out.set(c.id, old);
      continue;
    }
    out.set(c.id, { id: c.id, verdict: c.verdict, date: before.get(c.id)?.date || today });
  }
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
}
