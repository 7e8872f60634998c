import { describe, expect, it } from 'vitest';
import { junitOutcome, renderJunit, xmlSafe } from '../../conformance/report/junit.js';
import { attrsOf, checkJunit, findAll, JUNIT_4_XSD, parseJunit, schemaErrors, textOf } from './junit-schema.js';
import { caseResult, FAILED, mixedReport } from './report-fixtures.js';

const testcases = (xml: string) => findAll(parseJunit(xml), 'testcase');
const byId = (xml: string, id: string) => {
  const found = testcases(xml).find((t) => attrsOf(t).name!.startsWith(`${id}: `));
  if (!found) throw new Error(`no testcase ${id}`);
  return found;
};
const childTags = (node: Record<string, unknown>) =>
  (node.testcase as Record<string, unknown>[])
    .map((c) => Object.keys(c).find((k) => k !== ':@'))
    .filter((tag) => tag !== '#text');

describe('--reporter junit', () => {
  it('validates against Jenkins\' JUnit schema with xmllint, counts included', async () => {
    const xml = renderJunit(mixedReport());
    expect(await checkJunit(xml)).toEqual([]);
    const suite = findAll(parseJunit(xml), 'testsuite')[0]!;
    expect(attrsOf(suite)).toMatchObject({
      name: 'chatkit nick',
      tests: '5',
      failures: '1',
      errors: '0',
      skipped: '1',
      time: '12.345',
      timestamp: '2025-03-01T10:20:30',
    });
  });

  it('differs from junit-4.xsd as shipped only in the message on <skipped> (junit-10.xsd allows it)', async () => {
    const xml = renderJunit(mixedReport());
    const skipped = findAll(parseJunit(xml), 'skipped').length;
    expect(skipped).toBeGreaterThan(0);
    expect(await schemaErrors(xml, JUNIT_4_XSD)).toEqual(
      Array.from({ length: skipped }, () => "Schemas validity error : Element 'skipped', attribute 'message': The attribute 'message' is not allowed."),
    );
  });

  it('the validator catches what breaks the schema (so passing it means something)', async () => {
    const good = renderJunit(mixedReport());
    expect(
      await checkJunit(good.replace('failures="1" errors="0" skipped', 'failures="2" errors="0" skipped')),
    ).toEqual(['testsuite @failures="2" but 1 found']);
    expect((await checkJunit(good.replace('<testcase name=', '<testcase bogus="1" name=')))[0]).toMatch(
      /attribute 'bogus' is not allowed/,
    );
    expect((await checkJunit(good.replace('</testsuites>', ''))).join('\n')).toMatch(/Premature end of data|EndTag/);
    expect((await checkJunit(good.replace('<testsuite name="chatkit nick" tests="5"', '<testsuite name="chatkit nick"')))[0]).toMatch(/attribute 'tests' is required/);
    const misordered = good.replace(/(<skipped [^>]*\/>)/, '<system-out>x</system-out>$1');
    expect((await checkJunit(misordered))[0]).toMatch(/Element 'skipped': This element is not expected/);
  });

  it('names each testcase "<id>: <title>" with classname chatkit.<dialect>.<profile> and time in seconds', () => {
    const t = byId(renderJunit(mixedReport()), 'nick.leave.ghost');
    expect(attrsOf(t)).toEqual({
      name: 'nick.leave.ghost: the title of nick.leave.ghost',
      classname: 'chatkit.nick.robustness',
      time: '0.042',
    });
  });

  it('a MUST failure is <failure type="MUST"> with requirement, every alternative, received, hint and rerun', () => {
    const t = byId(renderJunit(mixedReport()), 'nick.leave.ghost');
    expect(childTags(t)).toEqual(['failure', 'system-out']);
    const failure = findAll([t], 'failure')[0]!;
    expect(attrsOf(failure)).toEqual({
      message: 'NICK-LEAVE-2: alice: a connection closed after the prompt was announced',
      type: 'MUST',
    });
    const body = textOf(failure);
    expect(body).toContain('NICK-LEAVE-2 (MUST): A NICK server MUST NOT send `<nick> joined!`');
    expect(body).toContain('expected (any of these):\n  no " joined!"\n  "Refused: <reason> then close"');
    expect(body).toContain('received:\n  alice joined!Connected to server! joined! & <x> "q" ]]>');
    expect(body).toContain('hint: When recv()');
    expect(body).toContain('rerun: chatkit conform');
  });

  it('keeps the transcript whole in <system-out>, "]]>" and bytes XML cannot hold included', () => {
    const out = textOf(findAll([byId(renderJunit(mixedReport()), 'nick.leave.ghost')], 'system-out')[0]!);
    expect(out).toContain('alice  in   " joined!]]>" (11 B)  hex 206a6f696e6564215d5d3e');
    expect(out).toContain('ghost  in   "caf\\xc3\\xa9\\x00" (6 B)  hex 636166c3a900');
    // The seed server prints ANSI colours: ESC cannot appear in XML 1.0, so it is escaped.
    expect(out).toContain('--- target stdout (tail) ---\n\\x1b[32m \tSERVER WORKING \\x1b[0m');
    expect(out).toContain('--- target stderr (tail) ---\nTraceback: BrokenPipeError');
  });

  it('a SHOULD warning passes with a WARNING in <system-err>, unless --fail-on should makes it a failure', async () => {
    const relaxed = byId(renderJunit(mixedReport()), 'nick.nick.invalid');
    expect(childTags(relaxed)).toEqual(['system-err']);
    expect(textOf(findAll([relaxed], 'system-err')[0]!)).toMatch(/^WARNING \(a SHOULD requirement/);
    const strictXml = renderJunit(mixedReport({ failOn: 'should' }));
    expect(await checkJunit(strictXml)).toEqual([]);
    const strict = byId(strictXml, 'nick.nick.invalid');
    expect(childTags(strict)).toEqual(['failure']);
    expect(attrsOf(findAll([strict], 'failure')[0]!).type).toBe('SHOULD');
  });

  it('maps error, skip, flaky, known and fixed as documented', async () => {
    const report = mixedReport({}, [
      caseResult({ id: 'e', verdict: 'error', error: 'harness error: Error: boom\n    at x.ts:1' }),
      caseResult({ id: 's', verdict: 'skip', skipReason: 'needs --spawn' }),
      caseResult({ id: 'f', verdict: 'flaky', attempts: 2, failure: FAILED.failure! }),
      { ...FAILED, id: 'k', baseline: 'known' },
      caseResult({ id: 'x', verdict: 'pass', baseline: 'fixed' }),
    ]);
    const xml = renderJunit(report);
    expect(await checkJunit(xml)).toEqual([]);
    const error = byId(xml, 'e');
    expect(childTags(error)).toEqual(['error']);
    expect(attrsOf(findAll([error], 'error')[0]!)).toEqual({
      message: 'harness error: Error: boom',
      type: 'harness',
    });
    expect(attrsOf(findAll([byId(xml, 's')], 'skipped')[0]!).message).toBe('needs --spawn');
    const flaky = byId(xml, 'f');
    expect(childTags(flaky)).toEqual(['system-err']);
    expect(textOf(findAll([flaky], 'system-err')[0]!)).toMatch(/^FLAKY: failed, then passed on attempt 2/);
    const known = byId(xml, 'k');
    expect(childTags(known)).toEqual(['skipped', 'system-out', 'system-err']);
    expect(attrsOf(findAll([known], 'skipped')[0]!).message).toMatch(
      /^known failure \(baseline\): NICK-LEAVE-2/,
    );
    expect(textOf(findAll([byId(xml, 'x')], 'system-err')[0]!)).toMatch(/^FIXED/);
    expect(junitOutcome({ ...FAILED, baseline: 'known' }, 'must')).toBe('skipped');
  });

  it('keeps quotes, markup characters and "]]>" through the builder; escapes what XML cannot hold', async () => {
    expect(xmlSafe('ok\x00\x1b\x7f\ud800!')).toBe('ok\\x00\\x1b\x7f\\ud800!');
    expect(xmlSafe('😀')).toBe('😀');
    const nasty = mixedReport({}, [
      caseResult({
        id: 'q',
        verdict: 'error',
        title: 'title with "quotes" & <tags> \x01',
        error: ']]> \x02 <error>',
      }),
    ]);
    const xml = renderJunit(nasty);
    expect(await checkJunit(xml)).toEqual([]);
    expect(attrsOf(byId(xml, 'q')).name).toBe('q: title with "quotes" & <tags> \\x01');
    expect(textOf(findAll([byId(xml, 'q')], 'error')[0]!)).toBe(']]> \\x02 <error>');
  });
});
