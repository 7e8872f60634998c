/**
 * `chatkit conform` as one domain entry point: {@link planConform} checks the options and decides what
 * to do (list the cases, or judge a target, and where each report goes); {@link runConform} resolves the
 * dialect, runs the selected cases, writes the report files and returns the {@link RunReport}. The command
 * (`cli/commands/conform.ts`) only parses flags, calls these two and renders what they return.
 *
 * Every problem with the options is a {@link ChatkitError} thrown by {@link planConform} (the command
 * exits 2); a target that cannot be judged is not an error but an outcome with `unjudged` (exit 3),
 * so that the reports asked for are still written.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import type { DialectName } from '../src/codec/index.js';
import { ChatkitError } from '../src/errors.js';
import type { PortRange } from '../src/processes/index.js';
import { TargetError } from '../src/processes/index.js';
import { ALL_CASES } from './cases.js';
import {
  addressText,
  casesFor,
  casesForList,
  chatkitVersion,
  closeMatches,
  learnTarget,
  profilesFor,
  type Resolution,
  resolveDialect,
  runConformance,
  type RunVariant,
  type TargetSpec,
} from './conform.js';
import { type DeclarableFlags, declarationEffect, declaredFlags, readDeclaration, type TargetDeclaration } from './declare.js';
import { bindExtensionOptions } from './extensions/options.js';
import { ClientNotMappableError, clientLaunchMode } from './handed-in/launch.js';
import { PROFILES, type ConformanceCase, type Profile } from './harness/case.js';
import { setRecordingCaps } from './harness/connection.js';
import { CONFORM_EXIT, type CaseResult, type RunReport } from './harness/report.js';
import { DEFAULT_SERVER_PROFILES, matchesId, unknownPatterns } from './harness/select.js';
import { isPromptToken, ProbeError } from './probe.js';
import { badgeJson, renderBadgeSvg } from './report/badge.js';
import { type BaselineEntry, readBaseline, renderBaseline } from './report/baseline.js';
import { type ListedCase, listedCase, renderList, requirementCoverage } from './report/coverage.js';
import { renderJson, validReport } from './report/json.js';
import { renderJunit } from './report/junit.js';
import { renderPretty } from './report/pretty.js';
import { keepTranscripts } from './report/transcript.js';
import { unjudgedReport } from './report/unjudged.js';
import { checkOutputPaths } from './report-paths.js';
import { VariantNotLearnedError } from './variant/learn.js';
import { readVariant, renderVariant, type Variant } from './variant/variant.js';

/**
 * Exit codes of `chatkit conform` after a signal (128 + its number); the others are
 * {@link CONFORM_EXIT}'s. Every process the run started is killed first.
 */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/** Everything `chatkit conform` can be asked, as typed values (what its flags parse to). */
export interface ConformOptions {
  /** `--target`: one address, or several for one room over several servers (a cluster). */
  readonly target?: readonly { host: string; port: number }[] | undefined;
  readonly spawn?: string | undefined;
  readonly client?: string | undefined;
  readonly dialect: 'auto' | DialectName;
  readonly prompt?: string | undefined;
  readonly framing: 'chunk' | 'line';
  readonly declare?: string | undefined;
  readonly profile?: readonly string[] | undefined;
  readonly adminPassword?: string | undefined;
  readonly only?: readonly string[] | undefined;
  readonly exclude?: readonly string[] | undefined;
  readonly retries: number;
  readonly failOn: 'must' | 'should';
  readonly reporter: 'pretty' | 'json' | 'junit';
  readonly output?: string | undefined;
  readonly badge?: string | undefined;
  readonly badgeJson?: string | undefined;
  readonly baseline?: string | undefined;
  readonly updateBaseline: boolean;
  readonly transcripts: 'failing' | 'all';
  readonly maxRecordedBytes?: number | undefined;
  readonly maxRunRecordedBytes?: number | undefined;
  readonly force: boolean;
  readonly fuzz: number;
  readonly seed?: number | undefined;
  readonly jobs: number;
  readonly portRange?: PortRange | undefined;
  readonly learn: boolean;
  readonly variant?: string | undefined;
  readonly timeoutScale: number;
  readonly list: boolean;
  /** `--json`: the document is the command's result on stdout (people's text goes to stderr). */
  readonly json: boolean;
}

/** A usage error of `chatkit conform` without a code of its own (exit 2). */
export class ConformUsageError extends ChatkitError {
  constructor(message: string) {
    super('CONFORM_USAGE', message);
    this.name = 'ConformUsageError';
  }
}

