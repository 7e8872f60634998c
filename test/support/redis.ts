/**
 * A real Redis for the cluster tests (Debian's `redis-server`, installed by .ci/run) on a free
 * loopback port, without persistence, and `chatkit serve --cluster` nodes around it. Every
 * process is stopped by the caller's cleanup.
 */
import { spawnOnFreePort, spawnTarget, type TargetHandle } from '../../src/processes/index.js';
import { startChatkit } from './cli.js';

/** Bound of each step (a node listening, a member joining). */
export const STEP_MS = 10_000;

/** Starts redis-server on `port` (a free one by default); resolves once it listens. */
export async function startRedis(port?: number): Promise<TargetHandle & { url: string }> {
  const command = (p: number) => ['redis-server', '--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const redis = port === undefined ? await spawnOnFreePort({ command }) : await spawnTarget({ command: command(port), port });
  return Object.assign(redis, { url: `redis://127.0.0.1:${redis.port ?? port}` });
}

/** A running `chatkit serve --cluster` node and the port it announced. */
export interface ClusterNode {
  readonly target: TargetHandle;
  readonly port: number;
}

/** Starts `chatkit serve --port 0 --cluster url ...args` and reads the port it announces. */
export async function startNode(url: string, args: readonly string[] = []): Promise<ClusterNode> {
  const target = await startChatkit(['serve', '--port', '0', '--cluster', url, ...args]);
  let port = 0;
  try {
    await target.waitForOutput(
      'stdout',
      (out) => {
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
        if (m) port = Number(m[1]);
        return m !== null;
      },
      { timeoutMs: STEP_MS, what: 'the announced port' },
    );
  } catch (error) {
    await target.stop();
    throw error;
  }
  return { target, port };
}
