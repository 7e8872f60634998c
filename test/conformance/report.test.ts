import { describe, expect, it } from 'vitest';
import { CONFORM_EXIT, runReportSchema, summarise } from '../../conformance/harness/report.js';
import { ReportSchemaError, renderJson } from '../../conformance/report/json.js';
import { caseDetails, LiveProgress, progressLine, renderPretty } from '../../conformance/report/pretty.js';
import { transcriptLines, transcriptTail } from '../../conformance/report/transcript.js';
import { caseResult, FAILED, mixedReport } from './report-fixtures.js';

const ANSI = /\x1b\[/;

describe('summarise and the exit code', () => {
  const pass = caseResult({ id: 'a', verdict: 'pass' });
  const fail = caseResult({ id: 'b', verdict: 'fail' });
  const warn = caseResult({ id: 'c', verdict: 'warn', level: 'SHOULD' });
  const error = caseResult({ id: 'd', verdict: 'error' });
  const skip = caseResult({ id: 'e', verdict: 'skip' });
  const flaky = caseResult({ id: 'f', verdict: 'flaky' });

  it('counts MUST and SHOULD over judged cases, flaky as passed', () => {
    const { summary } = summarise([pass, fail, warn, error, skip, flaky], 'must');
    expect(summary).toMatchObject({
      total: 6,
      pass: 1,
      fail: 1,
      warn: 1,
      skip: 1,
      flaky: 1,
      error: 1,
      must: { passed: 2, total: 3 },
      should: { passed: 0, total: 1 },
    });
  });

  it.each([
    ['every MUST passed', [pass, flaky, skip], 'must', CONFORM_EXIT.OK],
    ['a SHOULD warned, default --fail-on must', [pass, warn], 'must', CONFORM_EXIT.OK],
    ['a SHOULD warned, --fail-on should', [pass, warn], 'should', CONFORM_EXIT.FAILED],
    ['a MUST failed', [pass, fail], 'must', CONFORM_EXIT.FAILED],
    ['a MUST failed and another errored', [fail, error], 'must', CONFORM_EXIT.FAILED],
    ['nothing could be judged', [error, error], 'must', CONFORM_EXIT.UNJUDGED],
    ['only skips', [skip], 'must', CONFORM_EXIT.UNJUDGED],
    ['passes, but a MUST case could not be run', [pass, error], 'must', CONFORM_EXIT.UNJUDGED],
    [
      'a known (baseline) MUST failure',
      [pass, { ...fail, baseline: 'known' as const }],
      'must',
      CONFORM_EXIT.OK,
    ],
    [
      'a new failure beside a known one',
      [{ ...fail, baseline: 'new' as const }],
      'must',
      CONFORM_EXIT.FAILED,
    ],
    [
      'a known SHOULD warning with --fail-on should',
      [pass, { ...warn, baseline: 'known' as const }],
      'should',
      0,
    ],
  ] as const)('%s → exit %i', (_, cases, failOn, exit) => {
    expect(summarise(cases, failOn).exitCode).toBe(exit);
  });
});

describe('--reporter json', () => {
  it('writes a report that validates against runReportSchema and reads back equal', () => {
    const report = mixedReport();
    const text = renderJson(report);
    const back = JSON.parse(text);
    expect(runReportSchema.parse(back)).toEqual(report);
    expect(back.schema).toBe('chatkit-conformance/2');
  });

  it('refuses to write a report that breaks its own schema', () => {
    const broken = { ...mixedReport(), cases: [{ ...FAILED, verdict: 'maybe' }] } as never;
    expect(() => renderJson(broken)).toThrow(ReportSchemaError);
    try {
      renderJson(broken);
    } catch (error) {
      expect((error as ReportSchemaError).code).toBe('REPORT_INVALID');
      expect((error as Error).message).toMatch(/cases\.0\.verdict/);
    }
  });
});

describe('the wire transcript', () => {
  it('merges connections in time order, one line per chunk, with byte counts and hex for non-text', () => {
    const lines = transcriptLines(FAILED);
    expect(lines).toHaveLength(9);
    expect(lines[0]).toMatch(/^ +\+0\.0ms {2}alice +--- {2}connected/);
    expect(lines[1]).toMatch(/\+1\.5ms {2}alice +in {3}"NICK" \(4 B\)$/);
    expect(lines[2]).toMatch(/out {2}"alice" \(5 B\)$/);
    // ghost's events (t=5..8) come before alice's last chunk (t=9).
    expect(lines.map((l) => l.includes('ghost'))).toEqual([
      false,
      false,
      false,
      false,
      true,
      true,
      true,
      true,
      false,
    ]);
    expect(lines[6]).toContain('"caf\\xc3\\xa9\\x00" (6 B)  hex 636166c3a900');
  });

  it('shortens long chunks in the middle and keeps the tail of long transcripts', () => {
    const long = {
      ...FAILED,
      transcript: [{ label: 'x', events: [{ t: 1, dir: 'in' as const, bytes: `${'a'.repeat(500)}END` }] }],
    };
    const [line] = transcriptLines(long, { maxBytesShown: 50 });
    expect(line).toContain('…');
    expect(line).toContain('END" (503 B)');
    const elided = {
      ...FAILED,
      transcript: [
        {
          label: 'x',
          events: [{ t: 1, dir: 'in' as const, bytes: 'abc', note: '900 bytes, the first 3 shown' }],
        },
      ],
    };
    expect(transcriptLines(elided)[0]).toContain('"abc" (3 B)  [900 bytes, the first 3 shown]');
    const tail = transcriptTail(FAILED, 3);
    expect(tail).toHaveLength(4);
    expect(tail[0]).toMatch(/6 earlier lines/);
  });
});

describe('--reporter pretty', () => {
  it('plain text has no ANSI escape at all; colour is only on request', () => {
    const report = mixedReport();
    expect(renderPretty(report, { color: false })).not.toMatch(ANSI);
    expect(renderPretty(report, { color: true })).toMatch(ANSI);
  });

  it('shows a failure with requirement ID and text, every alternative, what arrived, transcript, hint and rerun', () => {
    const text = caseDetails(FAILED, { color: false });
    expect(text).toContain('FAIL  nick.leave.ghost: the title of nick.leave.ghost');
    expect(text).toContain('NICK-LEAVE-2 (MUST): A NICK server MUST NOT send');
    expect(text).toContain('what went wrong: alice: a connection closed after the prompt was announced');
    expect(text).toContain('expected (any of these):\n    no " joined!"\n    "Refused: <reason> then close"');
    expect(text).toContain('received:\n    alice joined!Connected to server! joined! & <x> "q" ]]>\n');
    expect(text).toContain('wire transcript');
    expect(text).toContain('ghost  in   "caf\\xc3\\xa9\\x00" (6 B)  hex 636166c3a900');
    expect(text).toContain('target stderr (last lines):\n    Traceback: BrokenPipeError');
    expect(text).toContain('hint: When recv() returns b"" in the accept loop');
    expect(text).toContain(
      'rerun: chatkit conform --target 127.0.0.1:5555 --dialect nick --only nick.leave.ghost',
    );
  });

  it('prints one progress line per case and a summary with levels, counts, time and the exit meaning', () => {
    const text = renderPretty(mixedReport(), { color: false });
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'chatkit conform 0.1.0: nick dialect (prompt "NICK"), detected · 127.0.0.1:5555 · profiles core, robustness',
    );
    expect(lines.slice(1, 6)).toEqual([
      '[1/5] PASS  nick.handshake.prompt (42 ms)',
      '[2/5] FAIL  nick.leave.ghost (42 ms)',
      '[3/5] WARN  nick.nick.invalid (42 ms)',
      '[4/5] FLAKY nick.relay.split (42 ms, 2 attempts)',
      '[5/5] SKIP  nick.slow.reader (42 ms)',
    ]);
    expect(text).toContain(
      'MUST 2/3 · SHOULD 0/1  ·  5 cases: 1 pass, 1 fail, 1 warn, 1 flaky, 1 skip  ·  12.3 s',
    );
    expect(text).toContain('does not conform (nick, core, robustness): 1 MUST case failed (exit 1)');
    // The warning is explained too, with both alternatives.
    expect(text).toContain('NICK-NICK-3 (SHOULD): A NICK server SHOULD refuse');
    expect(text).toContain('"close without a message"');
    expect(text).toContain('skipped: needs --spawn to watch the process');
  });

  it('says why the run passed or was not judged', () => {
    const ok = mixedReport({}, [caseResult({ id: 'a', verdict: 'pass' })]);
    expect(renderPretty(ok, { color: false })).toContain(
      'conforms (nick, core, robustness): every MUST case passed (exit 0)',
    );
    const unjudged = mixedReport({}, [
      caseResult({ id: 'a', verdict: 'error', error: 'harness error: boom' }),
    ]);
    const text = renderPretty(unjudged, { color: false });
    expect(text).toContain('not judged: 1 case(s) could not be run');
    expect(text).toContain('harness error: boom');
  });

  it('draws a spinner only on a terminal, and plain progress lines otherwise', () => {
    const written: string[] = [];
    const stream = { write: (s: string) => written.push(s) } as unknown as NodeJS.WritableStream;
    const plain = new LiveProgress(stream, false, { color: false });
    plain.caseStarted('a', 0, 1);
    plain.caseEnded(caseResult({ id: 'a', verdict: 'pass' }), 0, 1);
    plain.stop();
    expect(written).toEqual(['[1/1] PASS  a (42 ms)\n']);
    written.length = 0;
    const tty = new LiveProgress(stream, true, { color: false });
    tty.caseStarted('a', 0, 1);
    tty.caseEnded(caseResult({ id: 'a', verdict: 'pass' }), 0, 1);
    tty.stop();
    expect(written.join('')).toMatch(/\r\x1b\[K. \[1\/1\] a/);
    expect(written).toContain('[1/1] PASS  a (42 ms)\n');
  });

  it('marks known and fixed baseline cases', () => {
    const known = { ...FAILED, baseline: 'known' as const };
    expect(progressLine(known, 0, 1, { color: false })).toBe('[1/1] FAIL  (known) nick.leave.ghost (42 ms)');
    const report = mixedReport({}, [known, caseResult({ id: 'x', verdict: 'pass', baseline: 'fixed' })]);
    const text = renderPretty({ ...report, staleBaseline: ['nick.gone'] }, { color: false });
    expect(text).toContain('baseline: 1 known failure(s), reported but not failing the run');
    expect(text).toContain('baseline: 1 fixed: x (remove them, or run with --update-baseline)');
    expect(text).toContain('baseline: 1 stale entry naming no case: nick.gone');
    expect(text).toContain('conforms');
  });
});
