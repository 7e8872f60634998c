/**
 * The tilde server cases give the verdicts they must, on real processes over loopback:
 * - the reference server and the correct mutant (`--defect none`) pass every case;
 * - the seed's `tilde_server.py` passes every core case and fails exactly the robustness cases
 *   mapped below to its Annex A defects (D-TS-*), each case on a fresh process (`--spawn`);
 * - each mutant of `conformance/mutants/tilde_mutant_server.py` is caught by its named case.
 *
 * Every case, job and process is bounded; jobs run concurrently (each spawns its own targets),
 * so the file's time is about that of its longest job.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import type { ServerCase, Verdict } from '../../conformance/harness/case.js';
import type { CaseResult } from '../../conformance/harness/report.js';
import { type RunTarget, runCases } from '../../conformance/harness/runner.js';
import { selectCases } from '../../conformance/harness/select.js';
import { freePort, pythonExecutable, spawnTarget, type TargetHandle } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { type ChatServer, startServer } from '../../src/reference-server/index.js';

const MUTANT_SCRIPT = join(PACKAGE_ROOT, 'conformance/mutants/tilde_mutant_server.py');
const SEED_SCRIPT = join(PYTHON_TARGETS_DIR, 'tilde_server.py');
/** Bound on one job (a few cases on one kind of target); every case inside has its own budget. */
const JOB_TIMEOUT_MS = 180_000;

/** Every tilde server case of the default profiles, in registry order. */
const CASES = selectCases(ALL_CASES, {
  dialect: 'tilde',
  kind: 'server',
  profiles: ['core', 'robustness'],
}) as ServerCase[];
const STRESS_CASES = selectCases(ALL_CASES, { dialect: 'tilde', kind: 'server', profiles: ['stress'] });
const byId = (id: string): ServerCase => {
  const found = CASES.find((c) => c.id === id);
  if (!found) throw new Error(`no tilde case ${id}`);
  return found;
};

/**
 * The seed's verdicts, case by case, with the Annex A.3 defects each failure or warning shows (the
 * case's own `catches`). D-TS-8 (a failed bind falls back to a random port on every interface) has
 * no case: it shows only when the checker takes the target's port before starting it, and with
 * `--spawn` the runner already reports a target that never listens where told as `error`.
 */
