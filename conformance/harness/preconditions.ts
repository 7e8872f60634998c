/**
 * What server cases stand on, and which case judges it (spec/PROTOCOL.md §9.2: a case that cannot
 * reach its precondition fails the requirement of that precondition, never its own). Almost every
 * case first connects, gets the prompt, joins and often paces itself on its own echo; when one of
 * those steps breaks, the failure is the precondition's, and when the case that judges that step
 * has failed in the same run too, the case is `blocked` by it: one bug costs one failure.
 *
 * @module
 */
import type { DialectName } from '../../src/codec/index.js';
import { CaseFailure } from './verdict.js';

/** The steps cases stand on. */
export type PreconditionStep = 'prompt' | 'welcome' | 'joined' | 'echo' | 'relay' | 'left';

/**
 * The case that judges each step, per dialect. NICK: the prompt (NICK-PROMPT-1), the newcomer's
 * welcome (NICK-JOIN-2), the join announcement others get (NICK-JOIN-1), the sender's own echo and
 * the relay to other members (NICK-RELAY-1), the leave announcement (NICK-LEAVE-1). tilde has no
 * prompt and no welcome: the newcomer's own announcement is its admission (TILDE-JOIN-1).
 */
export const PRECONDITION_CASES: Readonly<Record<DialectName, Partial<Record<PreconditionStep, string>>>> = {
  nick: {
    prompt: 'nick.handshake.prompt',
    welcome: 'nick.join.connected',
    joined: 'nick.join.broadcast',
    echo: 'nick.relay.echo',
    relay: 'nick.relay.all',
    left: 'nick.leave.reset',
  },
  tilde: {
    welcome: 'tilde.join.broadcast',
    joined: 'tilde.join.broadcast',
    echo: 'tilde.relay.echo',
    relay: 'tilde.relay.all',
    left: 'tilde.leave.announce',
  },
};

/** The step a requirement is the precondition of, when a case waits on it without judging it. */
const STEP_OF_REQUIREMENT: Readonly<Record<string, PreconditionStep>> = {
  'NICK-PROMPT-1': 'prompt',
  'NICK-JOIN-2': 'welcome',
  'NICK-JOIN-1': 'joined',
  'NICK-RELAY-1': 'relay',
  'NICK-LEAVE-1': 'left',
  'TILDE-JOIN-1': 'joined',
  'TILDE-RELAY-1': 'relay',
  'TILDE-LEAVE-2': 'left',
};

/** The case that judges `step` in `dialect`, if there is one. */
export function preconditionCase(dialect: DialectName, step: PreconditionStep): string | undefined {
  return PRECONDITION_CASES[dialect][step];
}

/** The case that judges `requirement` as a precondition in `dialect`, if it is one. */
export function preconditionCaseOf(dialect: DialectName, requirement: string): string | undefined {
  const step = STEP_OF_REQUIREMENT[requirement];
  return step === undefined ? undefined : preconditionCase(dialect, step);
}

/**
 * Runs `step`, a wait the running case needs but does not judge: a failure in it is one of the
 * precondition that case `owner` judges (§9.2), so when `owner` failed in the same run the running
 * case is `blocked` by it, and when `owner` passed the failure stays the running case's own.
 */
export async function standingOn<T>(owner: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof CaseFailure) || error.details.precondition !== undefined) throw error;
    throw new CaseFailure({ ...error.details, precondition: owner });
  }
}
