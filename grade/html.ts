/**
 * `report.html`: one self-contained file (inline CSS, no script, no network) with the class matrix
 * (students × requirements) and, per student, each root-cause failure with expected/actual and its
 * wire transcript. Written as a template string with one escaping function: the page is static and
 * small, and a template engine would add a dependency for what `escapeHtml` does in four lines.
 * Every row and cell carries `data-` attributes so tools (and the Chromium test) can read it back.
 *
 * @module
 */
import type { CaseResult, RunReport, VerdictName } from '../conformance/harness/report.js';
import { failureGroups } from '../conformance/report/pretty.js';
import { transcriptLines } from '../conformance/report/transcript.js';
import { type ClassReport, rootCauseText, type StudentGrade } from './class-report.js';

/** Transcript lines shown per failure (the JSON report keeps them all). */
export const HTML_TRANSCRIPT_LINES = 80;
/** Bytes shown per transcript line. */
export const HTML_TRANSCRIPT_BYTES = 160;

/** Escapes text for HTML content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

/** A requirement's verdict for one student: the worst of the cases that name it. */
const SEVERITY: Record<VerdictName, number> = { fail: 6, error: 5, warn: 4, blocked: 3, flaky: 2, pass: 1, skip: 0 };

/** A student's verdict per requirement, over the server and client reports. */
export function requirementVerdicts(reports: readonly (RunReport | undefined)[]): Map<string, VerdictName> {
  const out = new Map<string, VerdictName>();
  for (const r of reports) {
    for (const c of r?.cases ?? []) {
      for (const req of c.requirements) {
        const was = out.get(req.id);
        if (was === undefined || SEVERITY[c.verdict] > SEVERITY[was]) out.set(req.id, c.verdict);
      }
    }
  }
  return out;
}

const MARK: Record<VerdictName, string> = { pass: '✓', fail: '✗', warn: '!', error: 'E', blocked: '·', flaky: '~', skip: '–' };

/** What the HTML needs of each student. */
export interface HtmlStudent {
  readonly grade: StudentGrade;
  readonly server?: RunReport | undefined;
  readonly client?: RunReport | undefined;
}

function failureHtml(side: string, c: CaseResult, members: number): string {
  const f = c.failure;
  const transcript = transcriptLines(c, { maxBytesShown: HTML_TRANSCRIPT_BYTES });
  const shown = transcript.slice(0, HTML_TRANSCRIPT_LINES);
  const more = transcript.length - shown.length;
  return `<div class="failure ${c.verdict}" data-case="${escapeHtml(c.id)}" data-verdict="${c.verdict}">
<h4>${escapeHtml(side)}: ${escapeHtml(c.verdict.toUpperCase())} ${escapeHtml(c.id)} — ${escapeHtml(c.title)}${members ? ` <span class="takes">(takes ${members} other case${members === 1 ? '' : 's'} down with it)</span>` : ''}</h4>
${
  f
    ? `<p><b>${escapeHtml(f.requirement)}</b>: ${escapeHtml(f.requirementText)}</p>
<p>${escapeHtml(f.message)}</p>
<dl><dt>expected</dt>${f.expected.map((e) => `<dd class="expected">${escapeHtml(e)}</dd>`).join('')}<dt>actual</dt><dd class="actual">${escapeHtml(f.actual)}</dd>${f.hint ? `<dt>hint</dt><dd>${escapeHtml(f.hint)}</dd>` : ''}</dl>`
    : `<p>${escapeHtml(c.error ?? 'the case could not be judged')}</p>`
}
<p class="rerun"><code>${escapeHtml(c.rerun)}</code></p>
${shown.length ? `<details><summary>wire transcript (${transcript.length} line${transcript.length === 1 ? '' : 's'})</summary><pre class="transcript">${escapeHtml(shown.join('\n'))}${more > 0 ? `\n… ${more} more lines in report.json` : ''}</pre></details>` : ''}
</div>`;
}

