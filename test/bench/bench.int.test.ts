/**
 * `chatkit bench` as a user runs it (the built CLI, a subprocess): a small smoke run against the
 * reference server it spawns, a seed server it spawns, and a seed server it did not start. It
 * checks that each run completes, reports a JSON document of the documented schema, and loses
 * nothing. No timing is asserted: speed lives in docs/BENCHMARKS.md (`npm run bench`).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pythonExecutable, spawnPythonServer } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { type BenchResult, benchResultSchema } from '../../src/bench/result.js';
import { CHATKIT, runChatkit } from '../support/cli.js';

const RUN_MS = 60_000;
const SMALL = ['--clients', '10', '--senders', '2', '--messages', '20', '--timeout', '50'];
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Runs `chatkit bench ... --json`; asserts exit 0 and the schema; returns the document. */
async function bench(args: string[]): Promise<BenchResult> {
  const { code, stdout, stderr } = await runChatkit(['bench', ...args, '--json'], { timeoutMs: RUN_MS });
  expect(code, stderr).toBe(0);
  return benchResultSchema.parse(JSON.parse(stdout));
}

/** Every member joined and every message reached every member it should (the sender too, in NICK and tilde). */
function expectComplete(result: BenchResult, members: number, messages: number): void {
  expect(result.join).toMatchObject({ attempted: members, joined: members, failed: 0 });
  expect(result.send.messages).toBe(messages);
  expect(result.deliveries).toMatchObject({
    expected: members * messages,
    seen: members * messages,
    lost: 0,
  });
  expect(result.latencyMs.samples).toBe(members * messages);
  expect(result.membersLost).toBe(0);
  expect(result.endedBy).toBe('complete');
}

/** `chatkit bench` of a reference server it spawns, small. */
const BENCH_REFERENCE = [
  'bench',
  '--dialect',
  'nick',
  '--spawn',
  `exec ${process.execPath} ${CHATKIT} serve --port {port} > /dev/null`,
  ...SMALL,
];

describe('chatkit bench (subprocess)', () => {
  it('measures the reference server it spawns: every message reaches every member, server RSS and CPU reported', async () => {
    const result = await bench([
      '--dialect',
      'nick',
      '--spawn',
      `exec ${process.execPath} ${CHATKIT} serve --port {port} > /dev/null`,
      ...SMALL,
    ]);
    expectComplete(result, 10, 40);
    expect(result.target.spawned).toMatch(/serve --port \d+/);
    expect(result.server?.group).toBe(true);
    expect(result.server?.rssPeakBytes).toBeGreaterThan(0);
  });

  it('--workers 2: the members of one run read by two threads, every message counted once', async () => {
    const result = await bench([
      '--dialect',
      'nick',
      '--spawn',
      `exec ${process.execPath} ${CHATKIT} serve --port {port} > /dev/null`,
      '--clients',
      '40',
      '--senders',
      '6',
      '--messages',
      '20',
      '--workers',
      '2',
      '--timeout',
      '50',
    ]);
    // Each thread's members get both threads' messages: 6 senders x 20 messages to all 40 members.
    expectComplete(result, 40, 6 * 20);
    expect(result.generator.workers).toBe(2);
    expect(result.deliveries.damagedTokens).toBe(0);
    expect(result.server?.cpuMs).not.toBeNull();
  });

  it('--workers 3 with shares of unequal size (31 clients, 5 senders), tilde', async () => {
    const result = await bench([
      '--dialect',
      'tilde',
      '--spawn',
      `exec ${process.execPath} ${CHATKIT} serve --dialect tilde --port {port} > /dev/null`,
      '--clients',
      '31',
      '--senders',
      '5',
      '--messages',
      '15',
      '--workers',
      '3',
      '--timeout',
      '50',
    ]);
    expectComplete(result, 31, 5 * 15);
    expect(result.generator.workers).toBe(3);
  });

  it("measures the seeds' tilde server it spawns", async () => {
    const script = join(PYTHON_TARGETS_DIR, 'tilde_server.py');
    const result = await bench([
      '--dialect',
      'tilde',
      '--spawn',
      `exec ${pythonExecutable()} ${script} 127.0.0.1 {port} > /dev/null`,
      ...SMALL,
    ]);
    expectComplete(result, 10, 40);
  });

  it('measures a seed NICK server it did not start (--target), with --pid for its RSS and CPU', async () => {
    const server = await spawnPythonServer(join(PYTHON_TARGETS_DIR, 'nick_server.py'));
    cleanup.push(() => server.stop());
    const result = await bench([
      '--dialect',
      'nick',
      '--target',
      `127.0.0.1:${server.port}`,
      '--pid',
      String(server.pid),
      ...SMALL,
    ]);
    expectComplete(result, 10, 40);
    expect(result.target.spawned).toBeUndefined();
    expect(result.server?.pid).toBe(server.pid);
  });

  it('prints a human summary without --json', async () => {
    const { code, stdout } = await runChatkit(
      BENCH_REFERENCE,
      { timeoutMs: RUN_MS },
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^joined +10\/10 /m);
    expect(stdout).toMatch(/^deliveries +400\/400, lost 0;/m);
  });

  it('colours the summary when FORCE_COLOR asks (into a pipe): heading bold, no loss green', async () => {
    const { code, stdout } = await runChatkit(
      BENCH_REFERENCE,
      { timeoutMs: RUN_MS, env: { FORCE_COLOR: '1' } },
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\x1b\[1mchatkit bench: nick /m);
    expect(stdout).toMatch(/^deliveries +400\/400, \x1b\[32mlost 0\x1b\[0m;/m);
  });

  it.each([
    [['bench', '--dialect', 'nick'], /BENCH_BAD_OPTION: give --target/],
    [['bench', '--dialect', 'nick', '--target', 'nonsense'], /--target/],
    [['bench', '--dialect', 'irc', '--target', '127.0.0.1:1'], /--dialect/],
    [
      ['bench', '--dialect', 'nick', '--target', '127.0.0.1:1', '--messages', '5', '--duration', '2'],
      /exclude/,
    ],
    [['bench', '--dialect', 'nick', '--spawn', 'python3 server.py'], /\{port\}/],
  ])('rejects %j with one line on stderr and exit code 2', async (args, pattern) => {
    const { code, stderr } = await runChatkit(args);
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(pattern);
  });

  it('exits 1 with one line when nothing listens at the target', async () => {
    const { code, stderr } = await runChatkit([
      'bench',
      '--dialect',
      'nick',
      '--target',
      '127.0.0.1:1',
      ...SMALL,
    ]);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/BENCH_CONNECT_FAILED/);
  });
});