const usage = (message: string): never => {
  throw new ConformUsageError(message);
};

/** `--list`: the cases matching the options and the requirement coverage. */
export interface ListPlan {
  readonly kind: 'list';
  readonly document: { cases: ListedCase[]; coverage: ReturnType<typeof requirementCoverage> };
  readonly text: string;
}

/** A run, its options checked. */
export interface RunPlan {
  readonly kind: 'run';
  readonly options: ConformOptions;
  readonly spec: TargetSpec;
  readonly profiles: Profile[];
  readonly only: readonly string[];
  readonly exclude: readonly string[];
  readonly reporter: 'pretty' | 'json' | 'junit';
  readonly variant?: Variant | undefined;
  readonly baseline?: BaselineEntry[] | undefined;
  /** Whether stdout carries a machine document; then people's text goes to stderr. */
  readonly documentToStdout: boolean;
  /** "127.0.0.1:55555", `spawn "CMD"`: how the target is named in messages. */
  readonly where: string;
}

/** What {@link planConform} decided. */
export type ConformPlan = ListPlan | RunPlan;

/**
 * Checks the options (throws a coded {@link ChatkitError}: exit 2) and decides what the run does. Reads
 * the `--declare`, `--variant` and `--baseline` files and checks every output path before anything runs.
 */
export function planConform(given: ConformOptions, notes: (line: string) => void = () => {}): ConformPlan {
  const declaration = given.declare === undefined ? undefined : readDeclaration(given.declare);
  // spec §9.1.1: a declaration fills the flags left at their defaults.
  const options: ConformOptions = { ...given, ...declaredFlags(given as DeclarableFlags, declaration) };
  const only = [...(options.only ?? [])];
  const exclude = [...(options.exclude ?? [])];
  const profiles = checkedProfiles(options.profile) ?? declaredExtensions(declaration);
  checkPatterns(only, '--only');
  checkPatterns(exclude, '--exclude');
  if (options.prompt !== undefined && !isPromptToken(options.prompt)) {
    usage(`--prompt must be 1 to 32 printable ASCII bytes without spaces, got "${options.prompt}"`);
  }
  if (options.list) {
    const dialect = options.dialect === 'auto' ? undefined : options.dialect;
    const cases = casesForList(ALL_CASES, { dialect, profiles, only, exclude });
    const coverage = requirementCoverage(cases, dialect);
    return { kind: 'list', document: { cases: cases.map(listedCase), coverage }, text: renderList(cases, coverage) };
  }

  const spec = targetSpec(options);
  const runProfiles = profilesFor(spec, profiles);
  if (runProfiles.includes('admin') && options.adminPassword === undefined) {
    usage("--profile admin needs the target's admin password: --admin-password P (spec §14.2)");
  }
  // spec §9.1.1: the declared fields beyond the flags; a side that contradicts the target exits 2.
  const effect = declarationEffect(declaration, { side: spec.kind === 'client' ? 'client' : 'server' }, ALL_CASES);
  for (const note of effect.notes) notes(`--declare: ${note}`);
  exclude.push(...effect.exclude);
  if (options.prompt !== undefined && options.dialect === 'tilde') usage('--prompt applies to the nick dialect only');
  const variant = variantFile(options.variant, options.dialect);
  if ((options.learn || variant) && spec.kind === 'client') {
    usage(`--${options.learn ? 'learn' : 'variant'} judges a server's texts: give --spawn or --target`);
  }
  if (options.updateBaseline && !options.baseline) usage('--update-baseline needs --baseline FILE');
  const reporter = options.json ? 'json' : options.reporter;
  const baseline = options.baseline ? readBaseline(options.baseline, options.updateBaseline) : undefined;
  checkOutputPaths(
    [
      ...(options.output === undefined ? [] : [{ flag: '--output', path: options.output }]),
      ...(options.badge === undefined ? [] : [{ flag: '--badge', path: options.badge }]),
      ...(options.badgeJson === undefined ? [] : [{ flag: '--badge-json', path: options.badgeJson }]),
      ...(options.baseline !== undefined && options.updateBaseline
        ? [{ flag: '--baseline', path: options.baseline, alsoInput: true }]
        : []),
    ],
    options.force,
  );
  const where =
    spec.kind === 'address'
      ? [spec, ...(spec.moreNodes ?? [])].map((n) => addressText(n.host, n.port)).join(' + ')
      : `${spec.kind} "${spec.command}"`;
  return {
    kind: 'run',
    options,
    spec,
    profiles: runProfiles,
    only,
    exclude,
    reporter,
    variant,
    baseline,
    documentToStdout: options.json || (reporter !== 'pretty' && options.output === undefined),
    where,
  };
}

