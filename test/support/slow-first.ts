/**
 * The order vitest starts test files in. With two workers and no timing cache (a clean CI clone),
 * vitest starts the largest files first; but a file's size says little about how long its real
 * servers and Python processes run. Starting the few long files first keeps one of them from
 * starting last and running alone while the other worker idles.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The longest files, longest first (measured with `vitest run --reporter=json`; each takes from one to
 * several minutes). A file missing here runs after them, in vitest's own order.
 */
export const SLOW_FILES: readonly string[] = [
  'test/grade/class.int.test.ts',
  'test/conformance/root-causes.int.test.ts',
  'test/cli/variant.int.test.ts',
  'test/conformance/nick-verdicts.int.test.ts',
  'test/spec/frame4-holdback.int.test.ts',
  'test/conformance/extension-mutants.int.test.ts',
  'test/cli/handed-in.int.test.ts',
  'test/cluster/judged.int.test.ts',
  'test/cli/conform-output.int.test.ts',
  'test/conformance/tilde-verdicts.int.test.ts',
  'test/cli/conform.int.test.ts',
  'test/conformance/client-verdicts.int.test.ts',
  'test/spec/long-names.int.test.ts',
  'test/legacy/nick-server.int.test.ts',
];

/** Vitest's sequencer with {@link SLOW_FILES} moved to the front. */
export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const index = SLOW_FILES.indexOf(relative(this.ctx.config.root, file.moduleId));
      return index < 0 ? SLOW_FILES.length : index;
    };
    // Array.prototype.sort is stable: the other files keep vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
