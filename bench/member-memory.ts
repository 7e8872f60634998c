/**
 * `npm run bench:memory`: what one idle member costs the reference server, in bytes of RSS.
 *
 * Each run starts `chatkit serve` (as `npm run bench` does, with the same flags), reads its RSS
 * idle, joins N silent NICK members with the C generator (bench/c/loadgen.c, 512 at a time, one
 * sender and one message so that the members stay joined for `--hold` seconds), and reads the
 * server's RSS once they are all in. Then, through a preload that runs only under this script
 * (bench/memory-probe.mjs, `--expose-gc`), the server itself reports `process.memoryUsage()`
 * after a full GC, idle and with all members in: live JS objects (`heapUsed`), heap headroom
 * (`heapTotal - heapUsed`, what V8 keeps after the join storm) and the rest of the RSS (native:
 * libuv handles, socket wraps, buffers, malloc). Per member = (joined - idle) / N.
 *
 *   npm run bench:memory -- [--members 10000] [--runs 3] [--serve-args "..."] [--node-options "..."]
 *
 * @module
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDescriptors, residentBytes, spawnOnFreePort, portHolders } from '../src/processes/index.js';

const ROOT = join(import.meta.dirname, '..');
const CHATKIT = join(ROOT, 'bin/chatkit.js');
const PROBE = join(ROOT, 'bench/memory-probe.mjs');
const LOADGEN_SOURCE = join(ROOT, 'bench/c/loadgen.c');
const LOADGEN_BIN = join(tmpdir(), `chatkit-member-memory-loadgen-${process.pid}`);
/** Members joining at once (the big row of bench/matrix.ts). */
const JOIN_CONCURRENCY = 512;
/** Quiet time after the last join before the RSS is read (the join storm's output drains). */
const SETTLE_MS = 3_000;
/** Bound on each wait of a run. */
const WAIT_MS = 180_000;
const POLL_MS = 200;

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    'serve-args': { type: 'string', default: '' },
    hold: { type: 'string', default: '30' },
    'node-options': { type: 'string', default: '' },
  },
});
const members = Number(values.members);
const runs = Number(values.runs);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

interface Usage {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Asks the server's probe for `process.memoryUsage()` after a full GC (SIGUSR2 → a file). */
async function probe(pid: number, file: string): Promise<Usage> {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  let text = '';
  await until('the memory probe', () => {
    try {
      text = readFileSync(file, 'utf8');
      return text.endsWith('\n');
    } catch {
      return false;
    }
  });
  return JSON.parse(text) as Usage;
}

async function oneRun(run: number) {
  const usageFile = join(tmpdir(), `chatkit-member-memory-${process.pid}-${run}.json`);
  const command = (port: number) =>
    `CHATKIT_MEMORY_PROBE=${usageFile} NODE_OPTIONS="--expose-gc --import=${PROBE} ${values['node-options']}" exec node ${CHATKIT} serve --port ${port} --max-clients 100000 --max-pending 1024 --max-pending-per-address 1024 ${values['serve-args']} > /dev/null`;
  const target = await spawnOnFreePort({ command, cwd: ROOT });
  try {
    const pid = portHolders(target.port)[0] ?? target.pid;
    await sleep(1_000);
    const idleRss = residentBytes(pid)!;
    const idle = await probe(pid, usageFile);
    const gen = spawn(
      LOADGEN_BIN,
      [
        '--port', String(target.port), '--dialect', 'nick', '--clients', String(members),
        '--senders', '1', '--rate', '1', '--duration', values.hold!, '--size', '64',
        '--join-concurrency', String(JOIN_CONCURRENCY), '--join-timeout', '60', '--pid', String(pid),
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    gen.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const ended = new Promise<void>((resolve) => gen.on('close', () => resolve()));
    try {
      // Every member holds one descriptor in the server; the listener and stdio hold a few more.
      await until(`${members} members`, () => (openDescriptors(pid) ?? 0) >= members + 3);
      await sleep(SETTLE_MS);
      const joinedRss = residentBytes(pid)!;
      const joined = await probe(pid, usageFile);
      await ended;
      const doc = JSON.parse(out) as { server?: { rssPeakBytes?: number }; join?: { joined?: number } };
      return { idleRss, joinedRss, peakRss: doc.server?.rssPeakBytes ?? 0, joinedCount: doc.join?.joined, idle, joined };
    } finally {
      gen.kill('SIGKILL');
      await ended;
    }
  } finally {
    rmSync(usageFile, { force: true });
    await target.stop();
  }
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const perMember = (b: number) => `${Math.round(b / members)} B`;

execFileSync('cc', ['-O2', '-o', LOADGEN_BIN, LOADGEN_SOURCE, '-lm'], { stdio: 'inherit' });
try {
  console.log(`chatkit serve ${values['serve-args']}: ${members} idle NICK members, ${runs} runs`);
  for (let run = 1; run <= runs; run++) {
    const r = await oneRun(run);
    const live = r.joined.heapUsed - r.idle.heapUsed;
    const headroom = r.joined.heapTotal - r.joined.heapUsed - (r.idle.heapTotal - r.idle.heapUsed);
    const afterGc = r.joined.rss - r.idle.rss;
    const native = afterGc - (r.joined.heapTotal - r.idle.heapTotal);
    console.log(
      `run ${run}: idle ${mb(r.idleRss)}, joined ${mb(r.joinedRss)} (peak ${mb(r.peakRss)}, ${r.joinedCount} joined); ` +
        `per member ${perMember(r.joinedRss - r.idleRss)}; after a full GC ${perMember(afterGc)} = ` +
        `live JS ${perMember(live)} + heap headroom ${perMember(headroom)} + native ${perMember(native)} ` +
        `(buffers ${perMember(r.joined.arrayBuffers - r.idle.arrayBuffers)})`,
    );
  }
} finally {
  rmSync(LOADGEN_BIN, { force: true });
}
