/**
 * Programs run as handed in (issue 10 item 1, docs/handed-in.md): `chatkit conform --spawn` and
 * `--client` without `{port}` on student-style programs that hard-code their address
 * (test/fixtures/handed-in/: the seeds' scripts on 127.0.0.1:55555, ('', 9999), gethostname():11826,
 * an IPv6 create_server, and a shell program judged on the port /proc shows it listening on).
 *
 * The Python ones run through chatkit's shim, which maps the hard-coded address onto a port chatkit
 * chose: two runs of programs that both bind 55555 go on at the same time without colliding, which is
 * what the shim is for. The built CLI runs as a subprocess; verdicts and the report's mapping note are
 * asserted, never timings. (A non-Python client without {port} is a usage error: conform.int.test.ts.)
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RunReport, runReportSchema } from '../../conformance/harness/report.js';
import { freePort } from '../../src/processes/index.js';
import { assertBuilt, REPO, runChatkit } from '../support/cli.js';

const FIXTURES = join(REPO, 'test/fixtures/handed-in');
const RUN_MS = 90_000;
const fixture = (path: string) => join(FIXTURES, path);

/** Runs `chatkit conform …` to its end (bounded); the JSON report is stdout, the human part stderr. */
async function conform(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; report: RunReport | undefined; stderr: string; stdout: string }> {
  const run = await runChatkit(['conform', ...args], { timeoutMs: RUN_MS, env });
  let report: RunReport | undefined;
  try {
    report = runReportSchema.parse(JSON.parse(run.stdout));
  } catch {
    report = undefined;
  }
  return { ...run, report };
}

const verdicts = (report: RunReport | undefined) =>
  Object.fromEntries((report?.cases ?? []).map((c) => [c.id, c.verdict]));

/** The mapping line of the report, checked: `<how> <from> -> 127.0.0.1:<a port of chatkit's>`. */
function expectMapped(report: RunReport | undefined, how: 'bind' | 'connect', from: string, originalPort: number) {
  const handedIn = report?.target.handedIn;
  expect(handedIn?.how).toBe('python-shim');
  expect(handedIn?.from).toBe(from);
  const match = new RegExp(`^${how} ${from.replace(/[.[\]]/g, '\\$&')} -> (?:127\\.0\\.0\\.1|\\[::ffff:127\\.0\\.0\\.1\\]):(\\d+)$`).exec(
    handedIn?.mapped[0] ?? '',
  );
  expect(match, handedIn?.mapped.join('\n')).not.toBeNull();
  expect(Number(match![1])).not.toBe(originalPort);
  expect(handedIn?.note).toContain(`${from} was mapped`);
}

beforeAll(() => {
  assertBuilt();
});

