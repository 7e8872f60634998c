/**
 * What `chatkit conform` does, apart from parsing flags and printing: resolve the dialect (probe),
 * select the cases, run them, apply the baseline, and build the {@link RunReport} every reporter
 * renders from. The command (`cli/commands/conform.ts`) stays a thin shell around this.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { DialectName } from '../src/codec/index.js';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { ALL_CASES } from './cases.js';
import type { ConformanceCase, Profile } from './harness/case.js';
import { type CaseTiming, DEFAULT_TIMING } from './harness/timing.js';
import { newRunSeed } from './harness/names.js';
import type { PortRange } from '../src/processes/index.js';
import { type CaseResult, CONFORM_EXIT, REPORT_SCHEMA, type RunReport, summarise } from './harness/report.js';
import {
  type RunTarget,
  runCases,
  SPAWN_LISTEN_TIMEOUT_MS,
  type TargetLost,
  targetLostMessage,
} from './harness/runner.js';
import { type FuzzTarget, fuzzCaseResult, runFuzz } from './fuzz/fuzz.js';
import { DEFAULT_SERVER_PROFILES, matchesId, selectCases } from './harness/select.js';
import { type HandedIn, handedInSentence, startServerOnFreePort } from './handed-in/launch.js';
import {
  type DetectedDialect,
  KNOWN_PROMPTS,
  ProbeError,
  probeClient,
  probeServer,
  probeSpawned,
} from './probe.js';
import { applyBaseline, type BaselineEntry, updatedBaseline } from './report/baseline.js';
import { type Learned, learnVariant } from './variant/learn.js';
import { SPEC_ENCODING, type Variant, variantTexts, wordingDeviations } from './variant/variant.js';

/** chatkit's version, from its package.json. */
export function chatkitVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return '0.0.0';
  }
}

/** Most cases `--jobs` runs at once (each starts a target process). */
export const MAX_JOBS = 16;

/** The default of `--jobs`: one case per core. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(MAX_JOBS, availableParallelism()));
}

/** Levenshtein distance (small strings only: case ids). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** Up to three case ids close to a pattern that matched nothing (typos, a wrong dialect prefix). */
export function closeMatches(pattern: string, ids: readonly string[]): string[] {
  const bare = pattern.replace(/[.*]+$/, '');
  const scored = ids
    .map((id) => {
      const tail = id.split('.').slice(1).join('.');
      const d = Math.min(distance(bare, id), distance(bare, tail) + 1);
      const contains = id.includes(bare) || bare.includes(id);
      return { id, score: contains ? 0 : d };
    })
    .filter((s) => s.score <= Math.max(3, Math.floor(bare.length / 4)))
    .sort((a, b) => a.score - b.score || a.id.localeCompare(b.id));
  return scored.slice(0, 3).map((s) => s.id);
}

/** Quotes one word for a POSIX shell, only when needed. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** What the command line named as the target (the runner's own target type). */
export type TargetSpec = RunTarget;

