import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/support/slow-first.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'conformance/**/*.test.ts'],
    // Real sockets and real Python processes: generous per-test bounds, but every test still ends.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 10_000,
    sequence: { sequencer: SlowFirstSequencer },
    // maxWorkers stays at vitest's default: cores - 1, so one file at a time on a 2-core machine (CI takes
    // about 21 minutes). With two workers the suite took about half as long, but at load 5-6 the timed SHOULD
    // check nick.robust.slow-reader-closed failed a correct Python server: make it robust first.
  },
});