const SEED_VERDICTS: readonly { id: string; verdict: Verdict; defects: readonly string[]; why: string }[] = [
  { id: 'tilde.handshake.nothing-before-username', verdict: 'pass', defects: [], why: 'core' },
  { id: 'tilde.join.broadcast', verdict: 'pass', defects: [], why: 'core' },
  { id: 'tilde.relay.all', verdict: 'pass', defects: [], why: 'core' },
  { id: 'tilde.relay.echo', verdict: 'pass', defects: [], why: 'core' },
  { id: 'tilde.relay.tilde-in-content', verdict: 'pass', defects: [], why: 'core' },
  { id: 'tilde.relay.utf8', verdict: 'pass', defects: [], why: 'core' },
  { id: 'tilde.relay.order', verdict: 'pass', defects: [], why: 'core' },
  { id: 'tilde.relay.max-content', verdict: 'pass', defects: [], why: 'core' },
  {
    id: 'tilde.frame.one-message-per-recv',
    verdict: 'pass',
    defects: [],
    why: 'core: Nagle delays a paced message, it never splits it',
  },
  {
    id: 'tilde.user.refuse-invalid',
    verdict: 'warn',
    defects: ['D-TS-5', 'D-TS-6'],
    why: 'every invalid username admitted; one not UTF-8 left hanging',
  },
  { id: 'tilde.user.refuse-duplicate', verdict: 'warn', defects: ['D-TS-6'], why: 'admitted' },
  { id: 'tilde.user.trailing-newline', verdict: 'warn', defects: ['D-TS-6'], why: 'admitted with its LF' },
  { id: 'tilde.relay.invalid-utf8', verdict: 'fail', defects: ['D-TS-5'], why: 'the sender is muted' },
  {
    id: 'tilde.relay.split-character',
    verdict: 'fail',
    defects: ['D-TS-5'],
    why: 'UnicodeDecodeError on the first piece',
  },
  { id: 'tilde.relay.unpaced-writes', verdict: 'pass', defects: [], why: 'relays whatever recv() returns' },
  { id: 'tilde.relay.oversize', verdict: 'fail', defects: ['D-TS-7'], why: 'a 2048-byte piece' },
  { id: 'tilde.relay.large-input', verdict: 'pass', defects: [], why: 'relays each recv(2048) at once' },
  { id: 'tilde.leave.eof', verdict: 'fail', defects: ['D-TS-1'], why: 'busy loop, never closed' },
  {
    id: 'tilde.leave.close',
    verdict: 'fail',
    defects: ['D-TS-1', 'D-TS-3'],
    why: 'the second write to the closed member mutes the sender',
  },
  {
    id: 'tilde.leave.dead-member',
    verdict: 'fail',
    defects: ['D-TS-3'],
    why: 'the reset member stays listed (D-TS-4) and mutes the sender',
  },
  { id: 'tilde.leave.announce', verdict: 'warn', defects: ['D-TS-4'], why: 'no announcement' },
  {
    id: 'tilde.handshake.eof-before-username',
    verdict: 'fail',
    defects: ['D-TS-2'],
    why: 'busy loop, never closed',
  },
  {
    id: 'tilde.handshake.reset-before-username',
    verdict: 'pass',
    defects: [],
    why: 'the thread dies on the reset, no loop',
  },
  { id: 'tilde.handshake.unfinished-no-delay', verdict: 'pass', defects: [], why: 'a thread per connection' },
  {
    id: 'tilde.slow.others-unaffected',
    verdict: 'fail',
    defects: ['D-TS-10'],
    why: 'blocking sendall() and no queue: a member that reads nothing stalls every sender',
  },
  {
    id: 'tilde.join.no-late-announcement',
    verdict: 'fail',
    defects: ['D-TS-9'],
    why: 'the broadcast loop reaches a later newcomer',
  },
  { id: 'tilde.conc.fifty', verdict: 'pass', defects: [], why: 'a thread per connection' },
];

/**
 * Seed failures that show a race (D-TS-9: a broadcast held up at a member that stopped reading
 * reaches a later newcomer). The case provokes it on purpose, and with a spawned target watches the
 * server's threads to time it; on a heavily loaded machine the kernel may still let the held-up
 * announcement through before the newcomer joins, and the seed then passes. Such a case must fail
 * at least once in a few runs (a correct server never fails it: see the reference and `none` jobs).
 */
const SEED_RACES: ReadonlySet<string> = new Set(['tilde.join.no-late-announcement']);
const SEED_RACE_TRIES = 3;

