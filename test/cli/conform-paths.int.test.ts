/**
 * `chatkit conform` checks its output paths before the run (issue 16): a bad one is a usage error
 * (exit 2) before any target is started, never a lost verdict after the run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pythonExecutable } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { runChatkit } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('paths');
/** A target that records that it was started: a run that checks first never starts it. */
const marker = join(dir, 'started');
const spawn = `touch ${marker}; exec ${pythonExecutable()} ${join(PYTHON_TARGETS_DIR, 'nick_server.py')} 127.0.0.1 {port}`;
const conform = (...args: string[]) =>
  runChatkit(['conform', '--spawn', spawn, '--dialect', 'nick', '--only', 'nick.join.*', ...args]);
const started = () => {
  try {
    readFileSync(marker);
    return true;
  } catch {
    return false;
  }
};

describe('chatkit conform output paths', () => {
  it('an -o in a missing directory exits 2 before the run', async () => {
    const { code, stderr } = await conform('-o', join(dir, 'missing', 'report.json'), '--reporter', 'json');
    expect(code).toBe(2);
    expect(stderr).toMatch(/REPORT_PATH_INVALID|cannot be written/);
    expect(started()).toBe(false);
  });

  it('the same path for -o and --badge exits 2 before the run', async () => {
    const path = join(dir, 'same');
    const { code, stderr } = await conform('-o', path, '--badge', path);
    expect(code).toBe(2);
    expect(stderr).toMatch(/the same file as --output/);
    expect(started()).toBe(false);
  });

  it('refuses to overwrite a file chatkit did not write, unless --force', async () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'my own notes\n');
    const refused = await conform('-o', path);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--force/);
    expect(readFileSync(path, 'utf8')).toBe('my own notes\n');
    expect(started()).toBe(false);
    const forced = await conform('-o', path, '--force', '--reporter', 'json');
    expect(forced.code).toBe(0);
    expect(readFileSync(path, 'utf8')).toContain('chatkit');
  });
});