function studentSection(s: HtmlStudent): string {
  const g = s.grade;
  const parts: string[] = [];
  for (const [side, report] of [['server', s.server], ['client', s.client]] as const) {
    if (!report) continue;
    for (const group of failureGroups(report)) {
      if (group.root.verdict === 'blocked' || group.root.verdict === 'flaky') continue;
      parts.push(failureHtml(side, group.root, group.members.length));
    }
  }
  const programs = [g.server && `server: <code>${escapeHtml(g.server.command)}</code> (${escapeHtml(g.server.why)})`, g.client && `client: <code>${escapeHtml(g.client.command)}</code> (${escapeHtml(g.client.why)})`].filter(Boolean);
  return `<section class="student" id="student-${escapeHtml(g.student)}" data-student="${escapeHtml(g.student)}" data-verdict="${g.verdict}">
<h3>${escapeHtml(g.student)} <span class="verdict ${g.verdict}">${g.verdict}</span></h3>
<p>MUST ${g.must.passed}/${g.must.total} · SHOULD ${g.should.passed}/${g.should.total} · score ${g.score}/${g.maxScore} · ${g.seconds.toFixed(1)} s</p>
${programs.length ? `<p>${programs.join('<br>')}</p>` : ''}
${g.notJudged ? `<p class="not-judged" data-category="${g.notJudged.category}">not judged (${escapeHtml(g.notJudged.code)}): ${escapeHtml(g.notJudged.reason)}</p>` : ''}
${g.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n')}
${parts.join('\n') || (g.notJudged ? '' : '<p>every case passed</p>')}
</section>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:2px 6px;text-align:center}
th.req{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:12px}
td.student,th.student{text-align:left}td.cause{text-align:left;max-width:28em}
.pass{background:#d9f2d9}.fail{background:#f8d0d0}.error{background:#f4c0a0}.warn{background:#fff0b3}
.blocked{background:#eee;color:#777}.flaky{background:#ead9f2}.skip{color:#999}
.verdict{padding:0 6px;border-radius:3px}.failure{border-left:4px solid #d66;margin:.8em 0;padding:.2em .8em;background:#fff}
.failure.warn{border-color:#cc3}pre.transcript{font-size:12px;background:#f6f6f6;padding:.5em;overflow-x:auto}
dd.expected,dd.actual{font-family:monospace;white-space:pre-wrap}.not-judged{color:#a40}.note{color:#555}.takes{font-weight:normal;color:#777}`;

/** The whole page. */
export function renderHtml(report: ClassReport, students: readonly HtmlStudent[]): string {
  const verdicts = students.map((s) => requirementVerdicts([s.server, s.client]));
  const requirements = [...new Set(verdicts.flatMap((v) => [...v.keys()]))].sort();
  const head = `<tr><th class="student">student</th><th>verdict</th><th>MUST</th><th>SHOULD</th><th>score</th><th>first root cause</th>${requirements.map((r) => `<th class="req" data-requirement="${escapeHtml(r)}">${escapeHtml(r)}</th>`).join('')}</tr>`;
  const rows = students.map((s, i) => {
    const g = s.grade;
    const v = verdicts[i]!;
    const cells = requirements
      .map((r) => {
        const verdict = v.get(r);
        return verdict ? `<td class="${verdict}" data-requirement="${escapeHtml(r)}" data-verdict="${verdict}" title="${escapeHtml(`${r}: ${verdict}`)}">${MARK[verdict]}</td>` : `<td data-requirement="${escapeHtml(r)}" data-verdict="none"></td>`;
      })
      .join('');
    return `<tr class="row" data-student="${escapeHtml(g.student)}" data-verdict="${g.verdict}" data-must="${g.must.passed}/${g.must.total}" data-should="${g.should.passed}/${g.should.total}" data-score="${g.score}/${g.maxScore}"><td class="student"><a href="#student-${escapeHtml(g.student)}">${escapeHtml(g.student)}</a></td><td class="${g.verdict}">${g.verdict}</td><td>${g.must.passed}/${g.must.total}</td><td>${g.should.passed}/${g.should.total}</td><td>${g.score}/${g.maxScore}</td><td class="cause">${escapeHtml(rootCauseText(g))}</td>${cells}</tr>`;
  });
  const passed = report.students.filter((s) => s.verdict === 'pass').length;
  const errors = report.students.filter((s) => s.verdict === 'error').length;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>chatkit grade: ${report.students.length} submissions</title>
<style>${STYLE}</style></head>
<body>
<h1>chatkit grade</h1>
<p>${report.students.length} submissions: ${passed} pass, ${report.students.length - passed - errors} fail, ${errors} not judged · profiles ${escapeHtml(report.options.profiles.join(', '))} · chatkit ${escapeHtml(report.chatkitVersion)} · ${escapeHtml(report.startedAt)}</p>
<p>Matrix: ✓ pass, ✗ fail (MUST), ! warn (SHOULD), · blocked by another failure, E could not be judged, ~ flaky; empty: not run for this student.</p>
<h2>Class matrix</h2>
<table id="matrix"><thead>${head}</thead><tbody>
${rows.join('\n')}
</tbody></table>
<h2>Students</h2>
${students.map(studentSection).join('\n')}
</body></html>
`;
}
