/**
 * The report for people (`--reporter pretty`, the default): live progress, one line per case as it
 * finishes (with a spinner on a terminal), then one line saying what to fix first, then the cases
 * that did not pass grouped by root cause (a failure with the cases it blocks), each with the
 * requirement (ID and text), every acceptable alternative versus what arrived, the end of the wire
 * transcript (repeats folded), a hint where one fits and the command that reruns just that case;
 * then the summary. Everything but the live
 * progress is rendered from the {@link RunReport}, never from live state.
 *
 * Colours only when asked (the command asks on a terminal without `NO_COLOR`); plain text has no
 * ANSI escape at all.
 *
 * @module
 */
import { CLEAR_LINE, painter, type Style } from '../../src/color.js';
import type { CaseResult, RunReport, VerdictName } from '../harness/report.js';
import { CONFORM_EXIT } from '../harness/report.js';
import { transcriptTail } from './transcript.js';

/** How many transcript lines a failure shows. */
export const PRETTY_TRANSCRIPT_LINES = 24;
/** Longest escaped chunk shown whole in a transcript line (longer ones are cut in the middle). */
export const PRETTY_CHUNK_CHARS = 160;
/** Longest "received" text shown in a failure. */
export const PRETTY_ACTUAL_CHARS = 800;

/** Options of the pretty renderers. */
export interface PrettyOptions {
  /** ANSI colours. */
  readonly color: boolean;
}

const VERDICT_STYLE: Record<VerdictName, Style> = {
  pass: 'green',
  fail: 'red',
  warn: 'yellow',
  skip: 'gray',
  flaky: 'magenta',
  error: 'red',
  blocked: 'gray',
};

