/**
 * Judging one submission: its server with the suite (through conformance/conform.ts, as
 * `chatkit conform --spawn` does), then its client against the server's dialect, into one
 * {@link StudentGrade} and the two conform reports. A submission that cannot be judged is a row with
 * the reason, never an exception.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import type { DialectName } from '../src/codec/index.js';
import type { ErrorCode } from '../src/errors.js';
import { ALL_CASES } from '../conformance/cases.js';
import {
  casesFor,
  learnTarget,
  profilesFor,
  type Resolution,
  resolveDialect,
  runConformance,
  type RunVariant,
  type TargetSpec,
} from '../conformance/conform.js';
import type { Profile } from '../conformance/harness/case.js';
import type { RunReport } from '../conformance/harness/report.js';
import { PYTHON_COMMAND, TargetError } from '../src/processes/index.js';
import { ProbeError } from '../conformance/probe.js';
import { firstRootCause } from '../conformance/report/pretty.js';
import { keepTranscripts } from '../conformance/report/transcript.js';
import { VariantNotLearnedError } from '../conformance/variant/learn.js';
import { readVariant, VariantError } from '../conformance/variant/variant.js';
import type { NotJudged, ProgramGrade, RootCause, StudentGrade } from './class-report.js';
import { caseScore, type Rubric } from './rubric.js';
import { commandInFolder, isProgram, type Program, type Submission } from './submissions.js';

/** Deadline of the syntax check of one file (`python3 -c 'ast.parse(…)'`, which writes nothing). */
export const SYNTAX_CHECK_TIMEOUT_MS = 10_000;

/** How much longer the second probe of a submission that seemed to speak neither dialect waits. */
export const PROBE_RETRY_SCALE = 3;

/** How to judge (the flags of `chatkit grade`, resolved). */
export interface JudgeOptions {
  readonly dialect: 'auto' | DialectName;
  readonly prompt?: string | undefined;
  readonly profiles?: readonly Profile[] | undefined;
  /** Cases run at once within one submission. */
  readonly caseJobs: number;
  readonly timeoutScale: number;
  readonly learn: boolean;
  readonly judgeClients: boolean;
  readonly rubric: Rubric;
  readonly seed?: number | undefined;
}

/** A student's grade and the conform reports behind it. */
export interface Judged {
  readonly grade: StudentGrade;
  readonly server?: RunReport | undefined;
  readonly client?: RunReport | undefined;
}

/** Checks a file's syntax without running or compiling it to disk; the error line, or undefined. */
export function syntaxError(file: string): Promise<string | undefined> {
  const check =
    'import ast,sys\np=sys.argv[1]\ntry:\n  ast.parse(open(p,"rb").read(),p)\nexcept SyntaxError as e:\n  print("SyntaxError: %s (%s, line %s)" % (e.msg, e.filename.rsplit("/",1)[-1], e.lineno))\n  sys.exit(1)';
  return new Promise((done) => {
    execFile(PYTHON_COMMAND, ['-c', check, file], { timeout: SYNTAX_CHECK_TIMEOUT_MS }, (error, stdout) => {
      done(error && stdout.trim() ? stdout.trim() : undefined);
    });
  });
}

/** The last meaningful line of a program's output (the exception, for a crash). */
function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? ''
  );
}

/** Sorts a failure to start into the categories the class report names. */
export function notJudgedOf(error: unknown): NotJudged | undefined {
  if (error instanceof TargetError) {
    const said = lastLine(error.stderr) || lastLine(error.stdout);
    if (error.code === 'TARGET_LISTENS_ELSEWHERE') {
      return {
        category: 'listens-elsewhere',
        code: error.code,
        reason: `listens elsewhere: on port ${error.listening.join(', ')}, not the one chatkit gave it`,
        ports: [...error.listening],
      };
    }
    if (error.code === 'TARGET_EXITED') {
      return said
        ? { category: 'crashes-at-start', code: error.code, reason: `crashes at start: ${said}` }
        : { category: 'listens-nowhere', code: error.code, reason: 'listens nowhere: the program ended without listening' };
    }
    if (error.code === 'TARGET_NEVER_LISTENED') {
      return {
        category: 'listens-nowhere',
        code: error.code,
        reason: `listens nowhere: still running, but not listening, when chatkit stopped waiting${said ? ` (it said: ${said})` : ''}`,
      };
    }
    return { category: 'crashes-at-start', code: error.code, reason: `cannot start: ${error.message.split('\n')[0]}` };
  }
  if (error instanceof ProbeError) {
    return error.code === 'PROBE_NO_DIALECT'
      ? { category: 'speaks-neither-dialect', code: error.code, reason: `speaks neither dialect: ${error.message}` }
      : { category: 'listens-nowhere', code: error.code, reason: `cannot be reached: ${error.message}` };
  }
  if (error instanceof VariantNotLearnedError || error instanceof VariantError) {
    return { category: 'not-judged', code: error.code, reason: error.message };
  }
  return undefined;
}

