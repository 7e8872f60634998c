import { writeFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { ALL_CASES } from '../../conformance/cases.js';
import {
  addressText,
  casesFor,
  chatkitVersion,
  casesForList,
  closeMatches,
  defaultJobs,
  MAX_JOBS,
  profilesFor,
  type Resolution,
  resolveDialect,
  learnTarget,
  runConformance,
  type RunVariant,
  type TargetSpec,
} from '../../conformance/conform.js';
import { VariantNotLearnedError } from '../../conformance/variant/learn.js';
import { readVariant, renderVariant, type Variant, VariantError } from '../../conformance/variant/variant.js';
import { PROFILES, type Profile } from '../../conformance/harness/case.js';
import { type PortRange, parsePortRange } from '../../src/processes/index.js';
import { CONFORM_EXIT, type RunReport } from '../../conformance/harness/report.js';
import { DEFAULT_SERVER_PROFILES, matchesId, unknownPatterns } from '../../conformance/harness/select.js';
import { bindExtensionOptions } from '../../conformance/extensions/options.js';
import { TargetError } from '../../src/processes/index.js';
import { ClientNotMappableError, clientLaunchMode } from '../../conformance/handed-in/launch.js';
import { isPromptToken, ProbeError } from '../../conformance/probe.js';
import { badgeJson, renderBadgeSvg } from '../../conformance/report/badge.js';
import { checkOutputPaths, ReportPathError } from '../../conformance/report-paths.js';
import {
  MAX_RECORDED_BYTES_PER_CONNECTION,
  MAX_RECORDED_BYTES_PER_RUN,
  setRecordingCaps,
} from '../../conformance/harness/connection.js';
import {
  type BaselineEntry,
  BaselineError,
  readBaseline,
  renderBaseline,
} from '../../conformance/report/baseline.js';
import { listedCase, renderList, requirementCoverage } from '../../conformance/report/coverage.js';
import { renderJson } from '../../conformance/report/json.js';
import { renderJunit } from '../../conformance/report/junit.js';
import { keepTranscripts } from '../../conformance/report/transcript.js';
import { unjudgedReport } from '../../conformance/report/unjudged.js';
import { detailsAndSummary, LiveProgress, renderPretty } from '../../conformance/report/pretty.js';
import { colorWanted } from '../../src/color.js';
import { ChatkitCommand } from '../base.js';
import { EXIT_USAGE, framingFlag, parseAddress } from '../flags.js';
import { drained } from '../stdio.js';

/** After Ctrl-C, how long output may stall before the process exits anyway. */
const SIGNAL_DRAIN_MS = 1_000;
import {
  type DeclarableFlags,
  DeclarationError,
  declarationEffect,
  declaredFlags,
  readDeclaration,
  type TargetDeclaration,
} from '../../conformance/declare.js';

/** Most `--timeout-scale`. */
const MAX_TIMEOUT_SCALE = 20;

const commaList = (description: string) => Flags.string({ description, multiple: true, delimiter: ',' });

/** A usage error: one line on stderr and exit 2, through {@link ChatkitCommand}. */
function usage(message: string): never {
  throw Object.assign(new Error(message), { oclif: { exit: EXIT_USAGE } });
}

/** `chatkit conform`: judge a chat server or client against spec/PROTOCOL.md. */
export default class Conform extends ChatkitCommand {
  static override summary =
    'Judge a chat server (or client) against the spec: every MUST and SHOULD, case by case.';

  static override description =
    `Runs the conformance cases of spec/PROTOCOL.md against a server at --target, against a server program started afresh for every case with --spawn ({port} in the command is replaced), or against a client program with --client ({host} and {port} replaced; chatkit plays the server).

--dialect auto (the default) first probes the target and prints what it found: a server that sends a prompt token at once speaks NICK (that token is the prompt), one that stays silent and then announces the probe's username speaks tilde; anything else is one error (exit 3). The probe spares legacy servers: on NICK it answers the prompt with a unique nickname and leaves with a reset once "Connected to server!" arrived; on tilde its member stays connected, reading, until the run has ended, because the seed's tilde server is harmed by any leave. With --spawn the probe runs on an instance of its own.

Every case and every wait in it is bounded, so the run always ends; Ctrl-C stops it and every process it started (exit 130).

Reports: pretty (the default; colours on a terminal unless NO_COLOR is set), json (the RunReport, schema chatkit-conformance/2, docs/conformance-report.md) and junit (docs/ci.md). With --output the report goes to the file and the pretty report to stdout; json and junit without --output go to stdout, the progress to stderr. Reports are written whole to a file or a pipe; a reader that closes early ends only the output. Passing cases keep their wire transcript only with --transcripts all. When nothing can be judged (exit 3), the json or junit report (with the reason) and the grey "not judged" badge are still written.

Exit codes:
  0  every MUST case passed (with --fail-on should, every SHOULD case too)
  1  a MUST case failed (with --fail-on should, also: a SHOULD case warned)
  2  usage error (one line on stderr)
  3  nothing judged: target unreachable or neither dialect, no case selected,
     or a MUST case the harness could not run
With --baseline, failures the file lists are reported as known and do not count.`;

  static override examples = [
    {
      description: 'after the cases, 50 random sessions; a violation is shrunk and printed with the seed that replays it',
      command: '<%= config.bin %> conform --spawn "python3 server.py 127.0.0.1 {port}" --fuzz 50',
    },
    {
      description: 'a server you started yourself; the dialect is detected and printed',
      command: '<%= config.bin %> conform --target 127.0.0.1:55555',
    },
    {
      description:
        "a student's server, started afresh for every case (recommended: one case cannot wedge the next)",
      command: '<%= config.bin %> conform --spawn "python3 server.py 127.0.0.1 {port}"',
    },
    {
      description: 'CI: JUnit results, a badge, known failures tolerated',
      command:
        '<%= config.bin %> conform --spawn "python3 server.py 127.0.0.1 {port}" --reporter junit --output results.xml --badge badge.svg --baseline conform-baseline.json',
    },
    {
      description: 'only the handshake cases, and list what exists',
      command:
        '<%= config.bin %> conform --target 127.0.0.1:55555 --only nick.handshake.* && chatkit conform --list',
    },
    {
      description:
        "a student's programs as handed in, with their hard-coded address (bind(('127.0.0.1', 55555))): mapped onto chatkit's port for each case",
      command: '<%= config.bin %> conform --spawn "python3 server.py" && chatkit conform --client "python3 client.py"',
    },
    {
      description:
        "a server with its own texts (\"alice joined the chat!\"): learn them from a first session and judge behaviour against them (each difference reported at INFO)",
      command: '<%= config.bin %> conform --spawn "python3 server.py" --learn',
    },
    {
      description: 'a client program (chatkit plays the server)',
      command: '<%= config.bin %> conform --client "python3 client.py {host} {port}" --dialect nick',
    },
  ];

  static override flags = {
    target: Flags.string({
      description:
        'HOST:PORT of a running server to judge; give it again for each server of one room (a cluster, docs/cluster.md): members are spread over them round-robin',
      helpValue: 'HOST:PORT',
      multiple: true,
    }),
    spawn: Flags.string({
      description:
        'server command started afresh for every case; {port} is replaced; without {port} it runs as handed in (a Python program\'s hard-coded address is mapped, any other is judged on the port it listens on: docs/handed-in.md); run through the shell (/bin/sh -c), in a PID namespace of its own where possible, so every process it starts ends with the case',
      helpValue: '"CMD [{port}]"',
    }),
    client: Flags.string({
      description:
        'client command to judge (client profile); {host} and {port} are replaced; a Python client without them runs as handed in, its hard-coded address mapped (docs/handed-in.md); run through the shell (/bin/sh -c), contained like --spawn',
      helpValue: '"CMD [{host} {port}]"',
    }),
    dialect: Flags.option({
      options: ['auto', 'nick', 'tilde'] as const,
      default: 'auto' as const,
      description: 'wire dialect; auto probes the target first and prints what it found',
    })(),
    prompt: Flags.string({ description: 'NICK prompt token [default: detected, or NICK]' }),
    framing: framingFlag,
    declare: Flags.string({
      description: 'target declaration (JSON or YAML, spec §9.1.1): dialect, prompt, framing, optional behaviours',
      helpValue: 'FILE',
    }),
    profile: commaList(
      `profiles to run: ${PROFILES.join(', ')} [default: core,robustness; client with --client; plus the extensions a --declare file names]`,
    ),
    'admin-password': Flags.string({
      description: "the target's admin password, for the admin extension profile (spec §14.2; --profile admin)",
      helpValue: 'PASSWORD',
    }),
    only: commaList('case ids to run (comma-separated; "nick.leave.*" selects a group)'),
    exclude: commaList('case ids to leave out (same forms as --only)'),
    retries: Flags.integer({
      description: 'run a failing case again up to N times; a later pass is reported as flaky',
      min: 0,
      max: 5,
      default: 0,
    }),
    'fail-on': Flags.option({
      options: ['must', 'should'] as const,
      default: 'must' as const,
      description: 'which failed level makes the exit code 1',
    })(),
    reporter: Flags.option({
      options: ['pretty', 'json', 'junit'] as const,
      default: 'pretty' as const,
      description: 'report format',
    })(),
    output: Flags.string({
      char: 'o',
      description: 'write the report to FILE instead of stdout',
      helpValue: 'FILE',
    }),
    badge: Flags.string({ description: 'write an SVG badge (MUST x/y · SHOULD x/y)', helpValue: 'FILE.svg' }),
    'badge-json': Flags.string({
      description: 'write a shields.io endpoint badge (JSON)',
      helpValue: 'FILE',
    }),
    baseline: Flags.string({
      description: 'JSON list of known failures: reported as known, not failing the run',
      helpValue: 'FILE',
    }),
    transcripts: Flags.option({
      options: ['failing', 'all'] as const,
      default: 'failing' as const,
      description:
        'which cases keep their wire transcript in the JSON and JUnit reports: failing (fail, warn, flaky, error) or all',
    })(),
    'max-recorded-bytes': Flags.integer({
      description: `most bytes recorded per connection; a target that sends more gets "the target flooded" in its verdict [default: ${MAX_RECORDED_BYTES_PER_CONNECTION}]`,
      min: 1,
    }),
    'max-run-recorded-bytes': Flags.integer({
      description: `most bytes recorded by the whole run [default: ${MAX_RECORDED_BYTES_PER_RUN}]`,
      min: 1,
    }),
    force: Flags.boolean({
      description: 'overwrite output files that chatkit did not write (checked before the run, exit 2 otherwise)',
    }),
    'update-baseline': Flags.boolean({ description: "rewrite --baseline's FILE with this run's failures" }),
    fuzz: Flags.integer({
      description: 'after the cases, N random sessions (several clients, edge-case names and texts, joins, leaves, resets); a violation is shrunk to a minimal session',
      min: 0,
      max: 10_000,
      default: 0,
      helpValue: 'N',
    }),
    seed: Flags.integer({
      description:
        "the run's seed: the nicknames and texts of every case, and the --fuzz sessions, derive from it (printed in every report), so the same seed replays a run",
    }),
    jobs: Flags.integer({
      description:
        'with --spawn: how many cases run at once, each against its own fresh target (default: the number of cores); a shared --target is always judged one case at a time',
      min: 1,
      max: MAX_JOBS,
      default: defaultJobs(),
      helpValue: 'N',
    }),
    'port-range': Flags.custom<PortRange>({
      description:
        'with --spawn: give each target a port in LO-HI (for programs that refuse some ports, e.g. 49152-65535); default: any free port',
      helpValue: 'LO-HI',
      parse: async (input) => parsePortRange(input),
    })(),
    learn: Flags.boolean({
      description:
        "learn the server's texts (prompt, welcome, join and leave announcements, encoding) from a first ordinary session, print them as a variant file, and judge behaviour against them: each wording difference is reported once at INFO and does not fail the run (docs/variants.md)",
      exclusive: ['variant'],
    }),
    variant: Flags.string({
      description: "judge against the texts of a variant file (JSON or YAML, as --learn prints it: docs/variants.md) instead of the spec's",
      helpValue: 'FILE',
    }),
    list: Flags.boolean({ description: 'list the cases and the requirement coverage, run nothing' }),
    json: Flags.boolean({
      description: 'with --list: machine-readable; otherwise the same as --reporter json',
    }),
    'timeout-scale': Flags.custom<number>({
      description: `multiply every bound (waits, quiet windows, case budgets) on a slow machine (0.1–${MAX_TIMEOUT_SCALE})`,
      default: 1,
      parse: async (input) => {
        const n = Number(input);
        if (!Number.isFinite(n) || n < 0.1 || n > MAX_TIMEOUT_SCALE) {
          throw new Error(`expected a number from 0.1 to ${MAX_TIMEOUT_SCALE}, got "${input}"`);
        }
        return n;
      },
    })(),
  };

  async run(): Promise<void> {
    const { flags: given } = await this.parse(Conform);
    const flags = { ...given, ...this.#declared(given) };
    const only = flags.only ?? [];
    const exclude = [...(flags.exclude ?? [])];
    const profiles = this.#profiles(flags.profile) ?? this.#declaredExtensions(given.declare);
    this.#checkPatterns(only, '--only');
    this.#checkPatterns(exclude, '--exclude');
    if (flags.prompt !== undefined && !isPromptToken(flags.prompt)) {
      usage(`--prompt must be 1 to 32 printable ASCII bytes without spaces, got "${flags.prompt}"`);
    }

    if (flags.list) {
      const dialect = flags.dialect === 'auto' ? undefined : flags.dialect;
      const cases = casesForList(ALL_CASES, { dialect, profiles, only, exclude });
      const coverage = requirementCoverage(cases, dialect);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ cases: cases.map(listedCase), coverage }, null, 2)}\n`);
      } else process.stdout.write(renderList(cases, coverage));
      return this.exit(0);
    }

    const spec = this.#target(flags);
    if (profilesFor(spec, profiles).includes('admin') && flags['admin-password'] === undefined) {
      usage("--profile admin needs the target's admin password: --admin-password P (spec §14.2)");
    }
    exclude.push(...this.#declarationEffect(spec.kind === 'client' ? 'client' : 'server'));
    if (flags.prompt !== undefined && flags.dialect === 'tilde')
      usage('--prompt applies to the nick dialect only');
    const fileVariant = this.#variantFile(flags.variant, flags.dialect);
    if ((flags.learn || fileVariant) && spec.kind === 'client') {
      usage(`--${flags.learn ? 'learn' : 'variant'} judges a server's texts: give --spawn or --target`);
    }
    if (flags['update-baseline'] && !flags.baseline) usage('--update-baseline needs --baseline FILE');
    const reporter = flags.json ? 'json' : flags.reporter;
    let baselineEntries: BaselineEntry[] | undefined;
    if (flags.baseline) {
      try {
        baselineEntries = readBaseline(flags.baseline, flags['update-baseline']);
      } catch (error) {
        if (error instanceof BaselineError) this.fail(error.code, error.message, EXIT_USAGE);
        throw error;
      }
    }

    setRecordingCaps({ perConnection: flags['max-recorded-bytes'], perRun: flags['max-run-recorded-bytes'] });
    try {
      checkOutputPaths(
        [
          ...(flags.output === undefined ? [] : [{ flag: '--output', path: flags.output }]),
          ...(flags.badge === undefined ? [] : [{ flag: '--badge', path: flags.badge }]),
          ...(flags['badge-json'] === undefined ? [] : [{ flag: '--badge-json', path: flags['badge-json'] }]),
          ...(flags.baseline !== undefined && flags['update-baseline']
            ? [{ flag: '--baseline', path: flags.baseline, alsoInput: true }]
            : []),
        ],
        flags.force,
      );
    } catch (error) {
      if (error instanceof ReportPathError) this.fail(error.code, error.message, EXIT_USAGE);
      throw error;
    }

    // Where people read: stdout, unless stdout carries a machine document.
    const documentToStdout = reporter !== 'pretty' && flags.output === undefined;
    const human = documentToStdout ? process.stderr : process.stdout;
    const tty = human.isTTY === true;
    const color = colorWanted(human);
    const live = new LiveProgress(human, tty, { color });
    const say = (text: string) => live.line(text);

    let resolution: Resolution | undefined;
    let interrupted = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupted) return;
      interrupted = true;
      live.stop();
      process.stderr.write(`chatkit conform: ${signal}: stopping; every process it started is killed\n`);
      void resolution?.release();
      // process.exit runs src/processes/spawn.ts's exit hook, which kills every target process group still alive;
      // what was printed goes out first, but a stuck reader does not hold Ctrl-C up for long.
      const code = signal === 'SIGINT' ? 130 : 143;
      void Promise.all([drained(process.stdout, SIGNAL_DRAIN_MS), drained(process.stderr, SIGNAL_DRAIN_MS)]).finally(
        () => process.exit(code),
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);

    const where =
      spec.kind === 'address'
        ? [spec, ...(spec.moreNodes ?? [])].map((n) => addressText(n.host, n.port)).join(' + ')
        : `${spec.kind} "${spec.command}"`;
    const startedAt = new Date();
    const started = performance.now();
    // Nothing could be judged: the reports asked for are still written (reason inside, grey badge), then exit 3.
    const unjudged = (code: string, message: string, dialect = flags.dialect): never => {
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
          ...(dialect === 'nick' && flags.prompt ? { prompt: flags.prompt } : {}),
        },
        profiles: profilesFor(spec, profiles),
        only,
        exclude,
        retries: flags.retries,
        failOn: flags['fail-on'],
        reason: `${code}: ${message}${dialect === 'auto' ? ' (dialect not detected)' : ''}`,
      });
      this.#writeOutputs(report, reporter, flags, undefined);
      return this.fail(code, message, CONFORM_EXIT.UNJUDGED);
    };
    try {
      resolution = await resolveDialect(spec, {
        dialect: fileVariant?.dialect ?? flags.dialect,
        prompt: fileVariant?.prompt ?? flags.prompt,
        framing: flags.framing,
        timeoutScale: flags['timeout-scale'],
        portRange: flags['port-range'],
      });
    } catch (error) {
      live.stop();
      if (error instanceof ProbeError) unjudged(error.code, `${where}: ${error.message}`);
      if (error instanceof TargetError) {
        unjudged(error.code, `${where}: ${error.message.trimEnd().replace(/\n/g, '\n  ')}`);
      }
      throw error;
    }
    if (resolution.detected) {
      const prompt = resolution.dialect === 'nick' ? ` (prompt "${resolution.prompt ?? 'NICK'}")` : '';
      say(`detected dialect: ${resolution.dialect}${prompt}, from ${resolution.evidence ?? 'the probe'}`);
    }
    // With a variant, an unknown prompt is the variant's, not a wrong one.
    if (resolution.note && !flags.learn && !fileVariant) say(`note: ${resolution.note}`);
    let runVariant: RunVariant | undefined = fileVariant ? { variant: fileVariant, file: flags.variant } : undefined;
    if (flags.learn && spec.kind !== 'client') {
      try {
        const learned = await learnTarget(spec, resolution.dialect, {
          timeoutScale: flags['timeout-scale'],
          portRange: flags['port-range'],
        });
        runVariant = { variant: learned.variant, missing: learned.missing };
        say("learned wording variant (save it as a file and pass --variant FILE to judge against it again):");
        for (const line of renderVariant(learned.variant).trimEnd().split('\n')) say(`  ${line}`);
      } catch (error) {
        live.stop();
        await resolution.release();
        if (error instanceof VariantNotLearnedError || error instanceof TargetError) {
          unjudged(error.code, `${where}: --learn: ${error.message.trimEnd().replace(/\n/g, '\n  ')}`, resolution.dialect);
        }
        throw error;
      }
    }

    const cases = casesFor(
      bindExtensionOptions(ALL_CASES, { adminPassword: flags['admin-password'] }),
      spec,
      resolution.dialect,
      profilesFor(spec, profiles),
      only,
      exclude,
      flags.framing,
    );
    if (cases.length === 0 && !(flags.fuzz > 0 && spec.kind !== 'client')) {
      await resolution.release();
      live.stop();
      const narrowed = only.length
        ? ` --only ${only.join(',')}`
        : ` profiles ${profilesFor(spec, profiles).join(',')}`;
      unjudged(
        'CONFORM_NO_CASES',
        `no ${resolution.dialect} ${spec.kind === 'client' ? 'client' : 'server'} case matches${narrowed}${exclude.length ? ` minus --exclude ${exclude.join(',')}` : ''}: nothing to judge (see --list)${lineOnlyHint(only, flags.framing)}`,
        resolution.dialect,
      );
    }

    let outcome: Awaited<ReturnType<typeof runConformance>>;
    try {
      outcome = await runConformance({
        spec,
        resolution,
        cases,
        allIds: ALL_CASES.map((c) => c.id),
        profiles: profilesFor(spec, profiles),
        only,
        exclude,
        framing: flags.framing,
        retries: flags.retries,
        failOn: flags['fail-on'],
        timeoutScale: flags['timeout-scale'],
        seed: flags.seed,
        jobs: flags.jobs,
        portRange: flags['port-range'],
        fuzz: flags.fuzz > 0 ? { runs: flags.fuzz, seed: flags.seed } : undefined,
        variant: runVariant,
        baseline: baselineEntries
          ? { entries: baselineEntries, update: flags['update-baseline'] }
          : undefined,
        onCaseStart: (c, i, n) => {
          if (i === 0) say(`running ${n} ${resolution?.dialect} case${n === 1 ? '' : 's'} against ${where}`);
          live.caseStarted(c.id, i, n);
        },
        onCaseEnd: (result, i, n) => live.caseEnded(result, i, n),
      });
    } finally {
      live.stop();
      await resolution.release();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    const report = keepTranscripts(outcome.report, flags.transcripts);
    human.write(`${detailsAndSummary(report, { color })}\n`);
    this.#writeOutputs(report, reporter, flags, outcome.baseline);
    return this.exit(report.exitCode);
  }

  /** `--variant FILE`, read and checked (exit 2 when it cannot be used). */
  #variantFile(path: string | undefined, dialect: 'auto' | 'nick' | 'tilde'): Variant | undefined {
    if (path === undefined) return undefined;
    let variant: Variant;
    try {
      variant = readVariant(path);
    } catch (error) {
      if (error instanceof VariantError) this.fail(error.code, error.message, EXIT_USAGE);
      throw error;
    }
    if (dialect !== 'auto' && dialect !== variant.dialect) {
      usage(`--variant ${path} is a ${variant.dialect} variant, but --dialect says ${dialect}`);
    }
    return variant;
  }
  /** The declaration read from `--declare FILE`, if any. */
  #declaration: TargetDeclaration | undefined;

  /** spec §9.1.1: `--declare FILE` fills the flags left at their defaults (conformance/declare.ts). */
  #declared(flags: DeclarableFlags & { declare?: string | undefined }): DeclarableFlags {
    try {
      this.#declaration = flags.declare === undefined ? undefined : readDeclaration(flags.declare);
      return declaredFlags(flags, this.#declaration);
    } catch (error) {
      if (error instanceof DeclarationError) this.fail(error.code, error.message, EXIT_USAGE);
      throw error;
    }
  }

  /**
   * spec §9.1.1: the declared fields beyond the flags. A side that contradicts how the target is given
   * exits 2; fields this suite cannot use are named on stderr; returns the case ids to leave out.
   */
  #declarationEffect(side: 'server' | 'client'): readonly string[] {
    try {
      const effect = declarationEffect(this.#declaration, { side }, ALL_CASES);
      for (const note of effect.notes) process.stderr.write(`chatkit conform: --declare: ${note}\n`);
      return effect.exclude;
    } catch (error) {
      if (error instanceof DeclarationError) this.fail(error.code, error.message, EXIT_USAGE);
      throw error;
    }
  }

  /** spec §9.1.1, EXT-1: a declaration's `extensions` add their profiles to the default ones. */
  #declaredExtensions(file: string | undefined): Profile[] | undefined {
    if (file === undefined) return undefined;
    const extensions = readDeclaration(file).extensions;
    return extensions.length === 0 ? undefined : [...DEFAULT_SERVER_PROFILES, ...extensions];
  }

  #profiles(given: string[] | undefined): Profile[] | undefined {
    if (!given?.length) return undefined;
    for (const p of given) {
      if (!(PROFILES as readonly string[]).includes(p)) {
        usage(`--profile: unknown profile "${p}" (one of ${PROFILES.join(', ')})`);
      }
    }
    return given as Profile[];
  }

  #checkPatterns(patterns: readonly string[], flag: string): void {
    const unknown = unknownPatterns(ALL_CASES, patterns);
    if (unknown.length === 0) return;
    const ids = ALL_CASES.map((c) => c.id);
    const parts = unknown.map((p) => {
      const near = closeMatches(p, ids);
      return `"${p}"${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}`;
    });
    this.fail(
      'CASE_UNKNOWN',
      `${flag}: no case id matches ${parts.join('; ')}; chatkit conform --list shows them all`,
      EXIT_USAGE,
    );
  }

  #target(flags: {
    target?: string[] | undefined;
    spawn?: string | undefined;
    client?: string | undefined;
  }): TargetSpec {
    const given = (['target', 'spawn', 'client'] as const).filter((k) => flags[k] !== undefined);
    if (given.length === 0)
      usage('give the target: --target HOST:PORT, --spawn "CMD {port}" or --client "CMD {host} {port}"');
    if (given.length > 1) usage(`give one target, not ${given.map((k) => `--${k}`).join(' and ')}`);
    if (flags.target !== undefined) {
      try {
        // Several --target: one room over several servers (a cluster); members spread round-robin.
        const [first, ...moreNodes] = flags.target.map((t) => parseAddress(t));
        return { kind: 'address', ...first!, ...(moreNodes.length > 0 ? { moreNodes } : {}) };
      } catch (error) {
        usage(`--target: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    // Without {port} a program runs as handed in (conformance/handed-in/, docs/handed-in.md).
    if (flags.spawn !== undefined) return { kind: 'spawn', command: flags.spawn };
    const command = flags.client!;
    if (clientLaunchMode(command) === undefined) {
      const error = new ClientNotMappableError(command);
      this.fail(error.code, error.message, EXIT_USAGE);
    }
    return { kind: 'client', command };
  }

  #writeOutputs(
    report: RunReport,
    reporter: 'pretty' | 'json' | 'junit',
    flags: {
      output?: string | undefined;
      badge?: string | undefined;
      'badge-json'?: string | undefined;
      baseline?: string | undefined;
    },
    baseline: BaselineEntry[] | undefined,
  ): void {
    const write = (path: string, text: string, what: string) => {
      try {
        writeFileSync(path, text);
      } catch (error) {
        this.fail(
          'REPORT_WRITE_FAILED',
          `cannot write the ${what} to ${path}: ${error instanceof Error ? error.message : String(error)}`,
          CONFORM_EXIT.UNJUDGED,
        );
      }
    };
    let document: string | undefined;
    try {
      if (reporter === 'json') document = renderJson(report);
      else if (reporter === 'junit') document = renderJunit(report);
      else if (flags.output !== undefined) document = renderPretty(report, { color: false });
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'REPORT_INVALID';
      this.fail(code, error instanceof Error ? error.message : String(error), CONFORM_EXIT.UNJUDGED);
    }
    if (document !== undefined) {
      if (flags.output !== undefined) write(flags.output, document, `${reporter} report`);
      else process.stdout.write(document);
    }
    if (flags.badge !== undefined) write(flags.badge, renderBadgeSvg(report), 'badge');
    if (flags['badge-json'] !== undefined) {
      write(flags['badge-json'], `${JSON.stringify(badgeJson(report), null, 2)}\n`, 'badge JSON');
    }
    if (baseline && flags.baseline !== undefined) write(flags.baseline, renderBaseline(baseline), 'baseline');
  }
}

/** When `--only` names only line-profile cases and the target is not declared to speak it. */
function lineOnlyHint(only: readonly string[], framing: 'chunk' | 'line'): string {
  if (framing === 'line' || only.length === 0) return '';
  const matched = ALL_CASES.filter((c) => only.some((p) => matchesId(c.id, p)));
  return matched.length > 0 && matched.every((c) => c.framing === 'line')
    ? '; the line-profile cases run only with --framing line'
    : '';
}
