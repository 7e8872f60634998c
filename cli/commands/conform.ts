import { Flags } from '@oclif/core';
import { defaultJobs, MAX_JOBS, TIMING_MINIMUMS } from '../../conformance/conform.js';
import { PROFILES } from '../../conformance/harness/case.js';
import { MAX_RECORDED_BYTES_PER_CONNECTION, MAX_RECORDED_BYTES_PER_RUN } from '../../conformance/harness/connection.js';
import type { RunReport } from '../../conformance/harness/report.js';
import { detailsAndSummary, LiveProgress } from '../../conformance/report/pretty.js';
import {
  ConformUsageError,
  type ConformOptions,
  type ListPlan,
  planConform,
  runConform,
} from '../../conformance/run-conform.js';
import { colorWanted } from '../../src/color.js';
import { ChatkitError } from '../../src/errors.js';
import { type PortRange, parsePortRange } from '../../src/processes/index.js';
import { ChatkitCommand } from '../base.js';
import { EXIT_USAGE, framingFlag, parseAddress } from '../flags.js';
import { drained } from '../stdio.js';

/** After Ctrl-C, how long output may stall before the process exits anyway. */
const SIGNAL_DRAIN_MS = 1_000;

/** Most `--timeout-scale`. */
const MAX_TIMEOUT_SCALE = 20;

const commaList = (description: string) => Flags.string({ description, multiple: true, delimiter: ',' });

/** `chatkit conform`: judge a chat server or client against spec/PROTOCOL.md. */
export default class Conform extends ChatkitCommand {
  static override enableJsonFlag = true;

  static override summary =
    'Judge a chat server (or client) against the spec: every MUST and SHOULD, case by case.';

  static override description =
    `Runs the conformance cases of spec/PROTOCOL.md against a server at --target, against a server program started afresh for every case with --spawn ({port} in the command is replaced), or against a client program with --client ({host} and {port} replaced; chatkit plays the server).

--dialect auto (the default) first probes the target and prints what it found: a server that sends a prompt token at once speaks NICK (that token is the prompt), one that stays silent and then announces the probe's username speaks tilde; anything else is one error (exit 3). The probe spares legacy servers: on NICK it answers the prompt with a unique nickname and leaves with a reset once "Connected to server!" arrived; on tilde its member stays connected, reading, until the run has ended, because the seed's tilde server is harmed by any leave. With --spawn the probe runs on an instance of its own.

Every case and every wait in it is bounded, so the run always ends; Ctrl-C stops it and every process it started (exit 130).

Reports: pretty (the default; colours on a terminal unless NO_COLOR is set, or with FORCE_COLOR), json (the RunReport, schema chatkit-conformance/2, docs/conformance-report.md) and junit (docs/ci.md). With --output the report goes to the file and the pretty report to stdout; json and junit without --output go to stdout, the progress to stderr. --json makes the RunReport (with --list: the cases and the coverage) the command's result on stdout, everything for people going to stderr; with --output the file gets it too. Reports are written whole to a file or a pipe; a reader that closes early ends only the output. Passing cases keep their wire transcript only with --transcripts all. When nothing can be judged (exit 3), the json or junit report (with the reason) and the grey "not judged" badge are still written.

Exit codes:
  0  every MUST case passed (with --fail-on should, every SHOULD case too)
  1  a MUST case failed (with --fail-on should, also: a SHOULD case warned)
  2  usage error (one line on stderr)
  3  nothing judged: target unreachable or neither dialect, no case selected,
     a MUST case the harness could not run, or a report could not be written
  130, 143  stopped by SIGINT or SIGTERM
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
    target: Flags.custom<{ host: string; port: number }>({
      description:
        'HOST:PORT of a running server to judge; give it again for each server of one room (a cluster, docs/cluster.md): members are spread over them round-robin',
      helpValue: 'HOST:PORT',
      multiple: true,
      parse: async (input) => parseAddress(input),
    })(),
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
    'timeout-scale': Flags.custom<number>({
      description: `multiply every bound (waits, quiet windows, case budgets) on a slow machine (0.1–${MAX_TIMEOUT_SCALE}); below 1 no bound goes under spec Annex E's minimums (a step ${TIMING_MINIMUMS.stepMs} ms, a quiet window ${TIMING_MINIMUMS.quietMs} ms)`,
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

  async run(): Promise<RunReport | ListPlan['document']> {
    const { flags } = await this.parse(Conform);
    const json = this.jsonEnabled();
    const options: ConformOptions = {
      target: flags.target,
      spawn: flags.spawn,
      client: flags.client,
      dialect: flags.dialect,
      prompt: flags.prompt,
      framing: flags.framing,
      declare: flags.declare,
      profile: flags.profile,
      adminPassword: flags['admin-password'],
      only: flags.only,
      exclude: flags.exclude,
      retries: flags.retries,
      failOn: flags['fail-on'],
      reporter: flags.reporter,
      output: flags.output,
      badge: flags.badge,
      badgeJson: flags['badge-json'],
      baseline: flags.baseline,
      updateBaseline: flags['update-baseline'],
      transcripts: flags.transcripts,
      maxRecordedBytes: flags['max-recorded-bytes'],
      maxRunRecordedBytes: flags['max-run-recorded-bytes'],
      force: flags.force,
      fuzz: flags.fuzz,
      seed: flags.seed,
      jobs: flags.jobs,
      portRange: flags['port-range'],
      learn: flags.learn,
      variant: flags.variant,
      timeoutScale: flags['timeout-scale'],
      list: flags.list,
      json,
    };
    let plan;
    try {
      plan = planConform(options, (note) => process.stderr.write(`chatkit conform: ${note}\n`));
    } catch (error) {
      // A usage error: one line on stderr and exit 2 (ChatkitCommand.catch words it).
      if (error instanceof ConformUsageError) throw Object.assign(new Error(error.message), { oclif: { exit: EXIT_USAGE } });
      if (error instanceof ChatkitError) this.fail(error.code, error.message, EXIT_USAGE);
      throw error;
    }
    if (plan.kind === 'list') {
      if (json) return plan.document;
      process.stdout.write(plan.text);
      return this.exit(0);
    }

    // Where people read: stdout, unless stdout carries a machine document.
    const human = plan.documentToStdout ? process.stderr : process.stdout;
    const color = colorWanted(human);
    const live = new LiveProgress(human, human.isTTY === true, { color });
    const outcome = await runConform(plan, {
      say: (text) => live.line(text),
      caseStarted: (c, i, n) => live.caseStarted(c.id, i, n),
      caseEnded: (result, i, n) => live.caseEnded(result, i, n),
      stop: () => live.stop(),
      // What was printed goes out first, but a stuck reader does not hold Ctrl-C up for long.
      exit: (code) =>
        void Promise.all([drained(process.stdout, SIGNAL_DRAIN_MS), drained(process.stderr, SIGNAL_DRAIN_MS)]).finally(
          () => process.exit(code),
        ),
    });
    if (outcome.judged) human.write(`${detailsAndSummary(outcome.report, { color })}\n`);
    if (!json && outcome.document !== undefined) process.stdout.write(outcome.document);
    if (outcome.error !== undefined) {
      process.stderr.write(`chatkit conform: error ${outcome.error.code}: ${outcome.error.message}\n`);
    }
    // --json: the report is the result (oclif writes it) and the exit code stays as documented.
    if (json) {
      process.exitCode = outcome.exitCode;
      return outcome.report;
    }
    return this.exit(outcome.exitCode);
  }
}
