/**
 * What `--spawn` says when a program cannot be judged where chatkit asked it to listen: the port it
 * listens on instead (a hard-coded port, the commonest student case), and what it printed on stdout
 * as well as stderr before it exited; and `--port-range` gives spawned targets ports in a range.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  freePort,
  freePortIn,
  parsePortRange,
  PortRangeError,
  pythonExecutable,
  spawnTarget,
  TargetError,
} from '../../src/processes/index.js';

/** Short: the programs here never listen where asked. */
const LISTEN_TIMEOUT_MS = 1_500;

async function spawnError(command: string, port: number): Promise<TargetError> {
  try {
    const target = await spawnTarget({ command, port, listenTimeoutMs: LISTEN_TIMEOUT_MS });
    await target.stop();
  } catch (error) {
    if (error instanceof TargetError) return error;
    throw error;
  }
  throw new Error('the target listened where asked');
}

describe('a spawned program that does not listen where asked', () => {
  it('names the port it listens on instead, and the fix', async () => {
    const asked = await freePort();
    const hardCoded = await freePort();
    const program = `import socket,time; s=socket.socket(); s.bind(('127.0.0.1', ${hardCoded})); s.listen(); time.sleep(30)`;
    const error = await spawnError(`'${pythonExecutable()}' -c "${program}"`, asked);
    expect(error.code).toBe('TARGET_LISTENS_ELSEWHERE');
    expect(error.listening).toEqual([hardCoded]);
    expect(error.message).toContain(`it listens on ${hardCoded} instead`);
    expect(error.message).toContain('drop {port}');
  });

  it('says when the port is held by a process outside the spawned group', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const error = await spawnError(`'${pythonExecutable()}' -c "import time; time.sleep(30)"`, port);
      expect(error.code).toBe('TARGET_NEVER_LISTENED');
      expect(error.message).toContain('not by the spawned process group');
    } finally {
      holder.close();
    }
  });

  it('shows the tail of stdout and of stderr of a program that exits', async () => {
    const program = "import sys; print('usage: server.py needs a config file'); sys.exit(2)";
    const error = await spawnError(`'${pythonExecutable()}' -c "${program}"`, await freePort());
    expect(error.code).toBe('TARGET_EXITED');
    expect(error.message).toContain('--- stdout (tail) ---');
    expect(error.message).toContain('usage: server.py needs a config file');
  });
});

describe('--port-range', () => {
  it('parses LO-HI and refuses anything else with a code', () => {
    expect(parsePortRange('49152-65535')).toEqual({ low: 49152, high: 65535 });
    for (const bad of ['', '10', '5-4', '0-10', '1-70000', 'a-b']) {
      expect(() => parsePortRange(bad), bad).toThrow(PortRangeError);
    }
  });

  it('gives a free port inside the range', async () => {
    const range = { low: 49152, high: 65535 };
    for (let i = 0; i < 5; i++) {
      const port = await freePortIn(range);
      expect(port).toBeGreaterThanOrEqual(range.low);
      expect(port).toBeLessThanOrEqual(range.high);
    }
  });
});
