/**
 * `chatkit conform` killed by SIGTERM ends every process it started, even a grandchild of the
 * --spawn target that called setsid() (issue 16).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil, pythonExecutable } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { startChatkit } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';

const WAIT_MS = 20_000;
const dir = tempDir('conform-contain');
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** The seed NICK server, after forking a grandchild that calls setsid() and records itself. */
const FORKER = `
import os, runpy, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open(os.path.join(sys.argv[2], 'escapee-%d' % os.getpid()), 'w').write(os.environ.get('TOKEN', ''))
        time.sleep(300)
    os._exit(0)
sys.argv = ['nick_server.py', '127.0.0.1', sys.argv[1]]
runpy.run_path(${JSON.stringify(join(PYTHON_TARGETS_DIR, 'nick_server.py'))}, run_name='__main__')
`;

/** Live processes whose environment holds TOKEN=token (the escapees of this test, whatever their pid namespace). */
function withToken(token: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
        return !stat.includes(') Z ') && readFileSync(`/proc/${e}/environ`, 'latin1').split('\0').includes(`TOKEN=${token}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('chatkit conform and the processes it starts', () => {
  it('on SIGTERM ends every process it started, a setsid() grandchild of --spawn included', async () => {
    const script = join(dir, 'forker.py');
    writeFileSync(script, FORKER);
    const token = `contain-${process.pid}-${Date.now()}`;
    const conform = await startChatkit(
      ['conform', '--spawn', `${pythonExecutable()} ${script} {port} ${dir}`, '--dialect', 'nick'],
      { TOKEN: token },
    );
    cleanup.push(() => conform.stop());
    // Several escapees exist once a few cases have started their own instance of the target.
    const escaped = () => readdirSync(dir).some((f) => f.startsWith('escapee-'));
    await pollUntil(() => escaped() && withToken(token).filter((p) => p !== conform.pid).length >= 2, {
      timeoutMs: WAIT_MS,
      what: 'the target and its escapee to run',
    });
    process.kill(conform.pid, 'SIGTERM');
    const exit = await conform.exited;
    expect(exit.code).toBe(143);
    await pollUntil(() => withToken(token).length === 0, {
      timeoutMs: WAIT_MS,
      what: 'every process of the run to end',
    }).catch(() => undefined);
    expect(withToken(token)).toEqual([]);
    // The grandchildren did exist (they left their files): the check above had something to find.
    expect(readdirSync(dir).filter((f) => f.startsWith('escapee-')).length).toBeGreaterThan(0);
  });
});
