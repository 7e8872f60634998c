/**
 * The result of a conformance run as data: the `--reporter json` document (a documented,
 * versioned schema, validated with zod), from which every other report (pretty, JUnit, badge,
 * verdict matrix) is rendered.
 *
 * @module
 */
import { z } from 'zod';

/** The schema's name and version; a breaking change bumps the number. */
export const REPORT_SCHEMA = 'chatkit-conformance/2';

const verdict = z.enum(['pass', 'fail', 'warn', 'skip', 'flaky', 'error', 'blocked']);
const level = z.enum(['MUST', 'SHOULD', 'INFO']);
const profile = z.enum(['core', 'robustness', 'client', 'stress', 'admin', 'commands', 'rooms']);

/** One transcript event: bytes in or out of one connection, or a connection event. */
export const transcriptEventSchema = z.strictObject({
  /** Milliseconds since the case started. */
  t: z.number(),
  /** `in`: one received chunk (a recv boundary); `out`: one write; `event`: connect, EOF, reset... */
  dir: z.enum(['in', 'out', 'event']),
  /** The bytes, escaped (spec/README.md): printable ASCII as is, `\xNN` otherwise. */
  bytes: z.string().optional(),
  /** The bytes as hex, when any byte is not printable ASCII. */
  hex: z.string().optional(),
  /** What happened, for `event`. */
  note: z.string().optional(),
});

/** The transcript of one connection. */
export const connectionTranscriptSchema = z.strictObject({
  label: z.string(),
  events: z.array(transcriptEventSchema),
});

/** Why a case failed (or warned): the requirement, every acceptable alternative, what arrived. */
export const failureSchema = z.strictObject({
  requirement: z.string(),
  requirementText: z.string(),
  message: z.string(),
  expected: z.array(z.string()),
  actual: z.string(),
  connection: z.string().optional(),
  /**
   * What to fix, shown only where the failure matches what the hint assumes (a precondition's
   * failure carries the hint of the requirement it broke, or none).
   */
  hint: z.string().optional(),
  /**
   * Set when the failure is of a precondition the case stands on (a handshake, a join, an echo),
   * not of what the case itself checks: the id of the case that judges that precondition.
   */
  precondition: z.string().optional(),
  /**
   * Set when the failure shows a way the target broke that any case could meet (a member closed for
   * nothing, the server process exiting): failures with one cause in a run are one root cause.
   */
  cause: z.string().optional(),
});

/** What a `blocked` case stood on: the failed case, and the requirement it failed. */
export const blockedBySchema = z.strictObject({
  id: z.string(),
  requirement: z.string(),
});

/** One case's result. */
export const caseResultSchema = z.strictObject({
  id: z.string(),
  title: z.string(),
  dialect: z.enum(['nick', 'tilde']),
  kind: z.enum(['server', 'client']),
  level,
  profile,
  requirements: z.array(z.strictObject({ id: z.string(), level: z.string(), text: z.string() })),
  verdict,
  durationMs: z.number(),
  attempts: z.number().int().min(1),
  failure: failureSchema.optional(),
  skipReason: z.string().optional(),
  error: z.string().optional(),
  /** For `blocked`: the case it stands on that failed in the same run (it is neither pass nor fail). */
  blockedBy: blockedBySchema.optional(),
  transcript: z.array(connectionTranscriptSchema),
  targetOutput: z.strictObject({ stdout: z.string(), stderr: z.string() }).optional(),
  /** The command that reruns just this case. */
  rerun: z.string(),
  /** With `--baseline`: `known` (listed and still failing), `new` (failing, not listed), `fixed` (listed, now passing). */
  baseline: z.enum(['known', 'new', 'fixed']).optional(),
});

/** Counts of one level. */
const levelCount = z.strictObject({ passed: z.number().int(), total: z.number().int() });

