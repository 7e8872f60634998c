/**
 * Root causes: one bug costs one failure. After a run, a failed case whose failure is of a
 * precondition (preconditions.ts) or of a case it declares it stands on, when that case failed in the
 * same run too, becomes `blocked` by it: neither a pass nor a fail, "blocked by <case> (<requirement>)".
 * A precondition failure whose judging case did not fail keeps its verdict but cites the
 * precondition's requirement and that case's hint, never the hint of the case that needed it
 * (spec/PROTOCOL.md §9.2). Failures that show one cause (causes.ts: a member closed for nothing, the
 * server process exiting) are one root cause too, whichever requirement each case judged.
 *
 * @module
 */
import type { ConformanceCase } from './case.js';
import { PRECONDITION_CASES } from './preconditions.js';
import type { CaseResult } from './report.js';
import { requirementIndex } from './requirements.js';

const failed = (r: CaseResult | undefined) =>
  r !== undefined && (r.verdict === 'fail' || r.verdict === 'warn' || r.verdict === 'blocked');

/** The case at the root of `id`'s failure: itself, or what blocked it. */
function rootOf(byId: ReadonlyMap<string, CaseResult>, id: string): CaseResult | undefined {
  const seen = new Set<string>();
  let at = byId.get(id);
  while (at?.verdict === 'blocked' && at.blockedBy && !seen.has(at.id)) {
    seen.add(at.id);
    at = byId.get(at.blockedBy.id);
  }
  return at;
}

/**
 * Marks blocked cases and settles precondition failures. `results` are in run order; `lookup` finds
 * any case by id (for the hint of a precondition's case that was not selected).
 */
export function resolveRootCauses(
  results: readonly CaseResult[],
  cases: readonly ConformanceCase[],
  lookup: (id: string) => ConformanceCase | undefined = () => undefined,
): CaseResult[] {
  const caseOf = (id: string) => cases.find((c) => c.id === id) ?? lookup(id);
  const byId = new Map(results.map((r) => [r.id, r]));
  const out: CaseResult[] = [];
  const blockedBy = (r: CaseResult, stood: string): CaseResult | undefined => {
    const root = rootOf(byId, stood);
    if (root === undefined || root.id === r.id || !failed(root)) return undefined;
    const requirement = root.failure?.requirement ?? root.requirements[0]?.id ?? '';
    const blocked: CaseResult = { ...r, verdict: 'blocked', blockedBy: { id: root.id, requirement } };
    byId.set(r.id, blocked);
    return blocked;
  };
  for (const r of results) {
    const failure = r.failure;
    if ((r.verdict !== 'fail' && r.verdict !== 'warn') || failure === undefined) {
      out.push(r);
      continue;
    }
    const stood = failure.precondition;
    const declared = caseOf(r.id)?.standsOn ?? [];
    const blocked = [...(stood === undefined ? [] : [stood]), ...declared]
      .map((id) => blockedBy(r, id))
      .find((b) => b !== undefined);
    if (blocked) {
      out.push(blocked);
      continue;
    }
    if (stood !== undefined && failure.cause === undefined) {
      const judgedHere = r.requirements.some((q) => q.id === failure.requirement);
      const standing = byId.get(stood);
      if (judgedHere && standing !== undefined && !failed(standing)) {
        // The precondition holds elsewhere in this run: what broke is what this case judges.
        const { precondition: _stood, ...own } = failure;
        const settled = { ...r, failure: { ...own, hint: caseOf(r.id)?.hint ?? failure.hint } };
        byId.set(r.id, settled);
        out.push(settled);
        continue;
      }
      const owner = caseOf(stood);
      const { hint: _theirs, ...rest } = failure;
      const settled: CaseResult = {
        ...r,
        failure: {
          ...rest,
          requirementText: requirementIndex().get(failure.requirement)?.text ?? failure.requirementText,
          ...(owner ? { hint: owner.hint } : {}),
        },
      };
      byId.set(r.id, settled);
      out.push(settled);
      continue;
    }
    out.push(r);
  }
  // Cases that broke the same precondition the same way, while its own case passed (a server that
  // prompts only its first connection), show one bug; so do failures with one cause (causes.ts: a
  // member closed for nothing, the server process exiting), whatever each case judged.
  groupUnder(out, byId, (f) => (f.precondition === undefined ? undefined : `${f.precondition}|${f.requirement}`));
  groupUnder(out, byId, (f) => f.cause);
  // A case may have stood on one that was itself blocked later in the list: name the root.
  return out.map((r) => {
    if (r.verdict !== 'blocked' || r.blockedBy === undefined) return r;
    const root = rootOf(byId, r.blockedBy.id);
    if (root === undefined || root.id === r.blockedBy.id || root.id === r.id) return r;
    const requirement = root.failure?.requirement ?? root.requirements[0]?.id ?? '';
    return { ...r, blockedBy: { id: root.id, requirement } };
  });
}

/**
 * Among the failures (fail or warn) with the same key, one (see `rank`) stays the failure and the others become `blocked` by it. Updates `out` and `byId`.
 */
function groupUnder(
  out: CaseResult[],
  byId: Map<string, CaseResult>,
  keyOf: (failure: NonNullable<CaseResult['failure']>) => string | undefined,
): void {
  const groups = new Map<string, number[]>();
  out.forEach((r, i) => {
    const key = r.failure === undefined ? undefined : keyOf(r.failure);
    if ((r.verdict !== 'fail' && r.verdict !== 'warn') || key === undefined) return;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    // The root is a fail before a warn (a MUST broken must not hide behind a SHOULD), then a case
    // that judges a precondition, then the first in run order.
    const owners = new Set(Object.values(PRECONDITION_CASES[out[members[0]!]!.dialect]));
    const rank = (i: number) => (out[i]!.verdict === 'fail' ? 0 : 2) + (owners.has(out[i]!.id) ? 0 : 1);
    const root = out[members.reduce((best, i) => (rank(i) < rank(best) ? i : best))]!;
    for (const i of members) {
      const r = out[i]!;
      if (r.id === root.id) continue;
      const blocked: CaseResult = {
        ...r,
        verdict: 'blocked',
        blockedBy: { id: root.id, requirement: root.failure?.requirement ?? '' },
      };
      out[i] = blocked;
      byId.set(r.id, blocked);
    }
  }
}
