/**
 * The NICK server cases' verdicts, pinned: every case run (through the runner, as `chatkit conform`
 * runs it) against chatkit's reference server, a second correct server written in plain Python, the
 * seeds' servers, and the NICK mutants. Each row is one case against one target, with the verdict it
 * must get and, for a failure, the requirement it must name.
 *
 * - The reference server (prompt `NICK` and the `Hii` variant) passes every case.
 * - `nick_mutant_server.py --defect none`, written independently of the reference, passes every
 *   case: the suite is not tuned to one implementation.
 * - `nick_server.py` and `hii_server.py` pass every `core` case and fail exactly the robustness cases
 *   mapped to their Annex A defects ({@link SEED_VERDICTS}); every other case passes.
 * - Each other mutant is caught by its named case ({@link MUTANTS}); only that case and one control
 *   case that must still pass are run, to keep the file fast (every spawned row costs a Python
 *   start). `CHATKIT_NICK_MUTANT_MATRIX=1` runs every case against every mutant and checks the full
 *   list of cases each one fails.
 *
 * Every row gets a fresh target process (the reference server from `dist/`), so rows run
 * concurrently without seeing each other (the groups too: the seeds' rows, the longest, start
 * first); no retries, so a flaky verdict shows as a failure here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import { EXTENSION_PROFILES, type ServerCase, type Verdict } from '../../conformance/harness/case.js';
import type { CaseResult } from '../../conformance/harness/report.js';
import { type RunOptions, runCase } from '../../conformance/harness/runner.js';
import { pythonExecutable } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';

/** Bound on one row: the longest case budget is 90 s (fifty members); the spawn and stop come on top. */
const ROW_TIMEOUT_MS = 120_000;
/**
 * Rows in flight at once. Most rows mostly wait (bounded waits, quiet windows, the 10 s handshake
 * timeout), so more rows than cores keep the file short; the cases are built to give the same
 * verdicts under load (`yes > /dev/null` on every core included).
 */
const ROWS_IN_FLIGHT = 8;

vi.setConfig({ maxConcurrency: ROWS_IN_FLIGHT });

const MUTANT = join(PACKAGE_ROOT, 'conformance/mutants/nick_mutant_server.py');
const REFERENCE_MODULE = join(PACKAGE_ROOT, 'dist/src/reference-server/index.js');
/** `node -e` program: argv is [node, module, port, prompt]. */
const START_REFERENCE =
  'import(process.argv[1]).then((m) => m.startServer({ dialect: "nick", port: Number(process.argv[2]), prompt: process.argv[3] }))';
