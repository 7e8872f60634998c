/**
 * `chatkit conform --list`: the cases, and the requirement coverage: every MUST and SHOULD of
 * spec/PROTOCOL.md with the cases that check it, uncovered ones marked. A requirement no case can
 * judge ({@link NOT_JUDGED_BY_CASES}, profile `—` in Annex C) is marked with the reason, not as a gap.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DialectName } from '../../src/codec/index.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import type { ConformanceCase } from '../harness/case.js';
import { requirementIndex } from '../harness/requirements.js';

/** One row of Annex C. */
export interface AnnexRow {
  readonly id: string;
  readonly level: string;
  readonly section: string;
  readonly binds: string;
  readonly profile: string;
}

/** Parses the Annex C index table (`| ID | Level | § | Binds | Profile |`). */
export function parseAnnexC(markdown: string): AnnexRow[] {
  const start = markdown.indexOf('## Annex C');
  if (start === -1) return [];
  const rows: AnnexRow[] = [];
  for (const line of markdown.slice(start).split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    // A table row splits into ['', id, level, §, binds, profile, ''].
    if (cells.length !== 7 || !/^[A-Z]+(?:-[A-Z0-9]+)+$/.test(cells[1]!)) continue;
    rows.push({ id: cells[1]!, level: cells[2]!, section: cells[3]!, binds: cells[4]!, profile: cells[5]! });
  }
  return rows;
}

/**
 * The MUST and SHOULD requirements no case can judge, and why; each has profile `—` in Annex C.
 * Adding one is a decision, so a test pins this list.
 */
export const NOT_JUDGED_BY_CASES: Readonly<Record<string, string>> = {
  'FRAME-6': "binds the checker: verified by chatkit's own tests",
  'FRAME-7':
    'not observable on the wire (a batched write and writes merged by TCP look the same): checked on the reference server by its tests',
  // New in spec 1.0 (issue 15): shown on the seeds and the reference programs by their Annex A tests; no case yet.
  'TRANSPORT-4':
    'needs the target stopped and started again on the same port while a connection is in TIME_WAIT, which only the runner could do for --spawn targets (not offered: cases get one running target) and never for --target; shown on the seeds by the Annex A D-NS-12 and D-TS-8 tests and on the reference server by its annex test',
  'SEC-1': 'new in spec 1.0, no case yet: names policy and terminal safety',
  'SEC-2': 'new in spec 1.0, no case yet: relay sanitising option',
  'SEC-3': 'new in spec 1.0, no case yet: connection and rate bounds',
  'ADMIN-BAN-2':
    "needs restarting the target with its ban file: shown on the reference server by its tests, on the tutorial's server by Annex A D-AS-1",
  'EXT-1':
    "binds configuration and the checker (extensions off by default, judged only when declared): verified by chatkit's own tests",
};

/**
 * How well one requirement is covered. `not-judged`: no case can judge it
 * ({@link NOT_JUDGED_BY_CASES}); `uncovered`: a case is missing, or is not among those selected.
 */
export type CoverageStatus = 'covered' | 'uncovered' | 'not-judged' | 'other-dialect';

/** One requirement and the cases that check it. */
export interface CoverageRow {
  readonly id: string;
  readonly level: 'MUST' | 'SHOULD';
  readonly section: string;
  readonly text: string;
  /** Who it binds (Annex C): `server`, `client`, `sender`, `checker`... */
  readonly binds: string;
  /** Its profile(s) per Annex C. */
  readonly profile: string;
  readonly cases: readonly string[];
  readonly status: CoverageStatus;
}

/** A case as `--list` shows it. */
export interface ListedCase {
  readonly id: string;
  readonly title: string;
  readonly dialect: DialectName;
  readonly kind: 'server' | 'client';
  readonly level: string;
  readonly profile: string;
  readonly requirements: readonly string[];
}

/** The case as listed. */
export function listedCase(c: ConformanceCase): ListedCase {
  return {
    id: c.id,
    title: c.title,
    dialect: c.dialect,
    kind: c.kind,
    level: c.level,
    profile: c.profile,
    requirements: [...c.requirements],
  };
}

