/**
 * The `client` profile's verdicts, pinned: every NICK and tilde client case run (through the runner,
 * as `chatkit conform --client` runs it) against the seeds' client scripts, chatkit's own
 * `chatkit connect`, and the client mutants. Each row is one case against one client program, with
 * the verdict it must get and, for a failure, the requirement it must name.
 *
 * - The seeds fail exactly the cases mapped to their Annex A defects (tables below) and pass the rest;
 *   each such case declares the same defects in its `catches` (the verdict matrix shows them), and
 *   every client defect of Annex A (D-NC-*, D-TC-*) is caught by some case.
 * - `chatkit connect` passes everything, in both dialects and with the `Hii` prompt.
 * - `mutant_client.py --defect none` passes everything; each other defect is caught by its named case
 *   (run only against the cases it concerns, to keep the file fast: every row spawns a program).
 *
 * Rows run concurrently (each case has its own port and process group); no retries, so a flaky
 * verdict shows as a failure here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { NICK_CLIENT_CASES } from '../../conformance/client/nick.js';
import { TILDE_CLIENT_CASES } from '../../conformance/client/tilde.js';
import type { ClientCase, Verdict } from '../../conformance/harness/case.js';
import type { CaseResult } from '../../conformance/harness/report.js';
import { runCase } from '../../conformance/harness/runner.js';
import { pythonExecutable } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

/** Bound on one row: a case's own budget is 60 s, its waits end far sooner. */
const ROW_TIMEOUT_MS = 90_000;
/**
 * Rows in flight at once. A row mostly waits (quiet windows, bounded waits for a display), so more
 * rows than cores keep the file short; the cases are built to give the same verdicts under load.
 */
const ROWS_IN_FLIGHT = 6;

vi.setConfig({ maxConcurrency: ROWS_IN_FLIGHT });

const CHATKIT_BIN = join(PACKAGE_ROOT, 'bin/chatkit.js');
const MUTANT = join(PACKAGE_ROOT, 'conformance/mutants/mutant_client.py');

/**
 * What a row must give: a verdict, and for fail/warn the requirement the failure names and, for a
 * seed, the Annex A defects it shows (none for chatkit's own client and the mutants).
 */
type Expected =
  | 'pass'
  | {
      readonly verdict: Extract<Verdict, 'fail' | 'warn'>;
      readonly requirement: string;
      readonly defects: readonly string[];
    };

interface Target {
  readonly name: string;
  readonly dialect: 'nick' | 'tilde';
  readonly prompt?: string;
  /** The command, `{host}` and `{port}` replaced by the runner. */
  readonly command: () => string;
  /** The cases it runs (ids), each with its expected result; unlisted ids of `all` pass. */
  readonly cases: 'all' | readonly string[];
  readonly expect: Readonly<Record<string, Expected>>;
}

const python = (script: string) => () =>
  `'${pythonExecutable()}' '${join(PYTHON_TARGETS_DIR, script)}' {host} {port}`;
const chatkit = (args: string) => () =>
  `'${process.execPath}' '${CHATKIT_BIN}' connect {host}:{port} ${args}`;
const mutant = (args: string) => () => `'${pythonExecutable()}' '${MUTANT}' ${args} {host} {port}`;
const fail = (requirement: string, ...defects: string[]): Expected => ({
  verdict: 'fail',
  requirement,
  defects,
});
const warn = (requirement: string, ...defects: string[]): Expected => ({
  verdict: 'warn',
  requirement,
  defects,
});

/** The cases that concern the prompt token: the `Hii` variant runs these. */
const PROMPT_CASES = [
  'nick.client.nickname-answers-prompt',
  'nick.client.prompt-hidden',
  'nick.client.chat-format',
  'nick.client.chat-waits-for-connected',
  'nick.client.prompt-once',
];

/**
 * nick_client.py and hii_client.py (Annex A.2): each case they do not pass, with the defects that
 * make them fail it. D-NC-4 covers both the empty nickname and `a:b` (any nickname is sent
 * unchecked); `zoë` is D-NC-6 (accepted, then fails at the prompt).
 */
