import { Args, Flags } from '@oclif/core';
import { PROFILES, type Profile } from '../../conformance/harness/case.js';
import { isPromptToken, PROMPT_TOKEN_RULE } from '../../src/codec/index.js';
import { CLEAR_LINE, colorWanted } from '../../src/color.js';
import { GRADE_EXIT, type ClassReport } from '../../grade/class-report.js';
import {
  DEFAULT_GRADE_OUT,
  gradeClass,
  loadPlan,
  MAX_GRADE_JOBS,
  parseShard,
  type Shard,
  ShardError,
  shardOf,
  writeOutputs,
} from '../../grade/grade.js';
import { DEFAULT_RUBRIC, readRubric, type Rubric, RubricError } from '../../grade/rubric.js';
import { DuplicateStudentError, findSubmissions, NoSubmissionsError, type Submission } from '../../grade/submissions.js';
import { GradeTable } from '../../grade/terminal.js';
import { ChatkitCommand } from '../base.js';
import { EXIT_USAGE } from '../flags.js';

/** Most `--timeout-scale` (as conform). */
const MAX_TIMEOUT_SCALE = 20;

/** `chatkit grade`: judge a class's submissions as handed in, into one report. */
export default class Grade extends ChatkitCommand {
  static override summary = "Judge a whole class's chat programs as handed in: a table, grades.csv, report.html and Gradescope files.";

  static override description = `One submission per folder (or per .py file); the student is the folder or file name. In each, the server is the .py file that calls listen() and the client the one that calls connect() and reads input (--server-file/--client-file or a chatkit.json in the folder override this; docs/grading.md). Both are run as handed in, their hard-coded address mapped onto chatkit's ports (docs/handed-in.md), and judged with the suite as chatkit conform does; nothing in a submission is written.

Outputs in --out (default ${DEFAULT_GRADE_OUT}/): grades.csv, grades.md, report.html, grade.json, and per student <student>/report.json (the conform reports) and <student>/results.json (Gradescope). A submission that cannot be judged (no server, syntax error, crashes at start, listens nowhere or elsewhere) is a row with the reason.

Exit codes:
  0  every submission was judged (whatever the verdicts; --fail-on any: and every one passed)
  1  with --fail-on any: a submission failed or could not be judged
  2  usage error
  3  no submission could be judged`;

  static override examples = [
    { description: 'a folder of submissions, one folder per student', command: '<%= config.bin %> grade submissions/*' },
    { description: 'four students at a time, the core profile only, points from a rubric', command: '<%= config.bin %> grade "submissions/*" --jobs 4 --profile core --rubric rubric.json --out grades/' },
    { description: 'slice 2 of 8 on a CI runner, then merge the slices', command: '<%= config.bin %> grade submissions/* --shard 2/8 --out out-2 && chatkit grade merge out-* --out all' },
    { description: 'accept the students\' own wording (reported as INFO, not failed)', command: '<%= config.bin %> grade submissions/* --learn' },
  ];

  static override strict = false;

  static override args = {
    paths: Args.string({ description: 'submission folders or .py files, or globs of them (quoted globs are expanded by chatkit)', required: true }),
  };

  static override flags = {
    out: Flags.string({ char: 'o', description: 'output folder', default: DEFAULT_GRADE_OUT, helpValue: 'DIR' }),
    jobs: Flags.integer({ description: 'submissions judged at once', min: 1, max: MAX_GRADE_JOBS, default: 1, helpValue: 'N' }),
    'case-jobs': Flags.integer({ description: 'cases run at once within one submission [default: the cores, times two, shared among --jobs]', min: 1, max: 16, helpValue: 'N' }),
    dialect: Flags.option({ options: ['auto', 'nick', 'tilde'] as const, default: 'auto' as const, description: 'wire dialect; auto probes each submission' })(),
    prompt: Flags.string({ description: 'NICK prompt token [default: detected per submission, or NICK]' }),
    profile: Flags.string({ description: `server profiles: ${PROFILES.join(', ')} [default: core,robustness]`, multiple: true, delimiter: ',' }),
    'server-file': Flags.string({ description: 'glob(s) of the server file within a submission (e.g. "*serv*.py")', multiple: true, helpValue: 'GLOB' }),
    'client-file': Flags.string({ description: 'glob(s) of the client file within a submission', multiple: true, helpValue: 'GLOB' }),
    'no-clients': Flags.boolean({ description: 'judge the servers only' }),
    learn: Flags.boolean({ description: "learn each server's wording from a first session and judge behaviour against it (differences are INFO: docs/variants.md)" }),
    rubric: Flags.string({ description: 'points per requirement, case, profile or level (JSON; default: MUST 2, SHOULD 1)', helpValue: 'FILE' }),
    shard: Flags.string({ description: 'judge only the i-th of n deterministic slices (by student name)', helpValue: 'i/n' }),
    'fail-on': Flags.option({ options: ['none', 'any'] as const, default: 'none' as const, description: 'any: exit 1 when a submission failed or could not be judged' })(),
    json: Flags.boolean({ description: 'print the class report (grade.json) on stdout; the table goes to stderr' }),
    seed: Flags.integer({ description: "the run's seed (the cases' nicknames and texts derive from it)" }),
    'timeout-scale': Flags.custom<number>({
      description: `multiply every bound on a slow machine (0.1–${MAX_TIMEOUT_SCALE}); grading stretches it further when --jobs loads the machine`,
      default: 1,
      parse: async (input) => {
        const n = Number(input);
        if (!Number.isFinite(n) || n < 0.1 || n > MAX_TIMEOUT_SCALE) throw new Error(`expected a number from 0.1 to ${MAX_TIMEOUT_SCALE}, got "${input}"`);
        return n;
      },
    })(),
  };