let annex: AnnexRow[] | undefined;
function annexRows(): AnnexRow[] {
  annex ??= parseAnnexC(readFileSync(join(PACKAGE_ROOT, 'spec/PROTOCOL.md'), 'utf8'));
  return annex;
}

/** Requirements of one dialect whose IDs do not say so (CLIENT-PROMPT-n: only NICK has a prompt). */
const DIALECT_OF: Readonly<Record<string, DialectName>> = { 'CLIENT-PROMPT-1': 'nick', 'CLIENT-PROMPT-2': 'nick' };

/** The one dialect a requirement binds (`NICK-*`, `ENC-NICK-*`, ...), or undefined for both. */
export function requirementDialect(id: string): DialectName | undefined {
  // The extension profiles (spec §14) extend the NICK dialect only.
  if (/^(?:ENC-)?NICK-|^(?:EXT|ADMIN|CMD|ROOM)-/.test(id)) return 'nick';
  if (/^(?:ENC-)?TILDE-/.test(id)) return 'tilde';
  return DIALECT_OF[id];
}

/**
 * Every MUST and SHOULD requirement with the listed cases that check it. With `dialect`, the other
 * dialect's own requirements ({@link requirementDialect}) are marked `other-dialect`.
 */
export function requirementCoverage(cases: readonly ConformanceCase[], dialect?: DialectName): CoverageRow[] {
  const byAnnex = new Map(annexRows().map((r) => [r.id, r]));
  const rows: CoverageRow[] = [];
  for (const r of requirementIndex().values()) {
    if (r.level !== 'MUST' && r.level !== 'SHOULD') continue;
    const a = byAnnex.get(r.id);
    const covering = cases.filter((c) => c.requirements.includes(r.id)).map((c) => c.id);
    const only = requirementDialect(r.id);
    const otherDialect = dialect !== undefined && only !== undefined && only !== dialect;
    const status: CoverageStatus =
      covering.length > 0
        ? 'covered'
        : otherDialect
          ? 'other-dialect'
          : NOT_JUDGED_BY_CASES[r.id] !== undefined
            ? 'not-judged'
            : 'uncovered';
    rows.push({
      id: r.id,
      level: r.level,
      section: r.section,
      text: r.text,
      binds: a?.binds ?? '?',
      profile: a?.profile ?? '?',
      cases: covering,
      status,
    });
  }
  return rows;
}

/** The `--list` text: the cases, then the coverage. */
export function renderList(cases: readonly ConformanceCase[], coverage: readonly CoverageRow[]): string {
  const out: string[] = [];
  const idWidth = Math.max(4, ...cases.map((c) => c.id.length));
  out.push(`${cases.length} case${cases.length === 1 ? '' : 's'}:`);
  out.push(`  ${'id'.padEnd(idWidth)}  level   profile     requirements`);
  for (const c of cases) {
    out.push(
      `  ${c.id.padEnd(idWidth)}  ${c.level.padEnd(6)}  ${c.profile.padEnd(10)}  ${c.requirements.join(', ')}`,
    );
    out.push(`  ${''.padEnd(idWidth)}  ${c.title}`);
  }
  const relevant = coverage.filter((r) => r.status !== 'other-dialect');
  const covered = relevant.filter((r) => r.status === 'covered').length;
  const judgeable = relevant.filter((r) => r.status !== 'not-judged').length;
  out.push('');
  out.push(`requirement coverage (MUST and SHOULD of spec/PROTOCOL.md): ${covered}/${judgeable} covered`);
  const reqWidth = Math.max(...relevant.map((r) => r.id.length), 2);
  for (const r of relevant) {
    const what =
      r.status === 'covered'
        ? r.cases.join(', ')
        : r.status === 'not-judged'
          ? `(no case: ${NOT_JUDGED_BY_CASES[r.id]})`
          : `NOT COVERED by the cases listed (${r.binds}; profile ${r.profile})`;
    out.push(`  ${r.id.padEnd(reqWidth)}  ${r.level.padEnd(6)}  ${what}`);
  }
  return `${out.join('\n')}\n`;
}
