/**
 * `chatkit conform --fuzz N`: N random sessions against the target, generated with fast-check:
 * several clients whose nicknames and texts are drawn from the dialect's charset with the edge
 * cases that break chats (`~`, `:`, `: `, empty text, maximal lengths, multi-byte UTF-8), joining,
 * talking and leaving by EOF or reset. A model predicts, for every member, the messages it must
 * receive in order; every step is paced on observed traffic. A violation is shrunk to a minimal
 * session and reported as a transcript with the seed that replays it (`--seed`).
 *
 * Only MUST-level effects are predicted (joins, relays, NICK leaves), and only for the session's
 * own members, so a target with other people chatting is judged correctly.
 *
 * @module
 */
import fc from 'fast-check';
import type { DialectName } from '../../src/codec/index.js';
import { CaseFailure } from '../harness/case.js';
import type { Connection } from '../harness/connection.js';
import { type Member, ServerCaseContext } from '../harness/context.js';
import { type CaseTiming, DEFAULT_TIMING } from '../harness/timing.js';
import type { CaseResult, ConnectionTranscript } from '../harness/report.js';
import { requirementIndex } from '../harness/requirements.js';
import { transcriptOf } from '../harness/transcript.js';
import type { ServerTexts } from '../variant/texts.js';

/** Most clients in one session. */
export const FUZZ_SLOTS = 4;
/** Most commands in one session. */
export const FUZZ_MAX_COMMANDS = 16;

/** One step of a generated session. */
export type FuzzCommand =
  | { readonly kind: 'join'; readonly slot: number; readonly base: string }
  | { readonly kind: 'say'; readonly slot: number; readonly text: string }
  | { readonly kind: 'leave'; readonly slot: number; readonly how: 'eof' | 'reset' };

/** Renders a command for the report, e.g. `say(c2, "a~b")`. */
export function describeCommand(c: FuzzCommand): string {
  if (c.kind === 'join') return `join(c${c.slot + 1}, "${c.base}…")`;
  if (c.kind === 'say') return `say(c${c.slot + 1}, ${JSON.stringify(c.text)})`;
  return `leave(c${c.slot + 1}, ${c.how})`;
}

const printable = (except = '') => {
  const out: string[] = [];
  for (let c = 0x21; c <= 0x7e; c++) if (!except.includes(String.fromCharCode(c))) out.push(String.fromCharCode(c));
  return out;
};

/** Nickname stems; the session appends a unique suffix, so the whole stays valid and unique. */
function nickBase(dialect: DialectName): fc.Arbitrary<string> {
  const chars =
    dialect === 'nick' ? printable(':') : [...printable('~'), 'é', 'ü', '中', ' '];
  return fc
    .string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: 8 })
    .filter((s) => s.trim() === s && Buffer.byteLength(s) <= 12 && s !== 'SERVER');
}

/** Message texts with the separators and edge cases of the dialect. */
function text(dialect: DialectName): fc.Arbitrary<string> {
  const edge = dialect === 'nick' ? [': ', ':', '~', '\t', ' '] : ['~', '~~', 'é', '🌍', '中', ' ', 'SERVER~'];
  const unit = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...printable(), ' ') }, { weight: 2, arbitrary: fc.constantFrom(...edge) });
  // NICK text may be empty (`alice: `); tilde content never is (an empty write sends nothing).
  return fc.oneof(
    fc.string({ unit, minLength: dialect === 'nick' ? 0 : 1, maxLength: 40 }),
    fc.constant(dialect === 'nick' ? 'x'.repeat(900) : 'é'.repeat(900)),
  );
}

/** The arbitrary session of a dialect. */
export function sessionArbitrary(dialect: DialectName): fc.Arbitrary<FuzzCommand[]> {
  const slot = fc.nat({ max: FUZZ_SLOTS - 1 });
  const command: fc.Arbitrary<FuzzCommand> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('join' as const), slot, base: nickBase(dialect) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('say' as const), slot, text: text(dialect) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), slot, how: fc.constantFrom('eof' as const, 'reset' as const) }) },
  );
  return fc.array(command, { minLength: 1, maxLength: FUZZ_MAX_COMMANDS });
}

/** Where the session runs: a live target, or a fresh one per session. */
export interface FuzzTarget {
  /** Opens (or spawns) the target for one session; `close` ends it. */
  open(): Promise<{ host: string; port: number; close(): Promise<void> }>;
}

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  readonly target: FuzzTarget;
  readonly dialect: DialectName;
  readonly prompt?: string;
  /** The texts to expect instead of the spec's (`--learn`, `--variant`). */
  readonly texts?: ServerTexts;
  readonly runs: number;
  readonly seed?: number;
  readonly timing?: CaseTiming;
}

/** The transcript of a failing session, one entry per connection. */
export type FuzzTranscript = ConnectionTranscript[];

/** What a fuzz run found. */
export interface FuzzOutcome {
  readonly runs: number;
  readonly seed: number;
  /** Undefined when every session behaved. */
  readonly failure?: {
    readonly commands: string[];
    readonly details: CaseFailure['details'];
    readonly transcript: FuzzTranscript;
    /** The fast-check path, to replay exactly this counterexample. */
    readonly path: string;
  };
}

