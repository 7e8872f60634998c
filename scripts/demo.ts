/**
 * `npm run demo`: the conformance suite against chatkit's reference server and client (both
 * dialects) and against every script in `conformance/targets/python/` (the tutorials' own chat
 * programs), printed as a verdict matrix and written to `docs/CONFORMANCE.md`. Every failure of a
 * seed script names the defect of spec/PROTOCOL.md Annex A it shows.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type MatrixColumn, matrixMarkdown, matrixTargets, runMatrix } from '../conformance/matrix.js';
import { colorWanted, painter } from '../src/color.js';
import { PACKAGE_ROOT } from '../src/package-root.js';

const paint = painter(colorWanted(process.stdout));

function line(column: MatrixColumn): string {
  const count = (v: string) => column.results.filter((r) => r.verdict === v).length;
  const failed = column.results.filter((r) => r.verdict === 'fail' || r.verdict === 'warn' || r.verdict === 'error');
  const status =
    count('fail') + count('error') === 0
      ? paint('green', `${count('pass')} pass`)
      : paint('red', `${count('pass')} pass, ${count('fail')} fail`);
  const extra = [count('warn') ? `${count('warn')} warn` : '', count('error') ? `${count('error')} error` : '']
    .filter(Boolean)
    .join(', ');
  const which = failed.map((r) => `${r.id}${r.verdict === 'warn' ? ' (warn)' : ''}`).join(', ');
  return `${column.target.name.padEnd(26)} ${status}${extra ? `, ${extra}` : ''}${which ? `\n${' '.repeat(27)}${paint('dim', which)}` : ''}`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const targets = matrixTargets();
  console.log(
    `chatkit demo: the conformance suite against ${targets.length} targets (chatkit's own and the tutorials' scripts)\n`,
  );
  const columns = await runMatrix(targets, (column) => console.log(line(column)));
  const durationMs = performance.now() - started;
  const markdown = matrixMarkdown(columns, { date: new Date().toISOString().slice(0, 10), durationMs });
  const path = join(PACKAGE_ROOT, 'docs/CONFORMANCE.md');
  writeFileSync(path, `${markdown}\n`);
  console.log(`\nThe full matrix (case × target) is in docs/CONFORMANCE.md (${(durationMs / 1000).toFixed(0)} s).`);
  console.log('Judge your own server: npx chatkit conform --target 127.0.0.1:55555   (or --spawn "python3 server.py 127.0.0.1 {port}")');
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
