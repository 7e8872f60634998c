/**
 * The parts of `chatkit grade` that need no running program: finding submissions and their
 * programs, the rubric, shards, the CSV and the exit code.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaseResult } from '../../conformance/harness/report.js';
import { gradeExitCode, rootCauseText, type StudentGrade } from '../../grade/class-report.js';
import { loadPlan, parseShard, shardOf } from '../../grade/grade.js';
import { casePoints, caseScore, DEFAULT_RUBRIC, readRubric } from '../../grade/rubric.js';
import { findSubmissions, isProgram, pythonTraits, submissionAt } from '../../grade/submissions.js';
import { csvField, renderCsv } from '../../grade/tables.js';
import { REPO } from '../support/cli.js';

const SUBMISSIONS = join(REPO, 'test/fixtures/submissions');
const temps: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'chatkit-grade-unit-'));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('finding the programs of a submission', () => {
  it('takes the file that calls listen() as the server and the one that connects and reads input as the client, whatever their names', async () => {
    const s = await submissionAt('finn', join(SUBMISSIONS, 'finn'));
    expect(isProgram(s.server) && s.server.file).toBe('host.py');
    expect(isProgram(s.client) && s.client.file).toBe('guest.py');
    expect(isProgram(s.server) && s.server.command).toBe('python3 host.py');
  });

  it('says a GUI-only client (tkinter) is not judged, and why', async () => {
    const s = await submissionAt('ivan', join(SUBMISSIONS, 'ivan'));
    expect(isProgram(s.server)).toBe(true);
    expect(isProgram(s.client)).toBe(false);
    expect(!isProgram(s.client) && s.client.reason).toMatch(/GUI program/);
  });

  it('reports a submission without a server', async () => {
    const s = await submissionAt('uma', join(SUBMISSIONS, 'uma'));
    expect(!isProgram(s.server) && s.server.reason).toMatch(/^no server found: none of 1 \.py file calls listen\(\)/);
    expect(isProgram(s.client)).toBe(true);
  });

  it('treats a single .py file as a submission named by the file', async () => {
    const [s] = await findSubmissions([join(SUBMISSIONS, 'sam.py')]);
    expect(s!.student).toBe('sam.py');
    expect(isProgram(s!.server) && s!.server.file).toBe('sam.py');
    expect(!isProgram(s!.client) && s!.client.reason).toMatch(/no client found/);
  });

  it('expands a quoted glob, follows symlinked folders and sorts by student', async () => {
    const all = await findSubmissions([`${SUBMISSIONS}/*`]);
    const names = all.map((s) => s.student);
    expect(names).toEqual([...names].sort());
    expect(names).toContain('ben');
    expect(names).toContain('sam.py');
    expect(names.length).toBeGreaterThanOrEqual(12);
  });

  it('follows chatkit.json and --server-file over the rules', async () => {
    const dir = temp();
    const sub = join(dir, 'zoe');
    mkdirSync(sub);
    writeFileSync(join(sub, 'a.py'), 'import socket\ns=socket.socket()\ns.bind(("",1))\ns.listen()\n');
    writeFileSync(join(sub, 'b.py'), 'import socket\ns=socket.socket()\ns.bind(("",2))\ns.listen()\n');
    const byRule = await submissionAt('zoe', sub);
    expect(isProgram(byRule.server) && byRule.server.file).toBe('a.py');
    const byFlag = await submissionAt('zoe', sub, { serverFile: ['b*.py'] });
    expect(isProgram(byFlag.server) && byFlag.server.file).toBe('b.py');
    writeFileSync(join(sub, 'chatkit.json'), JSON.stringify({ server: { command: 'python3 b.py' }, client: null, prompt: 'Hii' }));
    const byConfig = await submissionAt('zoe', sub);
    expect(isProgram(byConfig.server) && byConfig.server.command).toBe('python3 b.py');
    expect(!isProgram(byConfig.client) && byConfig.client.reason).toMatch(/no client/);
    expect(byConfig.config.prompt).toBe('Hii');
    writeFileSync(join(sub, 'chatkit.json'), JSON.stringify({ sever: 'a.py' }));
    expect((await submissionAt('zoe', sub)).configError).toMatch(/sever/);
  });

  it('ignores calls in comments and strings', () => {
    expect(pythonTraits('# server.listen()\nprint("connect(")\n').listens).toBe(false);
    expect(pythonTraits('x = input("> ")\ns.connect((h, p))\n')).toMatchObject({ connects: true, readsInput: true, listens: false });
  });

  it('refuses two submissions with one name, and paths that name nothing', async () => {
    const dir = temp();
    mkdirSync(join(dir, 'a', 'kim'), { recursive: true });
    mkdirSync(join(dir, 'b', 'kim'), { recursive: true });
    await expect(findSubmissions([join(dir, 'a/kim'), join(dir, 'b/kim')])).rejects.toMatchObject({ code: 'GRADE_DUPLICATE_STUDENT' });
    await expect(findSubmissions([join(dir, 'nothing-*')])).rejects.toMatchObject({ code: 'GRADE_NO_SUBMISSIONS' });
  });
});

const aCase = (over: Partial<CaseResult>): CaseResult => ({
  id: 'nick.relay.echo',
  title: 't',
  dialect: 'nick',
  kind: 'server',
  level: 'MUST',
  profile: 'core',
  requirements: [{ id: 'NICK-RELAY-1', level: 'MUST', text: 'x' }],
  verdict: 'pass',
  durationMs: 1,
  attempts: 1,
  transcript: [],
  rerun: 'r',
  ...over,
});

describe('the rubric', () => {
  it('looks points up by case, then requirement, then profile, then level', () => {
    const rubric = { levels: { MUST: 2, SHOULD: 1 }, profiles: { robustness: 0.5 }, requirements: { 'NICK-RELAY-1': 5 }, cases: { 'nick.relay.echo': 9 } };
    expect(casePoints(rubric, aCase({}))).toBe(9);
    expect(casePoints(rubric, aCase({ id: 'nick.relay.all' }))).toBe(5);
    expect(casePoints(rubric, aCase({ id: 'x', requirements: [], profile: 'robustness' }))).toBe(0.5);
    expect(casePoints(rubric, aCase({ id: 'x', requirements: [], level: 'SHOULD' }))).toBe(1);
  });

  it('scores a passing case, not a failed or blocked one, and leaves a skipped one out of the maximum', () => {
    expect(caseScore(DEFAULT_RUBRIC, aCase({}))).toEqual({ score: 2, max: 2 });
    expect(caseScore(DEFAULT_RUBRIC, aCase({ verdict: 'blocked' }))).toEqual({ score: 0, max: 2 });
    expect(caseScore(DEFAULT_RUBRIC, aCase({ verdict: 'skip' }))).toEqual({ score: 0, max: 0 });
  });

  it('rejects a rubric of the wrong shape with RUBRIC_INVALID', () => {
    const file = join(temp(), 'rubric.json');
    writeFileSync(file, JSON.stringify({ levels: { MUST: -1 } }));
    expect(() => readRubric(file)).toThrow(expect.objectContaining({ code: 'RUBRIC_INVALID' }));
    writeFileSync(file, JSON.stringify({ profiles: { core: 3 } }));
    expect(readRubric(file).levels).toEqual({ MUST: 2, SHOULD: 1, INFO: 0 });
  });
});

describe('shards', () => {
  const students = Array.from({ length: 10 }, (_, i) => ({ student: `s${i}` }));
  it('splits a class into n disjoint slices that cover it', () => {
    const slices = [1, 2, 3].map((i) => shardOf(students, parseShard(`${i}/3`)).map((s) => s.student));
    expect(slices.flat().sort()).toEqual(students.map((s) => s.student).sort());
    expect(new Set(slices.flat()).size).toBe(10);
    expect(shardOf(students, parseShard('2/3'))).toEqual(shardOf(students, parseShard('2/3')));
  });
  it('rejects a shard that is not i/n', () => {
    for (const bad of ['0/3', '4/3', '1', 'a/b']) expect(() => parseShard(bad)).toThrow(expect.objectContaining({ code: 'GRADE_SHARD_INVALID' }));
  });
  it('stretches the bounds only past two targets per core', () => {
    expect(loadPlan(1, undefined, 1, 2)).toEqual({ caseJobs: 4, timeoutScale: 1 });
    expect(loadPlan(4, undefined, 1, 2)).toEqual({ caseJobs: 1, timeoutScale: 1 });
    expect(loadPlan(8, undefined, 1, 2)).toEqual({ caseJobs: 1, timeoutScale: 2 });
  });
});

const grade = (over: Partial<StudentGrade>): StudentGrade => ({
  student: 'ann',
  path: '/x/ann',
  verdict: 'pass',
  must: { passed: 1, total: 1 },
  should: { passed: 0, total: 0 },
  score: 2,
  maxScore: 2,
  notes: [],
  seconds: 1.25,
  ...over,
});

describe('grades.csv and the exit code', () => {
  it('quotes fields with commas, quotes and line breaks', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('plain')).toBe('plain');
  });

  it('writes the documented header and one row per student', () => {
    const csv = renderCsv({
      students: [
        grade({}),
        grade({ student: 'bo, jr', verdict: 'error', notJudged: { category: 'syntax-error', code: 'GRADE_SYNTAX_ERROR', reason: "SyntaxError: expected ':'" } }),
      ],
    });
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('student,verdict,must_passed,must_total,should_passed,should_total,score,max_score,first_root_cause,seconds');
    expect(lines[1]).toBe('ann,pass,1,1,0,0,2,2,,1.3');
    expect(lines[2]).toBe(`"bo, jr",error,1,1,0,0,2,2,not judged: SyntaxError: expected ':',1.3`);
  });

  it('names the first root cause by requirement and case, with the side when it is the client', () => {
    expect(rootCauseText(grade({ firstRootCause: { side: 'client', caseId: 'nick.client.x', requirement: 'NICK-CHAT-2', level: 'MUST', message: 'm', takesDown: 0 } }))).toBe('client NICK-CHAT-2 nick.client.x');
  });

  it('exits 0 when every submission was judged, 3 when none was, 1 with --fail-on any only', () => {
    const fail = grade({ verdict: 'fail' });
    const error = grade({ verdict: 'error' });
    expect(gradeExitCode([grade({}), fail], 'none')).toBe(0);
    expect(gradeExitCode([grade({}), error], 'none')).toBe(0);
    expect(gradeExitCode([error, error], 'none')).toBe(3);
    expect(gradeExitCode([grade({}), fail], 'any')).toBe(1);
    expect(gradeExitCode([grade({})], 'any')).toBe(0);
  });
});

describe('report.html', () => {
  it('escapes what students wrote (names, texts) so the page cannot be broken or scripted', async () => {
    const { renderHtml } = await import('../../grade/html.js');
    const g = grade({ student: '<script>x</script>', notes: ['said "<b>"'] });
    const html = renderHtml(
      {
        schema: 'chatkit-grade/1',
        chatkitVersion: '0',
        startedAt: 'now',
        seconds: 1,
        options: { profiles: ['core'], dialect: 'auto', jobs: 1, caseJobs: 1, timeoutScale: 1, learn: false, judgeClients: true },
        students: [g],
        exitCode: 0,
      },
      [{ grade: g }],
    );
    expect(html).not.toContain('<script>');
    expect(html).toContain('data-student="&lt;script&gt;x&lt;/script&gt;"');
    expect(html).toContain('said &quot;&lt;b&gt;&quot;');
    expect(html).not.toMatch(/<link|src=|href="http/);
  });
});
