/**
 * `--reporter junit`: JUnit XML as CI systems read it (Jenkins, GitLab, GitHub test-report actions),
 * following the common JUnit schema: `<testsuites>` → one `<testsuite name="chatkit <dialect>">` →
 * one `<testcase>` per case.
 *
 * How verdicts map (docs/ci.md):
 * - `pass`: a passing testcase.
 * - `fail` (a MUST case): `<failure type="MUST">` with the requirement, every expected alternative,
 *   what arrived, the hint and the rerun command.
 * - `warn` (a SHOULD case): a PASSING testcase whose `<system-err>` starts with `WARNING`, so a
 *   SHOULD never breaks CI; with `--fail-on should` it is a `<failure type="SHOULD">` instead, as
 *   the exit code then fails too.
 * - `error` (could not be judged): `<error type="harness">`.
 * - `skip`: `<skipped>`.
 * - `blocked` (stands on a case that failed in the same run; neither pass nor fail):
 *   `<skipped message="blocked by <case id> (<requirement>)">`.
 * - a run that judged nothing (exit 3, `unjudged` set): one extra `<testcase name="chatkit conform: not judged">`
 *   with `<error type="unjudged">` carrying the reason, so CI never shows an empty, green suite.
 * - `flaky` (failed, then passed on a retry): a passing testcase with a `FLAKY` note in `<system-err>`.
 * - a failure listed in the baseline (`known`): `<skipped message="known failure (baseline) ...">`,
 *   the way pytest reports an expected failure, so it does not turn CI red while the exit code is 0.
 * Every case that did not plainly pass carries its wire transcript in `<system-out>`.
 *
 * The document is built with xmlbuilder2, which escapes text and attributes; what is ours is only
 * what no builder can do for us: characters XML 1.0 cannot carry at all are written in chatkit's
 * escaped form ({@link xmlSafe}). It validates against Jenkins' JUnit schema (test/conformance).
 *
 * @module
 */
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { CaseResult, RunReport } from '../harness/report.js';
import { blockedText, duringText, levelLine, requirementLevel, shown } from './pretty.js';
import { transcriptLines } from './transcript.js';

/** Most transcript lines one `<system-out>` holds (the JSON report has all). */
export const JUNIT_TRANSCRIPT_LINES = 400;
/** Longest escaped chunk shown whole in a JUnit transcript line. */
export const JUNIT_CHUNK_CHARS = 2_000;
/** Longest `message` attribute. */
export const JUNIT_MESSAGE_CHARS = 500;

/**
 * Characters XML 1.0 cannot carry at all (not even escaped): C0 controls other than TAB, LF, CR,
 * lone surrogates, U+FFFE and U+FFFF. They are written in chatkit's escaped form instead.
 */
const XML_FORBIDDEN =
  /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Replaces characters XML cannot hold by a visible escape (`\x1b`, `\ud800`). */
export function xmlSafe(text: string): string {
  return text.replace(XML_FORBIDDEN, (ch) => {
    const code = ch.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}

/**
 * An attribute value as every reader will see it: XML's attribute-value normalisation turns TAB,
 * CR and LF into spaces, so they are written as spaces (and a reader shows what the file says).
 */
function attrValue(value: string | number): string {
  return xmlSafe(String(value)).replace(/[\t\n\r]/g, ' ');
}

/** Attributes in the order given, without the undefined ones. */
function attrs(pairs: Record<string, string | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pairs)) if (v !== undefined) out[k] = attrValue(v);
  return out;
}

/** Adds `<tag attributes>text</tag>` (the text made XML-safe; the builder escapes it). */
function child(parent: XMLBuilder, tag: string, attributes: Record<string, string | number | undefined>, text?: string) {
  const element = parent.ele(tag, attrs(attributes));
  if (text !== undefined) element.txt(xmlSafe(text));
  return element;
}

const secs = (ms: number) => (ms / 1000).toFixed(3);
const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** The text of a failure or warning: requirement, expected alternatives, received, hint, rerun. */
function failureBody(c: CaseResult): string {
  const f = c.failure;
  if (!f) return '';
  return [
    `${f.requirement} (${requirementLevel(c)}): ${f.requirementText}`,
    ...(f.precondition ? [`a precondition failed: the one ${f.precondition} judges`] : []),
    `what went wrong: ${f.message}`,
    `expected${f.expected.length > 1 ? ' (any of these)' : ''}:`,
    ...f.expected.map((e) => `  ${shown(e)}`),
    'received:',
    `  ${shown(f.actual)}`,
    ...(f.hint ? [`hint: ${f.hint}`] : []),
    `rerun: ${c.rerun}`,
  ].join('\n');
}

function systemOut(c: CaseResult): string {
  const lines = transcriptLines(c, { maxBytesShown: JUNIT_CHUNK_CHARS });
  const shown =
    lines.length > JUNIT_TRANSCRIPT_LINES
      ? [`… ${lines.length - JUNIT_TRANSCRIPT_LINES} earlier lines`, ...lines.slice(-JUNIT_TRANSCRIPT_LINES)]
      : lines;
  const out = [`wire transcript of ${c.id} (time since the case started; one line per chunk):`, ...shown];
  if (c.targetOutput?.stdout.trim())
    out.push('', '--- target stdout (tail) ---', c.targetOutput.stdout.trimEnd());
  if (c.targetOutput?.stderr.trim())
    out.push('', '--- target stderr (tail) ---', c.targetOutput.stderr.trimEnd());
  return out.join('\n');
}