const NICK_SEED: Readonly<Record<string, Expected>> = {
  'nick.client.chat-waits-for-connected': fail('NICK-CHAT-2', 'D-NC-3'),
  'nick.client.nickname-empty': fail('NICK-NICK-2', 'D-NC-4'),
  'nick.client.nickname-invalid': fail('NICK-NICK-2', 'D-NC-4'),
  'nick.client.nickname-non-ascii': fail('NICK-NICK-2', 'D-NC-6'),
  'nick.client.eof': fail('CLIENT-EOF-1', 'D-NC-1'),
  'nick.client.bad-bytes': fail('CLIENT-BYTES-1', 'D-NC-2'),
  'nick.client.input-goes-on': warn('CLIENT-INPUT-1', 'D-NC-5'),
  'nick.client.prompt-once': fail('CLIENT-PROMPT-2', 'D-NC-7'),
  'nick.client.input-end': warn('CLIENT-EOF-2', 'D-NC-8'),
};

/**
 * tilde_client.py, the headless twin of the seed's Tk client (Annex A.4): each case it does not
 * pass, with the defects that make it fail it. D-TC-6 covers both the empty username and `a~b`;
 * D-TC-5 both invalid UTF-8 and a character split between two chunks (the first piece alone is
 * invalid: the annex's `a~caf\xc3`).
 */
const TILDE_SEED: Readonly<Record<string, Expected>> = {
  'tilde.client.content-waits-for-added': fail('TILDE-MSG-1', 'D-TC-7'),
  'tilde.client.username-empty': fail('TILDE-USER-1', 'D-TC-6'),
  'tilde.client.username-invalid': fail('TILDE-USER-2', 'D-TC-6'),
  'tilde.client.display-first-tilde': fail('TILDE-DISPLAY-1', 'D-TC-1'),
  'tilde.client.display-no-separator': fail('TILDE-DISPLAY-1', 'D-TC-2'),
  'tilde.client.merged-relays': fail('FRAME-4', 'D-TC-4'),
  'tilde.client.split-character': fail('FRAME-4', 'D-TC-5'),
  'tilde.client.bad-bytes': fail('CLIENT-BYTES-1', 'D-TC-5'),
  'tilde.client.eof': fail('CLIENT-EOF-1', 'D-TC-3'),
  'tilde.client.input-end': warn('CLIENT-EOF-2', 'D-TC-8'),
  'tilde.client.connect-refused': fail('CLIENT-CONNECT-1', 'D-TC-9'),
};

/**
 * Client defects of Annex A that no client case can show, with the reason. Empty: every D-NC and
 * D-TC defect has a reproduction against a server chatkit plays (the headless twin stands in for
 * the Tk client, whose receive loop is the same code).
 */
const NOT_CAUGHT: Readonly<Record<string, string>> = {};

/** The client defects of Annex A (sections A.2 and A.4), with the requirements each breaks. */
function annexClientDefects(): ReadonlyMap<string, readonly string[]> {
  const spec = readFileSync(join(PACKAGE_ROOT, 'spec/PROTOCOL.md'), 'utf8');
  const annex = spec.slice(spec.indexOf('## Annex A'), spec.indexOf('## Annex B'));
  return new Map(
    [...annex.matchAll(/^\| (D-(?:NC|TC)-\d+) \| ([^|]+) \|/gm)].map(
      (m) => [m[1]!, m[2]!.split(',').map((r) => r.trim())] as const,
    ),
  );
}