/** What the command shows while a run goes on. */
export interface ConformProgress {
  /** A line for people (the detected dialect, notes, the learned variant, the case count). */
  say(text: string): void;
  caseStarted(c: ConformanceCase, index: number, total: number): void;
  caseEnded(result: CaseResult, index: number, total: number): void;
  /** The live display must end now (before a result, an error, or the exit on a signal). */
  stop(): void;
  /** After SIGINT or SIGTERM: flush what was printed (bounded) and end the process with `code`. */
  exit(code: number): void;
}

/** How a run ended. */
export interface ConformOutcome {
  /** The report (transcripts kept as `--transcripts` says), also when nothing could be judged. */
  readonly report: RunReport;
  /** The process's exit code: see {@link CONFORM_EXIT}. */
  readonly exitCode: number;
  /** Whether cases ran (then the report's details and summary are worth showing). */
  readonly judged: boolean;
  /** The document for stdout (`--reporter json|junit` without `--output`), already rendered. */
  readonly document?: string | undefined;
  /**
   * Set when nothing could be judged, or a report could not be written (exit 3): the coded reason, for
   * one line on stderr.
   */
  readonly error?: { readonly code: string; readonly message: string } | undefined;
}

/**
 * Runs a planned conformance run to its end: resolve the dialect (probe), learn the variant, select the
 * cases, run them, write the report files. SIGINT and SIGTERM stop it and every process it started
 * (exit 130 or 143; see `onSignals`).
 */
