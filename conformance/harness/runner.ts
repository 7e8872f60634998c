/**
 * Runs cases against a target and turns each into a result: a fresh target per case with
 * `--spawn` (so a wedged or crashed target cannot poison later cases), a budget per case, retries
 * that turn a late pass into `flaky`, and a transcript of every connection. The run always ends.
 *
 * @module
 */
import type { DialectName } from '../../src/codec/index.js';
import { fillSpawnCommand } from '../../src/command-template.js';
import { CaseFailure, CaseNotJudged, CaseSkip, type ConformanceCase, caseBudgetMs } from './case.js';
import { ClientCaseContext } from './client-context.js';
import { ServerCaseContext } from './context.js';
import { type CaseTiming, DEFAULT_TIMING } from './timing.js';
import { resolveRootCauses } from './blocking.js';
import { checkLiveness } from './liveness.js';
import { PRECONDITION_CASES } from './preconditions.js';
import type { NodeAddress } from '../../src/nodes.js';
import type { CaseResult, ConnectionTranscript } from './report.js';
import { transcriptOf } from './transcript.js';
import { verdictOf } from './verdict.js';
import { requirementIndex } from './requirements.js';
import { exitedCause, hintOfCause } from './causes.js';
import type { PortRange, TargetHandle } from '../../src/processes/index.js';
import { type HandedIn, handedInOf, serverLaunchMode, startServerOnFreePort } from '../handed-in/launch.js';
import type { ServerTexts } from '../variant/texts.js';
import { setDeadline } from '../../src/deadline.js';

/** How much of a dead target's stdout and stderr a failure or error quotes (the tail). */
export const OUTPUT_TAIL_CHARS = 400;
/**
 * How long a failed case waits for a spawned target whose connections the target closed to finish
 * exiting: a dying server's sockets close a moment before its exit is reaped, and a failure during
 * which it exited has that exit as its cause (causes.ts).
 */
export const EXIT_SETTLE_MS = 300;
/** Extra time a spawned target gets to start listening. */
export const SPAWN_LISTEN_TIMEOUT_MS = 10_000;

/** What the cases run against. */
export type RunTarget =
  | {
      readonly kind: 'address';
      readonly host: string;
      readonly port: number;
      /** Further servers of the same room (`--target` given more than once): members spread round-robin. */
      readonly moreNodes?: readonly NodeAddress[];
    }
  | { readonly kind: 'spawn'; readonly command: string }
  | { readonly kind: 'client'; readonly command: string };

/** Options of {@link runCases}. */
export interface RunOptions {
  readonly target: RunTarget;
  readonly dialect: DialectName;
  readonly prompt?: string;
  /** `line` when the target uses the optional line profile (§8). */
  readonly framing?: 'chunk' | 'line';
  readonly retries?: number;
  readonly timing?: CaseTiming;
  /**
   * Multiplies every case's budget (`--timeout-scale` on slow machines; the step and quiet bounds are
   * scaled by the caller through `timing`). Default 1.
   */
  readonly timeoutScale?: number;
  /** The command line that reruns one case (`{id}` replaced), for reports. */
  readonly rerunTemplate?: string;
  /** Called before each case. */
  readonly onCaseStart?: (c: ConformanceCase, index: number, total: number) => void;
  /** Called after each case. */
  readonly onCaseEnd?: (result: CaseResult, index: number, total: number) => void;
  /** The run's seed: every case's nicknames and tokens derive from it (names.ts). Default: fresh per case. */
  readonly seed?: number;
  /**
   * With `--target`: called once when the target stopped answering (checked after every case that
   * did not pass); the cases after it are reported `error` without being run.
   */
  readonly onTargetLost?: (lost: TargetLost) => void;
  /**
   * `--jobs`: with `--spawn`, how many cases run at once (each has its own target process and
   * port); default 1. A shared `--target` always runs one case at a time.
   */
  readonly jobs?: number;
  /** `--port-range`: the ports a spawned target may be given (default: any free one). */
  readonly portRange?: PortRange;
  /** Cases that failed so far in this run (runCases fills it): waits on what they judge are cut short. */
  readonly failedCases?: ReadonlySet<string>;
  /** Finds any case by id, for the hint of a precondition's case that was not selected. */
  readonly lookup?: (id: string) => ConformanceCase | undefined;
  /** The texts to expect instead of the spec's (`--learn`, `--variant`: conformance/variant/). */
  readonly texts?: ServerTexts;
  /** Called after each case whose target was run as handed in (its address mapped or found). */
  readonly onHandedIn?: (handedIn: HandedIn) => void;
}

