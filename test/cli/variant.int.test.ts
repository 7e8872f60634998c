/**
 * Wording variants (issue 10 item 3, docs/variants.md), through the built CLI against real Python
 * servers: the mutants' `--wording variant --defect none` (correct but for its texts), and students'
 * hand-ins (test/fixtures/students/chen: its own texts; dana: the same texts and no echo).
 *
 * - with `--learn`, a server that only changes the wording passes, and the report names each changed
 *   text once as an INFO deviation of its requirement;
 * - without it, the same server fails the wording requirements only;
 * - a learned variant never hides a behaviour bug (dana's missing echo still fails NICK-RELAY-1);
 * - `--variant FILE` judges against a written file; a bad file is a usage error.
 */
import {writeFileSync} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RunReport, runReportSchema } from '../../conformance/harness/report.js';
import { assertBuilt, REPO, runChatkit } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';

const RUN_MS = 120_000;
const NICK_WORDING = `python3 ${join(REPO, 'conformance/mutants/nick_mutant_server.py')} --wording variant --defect none 127.0.0.1 {port}`;
const TILDE_WORDING = `python3 ${join(REPO, 'conformance/mutants/tilde_mutant_server.py')} --wording variant --defect none 127.0.0.1 {port}`;
const student = (name: string) => `python3 ${join(REPO, 'test/fixtures/students', name, 'server.py')}`;

/** The texts `nick_mutant_server.py --wording variant` uses instead of the spec's. */
const NICK_CHANGED = {
  'NICK-JOIN-2': 'Connected to the server',
  'NICK-JOIN-1': '{nick} joined the chat!',
  'NICK-LEAVE-1': '{nick} has left',
};

async function conform(args: readonly string[]): Promise<{ code: number | null; report: RunReport; stderr: string }> {
  const run = await runChatkit(['conform', ...args, '--reporter', 'json'], { timeoutMs: RUN_MS });
  let report: RunReport;
  try {
    report = runReportSchema.parse(JSON.parse(run.stdout));
  } catch (error) {
    throw new Error(`no JSON report (exit ${run.code}): ${run.stderr.slice(-2000)}`, { cause: error });
  }
  return { code: run.code, report, stderr: run.stderr };
}

const notPassed = (report: RunReport) =>
  report.cases.filter((c) => c.verdict !== 'pass').map((c) => ({ id: c.id, verdict: c.verdict, requirement: c.failure?.requirement }));
const deviationTexts = (report: RunReport) =>
  Object.fromEntries((report.variant?.deviations ?? []).map((d) => [d.requirement, d.variant]));

let dir: string;
beforeAll(() => {
  assertBuilt();
  dir = tempDir('variant');
});

