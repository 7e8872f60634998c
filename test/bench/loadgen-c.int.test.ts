/**
 * The C yardstick generator of `npm run bench` (bench/c/loadgen.c), built with the machine's cc and
 * run against the reference server: it must print the same JSON document as `chatkit bench`
 * (schema chatkit-bench/1), find every message at every member, and name itself as the generator.
 * No timing is asserted: speed lives in docs/BENCHMARKS.md.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnTarget } from '../../src/processes/index.js';
import { type BenchResult, benchResultSchema } from '../../src/bench/result.js';
import { CHATKIT } from '../support/cli.js';

const ROOT = join(import.meta.dirname, '../..');
const RUN_MS = 60_000;
const hasCc = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v cc'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let dir = '';
let bin = '';
beforeAll(() => {
  if (!hasCc) return;
  dir = mkdtempSync(join(tmpdir(), 'chatkit-loadgen-'));
  bin = join(dir, 'loadgen');
  execFileSync('cc', ['-O2', '-o', bin, join(ROOT, 'bench/c/loadgen.c'), '-lm'], { stdio: 'pipe' });
});
afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** Spawns the reference server, runs the C generator on it, stops the server; the parsed document. */
async function measure(dialect: 'nick' | 'tilde', extra: string[]): Promise<BenchResult> {
  const port = await freePort();
  const target = await spawnTarget({
    command: `exec ${process.execPath} ${CHATKIT} serve --port ${port}${dialect === 'tilde' ? ' --dialect tilde' : ''} > /dev/null`,
    port,
  });
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        bin,
        ['--port', String(port), '--dialect', dialect, '--timeout', '50', '--drain-quiet', '10', ...extra],
        { timeout: RUN_MS },
        (error, out) => (error ? reject(error) : resolve(out)),
      );
    });
    return benchResultSchema.parse(JSON.parse(stdout));
  } finally {
    await target.stop();
  }
}

describe.skipIf(!hasCc)('the C generator (bench/c/loadgen.c)', () => {
  it('finds every message at every member of a NICK room, full speed, in the document of chatkit bench', async () => {
    const result = await measure('nick', ['--clients', '20', '--senders', '5', '--messages', '30']);
    expect(result.generator.program).toBe('bench/c/loadgen.c');
    expect(result.join).toMatchObject({ attempted: 20, joined: 20, failed: 0 });
    expect(result.send.messages).toBe(150);
    expect(result.deliveries).toMatchObject({ expected: 3000, seen: 3000, lost: 0 });
    expect(result.latencyMs.samples).toBe(3000);
    expect(result.endedBy).toBe('complete');
  });

  it('finds every message of paced tilde senders', async () => {
    const result = await measure('tilde', [
      '--clients',
      '10',
      '--senders',
      '3',
      '--rate',
      '20',
      '--duration',
      '0.5',
    ]);
    expect(result.join.joined).toBe(10);
    expect(result.send.messages).toBeGreaterThan(0);
    expect(result.deliveries.expected).toBe(result.send.messages * 10);
    expect(result.deliveries).toMatchObject({ seen: result.deliveries.expected, lost: 0 });
    expect(result.config).toMatchObject({ rate: 20, durationMs: 500, senders: 3 });
  });
});