/** The whole run. */
export const runReportSchema = z.strictObject({
  schema: z.literal(REPORT_SCHEMA),
  chatkitVersion: z.string(),
  startedAt: z.string(),
  durationMs: z.number(),
  target: z.strictObject({
    address: z.string().optional(),
    spawn: z.string().optional(),
    client: z.string().optional(),
    dialect: z.enum(['nick', 'tilde']),
    detected: z.boolean(),
    prompt: z.string().optional(),
    /**
     * The program was run as handed in (its command has no `{port}`, docs/handed-in.md): `python-shim`
     * mapped the address it hard-codes (`from`) onto chatkit's for each case; `proc-port` judged it on the
     * port it listens on, found in /proc. `mapped`: the mapping lines of one case.
     */
    handedIn: z
      .strictObject({
        how: z.enum(['python-shim', 'proc-port']),
        from: z.string(),
        mapped: z.array(z.string()),
        note: z.string(),
      })
      .optional(),
  }),
  options: z.strictObject({
    profiles: z.array(profile),
    only: z.array(z.string()),
    exclude: z.array(z.string()),
    retries: z.number().int(),
    failOn: z.enum(['must', 'should']),
  }),
  summary: z.strictObject({
    total: z.number().int(),
    pass: z.number().int(),
    fail: z.number().int(),
    warn: z.number().int(),
    skip: z.number().int(),
    flaky: z.number().int(),
    error: z.number().int(),
    blocked: z.number().int(),
    must: levelCount,
    should: levelCount,
  }),
  /** The run's seed: the nicknames and texts the cases used derive from it (`--seed` reproduces them). */
  seed: z.number().int().optional(),
  /** Why nothing (or not everything) could be judged: e.g. the target stopped answering during a case. */
  unjudged: z
    .strictObject({
      reason: z.string(),
      /** The case during which the target stopped answering, when one. */
      during: z.string().optional(),
    })
    .optional(),
  /**
   * With `--learn` or `--variant`: the texts the run judged against instead of the spec's, where they
   * came from, texts the learning session did not show (judged as the spec's), and each wording
   * difference once, as an INFO deviation of the requirement that names the spec's text (never failing).
   */
  variant: z
    .strictObject({
      source: z.enum(['learned', 'file']),
      file: z.string().optional(),
      texts: z.strictObject({
        prompt: z.string().optional(),
        welcome: z.string(),
        joined: z.string(),
        left: z.string(),
        encoding: z.enum(['ascii', 'utf-8']),
      }),
      missing: z.array(z.string()),
      deviations: z.array(
        z.strictObject({
          requirement: z.string(),
          level: z.literal('INFO'),
          text: z.enum(['prompt', 'welcome', 'joined', 'left', 'encoding']),
          spec: z.string(),
          variant: z.string(),
          message: z.string(),
        }),
      ),
    })
    .optional(),
  /** With `--baseline`: ids of baseline entries that no longer name a case (stale). */
  staleBaseline: z.array(z.string()).optional(),
  cases: z.array(caseResultSchema),
  exitCode: z.number().int(),
});

/** A transcript event. */
export type TranscriptEventJson = z.infer<typeof transcriptEventSchema>;
/** A connection's transcript. */
export type ConnectionTranscript = z.infer<typeof connectionTranscriptSchema>;
/** A case's result. */
export type CaseResult = z.infer<typeof caseResultSchema>;
/** A whole run. */
export type RunReport = z.infer<typeof runReportSchema>;
/** A verdict. */
export type VerdictName = z.infer<typeof verdict>;

/**
 * Exit codes of `chatkit conform`: 0 every MUST case passed (and, with `--fail-on should`, every
 * SHOULD case); 1 a MUST case failed; 2 usage error; 3 nothing could be judged (target
 * unreachable, speaks neither dialect) or the harness failed on a case that did not fail otherwise.
 * With `--baseline`, failures listed in it (`baseline: 'known'`) do not count.
 */
export const CONFORM_EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNJUDGED: 3 } as const;

/** Summarises results and decides the exit code. */
export function summarise(
  cases: readonly CaseResult[],
  failOn: 'must' | 'should',
): { summary: RunReport['summary']; exitCode: number } {
  const count = (v: VerdictName) => cases.filter((c) => c.verdict === v).length;
  const judged = (l: 'MUST' | 'SHOULD') =>
    cases.filter((c) => c.level === l && c.verdict !== 'skip' && c.verdict !== 'error' && c.verdict !== 'blocked');
  const passedOf = (l: 'MUST' | 'SHOULD') =>
    judged(l).filter((c) => c.verdict === 'pass' || c.verdict === 'flaky').length;
  const summary = {
    total: cases.length,
    pass: count('pass'),
    fail: count('fail'),
    warn: count('warn'),
    skip: count('skip'),
    flaky: count('flaky'),
    error: count('error'),
    blocked: count('blocked'),
    must: { passed: passedOf('MUST'), total: judged('MUST').length },
    should: { passed: passedOf('SHOULD'), total: judged('SHOULD').length },
  };
  // A failure the baseline lists is reported, but does not fail the run.
  const counts = (c: CaseResult) => c.baseline !== 'known';
  const failed = (l: 'MUST' | 'SHOULD') =>
    judged(l).some((c) => counts(c) && c.verdict !== 'pass' && c.verdict !== 'flaky');
  const judgedAny = cases.some((c) => c.verdict !== 'error' && c.verdict !== 'skip' && c.verdict !== 'blocked');
  // A MUST case the harness could not judge leaves conformance open: never report it as a pass.
  const mustUnjudged = cases.some((c) => c.level === 'MUST' && c.verdict === 'error');
  let exitCode: number = CONFORM_EXIT.OK;
  if (!judgedAny && cases.length > 0) exitCode = CONFORM_EXIT.UNJUDGED;
  else if (failed('MUST')) exitCode = CONFORM_EXIT.FAILED;
  else if (failOn === 'should' && failed('SHOULD')) exitCode = CONFORM_EXIT.FAILED;
  else if (mustUnjudged) exitCode = CONFORM_EXIT.UNJUDGED;
  return { summary, exitCode };
}
