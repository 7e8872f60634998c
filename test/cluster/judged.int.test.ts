/**
 * A two-node cluster judged as one server by `chatkit conform --target A --target B` (every case's
 * members spread over both nodes), and the seeds' Python clients chatting across two nodes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnPythonClient, type TargetHandle } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { runChatkit } from '../support/cli.js';
import { type ClusterNode, STEP_MS, startNode, startRedis } from '../support/redis.js';

/** The whole suite of one dialect against a live cluster; bounded well above its ~20 s. */
const CONFORM_MS = 120_000;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function cluster(dialect: 'nick' | 'tilde'): Promise<ClusterNode[]> {
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  const nodes = await Promise.all([0, 1].map(() => startNode(redis.url, ['--dialect', dialect])));
  for (const n of nodes) cleanup.push(() => n.target.stop());
  return nodes;
}

const joins = (node: ClusterNode) => node.target.stdout().match(/ join /g)?.length ?? 0;

describe.each(['nick', 'tilde'] as const)('chatkit conform against a two-node %s cluster', (dialect) => {
  it(
    'passes every case, with members on both nodes',
    async () => {
      const nodes = await cluster(dialect);
      const targets = nodes.flatMap((n) => ['--target', `127.0.0.1:${n.port}`]);
      const dir = mkdtempSync(join(tmpdir(), 'chatkit-cluster-conform-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const output = join(dir, 'report.json');
      const args = ['conform', ...targets, '--dialect', dialect, '--reporter', 'json', '--output', output];
      const { code } = await runChatkit(args, { timeoutMs: CONFORM_MS });
      const report = JSON.parse(readFileSync(output, 'utf8')) as { cases: { id: string; verdict: string }[] };
      expect(report.cases.filter((c) => c.verdict !== 'pass')).toEqual([]);
      expect(report.cases.length).toBeGreaterThan(20);
      expect(code).toBe(0);
      // Round-robin really spread the members: both nodes let many in.
      for (const node of nodes) expect(joins(node)).toBeGreaterThan(20);
    },
    CONFORM_MS + 20_000,
  );
});

describe('the seeds\' Python clients on two nodes', () => {
  async function client(script: string, port: number): Promise<TargetHandle> {
    const c = await spawnPythonClient(join(PYTHON_TARGETS_DIR, script), { port });
    cleanup.push(() => c.stop());
    return c;
  }
  const see = (c: TargetHandle, text: string) => c.waitForOutput('stdout', text, { timeoutMs: STEP_MS });

  it('nick_client.py: two members on two nodes chat', async () => {
    const [a, b] = await cluster('nick');
    const alice = await client('nick_client.py', a!.port);
    alice.writeStdin('alice\n');
    await see(alice, 'Connected to server!');
    const bob = await client('nick_client.py', b!.port);
    bob.writeStdin('bob\n');
    await see(bob, 'Connected to server!');
    await see(alice, 'bob joined!');
    alice.writeStdin('hello from node A\n');
    await see(bob, 'alice: hello from node A\n');
    bob.writeStdin('hello from node B\n');
    await see(alice, 'bob: hello from node B\n');
  });

  it('tilde_client.py: two members on two nodes chat', async () => {
    const [a, b] = await cluster('tilde');
    const zoe = await client('tilde_client.py', a!.port);
    zoe.writeStdin('zoe\n');
    await see(zoe, '[SERVER] zoe added to the chat\n');
    const yann = await client('tilde_client.py', b!.port);
    yann.writeStdin('yann\n');
    // The seed client displays one recv() at a time: zoe's relay must not share a chunk with yann's own
    // join notice (no framing), so yann sees that notice before zoe speaks.
    await see(yann, '[SERVER] yann added to the chat\n');
    await see(zoe, '[SERVER] yann added to the chat\n');
    zoe.writeStdin('bonjour\n');
    await see(yann, '[zoe] bonjour\n');
    // Likewise zoe's own echo must not share a chunk with yann's answer.
    await see(zoe, '[zoe] bonjour\n');
    yann.writeStdin('salut\n');
    await see(zoe, '[yann] salut\n');
  });
});