/** `PASS`, `FAIL`... padded to one width, coloured when asked. */
export function verdictLabel(result: Pick<CaseResult, 'verdict' | 'baseline'>, options: PrettyOptions) {
  const paint = painter(options.color);
  const word = result.verdict.toUpperCase().padEnd(5);
  const known = result.baseline === 'known' ? ` ${paint('gray', '(known)')}` : '';
  const fixed = result.baseline === 'fixed' ? ` ${paint('cyan', '(fixed)')}` : '';
  return `${paint(VERDICT_STYLE[result.verdict], word)}${known}${fixed}`;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The progress line of a finished case: `PASS  nick.join.broadcast  (42 ms)`. */
export function progressLine(result: CaseResult, index: number, total: number, options: PrettyOptions) {
  const paint = painter(options.color);
  const counter = paint('gray', `[${String(index + 1).padStart(String(total).length)}/${total}]`);
  const attempts = result.attempts > 1 ? paint('gray', `, ${result.attempts} attempts`) : '';
  const blocked = result.verdict === 'blocked' ? ` ${paint('gray', blockedText(result))}` : '';
  return `${counter} ${verdictLabel(result, options)} ${result.id}${blocked} ${paint('gray', `(${seconds(result.durationMs)}`)}${attempts}${paint('gray', ')')}`;
}

/**
 * An expected alternative or a received text as shown: escaped bytes in quotes (so spaces at either
 * end show), but a description that already quotes bytes (`no "x joined!"`) as it is.
 */
export function shown(text: string): string {
  return text.includes('"') ? text : `"${text}"`;
}

function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n');
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/**
 * The level of the sentence a failure broke. A case's level is the level of the sentence it checks
 * (spec §9.2), so a WARN case that checks the SHOULD sentence of a MUST block shows SHOULD; a failed
 * precondition shows its own requirement's level.
 */
export function requirementLevel(result: CaseResult): string {
  const f = result.failure;
  const listed = f ? result.requirements.find((r) => r.id === f.requirement)?.level : undefined;
  if (f?.precondition !== undefined && listed !== undefined && listed !== '?') return listed;
  return result.level;
}

/** ` (during <case>)` when the reason does not name that case already, else nothing. */
export function duringText(unjudged: NonNullable<RunReport['unjudged']>): string {
  const { reason, during } = unjudged;
  return during !== undefined && !reason.includes(during) ? ` (during ${during})` : '';
}

/** `blocked by nick.relay.echo (NICK-RELAY-1)`, or what a blocked case without its blocker says. */
export function blockedText(result: Pick<CaseResult, 'blockedBy'>): string {
  const by = result.blockedBy;
  return by ? `blocked by ${by.id} (${by.requirement})` : 'blocked by a case that failed';
}

/** What a case that did not pass shows: requirement, expected vs received, transcript, hint, rerun. */
export function caseDetails(result: CaseResult, options: PrettyOptions): string {
  const paint = painter(options.color);
  const out: string[] = [];
  out.push(`${verdictLabel(result, options)} ${paint('bold', result.id)}: ${result.title}`);
  if (result.verdict === 'blocked') {
    out.push(`  ${blockedText(result)}: neither a pass nor a fail; fix that case first, then rerun`);
    out.push(`  ${paint('cyan', 'rerun:')} ${result.rerun}`);
    return out.join('\n');
  }
  const f = result.failure;
  if (f) {
    out.push(
      `  ${paint('bold', `${f.requirement} (${requirementLevel(result)})`)}: ${f.requirementText || '(not in the spec)'}`,
    );
    if (f.precondition !== undefined) {
      out.push(`  a precondition of this case failed: the one ${f.precondition} judges`);
    }
    out.push(`  what went wrong: ${f.message}`);
    out.push(`  expected${f.expected.length > 1 ? ' (any of these)' : ''}:`);
    for (const alternative of f.expected) out.push(`    ${paint('green', shown(alternative))}`);
    out.push('  received:');
    out.push(`    ${paint('red', shown(cut(f.actual, PRETTY_ACTUAL_CHARS)))}`);
  }
  if (result.verdict === 'error' && result.error) {
    out.push('  the case could not be judged (neither a pass nor a fail):');
    out.push(indent(cut(result.error, 2000)));
  }
  if (result.verdict === 'skip' && result.skipReason) out.push(`  skipped: ${result.skipReason}`);
  if (result.verdict === 'flaky') {
    out.push(
      `  failed, then passed on attempt ${result.attempts}: a timing-dependent server, or a loaded machine`,
    );
  }
  if (result.baseline === 'known')
    out.push('  listed in the baseline: reported, but it does not fail the run');
  if (result.transcript.length > 0 && result.verdict !== 'skip') {
    out.push(`  wire transcript (time since the case started; one line per chunk):`);
    for (const line of transcriptTail(result, PRETTY_TRANSCRIPT_LINES, {
      maxBytesShown: PRETTY_CHUNK_CHARS,
    })) {
      out.push(`    ${paint('gray', line)}`);
    }
  }
  const stderr = result.targetOutput?.stderr.trim();
  if (stderr && result.verdict !== 'pass') {
    out.push('  target stderr (last lines):');
    out.push(indent(paint('gray', stderr.split('\n').slice(-8).join('\n'))));
  }
  if (f?.hint) out.push(`  ${paint('cyan', 'hint:')} ${f.hint}`);
  out.push(`  ${paint('cyan', 'rerun:')} ${result.rerun}`);
  return out.join('\n');
}

/** `MUST 23/23 · SHOULD 4/5`: what the badge says too. */
export function levelLine(report: RunReport): string {
  const { must, should } = report.summary;
  return should.total > 0
    ? `MUST ${must.passed}/${must.total} · SHOULD ${should.passed}/${should.total}`
    : `MUST ${must.passed}/${must.total}`;
}

/** The summary block: levels, counts per verdict, time, baseline news, and what the exit code means. */
export function summaryBlock(report: RunReport, options: PrettyOptions): string {
  const paint = painter(options.color);
  const s = report.summary;
  const counts = (['pass', 'fail', 'warn', 'flaky', 'blocked', 'skip', 'error'] as const)
    .filter((v) => s[v] > 0)
    .map((v) => paint(VERDICT_STYLE[v], `${s[v]} ${v}`))
    .join(', ');
  const out = [
    `${paint('bold', levelLine(report))}  ·  ${s.total} case${s.total === 1 ? '' : 's'}: ${counts || 'none'}  ·  ${seconds(report.durationMs)}`,
  ];
  const known = report.cases.filter((c) => c.baseline === 'known');
  const fixed = report.cases.filter((c) => c.baseline === 'fixed');
  const fresh = report.cases.filter((c) => c.baseline === 'new');
  if (known.length) out.push(`baseline: ${known.length} known failure(s), reported but not failing the run`);
  if (fresh.length)
    out.push(`baseline: ${fresh.length} new failure(s): ${fresh.map((c) => c.id).join(', ')}`);
  if (fixed.length) {
    out.push(
      `baseline: ${fixed.length} fixed: ${fixed.map((c) => c.id).join(', ')} (remove them, or run with --update-baseline)`,
    );
  }
  if (report.staleBaseline?.length) {
    out.push(
      `baseline: ${report.staleBaseline.length} stale entr${report.staleBaseline.length === 1 ? 'y' : 'ies'} naming no case: ${report.staleBaseline.join(', ')}`,
    );
  }
  out.push(verdictSentence(report, options));
  return out.join('\n');
}

function verdictSentence(report: RunReport, options: PrettyOptions): string {
  const paint = painter(options.color);
  const profiles = report.options.only.length
    ? `--only ${report.options.only.join(',')}`
    : report.options.profiles.join(', ');
  const failing = (level: 'MUST' | 'SHOULD') =>
    report.cases.filter(
      (c) => c.level === level && (c.verdict === 'fail' || c.verdict === 'warn') && c.baseline !== 'known',
    ).length;
  switch (report.exitCode) {
    case CONFORM_EXIT.OK:
      return paint(
        'green',
        `conforms (${report.target.dialect}, ${profiles}): every MUST case passed${report.options.failOn === 'should' ? ', and every SHOULD case' : ''} (exit 0)`,
      );
    case CONFORM_EXIT.FAILED: {
      const must = failing('MUST');
      const why =
        must > 0
          ? `${must} MUST case${must === 1 ? '' : 's'} failed`
          : `${failing('SHOULD')} SHOULD case(s) warned and --fail-on should is set`;
      return paint('red', `does not conform (${report.target.dialect}, ${profiles}): ${why} (exit 1)`);
    }
    default: {
      const { error, skip } = report.summary;
      const u = report.unjudged;
      const why = u
        ? `${u.reason}${duringText(u)}`
        : error > 0
          ? `${error} case(s) could not be run (see the errors above)`
          : `every case was skipped (see the reasons above)${skip > 0 ? '' : ': none ran'}`;
      return paint('red', `not judged: ${why} (exit ${report.exitCode})`);
    }
  }
}

/** The whole report after the run: a line per case, the details of each that did not pass, the summary. */
export function renderPretty(report: RunReport, options: PrettyOptions): string {
  const out: string[] = [headerLine(report)];
  report.cases.forEach((c, i) => {
    out.push(progressLine(c, i, report.cases.length, options));
  });
  out.push(detailsAndSummary(report, options));
  return `${out.join('\n')}\n`;
}

/** The header: what was judged, where. */
export function headerLine(report: RunReport): string {
  const t = report.target;
  const where = t.address ?? (t.spawn ? `spawn "${t.spawn}"` : t.client ? `client "${t.client}"` : '?');
  const prompt = t.dialect === 'nick' && t.prompt ? ` (prompt "${t.prompt}")` : '';
  return `chatkit conform ${report.chatkitVersion}: ${t.dialect} dialect${prompt}${t.detected ? ', detected' : ''} · ${where} · profiles ${report.options.profiles.join(', ')}`;
}

/** A root cause and what it took down with it: cases it blocks, and failures of its precondition. */
export interface FailureGroup {
  /** The case that failed (or errored, or was flaky) in its own right. */
  readonly root: CaseResult;
  /** Cases blocked by the root, and cases whose failure is the root's precondition. */
  readonly members: readonly CaseResult[];
}

const ROOT_VERDICTS: ReadonlySet<VerdictName> = new Set(['fail', 'warn', 'error', 'flaky']);

/**
 * Groups the cases that did not pass by root cause: each failing case with the cases it blocks and
 * the failures that cite it as their precondition. Groups come shortest first (fewest cases, then
 * MUST before SHOULD, then run order), so one-case problems are not buried under a large one. A
 * blocked case whose blocker is not in the report forms a group of its own.
 */
export function failureGroups(report: RunReport): FailureGroup[] {
  const byId = new Map(report.cases.map((c) => [c.id, c]));
  const isRoot = (c: CaseResult) => ROOT_VERDICTS.has(c.verdict) || c.verdict === 'blocked';
  // The case a result hangs on, when that case is itself a root in this run.
  const parentOf = (c: CaseResult): string | undefined => {
    const id = c.verdict === 'blocked' ? c.blockedBy?.id : c.failure?.precondition;
    const parent = id === undefined || id === c.id ? undefined : byId.get(id);
    return parent && ROOT_VERDICTS.has(parent.verdict) ? parent.id : undefined;
  };
  // Follow the chain to its top, so a case blocked by a blocked case joins the first failure.
  const topOf = (c: CaseResult): string => {
    const seen = new Set<string>([c.id]);
    let id = c.id;
    for (let p = parentOf(c); p !== undefined && !seen.has(p); p = parentOf(byId.get(p)!)) {
      seen.add(p);
      id = p;
    }
    return id;
  };
  const groups = new Map<string, { root: CaseResult; members: CaseResult[]; order: number }>();
  report.cases.forEach((c, order) => {
    if (!isRoot(c)) return;
    const top = topOf(c);
    if (top === c.id) {
      const existing = groups.get(c.id);
      if (existing) existing.root = c;
      else groups.set(c.id, { root: c, members: [], order });
      return;
    }
    const group = groups.get(top) ?? { root: byId.get(top)!, members: [], order: report.cases.indexOf(byId.get(top)!) };
    group.members.push(c);
    groups.set(top, group);
  });
  const rank = (c: CaseResult) => (c.level === 'MUST' ? 0 : c.level === 'SHOULD' ? 1 : 2);
  return [...groups.values()]
    .sort(
      (a, b) =>
        a.members.length - b.members.length || rank(a.root) - rank(b.root) || a.order - b.order,
    )
    .map(({ root, members }) => ({ root, members }));
}

/**
 * The root cause to fix first: the MUST failure that takes the most cases down with it (ties: the
 * first in the run), else an error, else the first SHOULD warning; undefined when nothing failed.
 * `chatkit grade` reports it as a student's first root cause.
 */
export function firstRootCause(report: RunReport, groups = failureGroups(report)): FailureGroup | undefined {
  const weight = (g: FailureGroup) =>
    (g.root.verdict === 'fail' ? 0 : g.root.verdict === 'error' ? 1 : g.root.verdict === 'warn' ? 2 : 3);
  const candidates = groups.filter((g) => g.root.verdict !== 'flaky' && g.root.verdict !== 'blocked');
  return [...candidates].sort(
    (a, b) =>
      weight(a) - weight(b) ||
      b.members.length - a.members.length ||
      report.cases.indexOf(a.root) - report.cases.indexOf(b.root),
  )[0];
}

/**
 * The one line that says what to fix first: the MUST failure that takes the most cases down with it
 * (ties: the first in the run), else the first SHOULD warning; undefined when nothing failed.
 */
export function fixFirstLine(report: RunReport, groups = failureGroups(report)): string | undefined {
  const first = firstRootCause(report, groups);
  if (!first) return undefined;
  const candidates = groups.filter((g) => g.root.verdict !== 'flaky' && g.root.verdict !== 'blocked');
  const r = first.root;
  const what = r.failure
    ? `${r.id} (${r.failure.requirement}): ${r.failure.message}`
    : `${r.id}: the case could not be judged`;
  const takes = first.members.length
    ? `; it takes ${first.members.length} other case${first.members.length === 1 ? '' : 's'} down with it`
    : '';
  const more = candidates.length > 1 ? ` (${candidates.length} root causes in all, below)` : '';
  return `fix first: ${what}${takes}${more}`;
}

/** Marks a live failure line: settled once the run ends (blocking.ts). */
export const PROVISIONAL = '(provisional: root causes are settled at the end)';

/** The wording variant a run judged against, and each difference from the spec's texts, once, at INFO. */
export function variantLines(report: RunReport): string[] {
  const v = report.variant;
  if (v === undefined) return [];
  const from = v.source === 'learned' ? 'learned from a first session (--learn)' : `from ${v.file ?? 'a file'} (--variant)`;
  return [
    `wording variant ${from}: behaviour judged against its texts; a difference from the spec's is INFO and does not fail the run`,
    ...(v.deviations.length === 0 ? ['  (the same texts as the spec)'] : []),
    ...v.deviations.map((d) => `  INFO ${d.requirement}: ${d.message}`),
    ...v.missing.map((m) => `  not learned: ${m} (the spec's text is expected)`),
  ];
}

/** The part after the progress lines: what to fix first, the details grouped by root cause, the summary. */
export function detailsAndSummary(report: RunReport, options: PrettyOptions): string {
  const paint = painter(options.color);
  const out: string[] = [''];
  if (report.seed !== undefined) {
    out.push(paint('gray', `seed ${report.seed}: the names and texts of this run (--seed ${report.seed} reproduces them)`));
  }
  if (report.target.handedIn) out.push(paint('gray', report.target.handedIn.note));
  out.push(...variantLines(report));
  if (report.unjudged) {
    const during = duringText(report.unjudged);
    out.push(paint('red', `not judged: ${report.unjudged.reason}${during}`));
  }
  const groups = failureGroups(report);
  const first = fixFirstLine(report, groups);
  if (first) out.push(paint('bold', first));
  const blocked = report.cases.filter((c) => c.verdict === 'blocked').length;
  if (blocked > 0) {
    out.push(
      paint(
        'gray',
        `root causes settled: ${blocked} case${blocked === 1 ? '' : 's'} shown above as FAIL or WARN ${blocked === 1 ? 'is' : 'are'} blocked by another case's failure (listed under it below)`,
      ),
    );
  }
  if (out.length > 1) out.push('');
  for (const g of groups) {
    if (g.members.length) {
      out.push(
        paint('gray', `── ${g.root.id} and ${g.members.length} case${g.members.length === 1 ? ' that stands' : 's that stand'} on it ──`),
      );
    }
    out.push(caseDetails(g.root, options));
    for (const m of g.members) {
      out.push(
        m.verdict === 'blocked'
          ? `  ${verdictLabel(m, options)} ${m.id}: ${blockedText(m)}`
          : caseDetails(m, options)
            .split('\n')
            .map((line) => `  ${line}`)
            .join('\n'),
      );
    }
    out.push('');
  }
  for (const c of report.cases) {
    if (c.verdict === 'skip') {
      out.push(caseDetails(c, options), '');
    } else if (c.baseline === 'fixed' && c.verdict === 'pass') {
      out.push(`${verdictLabel(c, options)} ${c.id}: listed in the baseline, and passes now`, '');
    }
  }
  out.push(summaryBlock(report, options));
  return out.join('\n');
}

/** A running indicator on a terminal, redrawn in place; nothing at all when the stream is no terminal. */
export class LiveProgress {
  readonly #stream: NodeJS.WritableStream;
  readonly #tty: boolean;
  readonly #options: PrettyOptions;
  #timer: NodeJS.Timeout | undefined;
  #frame = 0;
  #status = '';
  #started = 0;

  /** Writes to `stream`; `tty` enables the spinner (and its `\r` redraws). */
  constructor(stream: NodeJS.WritableStream, tty: boolean, options: PrettyOptions) {
    this.#stream = stream;
    this.#tty = tty;
    this.#options = options;
  }

  /** Prints a line above the spinner. */
  line(text: string): void {
    this.#clear();
    this.#stream.write(`${text}\n`);
    this.#draw();
  }

  /** A case started. */
  caseStarted(id: string, index: number, total: number): void {
    this.#status = `[${index + 1}/${total}] ${id}`;
    this.#started = performance.now();
    if (!this.#tty) return;
    this.#timer ??= setInterval(() => this.#draw(), 100);
    this.#timer.unref();
    this.#draw();
  }

  /**
   * A case finished: its progress line replaces the spinner. A failure is provisional until the run
   * ends: root causes are settled then, and it may turn out `blocked` by another case's failure.
   */
  caseEnded(result: CaseResult, index: number, total: number): void {
    this.#clear();
    this.#status = '';
    const provisional =
      result.verdict === 'fail' || result.verdict === 'warn' ? ` ${painter(this.#options.color)('gray', PROVISIONAL)}` : '';
    this.#stream.write(`${progressLine(result, index, total, this.#options)}${provisional}\n`);
  }

  /** Removes the spinner for good. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
    this.#status = '';
  }

  #draw(): void {
    if (!this.#tty || !this.#status) return;
    const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
    this.#frame = (this.#frame + 1) % frames.length;
    const elapsed = ((performance.now() - this.#started) / 1000).toFixed(1);
    const paint = painter(this.#options.color);
    this.#stream.write(
      `${CLEAR_LINE}${paint('cyan', frames[this.#frame]!)} ${this.#status} ${paint('gray', `${elapsed} s`)}`,
    );
  }

  #clear(): void {
    if (this.#tty && this.#status) this.#stream.write(CLEAR_LINE);
  }
}
