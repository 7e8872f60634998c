/**
 * `chatkit conform --declare FILE` (spec §9.1.1) as a subprocess: the declared dialect narrows what
 * runs, and an invalid declaration is a usage error with its code.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import { assertBuilt, runChatkit } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'chatkit-declare-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => assertBuilt());

describe('chatkit conform --declare', { timeout: 60_000 }, () => {
  it('takes the dialect from the declaration (--list shows only that dialect)', async () => {
    const path = join(dir, 'tilde.yaml');
    writeFileSync(path, 'declaration: 1\ndialect: tilde\n');
    const { code, stdout, stderr } = await runChatkit(['conform', '--list', '--json', '--declare', path]);
    expect(code, stderr).toBe(0);
    const doc = JSON.parse(stdout) as { cases: { dialect: string }[] };
    expect(doc.cases.length).toBeGreaterThan(0);
    expect(new Set(doc.cases.map((c) => c.dialect))).toEqual(new Set(['tilde']));
    expect(doc.cases.length).toBeLessThan(ALL_CASES.length);
  });

  it('refuses an invalid declaration with DECLARATION_INVALID, exit 2', async () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ declaration: 1, dialect: 'tilde', prompt: 'NICK' }));
    const { code, stderr } = await runChatkit(['conform', '--target', '127.0.0.1:1', '--declare', path]);
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/DECLARATION_INVALID.*prompt/);
  });
});
