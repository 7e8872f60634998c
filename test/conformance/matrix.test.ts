/**
 * The verdict matrix's Markdown (docs/CONFORMANCE.md): each seed failure names its Annex A defect,
 * and a defect that showed only on a later run says which.
 */
import { describe, expect, it } from 'vitest';
import { type MatrixColumn, type MatrixTarget, matrixMarkdown } from '../../conformance/matrix.js';
import { caseResult } from './report-fixtures.js';

const target = (name: string, seed: boolean): MatrixTarget => ({
  name,
  dialect: 'tilde',
  kind: 'server',
  seed,
  start: () => Promise.reject(new Error('not started in this test')),
});

const ID = 'tilde.join.no-late-announcement';
const OTHER = 'tilde.relay.oversize';

function markdown(seedColumn: Omit<MatrixColumn, 'target'>): string {
  const reference: MatrixColumn = {
    target: target('chatkit serve (tilde)', false),
    results: [caseResult({ id: ID, verdict: 'pass' }), caseResult({ id: OTHER, verdict: 'pass' })],
  };
  return matrixMarkdown([reference, { target: target('tilde_server.py', true), ...seedColumn }], {
    date: '2026-11-21',
    durationMs: 1000,
  });
}

const row = (text: string, id: string) => text.split('\n').find((l) => l.startsWith(`| \`${id}\``));

describe('verdict matrix', () => {
  it("names the defect a seed's failure shows, and the run that showed it when it was not the first", () => {
    const text = markdown({
      results: [caseResult({ id: ID, verdict: 'fail' }), caseResult({ id: OTHER, verdict: 'fail' })],
      attempts: new Map([[ID, 2]]),
    });
    expect(row(text, ID)).toBe(`| \`${ID}\` | MUST | pass | **FAIL** (D-TS-9; run 2) |`);
    expect(row(text, OTHER)).toBe(`| \`${OTHER}\` | MUST | pass | **FAIL** (D-TS-7) |`);
  });

  it('says how many runs a defect-catching case passed on a seed', () => {
    const text = markdown({
      results: [caseResult({ id: ID, verdict: 'pass' }), caseResult({ id: OTHER, verdict: 'fail' })],
      attempts: new Map([[ID, 3]]),
    });
    expect(row(text, ID)).toBe(`| \`${ID}\` | MUST | pass | pass (3 runs) |`);
  });
});
