/**
 * Badges of a run, for a README: `--badge FILE.svg` writes a self-contained SVG in the familiar flat
 * style (`chatkit nick | MUST 23/23 · SHOULD 4/5`), `--badge-json FILE` the shields.io endpoint
 * document (`{ schemaVersion: 1, label, message, color }`) for `img.shields.io/endpoint?url=...`.
 *
 * Colour: green when every MUST and every SHOULD case passed, yellow when every MUST case passed but
 * a SHOULD case did not, red when a MUST case failed (a failure listed in the baseline still counts:
 * a badge states the target's conformance, not the CI policy), grey when nothing could be judged.
 *
 * @module
 */
import { CONFORM_EXIT, type RunReport } from '../harness/report.js';
import { xmlAttr, xmlText } from './junit.js';
import { levelLine } from './pretty.js';

/** The badge's state. */
export type BadgeState = 'pass' | 'should' | 'fail' | 'unjudged';

/** Fill colours of the SVG badge, per state. */
export const BADGE_COLORS: Readonly<Record<BadgeState, string>> = {
  pass: '#4c1',
  should: '#dfb317',
  fail: '#e05d44',
  unjudged: '#9f9f9f',
};

/** shields.io colour names, per state. */
export const SHIELDS_COLORS: Readonly<Record<BadgeState, string>> = {
  pass: 'brightgreen',
  should: 'yellow',
  fail: 'red',
  unjudged: 'lightgrey',
};

/**
 * Advance widths of Verdana at 11 px (the badge font), from its metrics (units per em 2048),
 * rounded to 0.1 px. Characters missing here count as {@link DEFAULT_CHAR_WIDTH}.
 */
const VERDANA_11: Readonly<Record<string, number>> = {
  ' ': 3.9,
  '!': 4.3,
  '"': 5.0,
  '#': 9.0,
  '%': 11.8,
  '&': 7.8,
  "'": 2.9,
  '(': 5.0,
  ')': 5.0,
  '*': 7.0,
  '+': 9.0,
  ',': 4.0,
  '-': 5.0,
  '.': 4.0,
  '/': 5.0,
  ':': 5.0,
  ';': 5.0,
  '<': 9.0,
  '=': 9.0,
  '>': 9.0,
  '?': 5.9,
  '@': 11.0,
  '[': 5.0,
  ']': 5.0,
  _: 7.0,
  '|': 5.0,
  '~': 9.0,
  '·': 4.0,
  '…': 11.0,
  A: 7.5,
  B: 7.6,
  C: 7.7,
  D: 8.5,
  E: 7.0,
  F: 6.3,
  G: 8.5,
  H: 8.3,
  I: 4.6,
  J: 5.0,
  K: 7.6,
  L: 6.1,
  M: 9.3,
  N: 8.2,
  O: 8.7,
  P: 6.6,
  Q: 8.7,
  R: 7.6,
  S: 7.5,
  T: 6.8,
  U: 8.1,
  V: 7.5,
  W: 10.9,
  X: 7.5,
  Y: 6.8,
  Z: 7.5,
  a: 6.6,
  b: 6.9,
  c: 5.7,
  d: 6.9,
  e: 6.6,
  f: 3.9,
  g: 6.9,
  h: 7.0,
  i: 3.0,
  j: 3.8,
  k: 6.5,
  l: 3.0,
  m: 10.7,
  n: 7.0,
  o: 6.7,
  p: 6.9,
  q: 6.9,
  r: 4.7,
  s: 5.7,
  t: 4.3,
  u: 7.0,
  v: 6.5,
  w: 9.0,
  x: 6.5,
  y: 6.5,
  z: 5.8,
};
/** Width of a digit, and of any character the table does not list. */
export const DEFAULT_CHAR_WIDTH = 7.0;
/** Space left and right of each half's text. */
const PADDING = 5;

/** Estimated width of `text` in px at Verdana 11 px. */
export function textWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += VERDANA_11[ch] ?? DEFAULT_CHAR_WIDTH;
  return Math.round(width * 10) / 10;
}

/**
 * The state a report's badge shows. Blocked, skipped and unjudged cases count neither as passed nor
 * as failed (the summary's `must` and `should` leave them out). A MUST failure is red even in a run
 * cut short; otherwise a run that could not judge everything (exit 3) is grey, never green.
 */
export function badgeState(report: RunReport): BadgeState {
  const { must, should } = report.summary;
  if (must.total + should.total === 0) return 'unjudged';
  if (must.passed < must.total) return 'fail';
  if (report.unjudged !== undefined || report.exitCode === CONFORM_EXIT.UNJUDGED) return 'unjudged';
  if (should.passed < should.total) return 'should';
  return 'pass';
}

/** The badge's two texts: `chatkit nick` and `MUST 23/23 · SHOULD 4/5`. */
export function badgeText(report: RunReport): { label: string; message: string } {
  const label = `chatkit ${report.target.dialect}`;
  return { label, message: badgeState(report) === 'unjudged' ? 'not judged' : levelLine(report) };
}

/** The shields.io endpoint document. */
export function badgeJson(report: RunReport): {
  schemaVersion: 1;
  label: string;
  message: string;
  color: string;
} {
  const { label, message } = badgeText(report);
  return { schemaVersion: 1, label, message, color: SHIELDS_COLORS[badgeState(report)] };
}

/** A self-contained SVG badge (no external font, image or script). */
export function renderBadgeSvg(report: RunReport): string {
  const { label, message } = badgeText(report);
  const color = BADGE_COLORS[badgeState(report)];
  const lw = Math.ceil(textWidth(label) + 2 * PADDING);
  const mw = Math.ceil(textWidth(message) + 2 * PADDING);
  const w = lw + mw;
  const title = `${label}: ${message}`;
  const text = (x: number, s: string) =>
    `<text x="${x}" y="15" fill="#010101" fill-opacity=".3">${xmlText(s)}</text><text x="${x}" y="14">${xmlText(s)}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${xmlAttr(title)}">`,
    `<title>${xmlText(title)}</title>`,
    '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>',
    `<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>`,
    `<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${mw}" height="20" fill="${color}"/><rect width="${w}" height="20" fill="url(#s)"/></g>`,
    `<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`,
    text(lw / 2, label),
    text(lw + mw / 2, message),
    '</g>',
    '</svg>',
    '',
  ].join('\n');
}