const NICK_CASES: readonly ServerCase[] = ALL_CASES.filter(
  // The line-profile cases are judged against line-profile servers (line-verdicts.int.test.ts), the
  // extension profiles against servers that speak them (extension-mutants.int.test.ts).
  (c): c is ServerCase =>
    c.kind === 'server' &&
    c.dialect === 'nick' &&
    c.framing === undefined &&
    !(EXTENSION_PROFILES as readonly string[]).includes(c.profile),
);
const caseById = (id: string): ServerCase => {
  const c = NICK_CASES.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no NICK server case ${id}`);
  return c;
};

/** What a row must give: a verdict, and for fail/warn the requirement (one of) the failure names. */
type Expected =
  | 'pass'
  | { readonly verdict: Extract<Verdict, 'fail' | 'warn'>; readonly requirement: readonly string[] };
const fail = (...requirement: string[]): Expected => ({ verdict: 'fail', requirement });
const warn = (...requirement: string[]): Expected => ({ verdict: 'warn', requirement });

/**
 * nick_server.py and hii_server.py (Annex A.1): each defect, the case that catches it, and the
 * verdict. Every NICK case not listed passes, the `core` ones included.
 */
const SEED_DEFECTS: readonly { defect: string; case: string; expected: Expected }[] = [
  // EOF is relayed as b'' in a busy loop; no `left!` until a later relay draws a reset.
  { defect: 'D-NS-1', case: 'nick.leave.eof', expected: fail('NICK-LEAVE-1') },
  // A failed send() in broadcast() removes the sender. The dead member is a D-NS-4 ghost, the only
  // member without a reader of its own; the failing check is ROBUST-DEAD-1's.
  { defect: 'D-NS-2', case: 'nick.robust.dead-member', expected: fail('ROBUST-DEAD-1') },
  // The accept loop waits for the nickname, so a silent connection blocks every later one...
  { defect: 'D-NS-3', case: 'nick.robust.handshake-nonblocking', expected: fail('ROBUST-HANDSHAKE-1') },
  // ...and waits with no time limit (the annex lists only ROBUST-HANDSHAKE-1 under D-NS-3).
  { defect: 'D-NS-3', case: 'nick.robust.handshake-timeout', expected: warn('ROBUST-HANDSHAKE-2') },
  // EOF after the prompt is admitted with the empty nickname: ` joined!`.
  { defect: 'D-NS-4', case: 'nick.leave.handshake-eof', expected: fail('NICK-LEAVE-2') },
  // A non-ASCII nickname kills the accept loop.
  { defect: 'D-NS-5', case: 'nick.handshake.non-ascii-nick', expected: fail('ROBUST-BAD-1') },
  // Bytes >= 0x80 in chat are relayed.
  { defect: 'D-NS-6', case: 'nick.relay.non-ascii', expected: fail('NICK-RELAY-2') },
  // Any nickname is admitted: invalid ones, duplicates, a trailing LF kept.
  { defect: 'D-NS-7', case: 'nick.handshake.invalid-nick', expected: warn('NICK-NICK-3') },
  { defect: 'D-NS-7', case: 'nick.handshake.duplicate-nick', expected: warn('NICK-NICK-4') },
  { defect: 'D-NS-7', case: 'nick.handshake.trailing-newline', expected: warn('NICK-NICK-3') },
  // Blocking send() and no queue: a member that reads nothing stalls everyone (the MUST part) and
  // is never closed (the SHOULD part).
  { defect: 'D-NS-8', case: 'nick.robust.slow-reader', expected: fail('ROBUST-SLOW-1') },
  { defect: 'D-NS-8', case: 'nick.robust.slow-reader-closed', expected: warn('ROBUST-SLOW-1') },
  // A reset after the prompt kills the accept loop.
  { defect: 'D-NS-9', case: 'nick.leave.handshake-reset', expected: fail('ROBUST-RESET-1') },
  // nicknames.remove() drops the first equal nickname: later leaves get the wrong name.
  { defect: 'D-NS-10', case: 'nick.leave.wrong-name', expected: fail('NICK-LEAVE-1') },
  // A broadcast held up at a slow member goes on over the grown list and reaches bob, after his own
  // join announcement or before it, as the threads happen to run.
  { defect: 'D-NS-11', case: 'nick.robust.late-joiner', expected: fail('NICK-RELAY-1', 'NICK-PROMPT-2') },
];
const SEED_VERDICTS: Readonly<Record<string, Expected>> = Object.fromEntries(
  SEED_DEFECTS.map((d) => [d.case, d.expected]),
);

/** One mutant: the case that must catch it, and a case that must still pass (the mutant works otherwise). */
interface Mutant {
  readonly defect: string;
  readonly catches: string;
  readonly expected: Expected;
  readonly control?: string;
  /**
   * Every case it does not pass (the full matrix, `CHATKIT_NICK_MUTANT_MATRIX=1`), `catches`
   * included; `allBut`: a defect that breaks every handshake or every relay fails every case but these.
   */
  readonly failsAlso: readonly string[] | { readonly allBut: readonly string[] };
}

const MUTANTS: readonly Mutant[] = [
  {
    defect: 'wrong-join-text',
    catches: 'nick.join.broadcast',
    expected: fail('NICK-JOIN-1'),
    control: 'nick.relay.all',
    failsAlso: ['nick.join.broadcast', 'nick.join.connected', 'nick.handshake.trailing-newline'],
  },
  {
    defect: 'no-echo-to-sender',
    catches: 'nick.relay.echo',
    expected: fail('NICK-RELAY-1'),
    control: 'nick.join.broadcast',
    failsAlso: {
      allBut: ['nick.handshake.prompt', 'nick.join.broadcast', 'nick.handshake.trailing-newline'],
    },
  },
  {
    defect: 'no-leave',
    catches: 'nick.leave.reset',
    expected: fail('NICK-LEAVE-1'),
    control: 'nick.relay.all',
    failsAlso: [
      'nick.frame.one-write',
      'nick.relay.non-ascii',
      'nick.leave.reset',
      'nick.leave.eof',
      'nick.leave.wrong-name',
      'nick.robust.dead-member',
      'nick.robust.slow-reader-closed',
    ],
  },
  {
    defect: 'dies-on-disconnect',
    catches: 'nick.leave.reset',
    expected: fail('NICK-LEAVE-1'),
    control: 'nick.relay.all',
    failsAlso: [
      'nick.frame.one-write',
      'nick.relay.non-ascii',
      'nick.leave.reset',
      'nick.leave.eof',
      'nick.leave.wrong-name',
      'nick.robust.dead-member',
      'nick.robust.slow-reader',
      'nick.robust.slow-reader-closed',
      'nick.robust.late-joiner',
    ],
  },
  {
    defect: 'one-client-at-a-time',
    catches: 'nick.join.broadcast',
    expected: fail('NICK-PROMPT-1'),
    control: 'nick.handshake.prompt',
    failsAlso: { allBut: ['nick.handshake.prompt'] },
  },
  {
    defect: 'truncates',
    catches: 'nick.relay.all',
    expected: fail('NICK-RELAY-1'),
    control: 'nick.join.broadcast',
    failsAlso: {
      allBut: ['nick.handshake.prompt', 'nick.join.broadcast', 'nick.handshake.trailing-newline'],
    },
  },
  {
    defect: 'no-connected',
    catches: 'nick.join.connected',
    expected: fail('NICK-JOIN-2'),
    control: 'nick.handshake.prompt',
    failsAlso: { allBut: ['nick.handshake.prompt'] },
  },
  {
    defect: 'prompt-late',
    catches: 'nick.handshake.prompt',
    expected: fail('NICK-PROMPT-1'),
    failsAlso: { allBut: [] },
  },
  {
    defect: 'relays-non-ascii',
    catches: 'nick.relay.non-ascii',
    expected: fail('NICK-RELAY-2'),
    control: 'nick.relay.all',
    failsAlso: ['nick.relay.non-ascii'],
  },
  {
    defect: 'leave-twice',
    catches: 'nick.leave.reset',
    expected: fail('NICK-LEAVE-1'),
    control: 'nick.relay.all',
    failsAlso: ['nick.leave.reset', 'nick.leave.eof', 'nick.robust.slow-reader-closed'],
  },
  {
    defect: 'cuts-oversize',
    catches: 'nick.relay.oversize',
    expected: fail('NICK-RELAY-4'),
    control: 'nick.relay.all',
    // The flood's writes merge into chunks over 1024 bytes, which it cuts too.
    failsAlso: ['nick.relay.oversize', 'nick.robust.slow-reader', 'nick.robust.slow-reader-closed'],
  },
  {
    defect: 'split-writes',
    catches: 'nick.frame.one-write',
    expected: warn('FRAME-2'),
    control: 'nick.relay.all',
    failsAlso: ['nick.frame.one-write'],
  },
  {
    defect: 'blocking-send',
    catches: 'nick.robust.slow-reader',
    expected: fail('ROBUST-SLOW-1'),
    control: 'nick.relay.all',
    failsAlso: ['nick.robust.slow-reader', 'nick.robust.slow-reader-closed'],
  },
  {
    defect: 'blocking-handshake',
    catches: 'nick.robust.handshake-nonblocking',
    expected: fail('ROBUST-HANDSHAKE-1'),
    control: 'nick.relay.all',
    failsAlso: ['nick.robust.handshake-nonblocking', 'nick.robust.handshake-timeout'],
  },
  {
    defect: 'admits-invalid',
    catches: 'nick.handshake.invalid-nick',
    expected: warn('NICK-NICK-3'),
    control: 'nick.relay.all',
    // Admitting `café` announces bytes >= 0x80 (ENC-NICK-1).
    failsAlso: ['nick.handshake.invalid-nick', 'nick.handshake.non-ascii-nick'],
  },
  {
    defect: 'admits-duplicates',
    catches: 'nick.handshake.duplicate-nick',
    expected: warn('NICK-NICK-4'),
    control: 'nick.relay.all',
    failsAlso: ['nick.handshake.duplicate-nick'],
  },
  {
    defect: 'keeps-newline',
    catches: 'nick.handshake.trailing-newline',
    expected: warn('NICK-NICK-3'),
    control: 'nick.relay.all',
    failsAlso: ['nick.handshake.trailing-newline'],
  },
  {
    defect: 'announces-ghost',
    catches: 'nick.leave.handshake-eof',
    expected: fail('NICK-LEAVE-2'),
    control: 'nick.relay.all',
    failsAlso: ['nick.leave.handshake-eof'],
  },
  {
    defect: 'ignores-eof',
    catches: 'nick.leave.eof',
    expected: fail('NICK-LEAVE-1'),
    control: 'nick.leave.reset',
    failsAlso: ['nick.leave.eof'],
  },
  {
    defect: 'relay-to-prompted',
    catches: 'nick.handshake.prompt-alone',
    expected: fail('NICK-PROMPT-2'),
    control: 'nick.relay.all',
    failsAlso: ['nick.handshake.prompt-alone'],
  },
  {
    defect: 'connected-to-all',
    catches: 'nick.join.connected',
    expected: fail('NICK-JOIN-2'),
    control: 'nick.relay.all',
    failsAlso: ['nick.join.connected'],
  },
  {
    defect: 'exits-on-non-ascii-nick',
    catches: 'nick.handshake.non-ascii-nick',
    expected: fail('ROBUST-BAD-1'),
    control: 'nick.relay.all',
    // Its last nickname is not ASCII: the refusal looks right, the sentinel after it never returns.
    failsAlso: ['nick.handshake.invalid-nick', 'nick.handshake.non-ascii-nick'],
  },
  {
    defect: 'kick-after-join',
    catches: 'nick.relay.all',
    expected: fail('NICK-RELAY-1'),
    control: 'nick.handshake.prompt',
    // Every member is closed right after its join: every case that keeps one fails.
    failsAlso: { allBut: ['nick.handshake.prompt'] },
  },
  {
    defect: 'lowercase-announce',
    catches: 'nick.join.broadcast',
    expected: fail('NICK-JOIN-1'),
    control: 'nick.relay.all',
    // The suite's nicknames are mixed case (conformance/harness/names.ts): the join and leave
    // announcements of `Alice` read `alice`.
    failsAlso: ['nick.join.broadcast', 'nick.join.connected', 'nick.handshake.trailing-newline', 'nick.leave.reset'],
  },
  {
    defect: 'reformat',
    catches: 'nick.relay.all',
    expected: fail('NICK-RELAY-1'),
    control: 'nick.join.broadcast',
    failsAlso: { allBut: ['nick.handshake.prompt', 'nick.join.broadcast', 'nick.join.connected'] },
  },
];

/** The ids of every case `m` does not pass. */
function failingCases(m: Mutant): readonly string[] {
  const { failsAlso } = m;
  if ('allBut' in failsAlso)
    return NICK_CASES.map((c) => c.id).filter((id) => !failsAlso.allBut.includes(id));
  return failsAlso;
}

/** A target of the rows. */
interface Target {
  readonly name: string;
  readonly prompt?: string;
  /** Runs one case against a fresh instance of the target. */
  run(c: ServerCase): Promise<CaseResult>;
}

const noRetries = { dialect: 'nick', retries: 0 } as const satisfies Partial<RunOptions>;

/** Starts of a target the runner may make before a row counts as an error (see {@link spawned}). */
const SPAWN_ATTEMPTS = 3;

/**
 * A target the runner starts for each case. The port it gets was free a moment before; with many
 * rows (and the checker's own connections) taking ports at once, it is sometimes gone when the
 * target binds it. That is no verdict (the runner reports `error`: "could not be judged"), so the
 * row starts the target again on a new port.
 */
function spawned(name: string, command: string, prompt?: string): Target {
  return {
    name,
    ...(prompt ? { prompt } : {}),
    async run(c) {
      for (let attempt = 1; ; attempt++) {
        const result = await runCase(c, {
          ...noRetries,
          target: { kind: 'spawn', command },
          ...(prompt ? { prompt } : {}),
        });
        const notStarted = result.verdict === 'error' && /could not be judged/.test(result.error ?? '');
        if (!notStarted || attempt === SPAWN_ATTEMPTS) return result;
      }
    },
  };
}

const seed = (script: string, prompt: string) =>
  spawned(script, `'${pythonExecutable()}' '${join(PYTHON_TARGETS_DIR, script)}' 127.0.0.1 {port}`, prompt);
/**
 * The reference server (`startServer` with its defaults, from `dist/`) in a process of its own: in
 * the test's process it would share one event loop with the checker, and the flood rows would
 * starve it. A bare `node -e` starts in half the time of the CLI.
 */
const reference = (prompt: 'NICK' | 'Hii') =>
  spawned(
    `reference server (prompt ${prompt})`,
    `'${process.execPath}' -e '${START_REFERENCE}' '${REFERENCE_MODULE}' {port} ${prompt}`,
    prompt,
  );
const mutant = (defect: string) =>
  spawned(`mutant ${defect}`, `'${pythonExecutable()}' '${MUTANT}' --defect ${defect} 127.0.0.1 {port}`);

/** The report of a row that did not get its verdict: failure, transcript tail, the target's stderr. */
function explain(result: CaseResult): string {
  return JSON.stringify(
    {
      failure: result.failure,
      error: result.error,
      stderr: result.targetOutput?.stderr.slice(-1_500),
      transcript: result.transcript.map((c) => ({ label: c.label, events: c.events.slice(-12) })),
    },
    null,
    2,
  ).slice(0, 12_000);
}

function row(target: Target, c: ServerCase, expected: Expected): void {
  const title =
    expected === 'pass'
      ? `${target.name}: ${c.id} passes`
      : `${target.name}: ${c.id} ${expected.verdict}s on ${expected.requirement.join(' or ')}`;
  it.concurrent(
    title,
    async () => {
      const result = await target.run(c);
      const got = { verdict: result.verdict, requirement: result.failure?.requirement };
      if (expected === 'pass') {
        expect(got, explain(result)).toEqual({ verdict: 'pass', requirement: undefined });
      } else {
        expect(got.verdict, explain(result)).toBe(expected.verdict);
        expect(expected.requirement, explain(result)).toContain(got.requirement);
      }
    },
    ROW_TIMEOUT_MS,
  );
}

describe('NICK server case verdicts', () => {
  beforeAll(() => {
    if (!existsSync(REFERENCE_MODULE)) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does) before this file');
    }
  });

  it('pins a verdict for every seed defect case and every mutant, each naming a NICK case', () => {
    for (const id of Object.keys(SEED_VERDICTS)) expect(caseById(id).profile).toBe('robustness');
    const defects = new Set(SEED_DEFECTS.map((d) => d.defect));
    for (let n = 1; n <= 11; n++) expect(defects).toContain(`D-NS-${n}`);
    for (const m of MUTANTS) {
      caseById(m.catches);
      if (m.control) caseById(m.control);
      expect(failingCases(m)).toContain(m.catches);
    }
  });

  it("each case declares as `catches` exactly the seed defects it catches (the verdict matrix shows them)", () => {
    for (const c of NICK_CASES) {
      const defects = [...new Set(SEED_DEFECTS.filter((d) => d.case === c.id).map((d) => d.defect))];
      expect(c.catches ?? [], c.id).toEqual(defects);
    }
  });

  describe.concurrent("the seeds' servers fail exactly the cases of their Annex A defects", () => {
    for (const [script, prompt] of [
      ['nick_server.py', 'NICK'],
      ['hii_server.py', 'Hii'],
    ] as const) {
      for (const c of NICK_CASES) row(seed(script, prompt), c, SEED_VERDICTS[c.id] ?? 'pass');
    }
  });

  describe.concurrent('the reference server passes every case', () => {
    for (const prompt of ['NICK', 'Hii'] as const) {
      for (const c of NICK_CASES) row(reference(prompt), c, 'pass');
    }
  });

  describe.concurrent('a second correct server, in plain Python (mutant --defect none), passes every case', () => {
    for (const c of NICK_CASES) row(mutant('none'), c, 'pass');
  });

  describe.concurrent(
    'a correct server that sends `Connected to server!` before its own `joined!` passes the join cases (NICK-JOIN-2, spec 1.0)',
    () => {
      const first = spawned(
        'mutant none --connected-first',
        `'${pythonExecutable()}' '${MUTANT}' --defect none --connected-first 127.0.0.1 {port}`,
      );
      for (const id of ['nick.join.connected', 'nick.join.broadcast', 'nick.handshake.trailing-newline']) {
        row(first, caseById(id), 'pass');
      }
    },
  );

  describe.concurrent('each mutant is caught by its named case', () => {
    for (const m of MUTANTS) {
      row(mutant(m.defect), caseById(m.catches), m.expected);
      if (m.control) row(mutant(m.defect), caseById(m.control), 'pass');
    }
  });

  describe.runIf(process.env.CHATKIT_NICK_MUTANT_MATRIX === '1')('the full mutant matrix', () => {
    for (const m of MUTANTS) {
      const expected = failingCases(m);
      it.concurrent(
        `mutant ${m.defect} fails exactly ${'allBut' in m.failsAlso ? `every case but ${m.failsAlso.allBut.join(', ') || 'none'}` : m.failsAlso.join(', ')}`,
        async () => {
          const failing: string[] = [];
          for (const c of NICK_CASES) {
            const result = await mutant(m.defect).run(c);
            if (result.verdict !== 'pass') failing.push(c.id);
          }
          expect(failing.sort()).toEqual([...expected].sort());
        },
        NICK_CASES.length * ROW_TIMEOUT_MS,
      );
    }
  });
});
