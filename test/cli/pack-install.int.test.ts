/**
 * What we ship installs and runs by itself: `npm pack` makes the tarball, npm installs it into an
 * empty folder (its dependencies from the registry, or npm's cache when it has them), and the
 * installed `chatkit` prints its help and judges the installed reference server in one short run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_NAME } from '../../src/package-root.js';
import { assertBuilt, REPO } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';

/** npm pack and npm install fetch and unpack hundreds of files: generous, and still bounded. */
const INSTALL_TIMEOUT_MS = 240_000;
const RUN_TIMEOUT_MS = 60_000;

const dir = tempDir('pack');
let bin = '';

beforeAll(() => {
  assertBuilt();
  // --ignore-scripts: pack the dist/ that `npm run build` made (npm test builds before vitest).
  const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: INSTALL_TIMEOUT_MS,
  });
  const [{ filename }] = JSON.parse(packed) as [{ filename: string }];
  const project = join(dir, 'project');
  // An empty project of its own, so npm installs here and not into a folder above.
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'empty', private: true })}\n`);
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, filename)], {
    cwd: project,
    encoding: 'utf8',
    timeout: INSTALL_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  bin = join(project, 'node_modules/.bin/chatkit');
}, INSTALL_TIMEOUT_MS * 2);


function installed(args: readonly string[]) {
  const result = spawnSync(bin, args, {
    cwd: dir,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the npm pack tarball, installed into an empty folder', () => {
  it(`installs as ${PACKAGE_NAME} with the chatkit command`, () => {
    const manifest = JSON.parse(
      readFileSync(join(dir, 'project/node_modules', PACKAGE_NAME, 'package.json'), 'utf8'),
    ) as { name: string; bin: Record<string, string> };
    expect(manifest.name).toBe(PACKAGE_NAME);
    expect(Object.keys(manifest.bin)).toEqual(['chatkit']);
  });

  it('`chatkit --help` lists the commands', () => {
    const { code, stdout } = installed(['--help']);
    expect(code).toBe(0);
    for (const command of ['serve', 'connect', 'conform', 'bench']) expect(stdout).toContain(command);
  });

  it('`chatkit conform` judges the installed reference server in one short run', () => {
    const serve = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} serve --port {port}`;
    const { code, stdout, stderr } = installed([
      'conform',
      '--spawn',
      serve,
      '--dialect',
      'nick',
      '--only',
      'nick.join.*',
      '--reporter',
      'json',
      '--jobs',
      '1',
    ]);
    expect(stderr).not.toMatch(/Error:/);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { cases: { id: string; verdict: string }[] };
    expect(report.cases.length).toBeGreaterThan(0);
    expect(report.cases.every((c) => c.verdict === 'pass')).toBe(true);
  });
});
