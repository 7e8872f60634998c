import { Args, Flags } from '@oclif/core';
import type { ClassReport } from '../../../grade/class-report.js';
import { DEFAULT_GRADE_OUT, MergeError, mergeOutputs } from '../../../grade/grade.js';
import { DuplicateStudentError } from '../../../grade/submissions.js';
import { GradeTable } from '../../../grade/terminal.js';
import { ChatkitCommand } from '../../base.js';
import { EXIT_USAGE } from '../../flags.js';

/** `chatkit grade merge`: one class report from the output folders of several `--shard` slices. */
export default class GradeMerge extends ChatkitCommand {
  static override summary = 'Merge the output folders of several `chatkit grade --shard i/n` runs into one class report.';

  static override description = `Reads grade.json and every <student>/ folder of each slice, and writes grades.csv, grades.md, report.html and grade.json for the whole class into --out, with the students' folders copied. A student found in two slices is an error (GRADE_DUPLICATE_STUDENT). Exit codes as chatkit grade's: 0, or 3 when no submission of the class could be judged, or 1 with --fail-on any.`;

  static override examples = [
    { description: 'after a CI matrix of 4 slices', command: '<%= config.bin %> grade merge out-1 out-2 out-3 out-4 --out class' },
  ];

  static override strict = false;

  static override args = {
    dirs: Args.string({ description: 'output folders of chatkit grade (one per slice)', required: true }),
  };

  static override flags = {
    out: Flags.string({ char: 'o', description: 'output folder of the merged report', default: DEFAULT_GRADE_OUT, helpValue: 'DIR' }),
    'fail-on': Flags.option({ options: ['none', 'any'] as const, default: 'none' as const, description: 'any: exit 1 when a submission failed or could not be judged' })(),
    json: Flags.boolean({ description: 'print the merged class report on stdout' }),
  };

  async run(): Promise<ClassReport> {
    const { argv, flags } = await this.parse(GradeMerge);
    let merged: ClassReport;
    try {
      merged = mergeOutputs(argv as string[], flags.out, flags['fail-on']);
    } catch (error) {
      if (error instanceof MergeError || error instanceof DuplicateStudentError) return this.fail(error.code, error.message, EXIT_USAGE);
      throw error;
    }
    const human = flags.json ? process.stderr : process.stdout;
    const table = new GradeTable(merged.students.map((s) => s.student), human.isTTY === true && !process.env.NO_COLOR);
    human.write(`${table.header()}\n${merged.students.map((g) => table.row(g)).join('\n')}\n${table.summary(merged.students, merged.seconds, flags.out)}\n`);
    if (flags.json) process.stdout.write(`${JSON.stringify(merged, null, 2)}\n`);
    return this.exit(merged.exitCode);
  }
}
