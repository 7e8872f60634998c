/**
 * `npm run bench:grade`: `chatkit grade --jobs 4` against `--jobs 1` on the test submissions
 * (test/fixtures/submissions/), in one run, same seed, same profile; checks that both give every
 * student the same verdict and first root cause, and writes the figures between the markers of
 * docs/grading.md ("Measured"). Wall time on a shared machine varies; the ratio of the two runs in
 * one session is the figure to read. Not a test: nothing here is asserted by `npm test`.
 *
 * Options: `--profile core` (default; `core,robustness` takes several times longer), `--jobs 4`.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = join(import.meta.dirname, '..');
const CHATKIT = join(ROOT, 'bin/chatkit.js');
const DOC = join(ROOT, 'docs/grading.md');
const BEGIN = '<!-- grade-bench:begin -->';
const END = '<!-- grade-bench:end -->';
/** The seed both runs use, so that the cases' nicknames (and what they trigger) are the same. */
const SEED = 20261204;
/** Bound of one grading run. */
const RUN_TIMEOUT_MS = 40 * 60_000;

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Run {
  readonly jobs: number;
  readonly wallS: number;
  /** CPU seconds of chatkit and every program it started (children's rusage). */
  readonly cpuS: number;
  readonly rows: Map<string, string>;
  readonly exitCode: number | null;
}

function gradeOnce(jobs: number, profile: string): Promise<Run> {
  const out = mkdtempSync(join(tmpdir(), `chatkit-bench-grade-${jobs}-`));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // Through `time -f` would need GNU time; bash's `times` reports the children's CPU instead.
    const script = `${JSON.stringify(process.execPath)} ${JSON.stringify(CHATKIT)} grade 'test/fixtures/submissions/*' --jobs ${jobs} --profile ${profile} --seed ${SEED} --out ${JSON.stringify(out)} >/dev/null; code=$?; times; exit $code`;
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallS = (performance.now() - started) / 1000;
      // `times`: line 2 is the children's user and system time, e.g. "1m2.5s 0m9.1s".
      const childLine = text.trim().split('\n').at(-1) ?? '';
      const cpuS = childLine
        .split(/\s+/)
        .map((t) => /^(\d+)m([\d.]+)s$/.exec(t))
        .reduce((sum, m) => sum + (m ? Number(m[1]) * 60 + Number(m[2]) : 0), 0);
      const rows = new Map<string, string>();
      try {
        const csv = readFileSync(join(out, 'grades.csv'), 'utf8').trim().split('\r\n').slice(1);
        for (const line of csv) {
          const student = line.split(',')[0]!;
          // Verdict and first root cause: the judgement, without the times and the ephemeral port of a listens-elsewhere row.
          const fields = line.split(',');
          rows.set(student, `${fields[1]} ${fields.slice(8, -1).join(',').replace(/port \d+/, 'port N')}`);
        }
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
      resolve({ jobs, wallS, cpuS, rows, exitCode: code });
    });
  });
}

const { values } = parseArgs({ options: { profile: { type: 'string', default: 'core' }, jobs: { type: 'string', default: '4' } } });
const profile = values.profile!;
const parallel = Number(values.jobs);

log(`grading test/fixtures/submissions with --jobs 1, then --jobs ${parallel} (--profile ${profile}, seed ${SEED})`);
const one = await gradeOnce(1, profile);
log(`--jobs 1: ${one.wallS.toFixed(1)} s wall, ${one.cpuS.toFixed(1)} s CPU, exit ${one.exitCode}`);
const many = await gradeOnce(parallel, profile);
log(`--jobs ${parallel}: ${many.wallS.toFixed(1)} s wall, ${many.cpuS.toFixed(1)} s CPU, exit ${many.exitCode}`);

const differ = [...one.rows.keys()].filter((s) => one.rows.get(s) !== many.rows.get(s));
const section = [
  BEGIN,
  `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench:grade\` on ${availableParallelism()} cores (shared with other work), ${one.rows.size} submissions of test/fixtures/submissions, \`--profile ${profile}\`, clients judged, seed ${SEED}:`,
  '',
  '| run | wall | CPU (chatkit and the programs) | speed-up |',
  '|---|---|---|---|',
  `| \`--jobs 1\` | ${one.wallS.toFixed(0)} s | ${one.cpuS.toFixed(0)} s | 1.0× |`,
  `| \`--jobs ${parallel}\` | ${many.wallS.toFixed(0)} s | ${many.cpuS.toFixed(0)} s | ${(one.wallS / many.wallS).toFixed(1)}× |`,
  '',
  differ.length === 0
    ? `Verdicts and first root causes: identical for all ${one.rows.size} submissions.`
    : `Verdicts or first root causes differ for ${differ.length}: ${differ.map((s) => `${s} (${one.rows.get(s)} vs ${many.rows.get(s)})`).join('; ')}.`,
  END,
].join('\n');
log(section);
const doc = readFileSync(DOC, 'utf8');
const start = doc.indexOf(BEGIN);
const end = doc.indexOf(END);
writeFileSync(DOC, start >= 0 && end > start ? `${doc.slice(0, start)}${section}${doc.slice(end + END.length)}` : `${doc.trimEnd()}\n\n## Measured\n\n${section}\n`);
process.exitCode = differ.length === 0 ? 0 : 1;
