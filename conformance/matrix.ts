/**
 * The verdict matrix: the suite against the reference server in both dialects and against every
 * script in `conformance/targets/python/` (servers spawned per case, clients judged with
 * `--client`), as one table (case × target). `npm run demo` prints it and writes
 * `docs/CONFORMANCE.md`.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DialectName } from '../src/codec/index.js';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { startServer } from '../src/reference-server/server.js';
import { ALL_CASES } from './cases.js';
import { bindExtensionOptions, type ExtensionOptions } from './extensions/options.js';
import type { ConformanceCase, Profile } from './harness/case.js';
import type { CaseResult, VerdictName } from './harness/report.js';
import { type RunTarget, runCases } from './harness/runner.js';
import { selectCases } from './harness/select.js';
import { pythonExecutable } from '../src/processes/index.js';

/** One column of the matrix. */
export interface MatrixTarget {
  /** Column heading. */
  readonly name: string;
  readonly dialect: DialectName;
  readonly kind: 'server' | 'client';
  readonly prompt?: string;
  /** One of the seeds' scripts: a case that should catch one of its defects and passes is run again. */
  readonly seed?: boolean;
  /** Starts what the cases run against; `stop` ends it. */
  start(): Promise<{ target: RunTarget; stop(): Promise<void> }>;
  /** Profiles judged; default `core` and `robustness` (servers) or `client`. */
  readonly profiles?: readonly Profile[];
  /** What the extension profiles' cases need (spec §14: the admin password). */
  readonly extensionOptions?: ExtensionOptions;
  /** The table it is shown in, when not its dialect's and kind's (the extension profiles have their own). */
  readonly group?: string;
}

/** The admin password of the advanced tutorial (admin_server.py), used for chatkit's own column too. */
const TUTORIAL_ADMIN_PASSWORD = 'adminpass';
const EXTENSION_GROUP = 'nick servers with the extension profiles (spec §14)';
const EXTENSION_PROFILES: readonly Profile[] = ['core', 'robustness', 'admin', 'commands', 'rooms'];

const script = (name: string) => join(PACKAGE_ROOT, 'conformance/targets/python', name);

/** The targets of the matrix: chatkit's own, then the seeds'. */
export function matrixTargets(): MatrixTarget[] {
  const py = pythonExecutable();
  const reference = (dialect: DialectName, prompt?: string): MatrixTarget => ({
    name: `chatkit serve${dialect === 'tilde' ? ' (tilde)' : prompt ? ` --prompt ${prompt}` : ''}`,
    dialect,
    kind: 'server',
    ...(prompt ? { prompt } : {}),
    async start() {
      const server = await startServer({ dialect, port: 0, ...(prompt ? { prompt } : {}) });
      return { target: { kind: 'address', host: '127.0.0.1', port: server.port }, stop: () => server.close() };
    },
  });
  const spawned = (file: string, dialect: DialectName, kind: 'server' | 'client', prompt?: string): MatrixTarget => ({
    name: file,
    dialect,
    kind,
    seed: true,
    ...(prompt ? { prompt } : {}),
    async start() {
      const command =
        kind === 'server' ? `${py} ${script(file)} 127.0.0.1 {port}` : `${py} ${script(file)} {host} {port}`;
      return { target: kind === 'server' ? { kind: 'spawn', command } : { kind: 'client', command }, stop: async () => {} };
    },
  });
  const chatkitClient = (dialect: DialectName): MatrixTarget => ({
    name: `chatkit connect${dialect === 'tilde' ? ' (tilde)' : ''}`,
    dialect,
    kind: 'client',
    async start() {
      const command = `${process.execPath} ${join(PACKAGE_ROOT, 'bin/chatkit.js')} connect {host}:{port} --dialect ${dialect}`;
      return { target: { kind: 'client', command }, stop: async () => {} };
    },
  });
  const referenceWithExtensions: MatrixTarget = {
    name: 'chatkit serve --admin-password … --commands --rooms',
    dialect: 'nick',
    kind: 'server',
    profiles: EXTENSION_PROFILES,
    extensionOptions: { adminPassword: TUTORIAL_ADMIN_PASSWORD },
    group: EXTENSION_GROUP,
    async start() {
      const server = await startServer({
        dialect: 'nick',
        port: 0,
        adminPassword: TUTORIAL_ADMIN_PASSWORD,
        commands: true,
        rooms: true,
      });
      return { target: { kind: 'address', host: '127.0.0.1', port: server.port }, stop: () => server.close() };
    },
  };
  const tutorialAdmin: MatrixTarget = {
    name: 'admin_server.py',
    dialect: 'nick',
    kind: 'server',
    seed: true,
    profiles: ['core', 'robustness', 'admin'],
    extensionOptions: { adminPassword: TUTORIAL_ADMIN_PASSWORD },
    group: EXTENSION_GROUP,
    async start() {
      // The tutorial reads its ban file at every handshake and dies without one (D-AS-1): give it an empty one.
      const dir = mkdtempSync(join(tmpdir(), 'chatkit-matrix-bans-'));
      const bans = join(dir, 'bans.txt');
      writeFileSync(bans, '');
      const command = `${py} ${script('admin_server.py')} 127.0.0.1 {port} '${bans}'`;
      return { target: { kind: 'spawn', command }, stop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  };
  return [
    reference('nick'),
    reference('nick', 'Hii'),
    spawned('nick_server.py', 'nick', 'server'),
    spawned('hii_server.py', 'nick', 'server', 'Hii'),
    reference('tilde'),
    spawned('tilde_server.py', 'tilde', 'server'),
    chatkitClient('nick'),
    spawned('nick_client.py', 'nick', 'client'),
    spawned('hii_client.py', 'nick', 'client', 'Hii'),
    chatkitClient('tilde'),
    spawned('tilde_client.py', 'tilde', 'client'),
    referenceWithExtensions,
    tutorialAdmin,
  ];
}

/** The results of one target. */
export interface MatrixColumn {
  readonly target: MatrixTarget;
  readonly results: readonly CaseResult[];
  /** Runs made of a case run more than once on a seed ({@link DEFECT_ATTEMPTS}); the last is reported. */
  readonly attempts?: ReadonlyMap<string, number>;
}

/**
 * Runs of a case on a seed's script when it should catch one of the script's defects and passes:
 * some defects show only when the script's threads interleave one way (D-TS-9), so one passing
 * run does not prove the defect absent. The first failing run is reported, with its number.
 */
export const DEFECT_ATTEMPTS = 3;

/** Columns judged at once: most of a legacy column's time is waiting out bounded windows. */
export const MATRIX_CONCURRENCY = 4;

/** Runs every target's cases (core and robustness, or client), a few columns at a time. */
export async function runMatrix(
  targets: readonly MatrixTarget[] = matrixTargets(),
  onColumn?: (column: MatrixColumn) => void,
  concurrency = MATRIX_CONCURRENCY,
): Promise<MatrixColumn[]> {
  const columns: (MatrixColumn | undefined)[] = new Array(targets.length).fill(undefined);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < targets.length; i = next++) {
      const target = targets[i]!;
      const cases: ConformanceCase[] = selectCases(bindExtensionOptions(ALL_CASES, target.extensionOptions ?? {}), {
        dialect: target.dialect,
        kind: target.kind,
        profiles: target.profiles ?? (target.kind === 'server' ? ['core', 'robustness'] : ['client']),
      });
      const running = await target.start();
      try {
        const options = {
          target: running.target,
          dialect: target.dialect,
          ...(target.prompt ? { prompt: target.prompt } : {}),
        };
        const results = await runCases(cases, options);
        const attempts = new Map<string, number>();
        if (target.seed) {
          for (const [k, result] of results.entries()) {
            const c = cases[k]!;
            if (result.verdict !== 'pass' || !c.catches?.length) continue;
            let run = 1;
            let latest = result;
            while (latest.verdict === 'pass' && run < DEFECT_ATTEMPTS) {
              run++;
              [latest] = (await runCases([c], options)) as [CaseResult];
            }
            results[k] = latest;
            attempts.set(c.id, run);
          }
        }
        columns[i] = { target, results, attempts };
        onColumn?.(columns[i]!);
      } finally {
        await running.stop();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, targets.length)) }, worker));
  return columns.filter((c): c is MatrixColumn => c !== undefined);
}

