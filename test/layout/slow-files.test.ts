import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../support/cli.js';
import { SLOW_FILES } from '../support/slow-first.js';

describe('the slow-first test order', () => {
  it('names only test files that exist (a renamed file would silently lose its place)', () => {
    expect(SLOW_FILES.filter((file) => !existsSync(join(REPO, file)))).toEqual([]);
    expect(new Set(SLOW_FILES).size).toBe(SLOW_FILES.length);
  });
});