/** Each mutant of the tilde mutant server, the case that catches it, and how. */
const MUTANTS: readonly { defect: string; caughtBy: string; verdict: Verdict; requirement: string }[] = [
  { defect: 'latin1', caughtBy: 'tilde.relay.invalid-utf8', verdict: 'fail', requirement: 'TILDE-RELAY-2' },
  {
    defect: 'wrong-added-text',
    caughtBy: 'tilde.join.broadcast',
    verdict: 'fail',
    requirement: 'TILDE-JOIN-1',
  },
  { defect: 'no-echo-to-sender', caughtBy: 'tilde.relay.echo', verdict: 'fail', requirement: 'TILDE-RELAY-1' },
  { defect: 'no-leave-removal', caughtBy: 'tilde.leave.eof', verdict: 'fail', requirement: 'ROBUST-EOF-1' },
  {
    defect: 'dies-on-disconnect',
    caughtBy: 'tilde.leave.close',
    verdict: 'fail',
    requirement: 'ROBUST-DEAD-1',
  },
  {
    defect: 'one-client-at-a-time',
    caughtBy: 'tilde.join.broadcast',
    verdict: 'fail',
    requirement: 'TILDE-JOIN-1',
  },
  { defect: 'truncates', caughtBy: 'tilde.relay.all', verdict: 'fail', requirement: 'TILDE-RELAY-1' },
  {
    defect: 'split-at-last-tilde',
    caughtBy: 'tilde.relay.tilde-in-content',
    verdict: 'fail',
    requirement: 'TILDE-RELAY-1',
  },
  {
    defect: 'relays-invalid-utf8',
    caughtBy: 'tilde.relay.invalid-utf8',
    verdict: 'fail',
    requirement: 'TILDE-RELAY-2',
  },
  {
    defect: 'no-username-validation',
    caughtBy: 'tilde.user.refuse-invalid',
    verdict: 'warn',
    requirement: 'TILDE-USER-3',
  },
  { defect: 'no-holdback', caughtBy: 'tilde.relay.split-character', verdict: 'fail', requirement: 'FRAME-4' },
  {
    defect: 'no-content-limit',
    caughtBy: 'tilde.relay.oversize',
    verdict: 'fail',
    requirement: 'TILDE-RELAY-3',
  },
  {
    defect: 'cuts-inside-character',
    caughtBy: 'tilde.relay.oversize',
    verdict: 'fail',
    requirement: 'TILDE-RELAY-3',
  },
  {
    defect: 'spins-on-eof',
    caughtBy: 'tilde.handshake.eof-before-username',
    verdict: 'fail',
    requirement: 'ROBUST-EOF-1',
  },
  {
    defect: 'leaks-to-pending',
    caughtBy: 'tilde.handshake.nothing-before-username',
    verdict: 'fail',
    requirement: 'TILDE-JOIN-2',
  },
  {
    defect: 'no-leave-announcement',
    caughtBy: 'tilde.leave.announce',
    verdict: 'warn',
    requirement: 'TILDE-LEAVE-2',
  },
  {
    defect: 'blocking-send',
    caughtBy: 'tilde.slow.others-unaffected',
    verdict: 'fail',
    requirement: 'ROBUST-SLOW-1',
  },
  {
    defect: 'split-writes',
    caughtBy: 'tilde.frame.one-message-per-recv',
    verdict: 'warn',
    requirement: 'FRAME-3',
  },
  {
    defect: 'speaks-first',
    caughtBy: 'tilde.handshake.nothing-before-username',
    verdict: 'fail',
    requirement: 'TILDE-JOIN-2',
  },
  { defect: 'kick-after-join', caughtBy: 'tilde.relay.all', verdict: 'fail', requirement: 'TILDE-RELAY-1' },
];

const spawnOf = (script: string, ...args: string[]): RunTarget => ({
  kind: 'spawn',
  command: [pythonExecutable(), script, ...args, '127.0.0.1', '{port}'].join(' '),
});
const mutant = (defect: string) => spawnOf(MUTANT_SCRIPT, '--defect', defect);