/** `HOST:PORT` (IPv6 in brackets). */
export function addressText(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The command line that reruns one case (`{id}` left for the runner), dialect resolved. */
export function rerunTemplate(
  spec: TargetSpec,
  resolved: { dialect: DialectName; prompt?: string | undefined },
  options: { framing: 'chunk' | 'line'; timeoutScale: number; variant?: RunVariant | undefined; profiles?: readonly string[] },
): string {
  const words = ['chatkit', 'conform'];
  if (spec.kind === 'address') {
    for (const node of [spec, ...(spec.moreNodes ?? [])]) words.push('--target', addressText(node.host, node.port));
  }
  else words.push(spec.kind === 'spawn' ? '--spawn' : '--client', shellQuote(spec.command));
  words.push('--dialect', resolved.dialect);
  if (resolved.dialect === 'nick' && resolved.prompt && resolved.prompt !== 'NICK') {
    words.push('--prompt', shellQuote(resolved.prompt));
  }
  if (options.framing === 'line') words.push('--framing', 'line');
  if (options.variant) {
    if (options.variant.file !== undefined) words.push('--variant', shellQuote(options.variant.file));
    else words.push('--learn');
  }
  if (options.timeoutScale !== 1) words.push('--timeout-scale', String(options.timeoutScale));
  // The admin cases need the password (spec §14.2); a report never repeats it.
  if (options.profiles?.includes('admin')) words.push('--admin-password', "'<password>'");
  words.push('--only', '{id}');
  return words.join(' ');
}

/** A resolved dialect, and the probe connection to end once the run is over. */
export interface Resolution {
  readonly dialect: DialectName;
  readonly prompt?: string | undefined;
  /** Whether the dialect was detected (`--dialect auto`). */
  readonly detected: boolean;
  /** How it was detected, for the report. */
  readonly evidence?: string;
  /** With a dialect given, what the probe saw if it disagreed (printed as a note). */
  readonly note?: string;
  /** Ends the probe's member (tilde: held until the run ends). Never rejects. */
  release(): Promise<void>;
}

const noRelease = async () => {};

/**
 * Resolves the dialect and checks that the target can be judged at all, before any case runs:
 * - `--target`: one probe connection (conformance/probe.ts), also with a dialect given, so that a
 *   target nobody listens at is one error, not thirty failures;
 * - `--spawn`: auto probes a fresh instance of its own; with a dialect given, one instance is
 *   started and stopped to check that it listens (without connecting to it);
 * - `--client`: auto starts the client once against a probe server.
 * Throws {@link ProbeError} (or the spawn's `TargetError`) when the target cannot be judged.
 */
export async function resolveDialect(
  spec: TargetSpec,
  options: {
    dialect: 'auto' | DialectName;
    prompt?: string | undefined;
    framing: 'chunk' | 'line';
    timeoutScale: number;
    portRange?: PortRange | undefined;
  },
): Promise<Resolution> {
  const probeOptions = { framing: options.framing, timeoutScale: options.timeoutScale, portRange: options.portRange };
  const fromDetected = (d: DetectedDialect, release: () => Promise<void>): Resolution => {
    // A prompt the spec does not know is judged as a wrong prompt, never adopted as the expected one.
    const unknown = d.dialect === 'nick' && d.prompt !== undefined && !KNOWN_PROMPTS.includes(d.prompt);
    const prompt = d.dialect === 'nick' ? (options.prompt ?? (unknown ? 'NICK' : d.prompt)) : undefined;
    return {
      dialect: d.dialect,
      prompt,
      detected: true,
      evidence: d.evidence,
      ...(unknown && options.prompt === undefined
        ? {
            note: `the prompt "${d.prompt}" is not one the spec knows (${KNOWN_PROMPTS.join(', ')}): nick.handshake.prompt fails on it, and the other cases take the first message as the prompt and judge the rest`,
          }
        : {}),
      release,
    };
  };
  if (spec.kind === 'address') {
    if (options.dialect === 'auto') {
      const probe = await probeServer(spec.host, spec.port, probeOptions);
      return fromDetected(probe.detected, probe.release);
    }
    try {
      const probe = await probeServer(spec.host, spec.port, probeOptions);
      const seen = probe.detected;
      const note =
        seen.dialect !== options.dialect
          ? `the probe saw the ${seen.dialect} dialect (${seen.evidence}); judging it as ${options.dialect}, as --dialect says`
          : seen.dialect === 'nick' && options.prompt && seen.prompt !== options.prompt
            ? `the probe saw the prompt "${seen.prompt}", not "${options.prompt}"; judging with "${options.prompt}", as --prompt says`
            : undefined;
      return {
        dialect: options.dialect,
        prompt: options.prompt,
        detected: false,
        ...(note ? { note } : {}),
        release: probe.release,
      };
    } catch (error) {
      if (error instanceof ProbeError && error.code === 'PROBE_NO_DIALECT') {
        return {
          dialect: options.dialect,
          prompt: options.prompt,
          detected: false,
          note: `${error.message}; judging it as ${options.dialect}, as --dialect says`,
          release: noRelease,
        };
      }
      throw error;
    }
  }
  if (spec.kind === 'spawn') {
    if (options.dialect === 'auto')
      return fromDetected(await probeSpawned(spec.command, probeOptions), noRelease);
    const target = await startServerOnFreePort({
      command: spec.command,
      portRange: options.portRange,
      attempts: 1,
      listenTimeoutMs: SPAWN_LISTEN_TIMEOUT_MS * options.timeoutScale,
    });
    await target.stop();
    return { dialect: options.dialect, prompt: options.prompt, detected: false, release: noRelease };
  }
  if (options.dialect === 'auto') {
    return fromDetected(
      await probeClient(spec.command, {
        ...probeOptions,
        ...(options.prompt ? { prompt: options.prompt } : {}),
      }),
      noRelease,
    );
  }
  return { dialect: options.dialect, prompt: options.prompt, detected: false, release: noRelease };
}

/** The profiles a run uses: the given ones, or the default of its kind. */
export function profilesFor(spec: TargetSpec, given: readonly Profile[] | undefined): Profile[] {
  if (given?.length) return [...given];
  return spec.kind === 'client' ? ['client'] : [...DEFAULT_SERVER_PROFILES];
}

/** The cases a run selects. */
export function casesFor(
  all: readonly ConformanceCase[],
  spec: TargetSpec,
  dialect: DialectName,
  profiles: readonly Profile[],
  only: readonly string[],
  exclude: readonly string[],
  framing: 'chunk' | 'line' = 'chunk',
): ConformanceCase[] {
  return selectCases(all, {
    dialect,
    kind: spec.kind === 'client' ? 'client' : 'server',
    profiles,
    only,
    exclude,
    framing,
  });
}

/** `--list`: the cases matching the flags, across dialects and profiles unless narrowed. */
export function casesForList(
  all: readonly ConformanceCase[],
  filter: {
    dialect?: DialectName | undefined;
    profiles?: readonly Profile[] | undefined;
    only: readonly string[];
    exclude: readonly string[];
  },
): ConformanceCase[] {
  return all.filter(
    (c) =>
      (filter.dialect === undefined || c.dialect === filter.dialect) &&
      (filter.only.length
        ? filter.only.some((p) => matchesId(c.id, p))
        : filter.profiles === undefined || filter.profiles.includes(c.profile)) &&
      !filter.exclude.some((p) => matchesId(c.id, p)),
  );
}

/**
 * The least step bound and quiet window of a run (spec Annex E, §3.7 item 10): a shorter bound could
 * fail a correct program on a busy machine, so `--timeout-scale` never goes below them.
 */
export const TIMING_MINIMUMS: CaseTiming = { stepMs: 1_000, quietMs: 200 };

/** The timing of a run, every bound multiplied by `--timeout-scale`, none below {@link TIMING_MINIMUMS}. */
export function scaledTiming(scale: number): CaseTiming {
  return {
    stepMs: Math.max(TIMING_MINIMUMS.stepMs, DEFAULT_TIMING.stepMs * scale),
    quietMs: Math.max(TIMING_MINIMUMS.quietMs, DEFAULT_TIMING.quietMs * scale),
  };
}

/** The wording variant a run judges against (`--learn`, `--variant FILE`). */
export interface RunVariant {
  readonly variant: Variant;
  /** The file it was read from; undefined when learned. */
  readonly file?: string | undefined;
  /** Texts the learning session did not show (they stay the spec's). */
  readonly missing?: readonly string[] | undefined;
}

/**
 * `--learn`: one ordinary session with the target (a fresh instance with `--spawn`, stopped
 * afterwards), whose texts become the run's variant (conformance/variant/learn.ts).
 */
export async function learnTarget(
  spec: Exclude<TargetSpec, { kind: 'client' }>,
  dialect: DialectName,
  options: { timeoutScale: number; portRange?: PortRange | undefined },
): Promise<Learned> {
  const timing = scaledTiming(options.timeoutScale);
  if (spec.kind === 'address') return learnVariant({ host: spec.host, port: spec.port, dialect, timing });
  const target = await startServerOnFreePort({
    command: spec.command,
    portRange: options.portRange,
    attempts: 1,
    listenTimeoutMs: SPAWN_LISTEN_TIMEOUT_MS * options.timeoutScale,
  });
  try {
    return await learnVariant({ host: '127.0.0.1', port: target.port, dialect, timing });
  } finally {
    await target.stop();
  }
}

/** The report's `variant` section: the texts judged against and each wording difference, once, at INFO. */
export function variantSection(run: RunVariant): NonNullable<RunReport['variant']> {
  const { variant } = run;
  const texts = variantTexts(variant);
  return {
    source: run.file === undefined ? 'learned' : 'file',
    ...(run.file === undefined ? {} : { file: run.file }),
    texts: {
      ...(variant.dialect === 'nick' ? { prompt: variant.prompt ?? 'NICK' } : {}),
      ...texts,
      encoding: variant.encoding ?? SPEC_ENCODING[variant.dialect],
    },
    missing: [...(run.missing ?? [])],
    deviations: wordingDeviations(variant, KNOWN_PROMPTS).map((d) => ({ ...d, level: 'INFO' as const })),
  };
}

/** Everything {@link runConformance} needs. */
export interface ConformRun {
  readonly spec: TargetSpec;
  readonly resolution: Resolution;
  readonly cases: readonly ConformanceCase[];
  /** Every case chatkit has (stale baseline entries are ids that name none of them). */
  readonly allIds: readonly string[];
  readonly profiles: readonly Profile[];
  readonly only: readonly string[];
  readonly exclude: readonly string[];
  readonly framing: 'chunk' | 'line';
  readonly retries: number;
  readonly failOn: 'must' | 'should';
  readonly timeoutScale: number;
  /** `--port-range`: ports a spawned target may get (default: any free one). */
  readonly portRange?: PortRange | undefined;
  /** `--jobs`: with `--spawn`, cases run at once (default 1). */
  readonly jobs?: number | undefined;
  /** The run's seed (`--seed`): the cases' names and the fuzz sessions derive from it. Default: fresh. */
  readonly seed?: number | undefined;
  /** `--learn` / `--variant FILE`: the texts to judge against instead of the spec's. */
  readonly variant?: RunVariant | undefined;
  /** `--fuzz N`: random sessions after the cases (0: none); `--seed` replays a run. */
  readonly fuzz?: { readonly runs: number; readonly seed?: number | undefined } | undefined;
  /** The baseline read from `--baseline`, and whether `--update-baseline` rewrites it. */
  readonly baseline?: { readonly entries: readonly BaselineEntry[]; readonly update: boolean } | undefined;
  readonly onCaseStart?: (c: ConformanceCase, index: number, total: number) => void;
  readonly onCaseEnd?: (result: CaseResult, index: number, total: number) => void;
}

/** The prompt a run expects: a variant's (its difference from the spec's is reported at INFO), else the resolved one. */
function expectedPrompt(run: Pick<ConformRun, 'variant' | 'resolution'>): string | undefined {
  return run.variant?.variant.prompt ?? run.resolution.prompt;
}

/** Runs the selected cases and returns the report (and, with `--update-baseline`, the new baseline). */
export async function runConformance(
  run: ConformRun,
): Promise<{ report: RunReport; baseline?: BaselineEntry[] }> {
  const startedAt = new Date();
  const started = performance.now();
  const seed = run.seed ?? run.fuzz?.seed ?? newRunSeed();
  let lost: TargetLost | undefined;
  let handedIn: HandedIn | undefined;
  const prompt = expectedPrompt(run);
  const results = await runCases(run.cases, {
    onHandedIn: (h) => {
      handedIn ??= h;
    },
    seed,
    ...(run.jobs === undefined ? {} : { jobs: run.jobs }),
    ...(run.portRange === undefined ? {} : { portRange: run.portRange }),
    onTargetLost: (l) => {
      lost = l;
    },
    target: run.spec,
    dialect: run.resolution.dialect,
    ...(prompt ? { prompt } : {}),
    ...(run.variant ? { texts: variantTexts(run.variant.variant) } : {}),
    framing: run.framing,
    retries: run.retries,
    timing: scaledTiming(run.timeoutScale),
    timeoutScale: run.timeoutScale,
    rerunTemplate: rerunTemplate(run.spec, { ...run.resolution, prompt }, run),
    lookup: (id) => ALL_CASES.find((c) => c.id === id),
    ...(run.onCaseStart ? { onCaseStart: run.onCaseStart } : {}),
    ...(run.onCaseEnd ? { onCaseEnd: run.onCaseEnd } : {}),
  });
  if (run.fuzz && run.fuzz.runs > 0 && run.spec.kind !== 'client') {
    results.push(await fuzzResult(run, run.spec, run.fuzz));
  }
  const unjudged = lost ? { reason: targetLostMessage(lost), during: lost.during } : undefined;
  return finishReport({ ...run, seed, unjudged, handedIn }, results, startedAt, performance.now() - started);
}

/** Runs `--fuzz` against the target (a fresh instance per session with `--spawn`). */
async function fuzzResult(
  run: ConformRun,
  spec: Exclude<TargetSpec, { kind: 'client' }>,
  fuzz: { readonly runs: number; readonly seed?: number | undefined },
): Promise<CaseResult> {
  const target: FuzzTarget =
    spec.kind === 'address'
      ? { open: async () => ({ host: spec.host, port: spec.port, close: async () => {} }) }
      : {
          open: async () => {
            const handle = await startServerOnFreePort({
              command: spec.command,
              portRange: run.portRange,
              attempts: 1,
              listenTimeoutMs: SPAWN_LISTEN_TIMEOUT_MS,
            });
            return { host: '127.0.0.1', port: handle.port, close: () => handle.stop() };
          },
        };
  const started = performance.now();
  const prompt = expectedPrompt(run);
  const outcome = await runFuzz({
    target,
    dialect: run.resolution.dialect,
    runs: fuzz.runs,
    timing: scaledTiming(run.timeoutScale),
    ...(fuzz.seed === undefined ? {} : { seed: fuzz.seed }),
    ...(prompt ? { prompt } : {}),
    ...(run.variant ? { texts: variantTexts(run.variant.variant) } : {}),
  });
  const rerun = rerunTemplate(spec, run.resolution, run).replace(
    '--only {id}',
    `--exclude '*' --fuzz ${fuzz.runs} --seed ${outcome.seed}`,
  );
  return fuzzCaseResult(outcome, { dialect: run.resolution.dialect, durationMs: performance.now() - started, rerun });
}

/** Builds the report from finished results: baseline marks, summary, exit code. */
export function finishReport(
  run: Omit<ConformRun, 'cases' | 'onCaseStart' | 'onCaseEnd'> & {
    /** Why not everything could be judged (a shared target that stopped answering): exit 3. */
    readonly unjudged?: RunReport['unjudged'] | undefined;
    /** How a program run as handed in was mapped (the first case's mapping). */
    readonly handedIn?: HandedIn | undefined;
  },
  results: readonly CaseResult[],
  startedAt: Date,
  durationMs: number,
): { report: RunReport; baseline?: BaselineEntry[] } {
  let cases = [...results];
  let stale: string[] | undefined;
  let newBaseline: BaselineEntry[] | undefined;
  if (run.baseline) {
    const applied = applyBaseline(results, run.baseline.entries, run.allIds);
    cases = applied.cases;
    stale = applied.stale;
    if (run.baseline.update) {
      newBaseline = updatedBaseline(
        run.baseline.entries,
        results,
        run.allIds,
        startedAt.toISOString().slice(0, 10),
      );
      // The failures just written to the baseline are known from now on.
      cases = cases.map((c) => (c.baseline === 'new' ? { ...c, baseline: 'known' } : c));
    }
  }
  const summarised = summarise(cases, run.failOn);
  const { summary } = summarised;
  // A run cut short by a dead target cannot say whether the target conforms.
  const exitCode = run.unjudged ? CONFORM_EXIT.UNJUDGED : summarised.exitCode;
  const spec = run.spec;
  const report: RunReport = {
    schema: REPORT_SCHEMA,
    chatkitVersion: chatkitVersion(),
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(durationMs),
    target: {
      ...(spec.kind === 'address' ? { address: addressText(spec.host, spec.port) } : {}),
      ...(spec.kind === 'spawn' ? { spawn: spec.command } : {}),
      ...(spec.kind === 'client' ? { client: spec.command } : {}),
      dialect: run.resolution.dialect,
      detected: run.resolution.detected,
      ...(run.resolution.dialect === 'nick'
        ? { prompt: expectedPrompt(run) ?? 'NICK' }
        : {}),
      ...(run.handedIn
        ? {
            handedIn: {
              how: run.handedIn.how,
              from: run.handedIn.from,
              mapped: [...run.handedIn.lines],
              note: handedInSentence(run.handedIn),
            },
          }
        : {}),
    },
    options: {
      profiles: [...run.profiles],
      only: [...run.only],
      exclude: [...run.exclude],
      retries: run.retries,
      failOn: run.failOn,
    },
    summary,
    ...(run.seed === undefined ? {} : { seed: run.seed }),
    ...(run.unjudged ? { unjudged: run.unjudged } : {}),
    ...(run.variant ? { variant: variantSection(run.variant) } : {}),
    ...(stale ? { staleBaseline: stale } : {}),
    cases,
    exitCode,
  };
  return newBaseline ? { report, baseline: newBaseline } : { report };
}
