/**
 * Runs every server case of a dialect against each mutant (conformance/mutants) through the runner,
 * as `chatkit conform --spawn` does (root causes settled, `--jobs`), and prints, per mutant, the
 * cases that fail or warn and those that are blocked: the data test/conformance/root-causes.int.test.ts
 * pins. Usage: `tsx scripts/root-cause-matrix.ts [nick|tilde] [defect[@wording] ...]`.
 */
import { join } from 'node:path';
import { ALL_CASES } from '../conformance/cases.js';
import { runCases } from '../conformance/harness/runner.js';
import { selectCases } from '../conformance/harness/select.js';
import { pythonExecutable } from '../src/processes/index.js';
import type { DialectName } from '../src/codec/index.js';
import { PACKAGE_ROOT } from '../src/package-root.js';

const dialect = (process.argv[2] ?? 'nick') as DialectName;
const defects = process.argv.slice(3);
const script = join(PACKAGE_ROOT, `conformance/mutants/${dialect}_mutant_server.py`);
const cases = selectCases(ALL_CASES, { dialect, kind: 'server', profiles: ['core', 'robustness'] });

// `DEFECT@WORDING` runs a mutant with other texts too (`--wording WORDING`).
for (const spec of defects) {
  const [defect, wording] = spec.split('@');
  const started = performance.now();
  const results = await runCases(cases, {
    target: { kind: 'spawn', command: `'${pythonExecutable()}' '${script}' --defect ${defect}${wording ? ` --wording ${wording}` : ''} 127.0.0.1 {port}` },
    dialect,
    jobs: 2,
  });
  const failing = results
    .filter((r) => r.verdict === 'fail' || r.verdict === 'warn' || r.verdict === 'error')
    .map((r) => `${r.id}=${r.verdict}:${r.failure?.requirement ?? r.error?.slice(0, 60) ?? ''}`);
  const blocked = results.filter((r) => r.verdict === 'blocked').map((r) => `${r.id}<${r.blockedBy?.id}`);
  console.log(
    JSON.stringify({ dialect, defect: spec, seconds: Math.round((performance.now() - started) / 1000), failing, blocked }),
  );
}