const SYMBOL: Record<VerdictName, string> = { pass: 'pass', fail: '**FAIL**', warn: 'warn', skip: 'skip', flaky: 'flaky', error: 'ERROR', blocked: 'blocked' };

/** The matrix as Markdown: one table per dialect and kind, cases down, targets across. */
export function matrixMarkdown(columns: readonly MatrixColumn[], meta: { date: string; durationMs: number }): string {
  const out: string[] = [
    '# Conformance verdict matrix',
    '',
    `Generated by \`npm run demo\` on ${meta.date} in ${(meta.durationMs / 1000).toFixed(1)} s. Every case of`,
    '`chatkit conform` (profiles `core` and `robustness` for servers, `client` for clients) against chatkit\'s',
    'reference server and client and against every script in `conformance/targets/python/` (servers spawned',
    'fresh for each case). A failure of a seed script names the defect of spec/PROTOCOL.md Annex A it shows.',
    `A case that should catch a seed's defect and passes is run up to ${DEFECT_ATTEMPTS} times (some defects, such as D-TS-9,`,
    "show only when the script's threads interleave one way); \"run 2\" marks the run that showed it.",
    '`blocked (REQ)`: the case stands on a case that failed REQ in the same run, so it is neither a pass nor a fail.',
    '',
  ];
  const groups = new Map<string, MatrixColumn[]>();
  for (const c of columns) {
    const key = c.target.group ?? `${c.target.dialect} ${c.target.kind}s`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const [title, cols] of groups) {
    out.push(`## ${title}`, '');
    out.push(`| case | level | ${cols.map((c) => `\`${c.target.name}\``).join(' | ')} |`);
    out.push(`|---|---|${cols.map(() => '---').join('|')}|`);
    const ids = cols[0]?.results.map((r) => r.id) ?? [];
    for (const id of ids) {
      const first = cols[0]!.results.find((r) => r.id === id)!;
      const cells = cols.map((c) => {
        const r = c.results.find((x) => x.id === id);
        if (!r) return '–';
        const caseDef = ALL_CASES.find((x) => x.id === id);
        // Rows a column does not judge (another profile) stay empty: "–" above.
        const defects = r.verdict === 'fail' || r.verdict === 'warn' ? (caseDef?.catches ?? []) : [];
        const runs = c.attempts?.get(id) ?? 1;
        const tried = runs === 1 ? '' : r.verdict === 'pass' ? ` (${runs} runs)` : `; run ${runs}`;
        // A blocked cell names the requirement whose failure blocked it: the cause sits in another row.
        if (r.verdict === 'blocked') return `${SYMBOL.blocked}${r.blockedBy ? ` (${r.blockedBy.requirement})` : ''}${tried}`;
        return `${SYMBOL[r.verdict]}${defects.length ? ` (${defects.join(', ')}${tried})` : tried}`;
      });
      out.push(`| \`${id}\` | ${first.level} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