describe('chatkit conform runs programs as handed in', { timeout: RUN_MS + 10_000 }, () => {
  it('judges two servers that both hard-code 127.0.0.1:55555 / [::]:55555 at the same time, each case on its own mapped port', async () => {
    const [v4, v6] = await Promise.all([
      conform(['--spawn', `python3 ${fixture('nick-55555/server.py')}`, '--dialect', 'nick', '--profile', 'core', '--jobs', '2', '--reporter', 'json']),
      conform(['--spawn', `python3 ${fixture('nick-ipv6/server.py')}`, '--dialect', 'nick', '--profile', 'core', '--jobs', '2', '--reporter', 'json']),
    ]);
    for (const run of [v4, v6]) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.report!.cases.length).toBeGreaterThan(5);
      expect(Object.values(verdicts(run.report)).every((v) => v === 'pass'), JSON.stringify(verdicts(run.report))).toBe(true);
      // The text reporter says it too (the human part goes to stderr with --reporter json).
      expect(run.stderr).toMatch(/run as handed in: the program's address .*55555 was mapped by chatkit's Python shim/);
    }
    expectMapped(v4.report, 'bind', '127.0.0.1:55555', 55555);
    expectMapped(v6.report, 'bind', '[::]:55555', 55555);
  });

  it('detects the dialect of a tilde server bound to (\'\', 9999) through the shim and passes its core cases', async () => {
    const run = await conform(['--spawn', `python3 ${fixture('tilde-9999/server.py')}`, '--profile', 'core', '--reporter', 'json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.report!.target).toMatchObject({ dialect: 'tilde', detected: true });
    expect(Object.values(verdicts(run.report)).every((v) => v === 'pass')).toBe(true);
    expectMapped(run.report, 'bind', '0.0.0.0:9999', 9999);
  });

  it('maps a server bound to (socket.gethostname(), 11826) with the Hii prompt', async () => {
    const run = await conform(['--spawn', `python3 ${fixture('hii-11826/server.py')}`, '--dialect', 'nick', '--prompt', 'Hii', '--only', 'nick.handshake.prompt,nick.relay.echo', '--reporter', 'json']);
    expect(run.code, run.stderr).toBe(0);
    expect(verdicts(run.report)).toEqual({ 'nick.handshake.prompt': 'pass', 'nick.relay.echo': 'pass' });
    expectMapped(run.report, 'bind', `${hostname()}:11826`, 11826);
  });

  it('judges the seed client that connects to 127.0.0.1:55555 (receive thread + input()) with the seed\'s verdicts', async () => {
    const only = ['nick.client.nickname-answers-prompt', 'nick.client.chat-format', 'nick.client.eof'];
    const run = await conform(['--client', `python3 ${fixture('nick-55555/client.py')}`, '--dialect', 'nick', '--only', only.join(','), '--reporter', 'json']);
    expect(run.code, run.stderr).toBe(1);
    // As pinned for nick_client.py in test/conformance/client-verdicts.int.test.ts (D-NC-1 is its EOF defect).
    expect(verdicts(run.report)).toEqual({
      'nick.client.nickname-answers-prompt': 'pass',
      'nick.client.chat-format': 'pass',
      'nick.client.eof': 'fail',
    });
    expect(run.report!.cases.find((c) => c.id === 'nick.client.eof')?.failure?.requirement).toBe('CLIENT-EOF-1');
    expectMapped(run.report, 'connect', '127.0.0.1:55555', 55555);
  });

  it("judges clients that connect to 'localhost':9999 (tilde, dialect detected) and gethostname():11826 (Hii)", async () => {
    const [tilde, hii] = await Promise.all([
      conform(['--client', `python3 ${fixture('tilde-9999/client.py')}`, '--only', 'tilde.client.username-first,tilde.client.content-format', '--reporter', 'json']),
      conform(['--client', `python3 ${fixture('hii-11826/client.py')}`, '--dialect', 'nick', '--prompt', 'Hii', '--only', 'nick.client.nickname-answers-prompt', '--reporter', 'json']),
    ]);
    expect(tilde.code, tilde.stderr).toBe(0);
    expect(tilde.report!.target).toMatchObject({ dialect: 'tilde', detected: true });
    expect(verdicts(tilde.report)).toEqual({ 'tilde.client.username-first': 'pass', 'tilde.client.content-format': 'pass' });
    expectMapped(tilde.report, 'connect', 'localhost:9999', 9999);
    expect(hii.code, hii.stderr).toBe(0);
    expect(verdicts(hii.report)).toEqual({ 'nick.client.nickname-answers-prompt': 'pass' });
    expectMapped(hii.report, 'connect', `${hostname()}:11826`, 11826);
  });

  it('judges a program it cannot map on the port /proc shows it listening on, one case at a time', async () => {
    const port = await freePort();
    // --jobs 2 is asked for; on a fixed port a second instance could not bind, so every pass shows the
    // cases ran one at a time.
    const run = await conform(
      ['--spawn', `sh ${fixture('proc/server.sh')}`, '--dialect', 'nick', '--only', 'nick.handshake.prompt,nick.join.connected,nick.relay.echo', '--jobs', '2', '--reporter', 'json'],
      { HANDED_IN_PORT: String(port) },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(Object.values(verdicts(run.report))).toEqual(['pass', 'pass', 'pass']);
    expect(run.report!.target.handedIn).toMatchObject({ how: 'proc-port', from: `port ${port}` });
    expect(run.stderr).toContain(`listens on its own port ${port} (found in /proc)`);
  });

  it('names the port a program listens on instead of {port}, and the fix (TARGET_LISTENS_ELSEWHERE)', async () => {
    const port = await freePort();
    const run = await conform(
      ['--spawn', `sh ${fixture('proc/server.sh')} --port={port}`, '--dialect', 'nick', '--timeout-scale', '0.2', '--reporter', 'json'],
      { HANDED_IN_PORT: String(port) },
    );
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('TARGET_LISTENS_ELSEWHERE');
    expect(run.stderr).toContain(`it listens on ${port} instead`);
    expect(run.stderr).toContain('drop {port} from the command');
  });
});