export async function runConform(plan: RunPlan, progress: ConformProgress): Promise<ConformOutcome> {
  const { options, spec } = plan;
  setRecordingCaps({ perConnection: options.maxRecordedBytes, perRun: options.maxRunRecordedBytes });
  let resolution: Resolution | undefined;
  const stopOnSignal = onSignals(progress, () => resolution?.release());
  try {
    const startedAt = new Date();
    const started = performance.now();
    // Nothing could be judged: the reports asked for are still written (reason inside, grey badge), then exit 3.
    const unjudged = (code: string, message: string, dialect: 'auto' | DialectName = options.dialect): ConformOutcome => {
      progress.stop();
      const report = unjudgedReport({
        chatkitVersion: chatkitVersion(),
        startedAt,
        durationMs: performance.now() - started,
        target: {
          ...(spec.kind === 'address' ? { address: addressText(spec.host, spec.port) } : {}),
          ...(spec.kind === 'spawn' ? { spawn: spec.command } : {}),
          ...(spec.kind === 'client' ? { client: spec.command } : {}),
          // The schema needs a dialect; with auto and a failed probe none is known (reason says so).
          dialect: dialect === 'auto' ? 'nick' : dialect,
          detected: false,
          ...(dialect === 'nick' && options.prompt ? { prompt: options.prompt } : {}),
        },
        profiles: plan.profiles,
        only: plan.only,
        exclude: plan.exclude,
        retries: options.retries,
        failOn: options.failOn,
        reason: `${code}: ${message}${dialect === 'auto' ? ' (dialect not detected)' : ''}`,
      });
      const written = writeReports(plan, report, undefined, false);
      return written.error ? written : { ...written, error: { code, message } };
    };
    const indented = (error: Error) => error.message.trimEnd().replace(/\n/g, '\n  ');
    try {
      resolution = await resolveDialect(spec, {
        dialect: plan.variant?.dialect ?? options.dialect,
        prompt: plan.variant?.prompt ?? options.prompt,
        framing: options.framing,
        timeoutScale: options.timeoutScale,
        portRange: options.portRange,
      });
    } catch (error) {
      if (error instanceof ProbeError) return unjudged(error.code, `${plan.where}: ${error.message}`);
      if (error instanceof TargetError) return unjudged(error.code, `${plan.where}: ${indented(error)}`);
      throw error;
    }
    const { dialect } = resolution;
    if (resolution.detected) {
      const prompt = dialect === 'nick' ? ` (prompt "${resolution.prompt ?? 'NICK'}")` : '';
      progress.say(`detected dialect: ${dialect}${prompt}, from ${resolution.evidence ?? 'the probe'}`);
    }
    // With a variant, an unknown prompt is the variant's, not a wrong one.
    if (resolution.note && !options.learn && !plan.variant) progress.say(`note: ${resolution.note}`);
    let runVariant: RunVariant | undefined = plan.variant ? { variant: plan.variant, file: options.variant } : undefined;
    if (options.learn && spec.kind !== 'client') {
      try {
        const learned = await learnTarget(spec, dialect, {
          timeoutScale: options.timeoutScale,
          portRange: options.portRange,
        });
        runVariant = { variant: learned.variant, missing: learned.missing };
        progress.say('learned wording variant (save it as a file and pass --variant FILE to judge against it again):');
        for (const line of renderVariant(learned.variant).trimEnd().split('\n')) progress.say(`  ${line}`);
      } catch (error) {
        if (error instanceof VariantNotLearnedError || error instanceof TargetError) {
          return unjudged(error.code, `${plan.where}: --learn: ${indented(error)}`, dialect);
        }
        throw error;
      }
    }

    const cases = casesFor(
      bindExtensionOptions(ALL_CASES, { adminPassword: options.adminPassword }),
      spec,
      dialect,
      plan.profiles,
      plan.only,
      plan.exclude,
      options.framing,
    );
    if (cases.length === 0 && !(options.fuzz > 0 && spec.kind !== 'client')) {
      const narrowed = plan.only.length ? ` --only ${plan.only.join(',')}` : ` profiles ${plan.profiles.join(',')}`;
      const minus = plan.exclude.length ? ` minus --exclude ${plan.exclude.join(',')}` : '';
      return unjudged(
        'CONFORM_NO_CASES',
        `no ${dialect} ${spec.kind === 'client' ? 'client' : 'server'} case matches${narrowed}${minus}: nothing to judge (see --list)${lineOnlyHint(plan.only, options.framing)}`,
        dialect,
      );
    }

    const outcome = await runConformance({
      spec,
      resolution,
      cases,
      allIds: ALL_CASES.map((c) => c.id),
      profiles: plan.profiles,
      only: plan.only,
      exclude: plan.exclude,
      framing: options.framing,
      retries: options.retries,
      failOn: options.failOn,
      timeoutScale: options.timeoutScale,
      seed: options.seed,
      jobs: options.jobs,
      portRange: options.portRange,
      fuzz: options.fuzz > 0 ? { runs: options.fuzz, seed: options.seed } : undefined,
      variant: runVariant,
      baseline: plan.baseline ? { entries: plan.baseline, update: options.updateBaseline } : undefined,
      onCaseStart: (c, i, n) => {
        if (i === 0) progress.say(`running ${n} ${dialect} case${n === 1 ? '' : 's'} against ${plan.where}`);
        progress.caseStarted(c, i, n);
      },
      onCaseEnd: (result, i, n) => progress.caseEnded(result, i, n),
    });
    progress.stop();
    return writeReports(plan, keepTranscripts(outcome.report, options.transcripts), outcome.baseline, true);
  } finally {
    progress.stop();
    await resolution?.release();
    stopOnSignal();
  }
}

/**
 * Ends the run on SIGINT or SIGTERM: the live display stops, the probe member is released, and the
 * process exits 130 or 143 through `progress.exit` (`process.exit`, whose hook in src/processes/spawn.ts
 * kills every target process group still alive). Returns the function that removes the handlers.
 */