  async run(): Promise<ClassReport> {
    const { argv, flags } = await this.parse(Grade);
    const paths = argv as string[];
    if (flags.prompt !== undefined && !isPromptToken(flags.prompt)) this.#usage(`--prompt must be ${PROMPT_TOKEN_RULE}, got "${flags.prompt}"`);
    const profiles = this.#profiles(flags.profile);
    let rubric: Rubric = DEFAULT_RUBRIC;
    let shard: Shard | undefined;
    let all: Submission[];
    try {
      if (flags.rubric !== undefined) rubric = readRubric(flags.rubric);
      if (flags.shard !== undefined) shard = parseShard(flags.shard);
      all = await findSubmissions(paths, { serverFile: flags['server-file'], clientFile: flags['client-file'] });
    } catch (error) {
      if (error instanceof RubricError || error instanceof ShardError || error instanceof NoSubmissionsError || error instanceof DuplicateStudentError) {
        return this.fail(error.code, error.message, EXIT_USAGE);
      }
      throw error;
    }
    const submissions = shardOf(all, shard);
    // Submissions are data: Python must not write __pycache__ into them.
    process.env.PYTHONDONTWRITEBYTECODE = '1';

    const human = flags.json ? process.stderr : process.stdout;
    const tty = human.isTTY === true;
    const table = new GradeTable(submissions.map((s) => s.student), colorWanted(human));
    const plan = loadPlan(flags.jobs, flags['case-jobs'], flags['timeout-scale']);
    human.write(
      `grading ${submissions.length} submission${submissions.length === 1 ? '' : 's'}${shard ? ` (slice ${shard.index}/${shard.count} of ${all.length})` : ''}, ${flags.jobs} at a time, ${plan.caseJobs} case${plan.caseJobs === 1 ? '' : 's'} at a time each${plan.timeoutScale !== flags['timeout-scale'] ? `, bounds ×${plan.timeoutScale}` : ''}\n${table.header()}\n`,
    );
    const progress = new Map<string, string>();
    const status = () => {
      if (!tty) return;
      const parts = [...progress.entries()].map(([s, p]) => `${s} ${p}`);
      human.write(`${CLEAR_LINE}${parts.length ? `running: ${parts.join(' · ')}`.slice(0, (process.stdout.columns ?? 100) - 1) : ''}`);
    };
    const graded = await gradeClass({
      submissions,
      jobs: flags.jobs,
      shard,
      failOn: flags['fail-on'],
      rubricFile: flags.rubric,
      dialect: flags.dialect,
      prompt: flags.prompt,
      profiles,
      caseJobs: plan.caseJobs,
      timeoutScale: plan.timeoutScale,
      learn: flags.learn === true,
      judgeClients: flags['no-clients'] !== true,
      rubric,
      seed: flags.seed,
      onStart: (s) => {
        progress.set(s.student, 'starting');
        status();
      },
      onCase: (s, side, i, n) => {
        progress.set(s.student, `${side} ${i}/${n}`);
        status();
      },
      onDone: (judged, done, total) => {
        progress.delete(judged.grade.student);
        if (tty) human.write(CLEAR_LINE);
        human.write(`${table.row(judged.grade)}   [${done}/${total}]\n`);
        status();
      },
    });
    if (tty) human.write(CLEAR_LINE);
    try {
      writeOutputs(flags.out, graded, rubric);
    } catch (error) {
      return this.fail('REPORT_WRITE_FAILED', `cannot write the outputs to ${flags.out}: ${error instanceof Error ? error.message : String(error)}`, GRADE_EXIT.NONE_JUDGED);
    }
    if (submissions.length > 1) human.write(`\n${table.header()}\n${graded.report.students.map((g) => table.row(g)).join('\n')}\n`);
    human.write(`${table.summary(graded.report.students, graded.report.seconds, flags.out)}\n`);
    if (flags.json) process.stdout.write(`${JSON.stringify(graded.report, null, 2)}\n`);
    return this.exit(graded.report.exitCode);
  }

  #usage(message: string): never {
    throw Object.assign(new Error(message), { oclif: { exit: EXIT_USAGE } });
  }

  #profiles(given: string[] | undefined): Profile[] | undefined {
    if (!given?.length) return undefined;
    for (const p of given) {
      if (!(PROFILES as readonly string[]).includes(p)) this.#usage(`--profile: unknown profile "${p}" (one of ${PROFILES.join(', ')})`);
    }
    return given as Profile[];
  }
}
