/**
 * Hand-built run reports for the reporter tests: every verdict, a failure with several expected
 * alternatives, a transcript with non-text bytes and a `]]>`, and a target whose stderr holds ANSI
 * escapes (as the seed NICK server's does).
 */
import type { CaseResult, RunReport } from '../../conformance/harness/report.js';
import { REPORT_SCHEMA, summarise } from '../../conformance/harness/report.js';

const requirement = (id: string, level = 'MUST') => ({ id, level, text: `the text of ${id}` });

/** A case result with sensible defaults. */
export function caseResult(over: Partial<CaseResult> & Pick<CaseResult, 'id' | 'verdict'>): CaseResult {
  return {
    title: `the title of ${over.id}`,
    dialect: 'nick',
    kind: 'server',
    level: 'MUST',
    profile: 'core',
    requirements: [requirement('NICK-JOIN-1')],
    durationMs: 42,
    attempts: 1,
    transcript: [],
    rerun: `chatkit conform --target 127.0.0.1:5555 --dialect nick --only ${over.id}`,
    ...over,
  };
}

/** A failure of NICK-LEAVE-2 with two acceptable alternatives and a transcript worth escaping. */
export const FAILED: CaseResult = caseResult({
  id: 'nick.leave.ghost',
  verdict: 'fail',
  profile: 'robustness',
  requirements: [requirement('NICK-LEAVE-2'), requirement('ROBUST-EOF-1')],
  failure: {
    requirement: 'NICK-LEAVE-2',
    requirementText:
      'A NICK server MUST NOT send `<nick> joined!` or `<nick> left!` for a connection that never completed the handshake.',
    message: 'alice: a connection closed after the prompt was announced',
    expected: ['no " joined!"', 'Refused: <reason> then close'],
    actual: 'alice joined!Connected to server! joined! & <x> "q" ]]>',
    connection: 'alice',
    hint: 'When recv() returns b"" in the accept loop, close the connection instead of admitting it.',
  },
  transcript: [
    {
      label: 'alice',
      events: [
        { t: 0, dir: 'event', note: 'connected 127.0.0.1:40000 -> :5555' },
        { t: 1.5, dir: 'in', bytes: 'NICK' },
        { t: 2, dir: 'out', bytes: 'alice' },
        { t: 3.25, dir: 'in', bytes: 'alice joined!Connected to server!' },
        { t: 9, dir: 'in', bytes: ' joined!]]>', hex: '206a6f696e6564215d5d3e' },
      ],
    },
    {
      label: 'ghost',
      events: [
        { t: 5, dir: 'event', note: 'connected 127.0.0.1:40001 -> :5555' },
        { t: 6, dir: 'in', bytes: 'NICK' },
        { t: 7, dir: 'in', bytes: 'caf\\xc3\\xa9\\x00', hex: '636166c3a900' },
        { t: 8, dir: 'event', note: 'local close' },
      ],
    },
  ],
  targetOutput: { stdout: '\x1b[32m \tSERVER WORKING \x1b[0m\n', stderr: 'Traceback: BrokenPipeError\n' },
});

/** The whole report of a run with every verdict. */
export function mixedReport(over: Partial<RunReport['options']> = {}, cases?: CaseResult[]): RunReport {
  const all = cases ?? [
    caseResult({
      id: 'nick.handshake.prompt',
      verdict: 'pass',
      requirements: [requirement('NICK-PROMPT-1')],
    }),
    FAILED,
    caseResult({
      id: 'nick.nick.invalid',
      verdict: 'warn',
      level: 'SHOULD',
      profile: 'robustness',
      requirements: [requirement('NICK-NICK-3', 'SHOULD')],
      failure: {
        requirement: 'NICK-NICK-3',
        requirementText: 'A NICK server SHOULD refuse an invalid nickname.',
        message: 'the nickname "a:b" was admitted',
        expected: ['Refused: <reason>, then close', 'close without a message'],
        actual: 'a:b joined!',
        hint: 'Validate the nickname before adding it.',
      },
    }),
    caseResult({ id: 'nick.relay.split', verdict: 'flaky', attempts: 2 }),
    caseResult({ id: 'nick.slow.reader', verdict: 'skip', skipReason: 'needs --spawn to watch the process' }),
  ];
  const options = {
    profiles: ['core', 'robustness'] as RunReport['options']['profiles'],
    only: [],
    exclude: [],
    retries: 1,
    failOn: 'must' as const,
    ...over,
  };
  const { summary, exitCode } = summarise(all, options.failOn);
  return {
    schema: REPORT_SCHEMA,
    chatkitVersion: '0.1.0',
    startedAt: '2025-03-01T10:20:30.456Z',
    durationMs: 12_345,
    target: { address: '127.0.0.1:5555', dialect: 'nick', detected: true, prompt: 'NICK' },
    options,
    summary,
    cases: all,
    exitCode,
  };
}
