/**
 * Contained targets (issue 16): a shell command line that forks a child which calls setsid() leaves
 * no process behind when the target is stopped, in a PID namespace and in the fallback without one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  containmentAvailable,
  descendants,
  freePort,
  pollUntil,
  pythonExecutable,
  setEscapeReporter,
  spawnTarget,
  type TargetHandle,
} from '../../src/processes/index.js';
import { tempDir } from '../support/temp-dir.js';

const WAIT_MS = 10_000;
const dir = tempDir('contain');
const running: TargetHandle[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((t) => t.stop()));
  delete process.env.CHATKIT_CONTAIN;
});

/** Listens on argv[1]; first forks a grandchild that calls setsid() and writes its pid to argv[2]. */
const FORKER = `
import os, socket, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open(sys.argv[2] + '.tmp', 'w').write(str(os.getpid()))
        os.rename(sys.argv[2] + '.tmp', sys.argv[2])
        time.sleep(120)
    os._exit(0)
s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()
time.sleep(120)
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'latin1').includes(') Z ');
  } catch {
    return false;
  }
};

async function escapee(contain: boolean): Promise<{ target: TargetHandle; pid: number }> {
  if (!contain) process.env.CHATKIT_CONTAIN = '0';
  const script = join(dir, 'forker.py');
  writeFileSync(script, FORKER);
  const pidFile = join(dir, `pid-${contain}-${Date.now()}`);
  const port = await freePort();
  const target = await spawnTarget({ command: `${pythonExecutable()} ${script} ${port} ${pidFile}`, port });
  running.push(target);
  let pid = 0;
  await pollUntil(
    () => {
      try {
        pid = Number(readFileSync(pidFile, 'utf8'));
        return pid > 0;
      } catch {
        return false;
      }
    },
    { timeoutMs: WAIT_MS, what: 'the setsid() grandchild to write its pid' },
  );
  // In a namespace the grandchild wrote its inner pid: find its outer one (NSpid: outer ... inner).
  if (contain) {
    const outer = descendants(target.pid).find((p) => {
      const line = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${p}/status`, 'latin1'))?.[1]?.split(/\s+/);
      return line !== undefined && line.length > 1 && Number(line.at(-1)) === pid;
    });
    expect(outer, 'the grandchild seen from outside its namespace').toBeDefined();
    pid = outer!;
  }
  expect(alive(pid)).toBe(true);
  return { target, pid };
}

describe('contained targets', () => {
  it.runIf(containmentAvailable())(
    'in a PID namespace, a grandchild that called setsid() ends with the target',
    async () => {
      const { target, pid } = await escapee(true);
      await target.stop();
      await pollUntil(() => !alive(pid), { timeoutMs: WAIT_MS, what: 'the grandchild to end' });
      expect(alive(pid)).toBe(false);
    },
  );

  it('without a namespace (fallback), the grandchild is found by its mark, killed and reported', async () => {
    const lines: string[] = [];
    setEscapeReporter((line) => lines.push(line));
    const { target, pid } = await escapee(false);
    await target.stop();
    await pollUntil(() => !alive(pid), { timeoutMs: WAIT_MS, what: 'the grandchild to end' });
    expect(alive(pid)).toBe(false);
    expect(lines.join('\n')).toMatch(new RegExp(`TARGET_ESCAPED: killed 1 process\\(es\\).*pid ${pid}`));
  });
});
