/**
 * Which cases a run includes: by dialect, profile, and `--only` / `--exclude` (case ids, or id
 * prefixes ending in `.` or `*`, e.g. `nick.leave.*`).
 *
 * @module
 */
import type { DialectName } from '../../src/codec/index.js';
import type { ConformanceCase, Profile } from './case.js';

/** The default profiles of a server run (client runs use `client`; `stress` is opt-in). */
export const DEFAULT_SERVER_PROFILES: readonly Profile[] = ['core', 'robustness'];

/** Options of {@link selectCases}. */
export interface Selection {
  readonly dialect: DialectName;
  readonly kind: 'server' | 'client';
  readonly profiles: readonly Profile[];
  readonly only?: readonly string[];
  readonly exclude?: readonly string[];
  /** The framing the target is declared to speak; line-profile cases run only under `line`. Default `chunk`. */
  readonly framing?: 'chunk' | 'line';
}

/** Whether `id` matches a pattern: the exact id, or a prefix written `nick.leave.` or `nick.leave.*`. */
export function matchesId(id: string, pattern: string): boolean {
  if (pattern.endsWith('*')) return id.startsWith(pattern.slice(0, -1));
  if (pattern.endsWith('.')) return id.startsWith(pattern);
  return id === pattern;
}

/** The cases of a run, in registry order. */
export function selectCases(all: readonly ConformanceCase[], selection: Selection): ConformanceCase[] {
  return all.filter(
    (c) =>
      c.dialect === selection.dialect &&
      c.kind === selection.kind &&
      (c.framing === undefined || c.framing === (selection.framing ?? 'chunk')) &&
      (selection.only?.length
        ? selection.only.some((p) => matchesId(c.id, p))
        : selection.profiles.includes(c.profile)) &&
      !(selection.exclude ?? []).some((p) => matchesId(c.id, p)),
  );
}

/** Patterns in `--only` / `--exclude` that match no case: a typo should not silently select nothing. */
export function unknownPatterns(all: readonly ConformanceCase[], patterns: readonly string[]): string[] {
  return patterns.filter((p) => !all.some((c) => matchesId(c.id, p)));
}
