import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { stallThread } from '../support/stall.js';
import {
  OUTPUT_DRAIN_MS,
  freePort,
  listeningPorts,
  pollUntil,
  processCpuTimeMs,
  processGroupMembers,
  pythonExecutable,
  spawnTarget,
  TargetErrorCode,
  type TargetHandle,
} from '../../src/processes/index.js';

/** Deadline for things that happen promptly on an idle or loaded machine. */
const WAIT_MS = 5_000;
/** A listen deadline that is meant to pass. */
const SHORT_LISTEN_TIMEOUT_MS = 300;

const running: TargetHandle[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((target) => target.stop()));
});
const track = (target: TargetHandle) => {
  running.push(target);
  return target;
};

/** A Python listener that reports whether anything connected to it during its first second. */
const LISTENER_THAT_REPORTS_PROBES = `
import socket, sys, time
time.sleep(0.2)
s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()
s.settimeout(1.0)
try:
    s.accept(); print('CONNECTED')
except socket.timeout:
    print('NO-CONNECTION')
time.sleep(30)
`;

describe('spawnTarget', () => {
  it('waits for the listener without ever connecting to it', async () => {
    const port = await freePort();
    const target = track(
      await spawnTarget({
        command: [pythonExecutable(), '-c', LISTENER_THAT_REPORTS_PROBES, String(port)],
        port,
      }),
    );
    expect(listeningPorts(target.pid)).toContain(port);
    await target.waitForOutput('stdout', (out) => out.endsWith('\n'), {
      timeoutMs: WAIT_MS,
    });
    expect(target.stdout()).toBe('NO-CONNECTION\n');
  });

  it('rejects with TARGET_EXITED and the captured stderr when the target dies first', async () => {
    const port = await freePort();
    const error = await spawnTarget({
      command: [pythonExecutable(), '-c', 'import sys; sys.stderr.write("boom"); sys.exit(3)'],
      port,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: TargetErrorCode.EXITED, stderr: 'boom' });
  });

  it('outputSettled: output still on its way when the process exits is there once it resolves', async () => {
    // The shell exits at once; a job it left behind writes a moment later and holds the pipe till then.
    const target = track(await spawnTarget({ command: ['/bin/sh', '-c', '(sleep 0.1; echo late words) & exit 3'] }));
    expect((await target.exited).code).toBe(3);
    await target.outputSettled();
    expect(target.stdout()).toBe('late words\n');
  });

  it('outputSettled: a parent starved past the drain bound still gets the output waiting in the pipe', async () => {
    const target = track(await spawnTarget({ command: ['/bin/sh', '-c', '(sleep 0.2; echo late words) & exit 0'] }));
    await target.exited;
    const settled = target.outputSettled();
    await new Promise((resolve) => setImmediate(resolve)); // its bound is running
    // The job writes and ends while this thread stands still past OUTPUT_DRAIN_MS.
    stallThread(OUTPUT_DRAIN_MS + 500);
    await settled;
    expect(target.stdout()).toBe('late words\n');
  });

  it('fails a wait for output at once with TARGET_EXITED when the target exits without it', async () => {
    const target = track(await spawnTarget({ command: [pythonExecutable(), '-c', 'print("bye")'] }));
    const error = await target
      .waitForOutput('stdout', 'never', { timeoutMs: WAIT_MS })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: TargetErrorCode.EXITED, stdout: 'bye\n' });
  });

  it('rejects with TARGET_NEVER_LISTENED at the deadline and kills the process group', async () => {
    const port = await freePort();
    const error = await spawnTarget({
      command: 'echo $$ >&2; sleep 30 & sleep 30',
      port,
      listenTimeoutMs: SHORT_LISTEN_TIMEOUT_MS,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: TargetErrorCode.NEVER_LISTENED });
    const pid = Number((error as { stderr: string }).stderr.trim());
    expect(processGroupMembers(pid)).toEqual([]);
  });

  it('does not mistake another program listening on the port for the target', async () => {
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const address = other.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const error = await spawnTarget({
        command: ['sleep', '30'],
        port,
        listenTimeoutMs: SHORT_LISTEN_TIMEOUT_MS,
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: TargetErrorCode.NEVER_LISTENED });
    } finally {
      other.close();
    }
  });

  it('stops the whole process group, and stop() is idempotent', async () => {
    const target = track(await spawnTarget({ command: 'sleep 30 & sleep 30 & wait' }));
    await pollUntil(() => processGroupMembers(target.pid).length >= 3, { what: 'three processes' });
    await Promise.all([target.stop(), target.stop()]);
    await target.stop();
    expect(processGroupMembers(target.pid)).toEqual([]);
    expect(existsSync(`/proc/${target.pid}`)).toBe(false);
    expect(target.exitStatus()).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('keeps a bounded tail of the output and counts all of it', async () => {
    const target = track(
      await spawnTarget({
        command: [pythonExecutable(), '-c', 'import sys; sys.stdout.write("x" * 200000 + "END")'],
      }),
    );
    await target.exited;
    await target.waitForOutput('stdout', 'END', { timeoutMs: WAIT_MS });
    expect(target.outputBytes().stdout).toBe(200_003);
    expect(target.stdout().length).toBeLessThanOrEqual(64 * 1024);
    expect(target.stdout().endsWith('xEND')).toBe(true);
  });

  it('feeds stdin and measures CPU time', async () => {
    const target = track(
      await spawnTarget({
        command: [
          pythonExecutable(),
          '-c',
          'import time\ninput()\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\nprint("done")\ntime.sleep(30)',
        ],
      }),
    );
    const before = processCpuTimeMs(target.pid) ?? 0;
    target.writeStdin('go\n');
    await target.waitForOutput('stdout', 'done', { timeoutMs: WAIT_MS });
    expect((processCpuTimeMs(target.pid) ?? 0) - before).toBeGreaterThanOrEqual(250);
  });
});