/** A shared target that stopped answering: the case during which it did, and what was seen. */
export interface TargetLost {
  readonly during: string;
  readonly reason: string;
}

export { fillSpawnCommand };

interface Attempt {
  verdict: CaseResult['verdict'];
  failure?: CaseResult['failure'];
  skipReason?: string;
  error?: string;
  transcript: ConnectionTranscript[];
  targetOutput?: { stdout: string; stderr: string };
}

async function withBudget<T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const budget = new Promise<T>((resolve) => {
    // A case that ended while a stalled checker passed its budget has ended: see setDeadline.
    timer = setDeadline(ms, () => {
      if (!settled) resolve(onTimeout());
    });
  });
  try {
    return await Promise.race([work, budget]);
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}

async function attempt(c: ConformanceCase, options: RunOptions, attemptNo = 1): Promise<Attempt> {
  const requirements = requirementIndex();
  const timing = options.timing ?? DEFAULT_TIMING;
  const hint = c.hint;
  // A precondition's failure gets the hint of the case that judges it (blocking.ts), never this one's.
  const failureOf = (error: CaseFailure): CaseResult['failure'] => ({
    ...error.details,
    requirementText: requirements.get(error.details.requirement)?.text ?? '',
    expected: [...error.details.expected],
    ...(error.details.cause !== undefined
      ? { hint: hintOfCause(error.details.cause) ?? hint }
      : error.details.precondition === undefined
        ? { hint }
        : {}),
  });
  let spawned: TargetHandle | undefined;
  let host = '127.0.0.1';
  let port = 0;
  const { target } = options;
  if (target.kind === 'spawn') {
    try {
      // A program run as handed in may listen on a port of its own (handed-in/launch.ts).
      const started = await startServerOnFreePort({
        command: target.command,
        portRange: options.portRange,
        listenTimeoutMs: SPAWN_LISTEN_TIMEOUT_MS,
      });
      spawned = started;
      port = started.port;
    } catch (error) {
      return {
        verdict: 'error',
        error: `the spawned target could not be judged: ${error instanceof Error ? error.message : String(error)}`,
        transcript: [],
      };
    }
  } else if (target.kind === 'address') {
    host = target.host;
    port = target.port;
  }
  const serverCtx =
    c.kind === 'server'
      ? new ServerCaseContext({
          host,
          port,
          dialect: c.dialect,
          timing,
          ...(options.prompt ? { prompt: options.prompt } : {}),
          ...(options.framing ? { framing: options.framing } : {}),
          ...(spawned ? { targetPid: spawned.pid } : {}),
          caseId: c.id,
          judges: c.requirements,
          attempt: attemptNo,
          ...(options.failedCases ? { failedCases: options.failedCases } : {}),
          ...(options.seed === undefined ? {} : { seed: options.seed }),
          ...(target.kind === 'address' && target.moreNodes ? { moreNodes: target.moreNodes } : {}),
          ...(options.texts ? { texts: options.texts } : {}),
        })
      : undefined;
  const clientCtx =
    c.kind === 'client' && target.kind === 'client'
      ? new ClientCaseContext({
          command: target.command,
          dialect: c.dialect,
          timing,
          ...(options.prompt ? { prompt: options.prompt } : {}),
        })
      : undefined;
  const budgetMs = caseBudgetMs(c, options.timeoutScale);
  let result: Attempt;
  try {
    const work =
      c.kind === 'server' && serverCtx
        ? c.run(serverCtx)
        : c.kind === 'client' && clientCtx
          ? c.run(clientCtx)
          : Promise.reject(
              new CaseSkip(
                `a ${c.kind} case needs ${c.kind === 'client' ? '--client' : '--target or --spawn'}`,
              ),
            );
    type Outcome = { kind: 'done' } | { kind: 'threw'; error: unknown } | { kind: 'timeout' };
    const outcome = await withBudget<Outcome>(
      work.then(
        () => ({ kind: 'done' as const }),
        (error: unknown) => ({ kind: 'threw' as const, error }),
      ),
      budgetMs,
      () => ({ kind: 'timeout' as const }),
    );
    if (outcome.kind === 'done') result = { verdict: 'pass', transcript: [] };
    else if (outcome.kind === 'timeout') {
      result = {
        verdict: verdictOf(c.level, 'broken'),
        failure: {
          requirement: c.requirements[0]!,
          requirementText: requirements.get(c.requirements[0]!)?.text ?? '',
          message: `the case did not finish within ${budgetMs} ms: the target stopped answering`,
          expected: ['every step answered within its bound'],
          actual: 'the target hung',
        },
        transcript: [],
      };
    } else if (outcome.error instanceof CaseFailure) {
      result = {
        verdict: verdictOf(c.level, 'broken'),
        failure: failureOf(outcome.error),
        transcript: [],
      };
    } else if (outcome.error instanceof CaseSkip) {
      result = { verdict: 'skip', skipReason: outcome.error.message, transcript: [] };
    } else if (outcome.error instanceof CaseNotJudged) {
      result = { verdict: 'error', error: `not judged: ${outcome.error.message}`, transcript: [] };
    } else {
      const error = outcome.error;
      result = {
        verdict: 'error',
        error: `harness error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        transcript: [],
      };
    }
  } finally {
    const connections = serverCtx
      ? serverCtx.connections()
      : (clientCtx?.connections() ?? []).map((conn) => ({ conn, openedAtMs: 0 }));
    result ??= { verdict: 'error', transcript: [] };
    result.transcript = connections.map(({ conn, openedAtMs }) => transcriptOf(conn, openedAtMs));
    if (target.kind === 'address') await serverCtx?.leaveShared();
    else serverCtx?.closeAll();
    if (clientCtx) {
      const client = clientCtx.client;
      if (client) result.targetOutput = { stdout: client.stdout(), stderr: client.stderr() };
      await clientCtx.closeAll();
    }
    if (spawned) {
      const closedByTarget = connections.some(({ conn }) => conn.closeKind === 'eof' || conn.closeKind === 'reset');
      if (result.failure !== undefined && closedByTarget && spawned.exitStatus() === undefined) {
        await withBudget(spawned.exited, EXIT_SETTLE_MS, () => undefined);
      }
      const exit = spawned.exitStatus();
      // Its traceback names the cause, and may still be in the pipe when the exit is seen.
      if (exit !== undefined) await spawned.outputSettled();
      const cause = exit === undefined ? undefined : exitedCause(exit, spawned.stderr());
      const exitHint = (cause === undefined ? undefined : hintOfCause(cause)) ?? hint;
      result.targetOutput = { stdout: spawned.stdout(), stderr: spawned.stderr() };
      if (exit !== undefined && result.failure !== undefined) {
        // The target died during a failing case: say so, with what it wrote last.
        result.failure = {
          ...result.failure,
          ...(cause === undefined ? {} : { cause }),
          hint: exitHint,
          actual: `${result.failure.actual}\n[the server process exited during the case: code ${exit.code}, signal ${exit.signal}; stdout tail: ${JSON.stringify(spawned.stdout().slice(-OUTPUT_TAIL_CHARS))}; stderr tail: ${JSON.stringify(spawned.stderr().slice(-OUTPUT_TAIL_CHARS))}]`,
        };
      }
      if (exit !== undefined && result.verdict === 'pass') {
        // A target that dies in answer to a case's traffic has broken a requirement.
        result = {
          ...result,
          verdict: verdictOf(c.level, 'broken'),
          failure: {
            requirement: c.requirements[0]!,
            requirementText: requirements.get(c.requirements[0]!)?.text ?? '',
            message: `the server process exited during the case (code ${exit.code}, signal ${exit.signal})`,
            expected: ['the server keeps running'],
            actual: `exited; stdout tail: ${JSON.stringify(spawned.stdout().slice(-OUTPUT_TAIL_CHARS))}; stderr tail: ${JSON.stringify(spawned.stderr().slice(-OUTPUT_TAIL_CHARS))}`,
            ...(cause === undefined ? {} : { cause }),
            hint: exitHint,
          },
        };
      }
      await spawned.stop();
    }
    const handedIn = handedInOf(spawned) ?? handedInOf(clientCtx?.client);
    if (handedIn) options.onHandedIn?.(handedIn);
  }
  return result;
}

/** Runs one case, with retries: a failure that passes on a retry is `flaky`. */
export async function runCase(c: ConformanceCase, options: RunOptions): Promise<CaseResult> {
  const started = performance.now();
  const retries = options.retries ?? 0;
  let first = await attempt(c, options);
  let attempts = 1;
  let final = first;
  while ((final.verdict === 'fail' || final.verdict === 'warn') && attempts <= retries) {
    attempts++;
    const again = await attempt(c, options, attempts);
    if (again.verdict === 'pass') {
      final = { ...first, verdict: 'flaky' };
      break;
    }
    final = again;
    first = again;
  }
  return {
    ...caseIdentity(c),
    verdict: final.verdict,
    durationMs: Math.round(performance.now() - started),
    attempts,
    ...(final.failure ? { failure: final.failure } : {}),
    ...(final.skipReason ? { skipReason: final.skipReason } : {}),
    ...(final.error ? { error: final.error } : {}),
    transcript: final.transcript,
    ...(final.targetOutput ? { targetOutput: final.targetOutput } : {}),
    rerun: (options.rerunTemplate ?? 'chatkit conform --only {id}').replaceAll('{id}', c.id),
  };
}

/**
 * Runs cases one after another (targets are often single-threaded student servers), then settles
 * root causes: a case whose precondition's case failed too is `blocked` (blocking.ts).
 */
export async function runCases(
  cases: readonly ConformanceCase[],
  options: RunOptions,
): Promise<CaseResult[]> {
  const results: (CaseResult | undefined)[] = new Array(cases.length);
  const failedCases = new Set<string>();
  const held: (() => void)[] = [];
  const { target } = options;
  // Only spawned targets are run concurrently: each case has its own process and port.
  // A program that listens on a port of its own (handed in, not Python) runs one case at a time.
  const parallel = target.kind === 'spawn' && serverLaunchMode(target.command) !== 'proc-port';
  const jobs = parallel ? Math.max(1, Math.floor(options.jobs ?? 1)) : 1;
  let lost: TargetLost | undefined;
  let lastRun: string | undefined;
  const runOne = async (index: number) => {
    const c = cases[index]!;
    options.onCaseStart?.(c, index, cases.length);
    const result = lost ? notJudged(c, options, lost) : await runCase(c, { ...options, failedCases });
    results[index] = result;
    if (result.verdict === 'fail' || result.verdict === 'warn') failedCases.add(c.id);
    options.onCaseEnd?.(result, index, cases.length);
    const previous = lastRun;
    lastRun = c.id;
    if (lost || target.kind !== 'address' || result.verdict === 'pass' || result.verdict === 'skip') return;
    const live = await checkLiveness(target.host, target.port, options.dialect, options.timing ?? DEFAULT_TIMING);
    held.push(live.release);
    if (live.answers) return;
    // A case that got nothing on its first connection met a target that had stopped before it.
    const metDead = (result.transcript[0]?.events ?? []).every((e) => e.dir !== 'in');
    lost = { during: metDead && previous ? previous : c.id, reason: live.why };
    options.onTargetLost?.(lost);
  };
  try {
    // The cases that judge what the others stand on run first, so a broken precondition is known
    // before the cases that need it (their waits on it are then cut short: context.ts).
    const owners = new Set(Object.values(PRECONDITION_CASES[options.dialect]));
    const indices = cases.map((_, i) => i);
    await runPool(indices.filter((i) => owners.has(cases[i]!.id)), jobs, runOne);
    await runPool(indices.filter((i) => !owners.has(cases[i]!.id)), jobs, runOne);
  } finally {
    for (const release of held) release();
  }
  return resolveRootCauses(
    results.filter((r): r is CaseResult => r !== undefined),
    cases,
    options.lookup,
  );
}

/** Runs `work` on every item, at most `jobs` at a time. */
async function runPool<T>(items: readonly T[], jobs: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
}

/** What every result says of its case: id, title, dialect, kind, level, profile, requirements. */
function caseIdentity(c: ConformanceCase): Pick<CaseResult, 'id' | 'title' | 'dialect' | 'kind' | 'level' | 'profile' | 'requirements'> {
  const requirements = requirementIndex();
  return {
    id: c.id,
    title: c.title,
    dialect: c.dialect,
    kind: c.kind,
    level: c.level,
    profile: c.profile,
    requirements: c.requirements.map((id) => {
      const r = requirements.get(id);
      return { id, level: r?.level ?? '?', text: r?.text ?? '' };
    }),
  };
}

/** The result of a case not run because the shared target had stopped answering. */
function notJudged(c: ConformanceCase, options: RunOptions, lost: TargetLost): CaseResult {
  return {
    ...caseIdentity(c),
    verdict: 'error',
    durationMs: 0,
    attempts: 1,
    error: targetLostMessage(lost),
    transcript: [],
    rerun: (options.rerunTemplate ?? 'chatkit conform --only {id}').replaceAll('{id}', c.id),
  };
}

/** What the report says of a shared target that stopped answering, with the fix. */
export function targetLostMessage(lost: TargetLost): string {
  return `not judged: the target stopped answering during ${lost.during} (${lost.reason}). A student server often dies of one client's traffic (the tutorial's NICK server stops accepting after a client closes right after the prompt, spec D-NS-4); judge a fresh instance per case with --spawn "python3 server.py" instead of --target`;
}
