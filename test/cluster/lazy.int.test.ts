import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnTarget } from '../../src/processes/index.js';
import { assertBuilt, CHATKIT } from '../support/cli.js';
import { STEP_MS, startRedis } from '../support/redis.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Runs `chatkit serve …` until it listens and returns every module URL it loaded. */
async function modulesLoadedBy(args: string[]): Promise<string[]> {
  assertBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'chatkit-loads-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'loads.txt');
  const hooks = join(import.meta.dirname, '../support/record-loads.mjs');
  const target = await spawnTarget({
    command: [process.execPath, '--import', hooks, CHATKIT, 'serve', '--port', '0', ...args],
    env: { CHATKIT_LOAD_LOG: log, NO_COLOR: '1' },
  });
  cleanup.push(() => target.stop());
  await target.waitForOutput('stdout', 'listening on', { timeoutMs: STEP_MS });
  return readFileSync(log, 'utf8').trim().split('\n');
}

describe('serve without --cluster', () => {
  it('loads nothing Redis-related; with --cluster it loads ioredis and the link', async () => {
    const plain = await modulesLoadedBy([]);
    expect(plain.some((url) => url.endsWith('/reference-server/server.js'))).toBe(true);
    expect(plain.filter((url) => /ioredis|redis-link/.test(url))).toEqual([]);

    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const clustered = await modulesLoadedBy(['--cluster', redis.url]);
    expect(clustered.some((url) => url.includes('/node_modules/ioredis/'))).toBe(true);
    expect(clustered.some((url) => url.endsWith('/cluster/redis-link.js'))).toBe(true);
  });
});