type Outcome = 'pass' | 'failure' | 'error' | 'skipped';

/** How a case shows in JUnit (see the module comment). */
export function junitOutcome(c: CaseResult, failOn: 'must' | 'should'): Outcome {
  if (c.baseline === 'known' && (c.verdict === 'fail' || c.verdict === 'warn')) return 'skipped';
  switch (c.verdict) {
    case 'fail':
      return 'failure';
    case 'warn':
      return failOn === 'should' ? 'failure' : 'pass';
    case 'error':
      return 'error';
    case 'skip':
    case 'blocked':
      return 'skipped';
    default:
      return 'pass';
  }
}

function testcase(suite: XMLBuilder, c: CaseResult, report: RunReport): void {
  const outcome = junitOutcome(c, report.options.failOn);
  const element = child(suite, 'testcase', {
    name: `${c.id}: ${c.title}`,
    classname: `chatkit.${c.dialect}.${c.profile}`,
    time: secs(c.durationMs),
  });
  const message = c.failure
    ? clip(`${c.failure.requirement}: ${c.failure.message}`, JUNIT_MESSAGE_CHARS)
    : '';
  if (outcome === 'skipped') {
    const why =
      c.verdict === 'skip'
        ? (c.skipReason ?? 'skipped')
        : c.verdict === 'blocked'
          ? blockedText(c)
          : `known failure (baseline): ${message || c.verdict}`;
    child(element, 'skipped', { message: clip(why, JUNIT_MESSAGE_CHARS) });
  } else if (outcome === 'error') {
    const error = c.error ?? 'the case could not be judged';
    child(element, 'error', { message: clip(error.split('\n')[0]!, JUNIT_MESSAGE_CHARS), type: 'harness' }, error);
  } else if (outcome === 'failure') {
    child(element, 'failure', { message, type: c.level === 'SHOULD' ? 'SHOULD' : 'MUST' }, failureBody(c));
  }
  const plainPass = c.verdict === 'pass' && c.baseline === undefined;
  if (!plainPass && c.transcript.length + (c.targetOutput ? 1 : 0) > 0 && c.verdict !== 'skip') {
    child(element, 'system-out', {}, systemOut(c));
  }
  const notes: string[] = [];
  if (c.verdict === 'warn' && outcome === 'pass') {
    notes.push(
      `WARNING (a SHOULD requirement; it fails the run only with --fail-on should)\n${failureBody(c)}`,
    );
  }
  if (outcome === 'skipped' && c.verdict !== 'skip' && c.verdict !== 'blocked') {
    notes.push(`KNOWN FAILURE (listed in the baseline; it does not fail the run)\n${failureBody(c)}`);
  }
  if (c.verdict === 'flaky') {
    notes.push(
      `FLAKY: failed, then passed on attempt ${c.attempts} (timing-dependent server or loaded machine)\n${failureBody(c)}`,
    );
  }
  if (c.baseline === 'fixed')
    notes.push('FIXED: listed in the baseline, passes now; remove it from the baseline');
  if (notes.length) child(element, 'system-err', {}, notes.join('\n\n').trimEnd());
}

/** The testcase that stands for a run that could not judge (everything): an error with the reason. */
function unjudgedTestcase(suite: XMLBuilder, report: RunReport): void {
  const u = report.unjudged;
  if (!u) return;
  const text = `${u.reason}${duringText(u)}`;
  const element = child(suite, 'testcase', {
    name: 'chatkit conform: not judged',
    classname: `chatkit.${report.target.dialect}.run`,
    time: '0.000',
  });
  child(element, 'error', { message: clip(text.split('\n')[0]!, JUNIT_MESSAGE_CHARS), type: 'unjudged' }, text);
}

/** The JUnit XML document of a run. */
export function renderJunit(report: RunReport): string {
  const outcomes: Outcome[] = [
    ...report.cases.map((c) => junitOutcome(c, report.options.failOn)),
    ...(report.unjudged ? (['error'] as const) : []),
  ];
  const n = (o: Outcome) => outcomes.filter((x) => x === o).length;
  const time = secs(report.durationMs);
  const t = report.target;
  const properties: Record<string, string | undefined> = {
    'chatkit.version': report.chatkitVersion,
    'report.schema': report.schema,
    target: t.address ?? t.spawn ?? t.client,
    'target.kind': t.address ? 'address' : t.spawn ? 'spawn' : 'client',
    dialect: t.dialect,
    'dialect.detected': String(t.detected),
    prompt: t.prompt,
    profiles: report.options.profiles.join(','),
    'fail-on': report.options.failOn,
    levels: levelLine(report),
    'exit-code': String(report.exitCode),
    seed: report.seed === undefined ? undefined : String(report.seed),
    unjudged: report.unjudged ? report.unjudged.reason : undefined,
  };
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const root = child(doc, 'testsuites', {
    name: 'chatkit conform',
    tests: outcomes.length,
    failures: n('failure'),
    errors: n('error'),
    time,
  });
  const suite = child(root, 'testsuite', {
    name: `chatkit ${t.dialect}`,
    tests: outcomes.length,
    failures: n('failure'),
    errors: n('error'),
    skipped: n('skipped'),
    time,
    timestamp: report.startedAt.slice(0, 19),
  });
  const props = suite.ele('properties');
  for (const [name, value] of Object.entries(properties))
    if (value !== undefined) child(props, 'property', { name, value });
  for (const c of report.cases) testcase(suite, c, report);
  unjudgedTestcase(suite, report);
  return `${doc.end({ prettyPrint: true })}\n`;
}
