/**
 * Every MUST and SHOULD of spec/PROTOCOL.md has at least one conformance case, in each dialect it
 * applies to; the few no case can judge are listed with their reason, and that list is pinned.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import { requirementIndex } from '../../conformance/harness/requirements.js';
import {
  NOT_JUDGED_BY_CASES,
  parseAnnexC,
  renderList,
  requirementCoverage,
} from '../../conformance/report/coverage.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

const annexC = parseAnnexC(readFileSync(join(PACKAGE_ROOT, 'spec/PROTOCOL.md'), 'utf8'));

describe('requirement coverage', () => {
  it('every MUST and SHOULD requirement has a case, or is listed as not judged by cases', () => {
    const uncovered = requirementCoverage(ALL_CASES)
      .filter((r) => r.status === 'uncovered')
      .map((r) => `${r.id} (${r.level}, ${r.binds})`);
    expect(uncovered).toEqual([]);
  });

  it.each(['nick', 'tilde'] as const)('so does every requirement of the %s dialect, by its own cases', (dialect) => {
    const cases = ALL_CASES.filter((c) => c.dialect === dialect);
    const uncovered = requirementCoverage(cases, dialect)
      .filter((r) => r.status === 'uncovered')
      .map((r) => r.id);
    expect(uncovered).toEqual([]);
  });

  it('exempts only FRAME-6 (binds the checker), FRAME-7 (not observable on the wire) and the requirements new in spec 1.0, as Annex C marks them', () => {
    expect(Object.keys(NOT_JUDGED_BY_CASES).sort()).toEqual(
      [
        'FRAME-6',
        'FRAME-7',
        'TRANSPORT-4',
        'SEC-1',
        'SEC-2',
        'SEC-3',
        'EXT-1',
        'ADMIN-BAN-2',
      ].sort(),
    );
    const judgedRequirements = [...requirementIndex().values()].filter(
      (r) => r.level === 'MUST' || r.level === 'SHOULD',
    );
    const noVerdict = annexC
      .filter((row) => row.profile === '—' && judgedRequirements.some((r) => r.id === row.id))
      .map((row) => row.id)
      .sort();
    expect(noVerdict).toEqual(Object.keys(NOT_JUDGED_BY_CASES).sort());
    // An exempt requirement that gains a case is no longer exempt: the table would be stale.
    for (const id of Object.keys(NOT_JUDGED_BY_CASES)) {
      expect(ALL_CASES.filter((c) => c.requirements.includes(id)).map((c) => c.id), id).toEqual([]);
    }
  });

  it('every requirement a case cites is defined by the spec', () => {
    const known = requirementIndex();
    for (const c of ALL_CASES) for (const id of c.requirements) expect(known.has(id), `${c.id} cites ${id}`).toBe(true);
  });

  it('--list marks an uncovered requirement, so a gap cannot hide', () => {
    const onlyOne = ALL_CASES.filter((c) => c.id === 'nick.join.broadcast');
    const text = renderList(onlyOne, requirementCoverage(onlyOne, 'nick'));
    expect(text).toMatch(/NICK-RELAY-1 +MUST +NOT COVERED/);
    expect(text).toMatch(/FRAME-7 +SHOULD +\(no case: not observable on the wire/);
  });
});
