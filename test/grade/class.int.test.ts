/**
 * SLOW (a few minutes): `chatkit grade` on the whole of test/fixtures/submissions/ (18 hand-ins:
 * copies of the seeds' scripts with their hard-coded ports and realistic mistakes, see the README
 * there), once, with `--jobs 4 --profile core`; then every output is checked against it, and
 * report.html is opened in headless Chromium (Debian's `chromium`) and read back row by row.
 * Every wait is bounded; the grading run itself is bounded by GRADE_TIMEOUT_MS.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classReportSchema } from '../../grade/class-report.js';
import { CSV_HEADER } from '../../grade/tables.js';
import { REPO, runChatkit } from '../support/cli.js';

const SUBMISSIONS = join(REPO, 'test/fixtures/submissions');
/** Bound of the one grading run (about 3 minutes on 2 busy cores). */
const GRADE_TIMEOUT_MS = 12 * 60_000;
const CHROMIUM = '/usr/bin/chromium';

/**
 * What each hand-in must get with `--profile core`: verdict and first root cause (as grades.csv
 * writes it; a not-judged row by its reason's start). The robustness profile's causes (gus's closed
 * listener, the seeds' defects) are not judged here; test/fixtures/students/README.md lists them.
 */
const EXPECTED: Record<string, { verdict: 'pass' | 'fail' | 'error'; cause: RegExp }> = {
  // A careful server; the tutorial's client answers every NICK prompt, even one inside a relay
  // (D-NC-7, CLIENT-PROMPT-2), and sends before "Connected to server!" (D-NC-*).
  amira: { verdict: 'fail', cause: /^client CLIENT-PROMPT-2 nick\.client\.prompt-once$/ },
  ben: { verdict: 'fail', cause: /^client CLIENT-PROMPT-2 nick\.client\.prompt-once$/ },
  // The student's own texts: the wording requirement, once.
  chen: { verdict: 'fail', cause: /^NICK-JOIN-2 nick\.join\.connected$/ },
  // Own texts AND no echo: the missing echo is what to fix first, not masked by the wording.
  dana: { verdict: 'fail', cause: /^NICK-RELAY-1 nick\.relay\.echo$/ },
  // Another host name and port (localhost:5050): mapped, judged as ben.
  emil: { verdict: 'fail', cause: /^client CLIENT-PROMPT-2 nick\.client\.prompt-once$/ },
  // bind(('127.0.0.1', 0)): listens on a port of the OS's choosing, named in the reason.
  erin: { verdict: 'error', cause: /^not judged: listens elsewhere: on port \d+, not the one chatkit gave it$/ },
  farah: { verdict: 'fail', cause: /^NICK-RELAY-1 nick\.relay\.echo$/ },
  // host.py/guest.py/chat_utils.py on port 7000, found by the rules.
  finn: { verdict: 'fail', cause: /^client CLIENT-PROMPT-2 nick\.client\.prompt-once$/ },
  hana: { verdict: 'error', cause: /^not judged: syntax error: SyntaxError: expected ':' \(server\.py, line 19\)$/ },
  // The tilde seed; its client is tkinter only: not judged, server graded alone.
  ivan: { verdict: 'pass', cause: /^$/ },
  lena: { verdict: 'fail', cause: /^TILDE-JOIN-1 / },
  // The Hii variant on 11826: the prompt is detected.
  omar: { verdict: 'fail', cause: /^client CLIENT-PROMPT-2 nick\.client\.prompt-once$/ },
  rosa: { verdict: 'fail', cause: /^NICK-LEAVE-1 / },
  // A single file: the tilde seed's server on 8080, no client.
  'sam.py': { verdict: 'pass', cause: /^$/ },
  tess: { verdict: 'error', cause: /^not judged: crashes at start: ModuleNotFoundError: No module named 'termcolor'$/ },
  uma: { verdict: 'error', cause: /^not judged: no server found: none of 1 \.py file calls listen\(\)$/ },
  // if __name__ == "main": the program ends at once.
  vic: { verdict: 'error', cause: /^not judged: listens nowhere: the program ended without listening$/ },
  // input("Press Enter to start the server...") before bind: still running, never listening.
  wes: { verdict: 'error', cause: /^not judged: listens nowhere: still running, but not listening/ },
};