const TARGETS: readonly Target[] = [
  {
    name: 'nick_client.py',
    dialect: 'nick',
    command: python('nick_client.py'),
    cases: 'all',
    expect: NICK_SEED,
  },
  {
    name: 'hii_client.py',
    dialect: 'nick',
    prompt: 'Hii',
    command: python('hii_client.py'),
    cases: PROMPT_CASES,
    expect: NICK_SEED,
  },
  {
    name: 'tilde_client.py',
    dialect: 'tilde',
    command: python('tilde_client.py'),
    cases: 'all',
    expect: TILDE_SEED,
  },
  {
    name: 'chatkit connect (nick)',
    dialect: 'nick',
    command: chatkit('--dialect nick'),
    cases: 'all',
    expect: {},
  },
  {
    name: 'chatkit connect (Hii)',
    dialect: 'nick',
    prompt: 'Hii',
    command: chatkit('--dialect nick --prompt Hii'),
    cases: PROMPT_CASES,
    expect: {},
  },
  {
    name: 'chatkit connect (tilde)',
    dialect: 'tilde',
    command: chatkit('--dialect tilde'),
    cases: 'all',
    expect: {},
  },
  // The mutants: `none` passes everything; each defect is caught by its case.
  {
    name: 'mutant none (nick)',
    dialect: 'nick',
    command: mutant('--dialect nick --defect none'),
    cases: 'all',
    expect: {},
  },
  {
    name: 'mutant none (Hii)',
    dialect: 'nick',
    prompt: 'Hii',
    command: mutant('--dialect nick --prompt Hii --defect none'),
    cases: ['nick.client.nickname-answers-prompt', 'nick.client.prompt-hidden'],
    expect: {},
  },
  {
    name: 'mutant none (tilde)',
    dialect: 'tilde',
    command: mutant('--dialect tilde --defect none'),
    cases: 'all',
    expect: {},
  },
  ...(
    [
      ['nick', 'no-prefix', { 'nick.client.chat-format': fail('NICK-CHAT-1') }],
      ['nick', 'sends-before-prompt', { 'nick.client.nickname-answers-prompt': fail('NICK-NICK-1') }],
      ['nick', 'shows-prompt', { 'nick.client.prompt-hidden': fail('CLIENT-PROMPT-1') }],
      ['nick', 'spins-on-eof', { 'nick.client.eof': fail('CLIENT-EOF-1') }],
      ['nick', 'crashes-on-bad-bytes', { 'nick.client.bad-bytes': fail('CLIENT-BYTES-1') }],
      ['nick', 'sends-before-added', { 'nick.client.chat-waits-for-connected': fail('NICK-CHAT-2') }],
      ['nick', 'two-writes-per-message', { 'nick.client.one-write': warn('FRAME-2') }],
      [
        'nick',
        'no-validation',
        {
          'nick.client.nickname-empty': fail('NICK-NICK-2'),
          'nick.client.nickname-invalid': fail('NICK-NICK-2'),
          'nick.client.nickname-non-ascii': fail('NICK-NICK-2'),
        },
      ],
      ['tilde', 'spins-on-eof', { 'tilde.client.eof': fail('CLIENT-EOF-1') }],
      // Strict decoding is caught; a split character alone is not invalid, so that case still passes.
      [
        'tilde',
        'crashes-on-bad-bytes',
        { 'tilde.client.bad-bytes': fail('CLIENT-BYTES-1'), 'tilde.client.split-character': 'pass' },
      ],
      [
        'tilde',
        'split-at-every-tilde',
        {
          'tilde.client.display-first-tilde': fail('TILDE-DISPLAY-1'),
          'tilde.client.merged-relays': fail('FRAME-4'),
        },
      ],
      ['tilde', 'sends-before-added', { 'tilde.client.content-waits-for-added': fail('TILDE-MSG-1') }],
      ['tilde', 'two-writes-per-message', { 'tilde.client.one-write': warn('FRAME-2') }],
      ['tilde', 'no-validation', { 'tilde.client.username-invalid': fail('TILDE-USER-2') }],
      ['nick', 'stays-after-input-ends', { 'nick.client.input-end': warn('CLIENT-EOF-2') }],
      ['tilde', 'stays-after-input-ends', { 'tilde.client.input-end': warn('CLIENT-EOF-2') }],
    ] as const
  ).map(
    ([dialect, defect, expect]): Target => ({
      name: `mutant ${defect} (${dialect})`,
      dialect,
      command: mutant(`--dialect ${dialect} --defect ${defect}`),
      cases: Object.keys(expect),
      expect,
    }),
  ),
];

const CASES: Readonly<Record<'nick' | 'tilde', readonly ClientCase[]>> = {
  nick: NICK_CLIENT_CASES,
  tilde: TILDE_CLIENT_CASES,
};

interface Row {
  readonly target: Target;
  readonly c: ClientCase;
  readonly expected: Expected;
}

const BY_TARGET: readonly (readonly Row[])[] = TARGETS.map((target) => {
  const all = CASES[target.dialect];
  const ids = target.cases === 'all' ? all.map((c) => c.id) : target.cases;
  return ids.map((id) => {
    const c = all.find((x) => x.id === id);
    if (!c) throw new Error(`${target.name}: no case ${id}`);
    return { target, c, expected: target.expect[id] ?? 'pass' };
  });
});