function rootCauseOf(report: RunReport, side: 'server' | 'client'): RootCause | undefined {
  const group = firstRootCause(report);
  if (!group) return undefined;
  const r = group.root;
  return {
    side,
    caseId: r.id,
    requirement: r.failure?.requirement ?? r.requirements[0]?.id ?? r.id,
    level: r.level,
    message: r.failure?.message ?? r.error ?? 'the case could not be judged',
    takesDown: group.members.length,
  };
}

function programGrade(program: Program, extra: Partial<ProgramGrade> = {}): ProgramGrade {
  return {
    ...(program.file === undefined ? {} : { file: program.file }),
    command: program.command,
    cwd: program.cwd,
    why: program.why,
    ...extra,
  };
}

/** Judges one submission; never throws for what a submission does. */
export async function judgeSubmission(
  submission: Submission,
  options: JudgeOptions,
  onCase?: (side: 'server' | 'client', done: number, total: number) => void,
): Promise<Judged> {
  const started = performance.now();
  const notes: string[] = [];
  const seconds = () => Math.round((performance.now() - started) / 100) / 10;
  const base = { student: submission.student, path: submission.path, must: { passed: 0, total: 0 }, should: { passed: 0, total: 0 }, score: 0, maxScore: 0, notes };
  const unjudged = (notJudged: NotJudged, server?: ProgramGrade): Judged => ({
    grade: { ...base, verdict: 'error', notJudged, ...(server ? { server } : {}), seconds: seconds() },
  });

  if (submission.configError) {
    return unjudged({ category: 'config-invalid', code: 'GRADE_CONFIG_INVALID', reason: submission.configError });
  }
  const server = submission.server;
  if (!isProgram(server)) return unjudged({ category: 'no-server', code: 'GRADE_NO_SERVER' satisfies ErrorCode, reason: server.reason });
  if (server.file !== undefined) {
    const bad = await syntaxError(resolve(server.cwd, server.file.split('/').at(-1)!));
    if (bad) return unjudged({ category: 'syntax-error', code: 'GRADE_SYNTAX_ERROR' satisfies ErrorCode, reason: `syntax error: ${bad}` }, programGrade(server));
  }

  const config = submission.config;
  const spec: TargetSpec = { kind: 'spawn', command: commandInFolder(server) };
  const fileVariant = config.variant === undefined ? undefined : safeVariant(resolve(submission.path, config.variant));
  if (fileVariant && 'error' in fileVariant) {
    return unjudged({ category: 'config-invalid', code: fileVariant.error.code, reason: fileVariant.error.message });
  }
  let resolution: Resolution;
  const resolve_ = (timeoutScale: number) =>
    resolveDialect(spec, {
      dialect: fileVariant?.variant.dialect ?? config.dialect ?? options.dialect,
      prompt: fileVariant?.variant.prompt ?? config.prompt ?? options.prompt,
      framing: 'chunk',
      timeoutScale,
    });
  try {
    try {
      resolution = await resolve_(options.timeoutScale);
    } catch (error) {
      // A loaded machine delays a prompt past the probe's wait, and a late prompt followed by the
      // student's own join text matches neither dialect: one more probe, on a fresh instance, with
      // its waits stretched, before the submission is called unjudgeable.
      if (!(error instanceof ProbeError && error.code === 'PROBE_NO_DIALECT')) throw error;
      resolution = await resolve_(options.timeoutScale * PROBE_RETRY_SCALE);
    }
  } catch (error) {
    const why = notJudgedOf(error);
    if (why) return unjudged(why, programGrade(server));
    throw error;
  }
  let variant: RunVariant | undefined = fileVariant ? { variant: fileVariant.variant, file: config.variant } : undefined;
  try {
    if (options.learn && !variant) {
      const learned = await learnTarget(spec, resolution.dialect, { timeoutScale: options.timeoutScale });
      variant = { variant: learned.variant, missing: learned.missing };
    }
  } catch (error) {
    await resolution.release();
    const why = notJudgedOf(error);
    if (why) return unjudged(why, programGrade(server, { dialect: resolution.dialect }));
    throw error;
  }

  const profiles = profilesFor(spec, options.profiles);
  const cases = casesFor(ALL_CASES, spec, resolution.dialect, profiles, [], []);
  const common = {
    allIds: ALL_CASES.map((c) => c.id),
    only: [],
    exclude: [],
    framing: 'chunk' as const,
    retries: 0,
    failOn: 'must' as const,
    timeoutScale: options.timeoutScale,
    jobs: options.caseJobs,
    seed: options.seed,
  };
  let serverReport: RunReport;
  try {
    serverReport = (
      await runConformance({
        ...common,
        spec,
        resolution,
        cases,
        profiles,
        variant,
        onCaseEnd: (_r, i, n) => onCase?.('server', i + 1, n),
      })
    ).report;
  } finally {
    await resolution.release();
  }
  serverReport = keepTranscripts(serverReport, 'failing');
  const prompt = serverReport.target.prompt;
  const serverGrade = programGrade(server, {
    dialect: resolution.dialect,
    ...(prompt === undefined ? {} : { prompt }),
    exitCode: serverReport.exitCode,
  });
  if (serverReport.target.handedIn) notes.push(`server: ${serverReport.target.handedIn.note}`);
  // --learn / a variant file: each wording difference once, at INFO (it does not fail the student).
  for (const d of serverReport.variant?.deviations ?? []) notes.push(`server: INFO ${d.requirement}: ${d.message}`);
  if (serverReport.unjudged) {
    return {
      grade: {
        ...base,
        ...counts([serverReport], options.rubric),
        verdict: 'error',
        notJudged: { category: 'not-judged', code: 'GRADE_RUN_CUT_SHORT' satisfies ErrorCode, reason: serverReport.unjudged.reason },
        server: serverGrade,
        seconds: seconds(),
      },
      server: serverReport,
    };
  }

  let clientReport: RunReport | undefined;
  let clientGrade: ProgramGrade | undefined;
  const client = submission.client;
  if (!options.judgeClients) {
    // Not judged on purpose (--no-clients): nothing to say per student.
  } else if (!isProgram(client)) notes.push(client.reason);
  else {
    const bad = client.file === undefined ? undefined : await syntaxError(resolve(client.cwd, client.file.split('/').at(-1)!));
    if (bad) {
      notes.push(`client not judged: syntax error: ${bad}`);
      clientGrade = programGrade(client, { notJudged: `syntax error: ${bad}` });
    } else {
      const clientSpec: TargetSpec = { kind: 'client', command: commandInFolder(client) };
      const clientResolution: Resolution = {
        dialect: resolution.dialect,
        prompt: variant?.variant.prompt ?? resolution.prompt,
        detected: false,
        release: async () => {},
      };
      const clientProfiles = profilesFor(clientSpec, undefined);
      clientReport = keepTranscripts(
        (
          await runConformance({
            ...common,
            spec: clientSpec,
            resolution: clientResolution,
            cases: casesFor(ALL_CASES, clientSpec, resolution.dialect, clientProfiles, [], []),
            profiles: clientProfiles,
            onCaseEnd: (_r, i, n) => onCase?.('client', i + 1, n),
          })
        ).report,
        'failing',
      );
      clientGrade = programGrade(client, {
        dialect: resolution.dialect,
        ...(clientResolution.prompt === undefined ? {} : { prompt: clientResolution.prompt }),
        exitCode: clientReport.exitCode,
      });
      if (clientReport.unjudged) notes.push(`client not judged: ${clientReport.unjudged.reason}`);
    }
  }

  const reports = clientReport ? [serverReport, clientReport] : [serverReport];
  const firstMust = [rootCauseOf(serverReport, 'server'), clientReport && rootCauseOf(clientReport, 'client')].filter(
    (r): r is RootCause => r !== undefined,
  );
  // A MUST failure in either program comes before a SHOULD one; the server's before the client's.
  const first = firstMust.find((r) => r.level === 'MUST') ?? firstMust[0];
  const failed = reports.some((r) => r.exitCode !== 0);
  return {
    grade: {
      ...base,
      ...counts(reports, options.rubric),
      verdict: failed ? 'fail' : 'pass',
      ...(first ? { firstRootCause: first } : {}),
      server: serverGrade,
      ...(clientGrade ? { client: clientGrade } : {}),
      seconds: seconds(),
    },
    server: serverReport,
    ...(clientReport ? { client: clientReport } : {}),
  };
}

function safeVariant(path: string): { variant: ReturnType<typeof readVariant> } | { error: VariantError } {
  try {
    return { variant: readVariant(path) };
  } catch (error) {
    if (error instanceof VariantError) return { error };
    throw error;
  }
}

/** MUST and SHOULD counts and points over a student's reports. */
function counts(reports: readonly RunReport[], rubric: Rubric) {
  let score = 0;
  let maxScore = 0;
  for (const r of reports) {
    for (const c of r.cases) {
      const s = caseScore(rubric, c);
      score += s.score;
      maxScore += s.max;
    }
  }
  const sum = (level: 'must' | 'should') => ({
    passed: reports.reduce((n, r) => n + r.summary[level].passed, 0),
    total: reports.reduce((n, r) => n + r.summary[level].total, 0),
  });
  return { must: sum('must'), should: sum('should'), score: round(score), maxScore: round(maxScore) };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
