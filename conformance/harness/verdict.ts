/**
 * How a case ends and what that is worth: the failure and skip a case throws, and the one rule
 * that turns a broken requirement into a verdict by the case's level (spec/PROTOCOL.md §9.2).
 * Imports nothing of the harness, so the case model and both contexts can depend on it without
 * a circle.
 *
 * @module
 */

/** How much a requirement weighs: a failed MUST fails the run, a failed SHOULD warns. */
export type Level = 'MUST' | 'SHOULD' | 'INFO';

/**
 * The verdict of a case whose requirement was judged: `held` passes at every level; `broken`
 * fails a MUST, warns a SHOULD, and leaves an INFO case passing (INFO is never judged, §9.2).
 */
export function verdictOf(level: Level, outcome: 'held' | 'broken'): 'pass' | 'warn' | 'fail' {
  if (outcome === 'held') return 'pass';
  return level === 'MUST' ? 'fail' : level === 'SHOULD' ? 'warn' : 'pass';
}

/** What a failure shows: the requirement, every acceptable alternative, and what arrived. */
export interface FailureDetails {
  /** The requirement broken (one of the case's). */
  readonly requirement: string;
  /** What went wrong, in one sentence. */
  readonly message: string;
  /** Every acceptable alternative (escaped bytes or descriptions). */
  readonly expected: readonly string[];
  /** What arrived instead (escaped bytes, or a description such as "connection closed"). */
  readonly actual: string;
  /** The connection it concerns, if one. */
  readonly connection?: string;
  /**
   * Set when a precondition the case stands on broke (a prompt, a join, an echo) rather than what
   * the case judges: the id of the case that judges that precondition (see preconditions.ts).
   */
  readonly precondition?: string;
  /**
   * Set when the failure shows a way the target broke that any case could meet (causes.ts): a
   * member closed for nothing, the server process exiting. Failures with one cause are one root.
   */
  readonly cause?: string;
}

/** Thrown by a case (usually through the context's checks) when the target breaks a requirement. */
export class CaseFailure extends Error {
  /** The details the report shows. */
  readonly details: FailureDetails;
  /** Creates the failure from its details. */
  constructor(details: FailureDetails) {
    super(details.message);
    this.name = 'CaseFailure';
    this.details = details;
  }
}

/**
 * Thrown by a case whose own evidence fell short of what its verdict needs, for a reason that is
 * the judge's, not the target's (an overloaded machine slowed the judge's flood): the case is
 * reported as not judged (`error`), never passed or failed on that evidence.
 */
export class CaseNotJudged extends Error {
  /** Creates it with what fell short, in words a student understands. */
  constructor(reason: string) {
    super(reason);
    this.name = 'CaseNotJudged';
  }
}

/** Thrown by a case that cannot apply to this target, with the reason. */
export class CaseSkip extends Error {
  /** Creates the skip with its reason. */
  constructor(reason: string) {
    super(reason);
    this.name = 'CaseSkip';
  }
}
