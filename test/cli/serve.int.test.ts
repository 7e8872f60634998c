import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, openConnection } from '../../conformance/harness/connection.js';
import type { TargetHandle } from '../../src/processes/index.js';
import { runChatkit, startChatkit } from '../support/cli.js';

const STEP_MS = 10_000;
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Starts `chatkit serve` on a free port and reads the port it announces. */
async function serve(args: string[]): Promise<{ target: TargetHandle; port: number }> {
  const target = await startChatkit(['serve', '--port', '0', ...args]);
  cleanup.push(() => target.stop());
  let port = 0;
  await target.waitForOutput(
    'stdout',
    (out) => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out) ?? /"detail":"127\.0\.0\.1:(\d+) /.exec(out);
      if (m) port = Number(m[1]);
      return m !== null;
    },
    { timeoutMs: STEP_MS, what: 'the announced port' },
  );
  return { target, port };
}

async function member(port: number, nick: string): Promise<Connection> {
  const conn = await openConnection({ host: '127.0.0.1', port, label: nick });
  cleanup.push(() => conn.close());
  await conn.waitForText('NICK', { timeoutMs: STEP_MS });
  conn.send(nick);
  await conn.waitForText('Connected to server!', { timeoutMs: STEP_MS });
  return conn;
}

describe('chatkit serve (subprocess)', () => {
  it('announces the port it got for --port 0 and logs joins with the peer address', async () => {
    const { target, port } = await serve([]);
    await member(port, 'alice');
    await target.waitForOutput('stdout', (out) => /join +127\.0\.0\.1:\d+ nick="alice"/.test(out), {
      timeoutMs: STEP_MS,
    });
  });

  it('on SIGTERM tells members, closes their connections and exits 0', async () => {
    const { target, port } = await serve([]);
    const alice = await member(port, 'alice');
    process.kill(target.pid, 'SIGTERM');
    expect(await alice.waitForClose({ timeoutMs: STEP_MS })).toBe('eof');
    expect(Buffer.from(alice.stream()).toString()).toContain('Server shutting down!');
    expect((await target.exited).code).toBe(0);
  });

  it('on SIGHUP ends as on SIGTERM: members told, connections closed, exit 0', async () => {
    const { target, port } = await serve([]);
    const alice = await member(port, 'alice');
    process.kill(target.pid, 'SIGHUP');
    expect(await alice.waitForClose({ timeoutMs: STEP_MS })).toBe('eof');
    expect(Buffer.from(alice.stream()).toString()).toContain('Server shutting down!');
    expect(await target.exited).toEqual({ code: 0, signal: null });
    // 'exit' can come before the last output is read from the pipe.
    await target.waitForOutput('stdout', (out) => /shutdown/.test(out), { timeoutMs: STEP_MS });
  });

  it('writes JSON log lines with --log-format json', async () => {
    const { target, port } = await serve(['--log-format', 'json', '--dialect', 'tilde']);
    const conn = await openConnection({ host: '127.0.0.1', port, label: 'zoë' });
    cleanup.push(() => conn.close());
    conn.send('zoë');
    await conn.waitForText('SERVER~zoë added to the chat', { timeoutMs: STEP_MS });
    await target.waitForOutput('stdout', '"event":"join"', { timeoutMs: STEP_MS });
    const lines = target.stdout().trim().split('\n');
    const join = lines.map((l) => JSON.parse(l)).find((e) => e.event === 'join');
    expect(join).toMatchObject({
      level: 'info',
      event: 'join',
      nick: 'zoë',
      peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
  });

  it.each([
    [['serve', '--bogus'], /Nonexistent flag: --bogus/],
    [['serve', '--port', '70000'], /--port/],
    [['serve', '--dialect', 'irc'], /--dialect=irc/],
    [['serve', '--dialect', 'tilde', '--strict-prefix'], /SERVER_BAD_OPTION/],
  ])('rejects %j with one line on stderr and exit code 2', async (args, pattern) => {
    const { code, stderr } = await runChatkit(args);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(pattern);
  });

  it('exits 1 with one line when the port is taken', async () => {
    const { port } = await serve([]);
    const { code, stderr } = await runChatkit(['serve', '--port', String(port)]);
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(
      /^chatkit serve: error SERVER_LISTEN_FAILED: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)$/,
    );
  });

  it('prints help with examples, and the version', async () => {
    const help = await runChatkit(['serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('EXAMPLES');
    expect(help.stdout).toContain('--strict-prefix');
    const version = await runChatkit(['--version']);
    expect(version.stdout).toMatch(/^chatkit\/\d+\.\d+\.\d+/);
  });
});
