/**
 * `chatkit serve` whose log pipe loses its reader (issue 16): a real process writing its log into
 * real pipes, whose reading ends this test closes while members keep chatting. The server must
 * keep serving, say on stderr what happened to stdout, and end with exit 0 on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, openConnection } from '../../conformance/harness/connection.js';
import { assertBuilt, CHATKIT } from '../support/cli.js';
import { until } from '../support/wait.js';

const STEP_MS = 10_000;
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Served {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `chatkit serve --port 0` with stdout and stderr on pipes of their own; the port read from stdout. */
async function serve(): Promise<Served> {
  assertBuilt();
  const child = spawn(process.execPath, [CHATKIT, 'serve', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
    detached: true,
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no port announced: ${out} ${err}`)), STEP_MS);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return { child, port, stderr: () => err, exited };
}

async function member(port: number, nick: string): Promise<Connection> {
  const conn = await openConnection({ host: '127.0.0.1', port, label: nick });
  cleanup.push(() => conn.close());
  await conn.waitForText('NICK', { timeoutMs: STEP_MS });
  conn.send(nick);
  await conn.waitForText('Connected to server!', { timeoutMs: STEP_MS });
  return conn;
}

/** Members chat in both directions and a newcomer joins: the server serves, whatever its log does. */
async function chatGoesOn(port: number, round: number): Promise<void> {
  const alice = await member(port, `alice${round}`);
  const bob = await member(port, `bob${round}`);
  for (let i = 0; i < 20; i++) {
    alice.send(`alice${round}: ping ${i}\n`);
    await bob.waitForText(`alice${round}: ping ${i}\n`, { timeoutMs: STEP_MS });
    bob.send(`bob${round}: pong ${i}\n`);
    await alice.waitForText(`bob${round}: pong ${i}\n`, { timeoutMs: STEP_MS });
  }
  const carol = await member(port, `carol${round}`);
  await alice.waitForText(`carol${round} joined!`, { timeoutMs: STEP_MS });
  await carol.close();
  await bob.waitForText(`carol${round} left!`, { timeoutMs: STEP_MS });
}

describe('chatkit serve when its log pipe loses its reader', () => {
  it('keeps serving after stdout\'s reader exits, says so on stderr (LOG_OUTPUT_LOST) and logs there from then on', async () => {
    const s = await serve();
    s.child.stdout!.destroy(); // the reader of the log pipe goes away
    await chatGoesOn(s.port, 1);
    await until(() => s.stderr().includes('code=LOG_OUTPUT_LOST'), 'the notice on stderr', STEP_MS);
    expect(s.stderr()).toMatch(/code=LOG_OUTPUT_LOST reason="the log's reader went away \(EPIPE on stdout\): logging to stderr from now on"/);
    // The log goes on, on stderr: the joins after the loss are there.
    await until(() => s.stderr().includes('nick="carol1"'), 'a later join logged on stderr', STEP_MS);
    await chatGoesOn(s.port, 2);
    await until(() => s.stderr().includes('nick="carol2"'), 'the second round logged on stderr', STEP_MS);
    process.kill(s.child.pid!, 'SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
  });

  it('keeps serving when stdout and stderr both lose their reader, and still exits 0 on SIGTERM', async () => {
    const s = await serve();
    s.child.stdout!.destroy();
    s.child.stderr!.destroy();
    await chatGoesOn(s.port, 1);
    await chatGoesOn(s.port, 2);
    expect(s.child.exitCode).toBeNull();
    process.kill(s.child.pid!, 'SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
  });
});