/** What a result shows when its verdict is not the expected one. */
function explain(r: CaseResult): string {
  const f = r.failure;
  return [
    `${r.id}: ${r.verdict} after ${r.durationMs} ms (${r.attempts} attempt(s))`,
    f ? `[${f.requirement}] ${f.message}\n  expected: ${f.expected.join(' | ')}\n  actual: ${f.actual}` : '',
    r.error ?? '',
    r.targetOutput ? `stderr: ${r.targetOutput.stderr.slice(-1_000)}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** A mutant "defect" the spec allows: content relayed in pieces of any size (§3.7 item 9). */
const ALLOWED_DEFECT = 'pieces';
/** The case that may warn on it (FRAME-3, SHOULD). */
const FRAME_CASE = 'tilde.frame.one-message-per-recv';

/**
 * The flood cases say "not judged" (verdict `error`) when the judge's own thread waited for a CPU
 * for most of the flood: on a loaded machine (CI runs two test files at once beside the servers)
 * that is the judge's honest answer for a correct server, never a pass or a fail it could not show.
 */
const FLOOD_CASES = new Set(['tilde.slow.others-unaffected', 'tilde.join.no-late-announcement']);
const starvedFlood = (r: CaseResult) =>
  r.verdict === 'error' && FLOOD_CASES.has(r.id) && /^not judged: .* while it waited \d+ ms for a CPU/.test(r.error ?? '');

/**
 * Runs `cases` against `target` and checks each verdict (`expected` maps id to verdict); a starved
 * flood ({@link starvedFlood}) stands for an expected pass.
 */
async function expectVerdicts(
  cases: readonly ServerCase[],
  target: RunTarget,
  expected: (id: string) => Verdict,
): Promise<CaseResult[]> {
  const results = await runCases(cases, { target, dialect: 'tilde' });
  const wrong = results.filter((r) => r.verdict !== expected(r.id) && !(expected(r.id) === 'pass' && starvedFlood(r)));
  expect(wrong.map(explain).join('\n\n'), 'cases whose verdict differs').toBe('');
  return results;
}

/** Splits `items` round-robin into `n` shards, so that slow cases spread over concurrent jobs. */
function shards<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = Array.from({ length: n }, () => []);
  for (const [i, item] of items.entries()) out[i % n]!.push(item);
  return out;
}

describe('the verdict tables are complete', () => {
  it('pins a seed verdict for every tilde case of the default profiles, and no other', () => {
    expect(SEED_VERDICTS.map((r) => r.id)).toEqual(CASES.map((c) => c.id));
  });

  it('every core case passes on the seed, and each seed failure or warning names its Annex A defect', () => {
    for (const row of SEED_VERDICTS) {
      if (byId(row.id).profile === 'core') expect(row.verdict, row.id).toBe('pass');
      if (row.verdict !== 'pass') expect(row.defects.length, row.id).toBeGreaterThan(0);
      // The case declares the same defects, which the verdict matrix shows next to the verdict.
      expect(byId(row.id).catches ?? [], row.id).toEqual(row.verdict === 'pass' ? [] : row.defects);
    }
  });

  it('maps every defect of Annex A.3 to a case, except D-TS-8', () => {
    const mapped = new Set(SEED_VERDICTS.flatMap((r) => r.defects));
    for (let n = 1; n <= 10; n++) expect(mapped.has(`D-TS-${n}`), `D-TS-${n}`).toBe(n !== 8);
  });

  it('names a catching case for every defect the mutant server offers', () => {
    const source = readFileSync(MUTANT_SCRIPT, 'utf8');
    const block = source.slice(
      source.indexOf('DEFECTS = {'),
      source.indexOf('}', source.indexOf('DEFECTS = {')),
    );
    const offered = [...block.matchAll(/^ {4}"([a-z0-9-]+)":/gm)].map((m) => m[1]);
    expect([...MUTANTS.map((m) => m.defect), 'none', ALLOWED_DEFECT].sort()).toEqual([...offered].sort());
    for (const m of MUTANTS) expect(byId(m.caughtBy).requirements, m.defect).toContain(m.requirement);
  });
});

describe.concurrent('tilde server cases on real targets', () => {
  let server: TargetHandle;
  let timeoutServer: ChatServer;
  beforeAll(async () => {
    // The reference server runs in a process of its own, so that its work is not queued behind the
    // checker's in this one; the cases reach it by address (as `--target`).
    const port = await freePort();
    const script = `import { startServer } from './src/reference-server/index.js'; await startServer({ dialect: 'tilde', port: ${port} });`;
    server = await spawnTarget({
      command: [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script],
      cwd: PACKAGE_ROOT,
      port,
    });
    // The stress case waits for the handshake timeout; a short one keeps the test quick.
    timeoutServer = await startServer({ dialect: 'tilde', port: 0, handshakeTimeoutMs: 1_000 });
  }, JOB_TIMEOUT_MS);
  afterAll(async () => {
    await server?.stop();
    await timeoutServer?.close();
  });

  it('the reference server passes every case', { timeout: JOB_TIMEOUT_MS }, async () => {
    await expectVerdicts(CASES, { kind: 'address', host: '127.0.0.1', port: server.port! }, () => 'pass');
  });

  it('the reference server passes the stress case (an unfinished handshake is closed)', async () => {
    await expectVerdicts(
      STRESS_CASES as ServerCase[],
      { kind: 'address', host: '127.0.0.1', port: timeoutServer.port },
      () => 'pass',
    );
  });

  for (const [i, shard] of shards(CASES, 3).entries()) {
    it(`the correct mutant (--defect none) passes every case (part ${i + 1} of 3)`, {
      timeout: JOB_TIMEOUT_MS,
    }, async () => {
      await expectVerdicts(shard, mutant('none'), () => 'pass');
    });
  }

  it(`relaying content in 16-byte pieces (--defect ${ALLOWED_DEFECT}) is correct: no case fails (§3.7 item 9)`, {
    timeout: JOB_TIMEOUT_MS,
  }, async () => {
    const results = await runCases(CASES, { target: mutant(ALLOWED_DEFECT), dialect: 'tilde', jobs: 2 });
    // FRAME-3 (SHOULD) may warn: whether the pieces of one message reach a reader in one recv() is
    // up to TCP, so that warning is allowed, never required.
    const judged = results.filter(
      (r) => r.verdict !== 'pass' && !(r.verdict === 'warn' && r.id === FRAME_CASE) && !starvedFlood(r),
    );
    expect(judged.map(explain).join('\n\n'), 'cases that do not pass').toBe('');
    expect(results.length).toBe(CASES.length);
  });

  const seedVerdict = new Map(SEED_VERDICTS.map((r) => [r.id, r.verdict]));
  const seedCases = CASES.filter((c) => !SEED_RACES.has(c.id));
  for (const [i, shard] of shards(seedCases, 4).entries()) {
    it(`tilde_server.py: core passes, robustness fails exactly per Annex A (part ${i + 1} of 4)`, {
      timeout: JOB_TIMEOUT_MS,
    }, async () => {
      await expectVerdicts(shard, spawnOf(SEED_SCRIPT), (id) => seedVerdict.get(id)!);
    });
  }

  for (const id of SEED_RACES) {
    it(`tilde_server.py: ${id} shows its race (fails at least once in ${SEED_RACE_TRIES} runs)`, {
      timeout: JOB_TIMEOUT_MS,
    }, async () => {
      const seen: CaseResult[] = [];
      for (let i = 0; i < SEED_RACE_TRIES && !seen.some((r) => r.verdict === 'fail'); i++) {
        seen.push(...(await runCases([byId(id)], { target: spawnOf(SEED_SCRIPT), dialect: 'tilde' })));
      }
      // A miss is a pass (the race was not caught), never an error or another requirement.
      expect(seen.filter((r) => r.verdict !== 'pass' && r.verdict !== 'fail').map(explain).join('\n')).toBe('');
      const failed = seen.find((r) => r.verdict === 'fail');
      expect(failed?.failure?.requirement, seen.map(explain).join('\n')).toBe('TILDE-JOIN-1');
      expect(failed?.failure?.message).toMatch(/although alice was announced/);
    });
  }

  for (const [i, shard] of shards(MUTANTS, 4).entries()) {
    it(`each mutant is caught by its named case (part ${i + 1} of 4: ${shard.map((m) => m.defect).join(', ')})`, {
      timeout: JOB_TIMEOUT_MS,
    }, async () => {
      for (const m of shard) {
        const [result] = await expectVerdicts([byId(m.caughtBy)], mutant(m.defect), () => m.verdict);
        expect(result!.failure?.requirement, `${m.defect}: the requirement named`).toBe(m.requirement);
      }
    });
  }
});