describe('wording variants', { timeout: RUN_MS + 10_000 }, () => {
  it('--learn: a NICK server that only changes its texts passes, each changed text reported once at INFO; without --learn it fails those requirements only', async () => {
    const [learned, plain] = await Promise.all([
      conform(['--spawn', NICK_WORDING, '--dialect', 'nick', '--learn', '--profile', 'core']),
      conform(['--spawn', NICK_WORDING, '--dialect', 'nick', '--profile', 'core']),
    ]);
    expect(learned.code, learned.stderr).toBe(0);
    expect(notPassed(learned.report)).toEqual([]);
    expect(learned.report.variant?.source).toBe('learned');
    expect(deviationTexts(learned.report)).toEqual(NICK_CHANGED);
    for (const d of learned.report.variant!.deviations) {
      expect(d.level).toBe('INFO');
      expect(d.message).toContain(d.variant);
    }
    // The text reporter names each changed text once, and prints the learned file.
    for (const [requirement, text] of Object.entries(NICK_CHANGED)) {
      expect(learned.stderr.split('\n').filter((l) => l.includes(`INFO ${requirement}:`))).toHaveLength(1);
      expect(learned.stderr).toContain(text);
    }
    expect(learned.stderr).toContain('schema: chatkit-variant/1');

    expect(plain.code).toBe(1);
    const failed = plain.report.cases.filter((c) => c.verdict === 'fail' || c.verdict === 'warn');
    expect(new Set(failed.map((c) => c.failure?.requirement))).toEqual(new Set(Object.keys(NICK_CHANGED)));
    // Everything else passed, or stood on one of those failures.
    for (const c of plain.report.cases.filter((r) => !failed.includes(r))) {
      expect(['pass', 'blocked'], `${c.id}: ${c.verdict}`).toContain(c.verdict);
    }
    expect(plain.report.variant).toBeUndefined();
  });

  it('--learn adopts a prompt the spec does not know, reported at INFO under NICK-PROMPT-1', async () => {
    const command = NICK_WORDING.replace('--defect none', '--prompt NAME? --defect none');
    const run = await conform(['--spawn', command, '--learn', '--only', 'nick.handshake.prompt,nick.join.broadcast']);
    expect(run.code, run.stderr).toBe(0);
    expect(notPassed(run.report)).toEqual([]);
    expect(run.report.target).toMatchObject({ dialect: 'nick', prompt: 'NAME?' });
    expect(deviationTexts(run.report)).toEqual({ 'NICK-PROMPT-1': 'NAME?', ...NICK_CHANGED });
  });

  it('--learn: a tilde server with its own announcements passes (dialect detected through the variant)', async () => {
    const run = await conform(['--spawn', TILDE_WORDING, '--learn', '--profile', 'core']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.report.target.dialect).toBe('tilde');
    expect(notPassed(run.report)).toEqual([]);
    expect(deviationTexts(run.report)).toEqual({ 'TILDE-JOIN-1': 'SERVER~{nick} joined', 'TILDE-LEAVE-2': 'SERVER~{nick} left' });
  });

  it("--learn on students' hand-ins: chen's own texts pass; dana's same texts do not hide its missing echo", async () => {
    const [chen, dana] = await Promise.all([
      conform(['--spawn', student('chen'), '--learn', '--profile', 'core']),
      conform(['--spawn', student('dana'), '--learn', '--profile', 'core']),
    ]);
    expect(chen.code, chen.stderr).toBe(0);
    expect(notPassed(chen.report)).toEqual([]);
    expect(Object.keys(deviationTexts(chen.report)).sort()).toEqual(['NICK-JOIN-1', 'NICK-JOIN-2', 'NICK-LEAVE-1']);
    expect(chen.report.target.handedIn?.from).toBe('127.0.0.1:55555');

    expect(dana.code).toBe(1);
    const failed = dana.report.cases.filter((c) => c.verdict === 'fail');
    expect(failed.map((c) => [c.id, c.failure?.requirement])).toEqual([['nick.relay.echo', 'NICK-RELAY-1']]);
    expect(deviationTexts(dana.report)).toEqual(deviationTexts(chen.report));
  });

  it('--variant FILE judges against a written variant (YAML), and refuses a bad one with VARIANT_INVALID (exit 2)', async () => {
    const file = join(dir, 'variant.yaml');
    writeFileSync(
      file,
      [
        '# the mutant\'s texts, as a teacher writes them down',
        'dialect: nick',
        'welcome: Connected to the server',
        'joined: "{nick} joined the chat!"',
        'left: "{nick} has left"',
        '',
      ].join('\n'),
    );
    const run = await conform(['--spawn', NICK_WORDING, '--variant', file, '--profile', 'core']);
    expect(run.code, run.stderr).toBe(0);
    expect(notPassed(run.report)).toEqual([]);
    expect(run.report.variant).toMatchObject({ source: 'file', file });
    expect(deviationTexts(run.report)).toEqual(NICK_CHANGED);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ dialect: 'nick', joined: 'joined the chat!' }));
    const refused = await runChatkit(['conform', '--spawn', NICK_WORDING, '--variant', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('VARIANT_INVALID');
    expect(refused.stderr).toContain('joined: must hold {nick} exactly once');
  });
});
