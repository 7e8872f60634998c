/**
 * What a conformance case is, and how it ends. A case states what it sends and the requirement it
 * checks; it passes by returning, and fails by throwing a {@link CaseFailure} that carries every
 * acceptable alternative and what actually arrived (spec/PROTOCOL.md §3.7, FRAME-6).
 *
 * @module
 */
import type { DialectName } from '../../src/codec/index.js';
import type { ClientCaseContext } from './client-context.js';
import type { ServerCaseContext } from './context.js';
import type { Level } from './verdict.js';

export { CaseFailure, CaseNotJudged, CaseSkip, type FailureDetails, type Level } from './verdict.js';

/**
 * Which cases run by default. `core`: what the seeds' scripts do right in an ordinary session
 * (each seed server passes every core case). `robustness`: disconnects, bad bytes, oversize input,
 * slow readers, many clients, half-finished handshakes. `client`: cases that judge a client
 * program. `stress`: slow, opt-in load cases. `admin`, `commands`, `rooms`: the extension profiles
 * (spec §14), run only for a target declared to speak them (EXT-1).
 */
export type Profile = 'core' | 'robustness' | 'client' | 'stress' | 'admin' | 'commands' | 'rooms';

/** The extension profiles (spec §14): never in a default run. */
export const EXTENSION_PROFILES = ['admin', 'commands', 'rooms'] as const satisfies readonly Profile[];

/** Every profile, in report order. */
export const PROFILES: readonly Profile[] = ['core', 'robustness', 'client', 'stress', ...EXTENSION_PROFILES];

/**
 * How a case ended. `flaky`: failed, then passed on a retry. `error`: could not be judged at all
 * (never counted as a pass or a fail).
 */
export type Verdict = 'pass' | 'fail' | 'warn' | 'skip' | 'flaky' | 'error';

/** What every case declares. */
interface CaseBase {
  /** Stable slug, e.g. `nick.join.broadcast`; never positional. */
  readonly id: string;
  /** What the case checks, as a sentence ("sends `<nick> joined!` to every member, the newcomer included"). */
  readonly title: string;
  /** The dialect it speaks. */
  readonly dialect: DialectName;
  /** The requirement IDs it checks (spec/PROTOCOL.md); the first is the main one. */
  readonly requirements: readonly string[];
  /** The case's level (a SHOULD case warns instead of failing). */
  readonly level: Level;
  /** The profile it belongs to. */
  readonly profile: Profile;
  /** One line on what to fix when it fails, in words a student understands. */
  readonly hint: string;
  /** Budget for the whole case; default {@link CASE_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** The seeds' defects (spec Annex A, e.g. `D-NS-1`) this case catches on their scripts. */
  readonly catches?: readonly string[];
  /**
   * `line`: the case judges the optional line profile (spec §8), so a run includes it only when the
   * target is declared to speak it (`chatkit conform --framing line`).
   */
  readonly framing?: 'line';
  /**
   * Cases this one stands on, beyond the handshake, join and echo every server case stands on
   * (those are found from the failure itself, preconditions.ts). When one of them fails in the same
   * run and this one fails too, this one is reported `blocked` by it: one bug, one failure.
   */
  readonly standsOn?: readonly string[];
}

/** A case that judges a server: chatkit plays the clients. */
export interface ServerCase extends CaseBase {
  /** Discriminant. */
  readonly kind: 'server';
  /** Sends, observes, and throws a {@link CaseFailure} when the server breaks the requirement. */
  run(t: ServerCaseContext): Promise<void>;
}

/** A case that judges a client program: chatkit plays the server and types into the client. */
export interface ClientCase extends CaseBase {
  /** Discriminant. */
  readonly kind: 'client';
  /** Drives the client and throws a {@link CaseFailure} when it breaks the requirement. */
  run(t: ClientCaseContext): Promise<void>;
}

/** Any conformance case. */
export type ConformanceCase = ServerCase | ClientCase;

/** Default budget of one case (every wait inside it is shorter). */
export const CASE_TIMEOUT_MS = 15_000;
/** The least budget of one case (spec Annex E): `--timeout-scale` never takes a case below it. */
export const CASE_TIMEOUT_MIN_MS = 5_000;

/** The budget of case `c` under `--timeout-scale` `scale`, never below {@link CASE_TIMEOUT_MIN_MS}. */
export function caseBudgetMs(c: { readonly timeoutMs?: number | undefined }, scale = 1): number {
  return Math.max(CASE_TIMEOUT_MIN_MS, Math.round((c.timeoutMs ?? CASE_TIMEOUT_MS) * scale));
}
