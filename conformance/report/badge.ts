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
import { makeBadge } from 'badge-maker';
import { CONFORM_EXIT, type RunReport } from '../harness/report.js';
import { levelLine } from './pretty.js';

/** The badge's state. */
export type BadgeState = 'pass' | 'should' | 'fail' | 'unjudged';

/** Fill colours of the SVG badge, per state (shields' palette for {@link SHIELDS_COLORS}). */
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

/**
 * A self-contained SVG badge (no external font, image or script), drawn by shields.io's own
 * renderer (badge-maker, flat style), so the text widths are shields' Verdana metrics.
 */
export function renderBadgeSvg(report: RunReport): string {
  const { label, message } = badgeText(report);
  return `${makeBadge({ label, message, color: BADGE_COLORS[badgeState(report)], style: 'flat' })}\n`;
}
