/**
 * `chatkit conform`'s way out, as a user's shell sees it: the built CLI as a subprocess whose report
 * goes through a real pipe to a real reader (whole, however large; quiet when the reader closes
 * early), an exit-3 run that still writes its reports, and the size of a passing run's JSON.
 */
import {readFileSync} from 'node:fs';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReportSchema } from '../../conformance/harness/report.js';
import { freePort, spawnTarget } from '../../src/processes/index.js';
import { BADGE_COLORS } from '../../conformance/report/badge.js';
import { type ChatServer, startServer } from '../../src/reference-server/server.js';
import { checkJunit } from '../conformance/junit-schema.js';
import { assertBuilt, CHATKIT, runChatkit } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';

/** Bound of one shell pipeline: the whole suite with every profile, on a loaded 2-core machine. */
const PIPELINE_MS = 150_000;
/** What a pipe holds before the writer must wait for the reader (Linux): a smaller report proves nothing. */
const PIPE_BUFFER_BYTES = 65_536;
/** The bound on a passing run's JSON. */
const PASSING_JSON_MAX_BYTES = 1_000_000;

let nickServer: ChatServer;
let tildeServer: ChatServer;
let dir: string;
beforeAll(async () => {
  assertBuilt();
  nickServer = await startServer({ dialect: 'nick', port: 0 });
  tildeServer = await startServer({ dialect: 'tilde', port: 0 });
  dir = tempDir('conform-output');
});
afterAll(async () => {
  await nickServer.close();
  await tildeServer.close();
});

const address = (server: ChatServer) => `127.0.0.1:${server.port}`;
const chatkit = `${JSON.stringify(process.execPath)} ${JSON.stringify(CHATKIT)}`;

/** Runs a bash pipeline to its end (bounded); stdout and stderr are the pipeline's own. */
async function pipeline(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const shell = await spawnTarget({ command: ['/bin/bash', '-c', script], env: { NO_COLOR: '1' } });
  try {
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      shell.exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), PIPELINE_MS);
      }),
    ]);
    clearTimeout(timer);
    if (exit === undefined) throw new Error(`pipeline did not end within ${PIPELINE_MS} ms: ${script}`);
    return { code: exit.code, stdout: shell.stdout(), stderr: shell.stderr() };
  } finally {
    await shell.stop();
  }
}