/** Every file under the submissions (links followed), with its hash: nothing may change. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const stat = lstatSync(full);
      if (stat.isDirectory() || (stat.isSymbolicLink() && existsSync(full) && readdirSafe(full))) walk(full);
      else out.set(full, createHash('sha256').update(readFileSync(full)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}
function readdirSafe(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Splits one RFC 4180 line (no line breaks inside fields: grades.csv has none). */
function csvLine(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else value += line[i++];
      }
      fields.push(value);
      i++;
    } else {
      const end = line.indexOf(',', i);
      fields.push(line.slice(i, end === -1 ? line.length : end));
      i = end === -1 ? line.length + 1 : end + 1;
    }
  }
  return fields;
}

describe('chatkit grade on 18 submissions (slow: one grading run of a few minutes)', () => {
  let out: string;
  let before: Map<string, string>;
  let run: { code: number | null; stdout: string; stderr: string };
  let rows: Map<string, Record<string, string>>;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'chatkit-grade-class-'));
    before = snapshot(SUBMISSIONS);
    run = await runChatkit(['grade', `${SUBMISSIONS}/*`, '--jobs', '4', '--profile', 'core', '--out', out], {
      timeoutMs: GRADE_TIMEOUT_MS,
    });
    const lines = readFileSync(join(out, 'grades.csv'), 'utf8').trimEnd().split('\r\n');
    rows = new Map(
      lines.slice(1).map((l) => {
        const f = csvLine(l);
        return [f[0]!, Object.fromEntries(CSV_HEADER.map((h, i) => [h, f[i] ?? '']))];
      }),
    );
  }, GRADE_TIMEOUT_MS + 30_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('exits 0: every submission was judged or given its reason, and failing students are no error', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('gives every student the pinned verdict and first root cause in grades.csv', () => {
    expect([...rows.keys()]).toEqual(Object.keys(EXPECTED).sort());
    for (const [student, want] of Object.entries(EXPECTED)) {
      const row = rows.get(student)!;
      expect({ student, verdict: row.verdict }).toEqual({ student, verdict: want.verdict });
      expect(row.first_root_cause, student).toMatch(want.cause);
    }
  });

  it('writes the documented CSV header and consistent counts', () => {
    expect(readFileSync(join(out, 'grades.csv'), 'utf8').split('\r\n')[0]).toBe(CSV_HEADER.join(','));
    for (const [student, row] of rows) {
      expect(Number(row.must_passed), student).toBeLessThanOrEqual(Number(row.must_total));
      expect(Number(row.score), student).toBeLessThanOrEqual(Number(row.max_score));
      if (row.verdict === 'pass') expect(row.must_passed, student).toBe(row.must_total);
      if (row.verdict === 'fail') expect(Number(row.must_passed), student).toBeLessThan(Number(row.must_total));
    }
  });

  it('prints the table: one row per student while it runs, and the summary', () => {
    for (const student of Object.keys(EXPECTED)) expect(run.stdout).toMatch(new RegExp(`^${student.replace('.', '\\.')}\\s+(pass|fail|error)\\s.*\\[\\d+/18\\]$`, 'm'));
    expect(run.stdout).toMatch(/18 submissions: 2 pass, 10 fail, 6 not judged/);
  });

  it('notes what it could not judge in a submission that was graded (a GUI client)', () => {
    const report = classReportSchema.parse(JSON.parse(readFileSync(join(out, 'grade.json'), 'utf8')));
    const ivan = report.students.find((s) => s.student === 'ivan')!;
    expect(ivan.notes.join('\n')).toMatch(/client not judged: client\.py is a GUI program/);
    expect(ivan.server?.dialect).toBe('tilde');
    expect(report.students.find((s) => s.student === 'omar')!.server?.prompt).toBe('Hii');
    expect(readFileSync(join(out, 'grades.md'), 'utf8')).toMatch(/\| ivan \| pass \|/);
  });

  it('writes per student the conform reports and a Gradescope results.json', () => {
    for (const student of Object.keys(EXPECTED)) {
      const report = JSON.parse(readFileSync(join(out, student, 'report.json'), 'utf8')) as { student: string; server?: { schema: string } };
      expect(report.student).toBe(student);
      const results = JSON.parse(readFileSync(join(out, student, 'results.json'), 'utf8')) as {
        score: number;
        max_score: number;
        tests: { name: string; score: number; max_score: number; output: string; visibility: string }[];
      };
      expect(results.score).toBe(Number(rows.get(student)!.score));
      expect(results.score).toBeLessThanOrEqual(results.max_score);
      if (EXPECTED[student]!.verdict === 'error') {
        expect(results.tests).toEqual([]);
        expect(results.max_score).toBeGreaterThan(0);
        continue;
      }
      expect(report.server?.schema).toBe('chatkit-conformance/2');
      expect(results.tests.length).toBeGreaterThan(0);
      expect(results.tests.reduce((n, t) => n + t.score, 0)).toBe(results.score);
      for (const t of results.tests) expect(Object.keys(t)).toEqual(expect.arrayContaining(['name', 'score', 'max_score', 'output', 'visibility']));
    }
    const dana = JSON.parse(readFileSync(join(out, 'dana', 'results.json'), 'utf8')) as { tests: { name: string; output: string }[] };
    expect(dana.tests.find((t) => t.name.startsWith('server: nick.relay.echo'))!.output).toMatch(/^FAIL NICK-RELAY-1/);
  });

  it('edits no submission', () => {
    expect(snapshot(SUBMISSIONS)).toEqual(before);
  });

  it('report.html opens in headless Chromium, offline, and every student row reads back from the matrix', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      timeout: 30_000,
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(join(out, 'report.html')).href;
      await page.goto(url, { timeout: 30_000 });
      const read = await page.$$eval('#matrix tbody tr', (trs) =>
        trs.map((tr) => {
          const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '');
          const requirements = Object.fromEntries(
            [...tr.querySelectorAll('td[data-requirement]')].map((td) => [td.getAttribute('data-requirement'), td.getAttribute('data-verdict')]),
          );
          return { student: cells[0], verdict: cells[1], must: cells[2], should: cells[3], cause: cells[5], requirements };
        }),
      );
      expect(requests).toEqual([url]);
      expect(read.map((r) => r.student)).toEqual(Object.keys(EXPECTED).sort());
      for (const r of read) {
        const row = rows.get(r.student!)!;
        expect(r.verdict).toBe(row.verdict);
        expect(r.cause).toBe(row.first_root_cause);
        if (row.verdict !== 'error') expect(r.must).toBe(`${row.must_passed}/${row.must_total}`);
      }
      const dana = read.find((r) => r.student === 'dana')!;
      expect(dana.requirements['NICK-RELAY-1']).toBe('fail');
      const sam = read.find((r) => r.student === 'sam.py')!;
      expect(Object.values(sam.requirements).filter((v) => v !== 'none').every((v) => v === 'pass')).toBe(true);
      // Each failure with expected and actual, and its transcript.
      const failure = page.locator('#student-dana .failure[data-case="nick.relay.echo"]');
      expect(await failure.locator('dd.expected').count()).toBeGreaterThan(0);
      expect(await failure.locator('dd.actual').count()).toBe(1);
      expect(await failure.locator('pre.transcript').textContent()).toMatch(/\+\s*\d+\.\dms/);
    } finally {
      await browser.close();
    }
  }, 90_000);

  it('merges shards back into the same grades (grade merge)', async () => {
    // Two slices made from this run's output, as two CI runners would have written them.
    const { cpSync, mkdirSync, writeFileSync } = await import('node:fs');
    const report = classReportSchema.parse(JSON.parse(readFileSync(join(out, 'grade.json'), 'utf8')));
    const slices = [1, 2].map((i) => {
      const dir = mkdtempSync(join(tmpdir(), `chatkit-grade-slice-${i}-`));
      const students = report.students.filter((_, k) => k % 2 === i - 1);
      for (const s of students) cpSync(join(out, s.student), join(dir, s.student), { recursive: true });
      writeFileSync(join(dir, 'grade.json'), JSON.stringify({ ...report, shards: [{ index: i, count: 2 }], students }));
      return dir;
    });
    const merged = mkdtempSync(join(tmpdir(), 'chatkit-grade-merged-'));
    try {
      mkdirSync(merged, { recursive: true });
      const result = await runChatkit(['grade', 'merge', ...slices.reverse(), '--out', merged], { timeoutMs: 30_000 });
      expect(result.code).toBe(0);
      expect(readFileSync(join(merged, 'grades.csv'), 'utf8')).toBe(readFileSync(join(out, 'grades.csv'), 'utf8'));
      expect(existsSync(join(merged, 'dana', 'results.json'))).toBe(true);
      const twice = await runChatkit(['grade', 'merge', slices[0]!, slices[0]!, '--out', merged], { timeoutMs: 30_000 });
      expect(twice.code).toBe(2);
      expect(twice.stderr).toMatch(/GRADE_DUPLICATE_STUDENT/);
    } finally {
      for (const d of [...slices, merged]) rmSync(d, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('chatkit grade on submissions that cannot be judged (quick)', () => {
  it('judges only its --shard slice, and exits 3 when no submission of it could be judged', async () => {
    const out = mkdtempSync(join(tmpdir(), 'chatkit-grade-shard-'));
    try {
      // Sorted: hana, tess, uma; slice 1/2 holds hana and uma (no process is judged).
      const run = await runChatkit(['grade', join(SUBMISSIONS, 'uma'), join(SUBMISSIONS, 'tess'), join(SUBMISSIONS, 'hana'), '--shard', '1/2', '--out', out], {
        timeoutMs: 60_000,
      });
      expect(run.code).toBe(3);
      const csv = readFileSync(join(out, 'grades.csv'), 'utf8').trimEnd().split('\r\n');
      expect(csv.slice(1).map((l) => l.split(',')[0])).toEqual(['hana', 'uma']);
      const report = classReportSchema.parse(JSON.parse(readFileSync(join(out, 'grade.json'), 'utf8')));
      expect(report.shards).toEqual([{ index: 1, count: 2 }]);
      expect(report.students.map((s) => s.notJudged?.category)).toEqual(['syntax-error', 'no-server']);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 90_000);

  it('with --learn, passes a server that only changes the wording (chen) and notes each changed text at INFO', async () => {
    const out = mkdtempSync(join(tmpdir(), 'chatkit-grade-learn-'));
    try {
      const run = await runChatkit(['grade', join(SUBMISSIONS, 'chen'), '--learn', '--profile', 'core', '--no-clients', '--out', out], {
        timeoutMs: 180_000,
      });
      expect(run.code).toBe(0);
      const report = classReportSchema.parse(JSON.parse(readFileSync(join(out, 'grade.json'), 'utf8')));
      const chen = report.students[0]!;
      expect(chen.verdict).toBe('pass');
      expect(chen.notes.filter((n) => n.startsWith('server: INFO NICK-JOIN-')).length).toBeGreaterThanOrEqual(2);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 200_000);

  it('exits 2 with one line when the paths name no submission', async () => {
    const run = await runChatkit(['grade', join(SUBMISSIONS, 'nobody-*')], { timeoutMs: 30_000 });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^chatkit grade: error GRADE_NO_SUBMISSIONS: /);
  });
});
