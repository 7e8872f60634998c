/**
 * `chatkit conform` and the extension profiles (spec §14) as a subprocess: `--profile admin` needs
 * `--admin-password`, a declaration's `extensions` add their profiles, and the admin profile passes
 * the reference server spawned with the same password.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CHATKIT, runChatkit } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('ext-cli');
beforeAll(() => assertBuilt());

describe('chatkit conform --profile admin|commands|rooms', { timeout: 120_000 }, () => {
  it('refuses --profile admin without --admin-password, exit 2', async () => {
    const { code, stderr } = await runChatkit(['conform', '--profile', 'admin', '--target', '127.0.0.1:1']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--admin-password/);
  });

  it("adds the profiles a declaration's extensions name to the default ones (--list)", async () => {
    const path = join(dir, 'rooms.yaml');
    writeFileSync(path, 'declaration: 1\ndialect: nick\nextensions: [rooms]\n');
    const { code, stdout, stderr } = await runChatkit(['conform', '--list', '--json', '--declare', path]);
    expect(code, stderr).toBe(0);
    const profiles = new Set((JSON.parse(stdout) as { cases: { profile: string }[] }).cases.map((c) => c.profile));
    expect(profiles).toEqual(new Set(['core', 'robustness', 'rooms']));
  });

  it('refuses an extension the spec does not define in a declaration', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'declaration: 1\ndialect: nick\nextensions: [emoji]\n');
    const { code, stderr } = await runChatkit(['conform', '--list', '--declare', path]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/DECLARATION_INVALID/);
  });

  it('passes the reference server with the admin profile, exit 0', async () => {
    const serve = `'${process.execPath}' '${CHATKIT}' serve --port {port} --admin-password 'open sesame'`;
    const { code, stdout, stderr } = await runChatkit([
      'conform',
      '--profile',
      'admin',
      '--admin-password',
      'open sesame',
      '--dialect',
      'nick',
      '--spawn',
      serve,
    ], { timeoutMs: 90_000 });
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toMatch(/MUST 8\/8/);
  });
});