/** Round-robin over the targets, so that the Node-based rows (slow to start) are spread out. */
const ROWS: readonly Row[] = Array.from(
  { length: Math.max(...BY_TARGET.map((rows) => rows.length)) },
  (_, i) => BY_TARGET.flatMap((rows) => (i < rows.length ? [rows[i]!] : [])),
).flat();

/** Everything a person needs to see when a pinned verdict changes. */
function explain(result: CaseResult): string {
  return JSON.stringify(
    {
      verdict: result.verdict,
      failure: result.failure,
      error: result.error,
      stdout: result.targetOutput?.stdout.slice(-1_500),
      stderr: result.targetOutput?.stderr.slice(-1_500),
      transcript: result.transcript,
    },
    null,
    2,
  );
}

describe('client profile verdicts', () => {
  beforeAll(() => {
    if (!existsSync(join(PACKAGE_ROOT, 'dist/cli/commands/connect.js'))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does) before this file');
    }
  });

  it('runs every client case against at least one target', () => {
    const covered = new Set(ROWS.map((row) => row.c.id));
    for (const c of [...NICK_CLIENT_CASES, ...TILDE_CLIENT_CASES]) expect(covered).toContain(c.id);
  });

  it("each case catches exactly the seed's defects its failure shows, and none where the seed passes", () => {
    const annex = annexClientDefects();
    const seeds = [
      { dialect: 'nick', table: NICK_SEED, prefix: 'D-NC-' },
      { dialect: 'tilde', table: TILDE_SEED, prefix: 'D-TC-' },
    ] as const;
    for (const { dialect, table, prefix } of seeds) {
      for (const c of CASES[dialect]) {
        const row = table[c.id] ?? 'pass';
        const defects = row === 'pass' ? [] : row.defects;
        expect(c.catches ?? [], c.id).toEqual(defects);
        if (row === 'pass') continue;
        // Every seed failure is explained by a defect of its own script's section of the annex.
        expect(defects.length, c.id).toBeGreaterThan(0);
        for (const d of defects) expect(d, c.id).toMatch(new RegExp(`^${prefix}\\d+$`));
        // The requirement it fails is one the defect breaks.
        const breaks = defects.flatMap((d) => annex.get(d) ?? []);
        expect(breaks, c.id).toContain(row.requirement);
      }
    }
  });

  it('maps every client defect of Annex A (D-NC-*, D-TC-*) to a catching case, or says why none can', () => {
    const annex = [...annexClientDefects().keys()];
    expect(annex.filter((d) => d.startsWith('D-NC-')).length).toBeGreaterThan(0);
    expect(annex.filter((d) => d.startsWith('D-TC-')).length).toBeGreaterThan(0);
    const caught = new Set([...NICK_CLIENT_CASES, ...TILDE_CLIENT_CASES].flatMap((c) => c.catches ?? []));
    for (const d of annex) expect(caught.has(d) || d in NOT_CAUGHT, d).toBe(true);
    // Nothing is both, and nothing is named that the annex does not list.
    for (const d of Object.keys(NOT_CAUGHT)) expect(caught.has(d), d).toBe(false);
    expect([...caught, ...Object.keys(NOT_CAUGHT)].filter((d) => !annex.includes(d))).toEqual([]);
  });

  for (const { target, c, expected } of ROWS) {
    it.concurrent(
      `${target.name}: ${c.id} ${expected === 'pass' ? 'passes' : `${expected.verdict}s on ${expected.requirement}`}`,
      async () => {
        const result = await runCase(c, {
          target: { kind: 'client', command: target.command() },
          dialect: target.dialect,
          ...(target.prompt ? { prompt: target.prompt } : {}),
          retries: 0,
        });
        const want =
          expected === 'pass'
            ? { verdict: 'pass', requirement: undefined }
            : { verdict: expected.verdict, requirement: expected.requirement };
        expect(
          { verdict: result.verdict, requirement: result.failure?.requirement },
          explain(result),
        ).toEqual(want);
      },
      ROW_TIMEOUT_MS,
    );
  }
});
