/**
 * `npm run soak [-- RUNS]`: runs the whole server suite RUNS times (default 50) against the
 * reference server in both dialects while both cores are kept busy, and counts false verdicts:
 * the reference server is correct, so every verdict that is not `pass` is the judge's fault.
 * Exits 1 when there is one. The figure goes into the issue note and docs/CONFORMANCE.md.
 */
import { spawn } from 'node:child_process';
import { ALL_CASES } from '../conformance/cases.js';
import type { CaseResult } from '../conformance/harness/report.js';
import { runCases } from '../conformance/harness/runner.js';
import { selectCases } from '../conformance/harness/select.js';
import { type DialectName, startServer } from '../src/index.js';

const runs = Number(process.argv[2] ?? process.env.CHATKIT_SOAK_RUNS ?? 50);
/** Runs judged at once: parallel runs load the machine further, which is the point. */
const PARALLEL = Number(process.env.CHATKIT_SOAK_PARALLEL ?? 3);
/** One busy loop per core, so the judge runs on a loaded machine. */
const BURNERS = 2;

function burnCpu(): () => void {
  const children = Array.from({ length: BURNERS }, () =>
    spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore', detached: false }),
  );
  return () => {
    for (const child of children) child.kill('SIGKILL');
  };
}

async function main(): Promise<void> {
  const stopBurning = burnCpu();
  process.once('exit', stopBurning);
  const bad: CaseResult[] = [];
  let verdicts = 0;
  const started = performance.now();
  let done = 0;
  let nextRun = 1;
  const oneRun = async (run: number) => {
    for (const dialect of ['nick', 'tilde'] as DialectName[]) {
      const cases = selectCases(ALL_CASES, { dialect, kind: 'server', profiles: ['core', 'robustness'] });
      // A fresh server per run, with its default limits: a shortened handshake timeout closed
      // members whose handshake the loaded machine delayed (three false verdicts in one soak).
      const server = await startServer({ dialect, port: 0 });
      try {
        const results = await runCases(cases, { target: { kind: 'address', host: '127.0.0.1', port: server.port }, dialect });
        verdicts += results.length;
        for (const r of results.filter((r) => r.verdict !== 'pass')) {
          bad.push(r);
          console.log(`run ${run} ${dialect}: FALSE VERDICT ${r.verdict} ${r.id}: ${r.failure?.message ?? r.error ?? r.skipReason}`);
        }
      } finally {
        await server.close();
      }
    }
    done++;
    process.stdout.write(`run ${run} done (${done}/${runs}): ${verdicts} verdicts so far, ${bad.length} false\n`);
  };
  try {
    await Promise.all(
      Array.from({ length: Math.min(PARALLEL, runs) }, async () => {
        for (let run = nextRun++; run <= runs; run = nextRun++) await oneRun(run);
      }),
    );
  } finally {
    stopBurning();
  }
  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  console.log(`\nsoak: ${runs} runs × 2 dialects (${PARALLEL} at a time), ${verdicts} verdicts, ${bad.length} false, both cores busy, ${minutes} min`);
  process.exitCode = bad.length === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
