/**
 * The extension profiles' mutants (conformance/mutants/ext_mutant_server.py, spec §14): the correct
 * server passes every case of each profile, and every defect is caught by the cases pinned here, as
 * `chatkit conform --profile admin|commands|rooms --spawn …` runs them (two cases at a time). The
 * reference server passes every profile with every extension on, and the seeds' core and robustness
 * suite still passes through it (EXT-2).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import { bindExtensionOptions } from '../../conformance/extensions/options.js';
import type { Profile } from '../../conformance/harness/case.js';
import type { CaseResult } from '../../conformance/harness/report.js';
import { runCases } from '../../conformance/harness/runner.js';
import { selectCases } from '../../conformance/harness/select.js';
import { pythonExecutable } from '../../src/processes/index.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { assertBuilt } from '../support/cli.js';

/** Bound on one row: one profile against one mutant. */
const ROW_TIMEOUT_MS = 180_000;
const PASSWORD = 's3cret pass';

// The reference server is spawned as `chatkit serve` from dist/: it must be built.
beforeAll(() => assertBuilt());

vi.setConfig({ maxConcurrency: 2 });

/** The cases each mutant fails, by profile and defect. */
const PINS: Readonly<Record<'admin' | 'commands' | 'rooms', Readonly<Record<string, readonly string[]>>>> = {
  admin: {
    none: [],
    'no-pass': ['admin.pass.asks'],
    'announces-before-password': ['admin.pass.asks'],
    'any-password': ['admin.pass.wrong'],
    'refuse-no-close': ['admin.pass.wrong'],
    'keeps-newline-password': ['admin.pass.line-ending'],
    'kick-no-close': ['admin.kick'],
    'no-kick-notice': ['admin.kick'],
    'relays-commands': ['admin.kick'],
    'anyone-can-kick': ['admin.cmd.refused'],
    'prefix-commands': ['admin.cmd.chat'],
    'ban-not-enforced': ['admin.ban'],
  },
  commands: {
    none: [],
    'users-to-all': ['commands.users'],
    'msg-to-all': ['commands.msg'],
    'quit-ignored': ['commands.quit'],
    'rename-silent': ['commands.nick'],
    'swallows-slash': ['commands.unknown'],
  },
  rooms: {
    none: [],
    'rooms-leak': ['rooms.relay'],
    'no-room-notices': ['rooms.join'],
    'joins-to-all-rooms': ['rooms.default'],
    'rooms-list-lobby-only': ['rooms.list'],
  },
};

const SCRIPT = join(PACKAGE_ROOT, 'conformance/mutants/ext_mutant_server.py');
const CLI = join(PACKAGE_ROOT, 'bin/chatkit.js');

async function judge(profiles: readonly Profile[], command: string): Promise<CaseResult[]> {
  const cases = selectCases(bindExtensionOptions(ALL_CASES, { adminPassword: PASSWORD }), {
    dialect: 'nick',
    kind: 'server',
    profiles,
  });
  return runCases(cases, { target: { kind: 'spawn', command }, dialect: 'nick', jobs: 2 });
}

const failingOf = (results: readonly CaseResult[]) =>
  results.filter((r) => r.verdict === 'fail' || r.verdict === 'warn').map((r) => r.id).sort();
const explain = (results: readonly CaseResult[]) =>
  results
    .filter((r) => r.verdict !== 'pass')
    .map((r) => `${r.id}: ${r.verdict} ${r.blockedBy?.id ?? ''} ${r.failure?.requirement ?? ''} ${r.failure?.message ?? r.error ?? ''}`)
    .join('\n');

const rows = (Object.entries(PINS) as ['admin' | 'commands' | 'rooms', Record<string, readonly string[]>][]).flatMap(
  ([profile, pins]) => Object.keys(pins).map((defect) => [profile, defect] as const),
);

describe('extension mutants: each profile catches every defect of its zoo', () => {
  it.concurrent.each(rows)(
    '%s mutant %s',
    async (profile, defect) => {
      const flags = profile === 'admin' ? `--admin-password '${PASSWORD}'` : `--${profile}`;
      const results = await judge(
        [profile],
        `'${pythonExecutable()}' '${SCRIPT}' ${flags} --defect ${defect} 127.0.0.1 {port}`,
      );
      expect(results.length).toBeGreaterThanOrEqual(4);
      expect(failingOf(results), explain(results)).toEqual([...PINS[profile][defect]!].sort());
      for (const r of results) {
        expect(['pass', 'fail', 'warn', 'blocked'], `${r.id}: ${r.error ?? ''}`).toContain(r.verdict);
        if (r.verdict === 'blocked') expect(failingOf(results), r.id).toContain(r.blockedBy?.id);
      }
    },
    ROW_TIMEOUT_MS,
  );
});

describe('the reference server with every extension on', () => {
  const serve = `'${process.execPath}' '${CLI}' serve --port {port} --admin-password '${PASSWORD}' --commands --rooms`;

  it.concurrent(
    'passes every case of the admin, commands and rooms profiles',
    async () => {
      const results = await judge(['admin', 'commands', 'rooms'], serve);
      expect(results.length).toBe(17);
      expect(failingOf(results), explain(results)).toEqual([]);
      expect(results.every((r) => r.verdict === 'pass'), explain(results)).toBe(true);
    },
    ROW_TIMEOUT_MS,
  );
});

describe("the advanced tutorial's admin server (conformance/targets/python/admin_server.py)", () => {
  it.concurrent(
    'fails exactly the cases that name its defects D-AS-2, D-AS-3 and D-AS-4 (Annex A.5)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'chatkit-admin-bans-'));
      try {
        const bans = join(dir, 'bans.txt');
        writeFileSync(bans, '');
        const script = join(PACKAGE_ROOT, 'conformance/targets/python/admin_server.py');
        const cases = selectCases(bindExtensionOptions(ALL_CASES, { adminPassword: 'adminpass' }), {
          dialect: 'nick',
          kind: 'server',
          profiles: ['admin'],
        });
        const results = await runCases(cases, {
          target: { kind: 'spawn', command: `'${pythonExecutable()}' '${script}' 127.0.0.1 {port} '${bans}'` },
          dialect: 'nick',
          jobs: 2,
        });
        const failing = failingOf(results);
        expect(failing, explain(results)).toEqual(['admin.cmd.chat', 'admin.kick', 'admin.pass.line-ending']);
        const named = cases.filter((c) => failing.includes(c.id)).flatMap((c) => c.catches ?? []);
        expect(named.sort()).toEqual(['D-AS-2', 'D-AS-3', 'D-AS-4']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    ROW_TIMEOUT_MS,
  );
});
