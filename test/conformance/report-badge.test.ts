import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import {
  BADGE_COLORS,
  badgeJson,
  badgeState,
  renderBadgeSvg,
} from '../../conformance/report/badge.js';
import { caseResult, mixedReport } from './report-fixtures.js';

const must = (verdict: 'pass' | 'fail', id: string) => caseResult({ id, verdict });
const should = (verdict: 'pass' | 'warn', id: string) => caseResult({ id, verdict, level: 'SHOULD' });

describe('badges', () => {
  it.each([
    [
      'every MUST and SHOULD passed',
      [must('pass', 'a'), should('pass', 'b')],
      'pass',
      'brightgreen',
      'MUST 1/1 · SHOULD 1/1',
    ],
    [
      'a SHOULD warned',
      [must('pass', 'a'), should('warn', 'b')],
      'should',
      'yellow',
      'MUST 1/1 · SHOULD 0/1',
    ],
    ['a MUST failed', [must('fail', 'a'), should('pass', 'b')], 'fail', 'red', 'MUST 0/1 · SHOULD 1/1'],
    ['no SHOULD case ran', [must('pass', 'a')], 'pass', 'brightgreen', 'MUST 1/1'],
    ['nothing judged', [caseResult({ id: 'a', verdict: 'error' })], 'unjudged', 'lightgrey', 'not judged'],
  ] as const)('%s: %s, shields colour %s', (_, cases, state, color, message) => {
    const report = mixedReport({}, [...cases]);
    expect(badgeState(report)).toBe(state);
    expect(badgeJson(report)).toEqual({ schemaVersion: 1, label: 'chatkit nick', message, color });
  });

  it('a known (baseline) failure still colours the badge red: it states conformance, not CI policy', () => {
    const report = mixedReport({}, [{ ...must('fail', 'a'), baseline: 'known' }]);
    expect(report.exitCode).toBe(0);
    expect(badgeState(report)).toBe('fail');
  });

  it('is a self-contained SVG (badge-maker, flat) that parses as XML and holds both texts', () => {
    const report = mixedReport({}, [must('pass', 'a'), should('warn', 'b')]);
    const svg = renderBadgeSvg(report);
    expect(XMLValidator.validate(svg)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(svg);
    expect(doc.svg.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(doc.svg.title).toBe('chatkit nick: MUST 1/1 · SHOULD 0/1');
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(new Set(texts)).toEqual(new Set(['chatkit nick', 'MUST 1/1 · SHOULD 0/1']));
    expect(svg).toContain(`fill="${BADGE_COLORS.should}"`);
    expect(svg).not.toMatch(/href|<script|<image|url\((?!#)/);
    // The two halves tile the badge: label rect + message rect = the whole width.
    const rects = doc.svg.g[0].rect as { width: string }[];
    expect(Number(rects[0]!.width) + Number(rects[1]!.width)).toBe(Number(doc.svg.width));
  });

  it('draws longer text as a wider badge', () => {
    const narrow = renderBadgeSvg(mixedReport({}, [must('pass', 'a')]));
    const wide = renderBadgeSvg(mixedReport({}, [must('pass', 'a'), should('warn', 'b')]));
    const width = (svg: string) => Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    expect(width(wide)).toBeGreaterThan(width(narrow));
  });
});
