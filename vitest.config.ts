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
  },
});