function onSignals(progress: ConformProgress, release: () => Promise<void> | undefined): () => void {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    progress.stop();
    process.stderr.write(`chatkit conform: ${signal}: stopping; every process it started is killed\n`);
    void release();
    progress.exit(signal === 'SIGINT' ? SIGNAL_EXIT.SIGINT : SIGNAL_EXIT.SIGTERM);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/**
 * Writes the report files (`--output`, `--badge`, `--badge-json`, the updated `--baseline`) and renders
 * the stdout document; the JSON document is validated against its schema first. A file that cannot be
 * written, or a report that breaks its schema, is the outcome's `error` (exit 3).
 */
function writeReports(
  plan: RunPlan,
  report: RunReport,
  baseline: BaselineEntry[] | undefined,
  judged: boolean,
): ConformOutcome {
  const { options } = plan;
  const failed = (code: string, message: string): ConformOutcome => ({
    report,
    exitCode: CONFORM_EXIT.UNJUDGED,
    judged,
    error: { code, message },
  });
  let document: string | undefined;
  let checked = report;
  try {
    if (plan.reporter === 'json') {
      checked = validReport(report);
      document = renderJson(checked);
    } else if (plan.reporter === 'junit') document = renderJunit(report);
    else if (options.output !== undefined) document = renderPretty(report, { color: false });
  } catch (error) {
    return failed((error as { code?: string }).code ?? 'REPORT_INVALID', error instanceof Error ? error.message : String(error));
  }
  const files: [path: string | undefined, text: () => string, what: string][] = [
    [document === undefined ? undefined : options.output, () => document ?? '', `${plan.reporter} report`],
    [options.badge, () => renderBadgeSvg(report), 'badge'],
    [options.badgeJson, () => `${JSON.stringify(badgeJson(report), null, 2)}\n`, 'badge JSON'],
    [baseline ? options.baseline : undefined, () => renderBaseline(baseline ?? []), 'baseline'],
  ];
  for (const [path, text, what] of files) {
    if (path === undefined) continue;
    try {
      writeFileSync(path, text());
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return failed('REPORT_WRITE_FAILED', `cannot write the ${what} to ${path}: ${why}`);
    }
  }
  return {
    report: checked,
    exitCode: report.exitCode,
    judged,
    ...(document !== undefined && options.output === undefined ? { document } : {}),
  };
}

/** `--variant FILE`, read and checked. */
function variantFile(path: string | undefined, dialect: 'auto' | DialectName): Variant | undefined {
  if (path === undefined) return undefined;
  const variant = readVariant(path);
  if (dialect !== 'auto' && dialect !== variant.dialect) {
    usage(`--variant ${path} is a ${variant.dialect} variant, but --dialect says ${dialect}`);
  }
  return variant;
}

/** spec §9.1.1, EXT-1: a declaration's `extensions` add their profiles to the default ones. */
function declaredExtensions(declaration: TargetDeclaration | undefined): Profile[] | undefined {
  const extensions = declaration?.extensions ?? [];
  return extensions.length === 0 ? undefined : [...DEFAULT_SERVER_PROFILES, ...extensions];
}

function checkedProfiles(given: readonly string[] | undefined): Profile[] | undefined {
  if (!given?.length) return undefined;
  for (const p of given) {
    if (!(PROFILES as readonly string[]).includes(p)) {
      usage(`--profile: unknown profile "${p}" (one of ${PROFILES.join(', ')})`);
    }
  }
  return given as Profile[];
}

/** A pattern of `--only`/`--exclude` that matches no case, with the ids it may have meant. */
export class CaseUnknownError extends ChatkitError {
  constructor(message: string) {
    super('CASE_UNKNOWN', message);
    this.name = 'CaseUnknownError';
  }
}

function checkPatterns(patterns: readonly string[], flag: string): void {
  const unknown = unknownPatterns(ALL_CASES, patterns);
  if (unknown.length === 0) return;
  const ids = ALL_CASES.map((c) => c.id);
  const parts = unknown.map((p) => {
    const near = closeMatches(p, ids);
    return `"${p}"${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`;
  });
  throw new CaseUnknownError(`${flag}: no case id matches ${parts.join('; ')}; chatkit conform --list shows them all`);
}

function targetSpec(options: ConformOptions): TargetSpec {
  const given = (['target', 'spawn', 'client'] as const).filter((k) => options[k] !== undefined);
  if (given.length === 0) {
    usage('give the target: --target HOST:PORT, --spawn "CMD {port}" or --client "CMD {host} {port}"');
  }
  if (given.length > 1) usage(`give one target, not ${given.map((k) => `--${k}`).join(' and ')}`);
  if (options.target !== undefined) {
    // Several --target: one room over several servers (a cluster); members spread round-robin.
    const [first, ...moreNodes] = options.target;
    return { kind: 'address', ...first!, ...(moreNodes.length > 0 ? { moreNodes } : {}) };
  }
  // Without {port} a program runs as handed in (conformance/handed-in/, docs/handed-in.md).
  if (options.spawn !== undefined) return { kind: 'spawn', command: options.spawn };
  const command = options.client!;
  if (clientLaunchMode(command) === undefined) throw new ClientNotMappableError(command);
  return { kind: 'client', command };
}

/** When `--only` names only line-profile cases and the target is not declared to speak it. */
function lineOnlyHint(only: readonly string[], framing: 'chunk' | 'line'): string {
  if (framing === 'line' || only.length === 0) return '';
  const matched = ALL_CASES.filter((c) => only.some((p) => matchesId(c.id, p)));
  return matched.length > 0 && matched.every((c) => c.framing === 'line')
    ? '; the line-profile cases run only with --framing line'
    : '';
}
