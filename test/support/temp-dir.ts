/**
 * Temporary folders for tests, removed after the file's tests (nothing a test makes outlives the run).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];

// Registered when a test file imports this module (while vitest collects the file): a hook registered later,
// from inside a running test, would never run.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder under the system temp folder, named `chatkit-<label>-…`, removed in this file's `afterAll`. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `chatkit-${label}-`));
  made.push(dir);
  return dir;
}