/** Runs one session; throws a {@link CaseFailure} on the first violation. */
async function runSession(
  commands: readonly FuzzCommand[],
  t: ServerCaseContext,
): Promise<void> {
  const slots: (Member | undefined)[] = new Array(FUZZ_SLOTS).fill(undefined);
  /** Per member: stream offset past the last expected message found. */
  const cursor = new Map<Connection, number>();
  const members = () => slots.filter((m): m is Member => m !== undefined);
  const expectAll = async (bytes: string, requirement: string, what: string, to: readonly Member[]) => {
    for (const m of to) {
      const end = await t.expectReceives(m.conn, [bytes], { requirement, what, after: cursor.get(m.conn) ?? m.joinedAt });
      cursor.set(m.conn, end);
    }
  };
  for (const c of commands) {
    const current = slots[c.slot];
    if (c.kind === 'join' && current === undefined) {
      const nick = `${c.base}${t.nick('')}`;
      const others = members();
      const joined = await t.join(nick, `c${c.slot + 1}`);
      slots[c.slot] = joined;
      cursor.set(joined.conn, joined.joinedAt);
      await expectAll(t.joined(nick), t.dialect === 'nick' ? 'NICK-JOIN-1' : 'TILDE-JOIN-1', `${nick}'s join`, others);
    } else if (c.kind === 'say' && current !== undefined) {
      const relay = t.say(current, c.text);
      await expectAll(relay, t.dialect === 'nick' ? 'NICK-RELAY-1' : 'TILDE-RELAY-1', `the relay of ${JSON.stringify(c.text)}`, members());
    } else if (c.kind === 'leave' && current !== undefined) {
      slots[c.slot] = undefined;
      if (c.how === 'eof') current.conn.end();
      else current.conn.reset();
      // tilde leave announcements are a SHOULD (TILDE-LEAVE-2): only NICK's are predicted.
      if (t.dialect === 'nick') await expectAll(t.left(current.nick), 'NICK-LEAVE-1', `${current.nick}'s leave`, members());
    }
  }
}

/** Runs `runs` random sessions; shrinks and reports the first violation. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzOutcome> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  let last: { commands: string[]; error: CaseFailure; transcript: FuzzTranscript } | undefined;
  const property = fc.asyncProperty(sessionArbitrary(options.dialect), async (commands) => {
    const target = await options.target.open();
    const t = new ServerCaseContext({
      host: target.host,
      port: target.port,
      dialect: options.dialect,
      timing: options.timing ?? DEFAULT_TIMING,
      ...(options.prompt ? { prompt: options.prompt } : {}),
      ...(options.texts ? { texts: options.texts } : {}),
    });
    try {
      await runSession(commands, t);
      return true;
    } catch (error) {
      if (!(error instanceof CaseFailure)) throw error;
      last = {
        commands: commands.map(describeCommand),
        error,
        transcript: t.connections().map(({ conn, openedAtMs }) => transcriptOf(conn, openedAtMs)),
      };
      return false;
    } finally {
      t.closeAll();
      await target.close();
    }
  });
  const details = await fc.check(property, { numRuns: options.runs, seed, endOnFailure: false });
  if (!details.failed || last === undefined) return { runs: details.numRuns, seed };
  return {
    runs: details.numRuns,
    seed,
    failure: { commands: last.commands, details: last.error.details, transcript: last.transcript, path: details.counterexamplePath ?? '' },
  };
}

/**
 * The fuzz run as one result of the report (`<dialect>.fuzz.sessions`), so every reporter shows
 * it: on a violation, the minimal session, what was expected and what arrived, and the command
 * that replays exactly that session.
 */
export function fuzzCaseResult(
  outcome: FuzzOutcome,
  options: { dialect: DialectName; durationMs: number; rerun: string },
): CaseResult {
  const requirements = requirementIndex();
  const ids = options.dialect === 'nick' ? ['NICK-JOIN-1', 'NICK-RELAY-1', 'NICK-LEAVE-1'] : ['TILDE-JOIN-1', 'TILDE-RELAY-1'];
  const failure = outcome.failure;
  return {
    id: `${options.dialect}.fuzz.sessions`,
    title: `${outcome.runs} random sessions (joins, messages with edge-case text, leaves by EOF and reset) behave as the model predicts`,
    dialect: options.dialect,
    kind: 'server',
    level: 'MUST',
    profile: 'robustness',
    requirements: ids.map((id) => ({ id, level: requirements.get(id)?.level ?? '?', text: requirements.get(id)?.text ?? '' })),
    verdict: failure ? 'fail' : 'pass',
    durationMs: Math.round(options.durationMs),
    attempts: 1,
    ...(failure
      ? {
          failure: {
            ...failure.details,
            message: `minimal failing session (seed ${outcome.seed}): ${failure.commands.join(', ')}: ${failure.details.message}`,
            expected: [...failure.details.expected],
            requirementText: requirements.get(failure.details.requirement)?.text ?? '',
            hint: 'Replay the session with the command below and read the transcript: each step waits for its effect, so the first step whose effect is missing is the bug.',
          },
        }
      : {}),
    transcript: failure?.transcript ?? [],
    rerun: options.rerun,
  };
}