describe.concurrent('chatkit conform output (subprocess, real pipes)', { timeout: PIPELINE_MS + 10_000 }, () => {
  it('writes the largest report the suite produces whole through a pipe (every server profile, every transcript)', async () => {
    const err = join(dir, 'largest.err');
    // The reader prints what it parsed: bytes, cases, verdicts. PIPESTATUS[0] is chatkit's own exit code.
    const reader = `node -e 'const t=require("fs").readFileSync(0,"utf8"); const r=JSON.parse(t); console.log(JSON.stringify({bytes: Buffer.byteLength(t), cases: r.cases.length, transcripts: r.cases.filter((c) => c.transcript.length > 0).length, exitCode: r.exitCode}))'`;
    const { code, stdout, stderr } = await pipeline(
      `${chatkit} conform --target ${address(nickServer)} --dialect nick --profile core,robustness,stress --transcripts all --reporter json 2>${err} | ${reader}; echo "chatkit=\${PIPESTATUS[0]}"`,
    );
    expect(code, stderr).toBe(0);
    const parsed = JSON.parse(stdout.split('\n')[0]!) as { bytes: number; cases: number; transcripts: number; exitCode: number };
    expect(stdout).toContain('chatkit=0');
    expect(parsed.exitCode).toBe(0);
    // Many times what one pipe buffer holds (the old cut-off point), with a transcript in every case.
    expect(parsed.bytes).toBeGreaterThan(10 * PIPE_BUFFER_BYTES);
    expect(parsed.transcripts).toBe(parsed.cases);
    expect(readFileSync(err, 'utf8')).toMatch(/every MUST case passed \(exit 0\)/);
  });

  it('ends quietly, with the run\'s own exit code, when the reader closes the pipe early', async () => {
    const err = join(dir, 'epipe.err');
    const { stdout } = await pipeline(
      `${chatkit} conform --target ${address(tildeServer)} --dialect tilde --transcripts all --reporter json 2>${err} | head -c 100 >/dev/null; echo "chatkit=\${PIPESTATUS[0]}"`,
    );
    expect(stdout.trim()).toBe('chatkit=0');
    const stderr = readFileSync(err, 'utf8');
    expect(stderr).not.toMatch(/EPIPE|Error:|at [\w.]+ \(/);
    expect(stderr).toMatch(/every MUST case passed \(exit 0\)/);
  });

  it('keeps only the transcripts of cases that did not pass by default: a passing full run is well under 1 MB', async () => {
    const out = join(dir, 'passing.json');
    const { code, stderr } = await runChatkit(
      // Bounds stretched and retries allowed: on a loaded machine a case may miss a bound once (reported flaky).
      ['conform', '--target', address(nickServer), '--dialect', 'nick', '--reporter', 'json', '--output', out, '--timeout-scale', '3', '--retries', '2'],
      { timeoutMs: PIPELINE_MS },
    );
    expect(code, stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    const report = runReportSchema.parse(JSON.parse(text));
    expect(report.summary.fail + report.summary.warn + report.summary.error).toBe(0);
    // A flaky case keeps its transcript (it failed once); every plain pass drops its own.
    expect(report.cases.filter((c) => c.verdict === 'pass').every((c) => c.transcript.length === 0)).toBe(true);
    expect(report.cases.filter((c) => c.verdict === 'flaky').every((c) => c.transcript.length > 0)).toBe(true);
    // Plain passes cost a few kB; a flaky case's transcript (a flood, up to its budget) may add more.
    const flaky = report.cases.some((c) => c.verdict === 'flaky');
    expect(Buffer.byteLength(text)).toBeLessThan(flaky ? PASSING_JSON_MAX_BYTES : PASSING_JSON_MAX_BYTES / 10);
  });

  it('exit 3 (nobody listens) still writes the JSON and the JUnit with the reason, and the grey "not judged" badge', async () => {
    const port = await freePort();
    const json = join(dir, 'unjudged.json');
    const xml = join(dir, 'unjudged.xml');
    const svg = join(dir, 'unjudged.svg');
    const shield = join(dir, 'unjudged-badge.json');
    const target = ['conform', '--target', `127.0.0.1:${port}`];
    const asJson = await runChatkit([...target, '--reporter', 'json', '--output', json, '--badge', svg, '--badge-json', shield]);
    expect(asJson.code).toBe(3);
    expect(asJson.stderr).toMatch(/error PROBE_UNREACHABLE/);
    const report = runReportSchema.parse(JSON.parse(readFileSync(json, 'utf8')));
    expect(report.exitCode).toBe(3);
    expect(report.cases).toEqual([]);
    expect(report.unjudged?.reason).toMatch(/^PROBE_UNREACHABLE: 127\.0\.0\.1:\d+/);
    const badge = readFileSync(svg, 'utf8');
    expect(XMLValidator.validate(badge)).toBe(true);
    expect(badge).toContain('not judged');
    expect(badge).toContain(`fill="${BADGE_COLORS.unjudged}"`);
    expect(JSON.parse(readFileSync(shield, 'utf8'))).toMatchObject({ message: 'not judged', color: 'lightgrey' });

    // JUnit to stdout (no --output): the document is there, and CI sees an error, not an empty green suite.
    const asJunit = await runChatkit([...target, '--reporter', 'junit', '--output', xml]);
    expect(asJunit.code).toBe(3);
    const junit = readFileSync(xml, 'utf8');
    expect(await checkJunit(junit)).toEqual([]);
    expect(junit).toMatch(/<testsuite [^>]*tests="1" failures="0" errors="1"/);
    expect(junit).toMatch(/<error message="PROBE_UNREACHABLE: [^"]+" type="unjudged">/);
    const stdoutJunit = await runChatkit([...target, '--reporter', 'junit']);
    expect(stdoutJunit.code).toBe(3);
    expect(await checkJunit(stdoutJunit.stdout)).toEqual([]);
    expect(stdoutJunit.stdout).toContain('type="unjudged"');
  });
});
