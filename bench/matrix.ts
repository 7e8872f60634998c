/**
 * `npm run bench`: the reference server against the seeds' servers and `ncat --chat`, side by side
 * in one run, for several member counts, at full speed and paced, several runs each; writes
 * docs/BENCHMARKS.md, docs/benchmarks.svg and bench/results.json.
 *
 * Every run is a `chatkit bench --spawn ... --json` subprocess (the built CLI), so each server is a
 * process of its own and each run starts from a fresh generator. The whole matrix is bounded
 * (`--max-minutes`) and prints its progress.
 *
 * @module
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { portHolders, spawnOnFreePort, TargetError } from '../src/processes/index.js';
import { formatCount, formatMs } from '../src/bench/render.js';
import { type BenchResult, benchResultSchema } from '../src/bench/result.js';
import { clusterSection, runClusterBench } from './cluster.js';
import { BackgroundLoad, machineFacts, sampleBackground } from './machine.js';
import { summariseProfile } from './profile.js';
import {
  chartSvg,
  GENERATOR_LABEL,
  type Generator,
  type MatrixResults,
  type Mode,
  type RunRecord,
  renderReport,
  type ServerDef,
} from './report.js';

const ROOT = join(import.meta.dirname, '..');
const CHATKIT = join(ROOT, 'bin/chatkit.js');
const PY = join(ROOT, 'conformance/targets/python');
const PYTHON = process.env.CHATKIT_PYTHON ?? 'python3';
/** The limit peer, built from bench/c/relay.c with the machine's cc (see {@link buildRelay}). */
const RELAY_SOURCE = join(ROOT, 'bench/c/relay.c');
const RELAY_BIN = join(tmpdir(), `chatkit-bench-relay-${process.pid}`);
/** The yardstick generator, built from bench/c/loadgen.c: the full-speed rows are measured with it. */
const LOADGEN_SOURCE = join(ROOT, 'bench/c/loadgen.c');
const LOADGEN_BIN = join(tmpdir(), `chatkit-bench-loadgen-${process.pid}`);

const HELP = `npm run bench [-- options]: the reference server against the seeds and ncat --chat.

options (environment variable in brackets):
  --members LIST      member counts [CHATKIT_BENCH_MEMBERS]           default 10,100,1000
  --runs N            runs per configuration, medians [CHATKIT_BENCH_RUNS]     default 3
  --modes LIST        full,paced [CHATKIT_BENCH_MODES]                 default full,paced
  --servers LIST      ids below [CHATKIT_BENCH_SERVERS]                default all
  --paced-seconds S   length of a paced run [CHATKIT_BENCH_PACED_SECONDS]       default 5
  --big N             members of the big run of the reference server, 0 = none [CHATKIT_BENCH_BIG]  default 10000
  --no-profile        skip the CPU profiles of the reference server
  --max-minutes M     bound on the whole matrix [CHATKIT_BENCH_MAX_MINUTES]    default 60
  --quiet-wait S      before a run, wait up to S seconds for other processes to leave the CPU   default 30
  --out FILE          the report [CHATKIT_BENCH_OUT]                   default docs/BENCHMARKS.md
  --quick             members 10,100, 1 run, paced 2 s, big 1000, no profile (a smoke run)
  --no-install        do not try to install ncat (apt-get) when it is missing
  --report-only       render the report again from bench/results.json (no runs)
  --merge             add this run's figures to bench/results.json instead of replacing them
                      (e.g. to complete a matrix that hit its time bound)
  --big-runs N        runs of the big configuration (default: --runs)
  --cluster LIST      node counts of the multi-node rows (bench/cluster.ts: 1 = the single server,
                      2, 3 = serve --cluster with one redis-server), for the member counts >= 100;
                      none = skip [CHATKIT_BENCH_CLUSTER]                default 1,2,3
  --c-generator LIST  modes measured with the C generator (bench/c/loadgen.c) instead of
                      chatkit bench, or none [CHATKIT_BENCH_C_GENERATOR]   default full
                      (chatkit bench also runs on the C relay and the reference NICK server at the
                      largest member count, full speed, to compare the two generators)

servers: reference-nick reference-tilde c-relay seed-nick seed-tilde ncat
(the reference server runs in its default mode; c-relay is bench/c/relay.c, built with cc)`;

const serve = (args: string) =>
  `exec node ${CHATKIT} serve --port {port} --max-clients 100000 --max-pending 1024 --max-pending-per-address 1024 ${args}> /dev/null`;

const SERVERS: ServerDef[] = [
  {
    id: 'reference-nick',
    label: 'reference NICK',
    dialect: 'nick',
    kind: 'reference',
    color: '#1f77b4',
    command: serve(''),
  },
  {
    id: 'reference-tilde',
    label: 'reference tilde',
    dialect: 'tilde',
    kind: 'reference',
    color: '#2ca02c',
    command: serve('--dialect tilde '),
  },
  {
    id: 'c-relay',
    label: 'C epoll relay (NICK)',
    dialect: 'nick',
    kind: 'c-relay',
    color: '#9467bd',
    command: `exec ${RELAY_BIN} {port} > /dev/null`,
  },
  {
    id: 'seed-nick',
    label: 'seed NICK (Python)',
    dialect: 'nick',
    kind: 'seed',
    color: '#ff7f0e',
    command: `exec ${PYTHON} ${join(PY, 'nick_server.py')} 127.0.0.1 {port} > /dev/null`,
  },
  {
    id: 'seed-tilde',
    label: 'seed tilde (Python)',
    dialect: 'tilde',
    kind: 'seed',
    color: '#d62728',
    command: `exec ${PYTHON} ${join(PY, 'tilde_server.py')} 127.0.0.1 {port} > /dev/null`,
  },
  {
    id: 'ncat',
    label: 'ncat --chat',
    dialect: 'raw-lines',
    kind: 'ncat',
    color: '#7f7f7f',
    command: 'exec ncat -l --chat --max-conns 100000 127.0.0.1 {port} < /dev/null > /dev/null',
  },
];

/** Senders of the full-speed and paced runs (all members when fewer). */
const SENDERS = 100;
const FULL_MESSAGES = 100;
const PACED_RATE = 5;
const SIZE = 64;
const JOIN_CONCURRENCY = 8;
/** Node's listen backlog is 511: this many handshakes at once fit in it. */
const BIG_JOIN_CONCURRENCY = 512;
/** Bound on one run, beyond the generator's own. */
const RUN_TIMEOUT_S = 240;
/** How long a profiled server may take to write its profile after SIGTERM. */
const PROFILE_WRITE_MS = 60_000;
/** A run counts as disturbed when others used more than this much CPU (% of one core). */
const BUSY_PERCENT = 25;

const log = (line: string) => process.stderr.write(`${line}\n`);

function list(value: string | undefined, fallback: string): string[] {
  return (value ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function options() {
  const { values } = parseArgs({
    options: {
      members: { type: 'string' },
      runs: { type: 'string' },
      modes: { type: 'string' },
      servers: { type: 'string' },
      'paced-seconds': { type: 'string' },
      big: { type: 'string' },
      'no-profile': { type: 'boolean' },
      'max-minutes': { type: 'string' },
      'quiet-wait': { type: 'string' },
      out: { type: 'string' },
      quick: { type: 'boolean' },
      'no-install': { type: 'boolean' },
      'report-only': { type: 'boolean' },
      merge: { type: 'boolean' },
      'big-runs': { type: 'string' },
      cluster: { type: 'string' },
      'c-generator': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const env = process.env;
  const quick = values.quick === true;
  const num = (v: string | undefined, fallback: number, name: string) => {
    const n = Number(v ?? fallback);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: expected a number, got ${v}`);
    return n;
  };
  const servers = list(values.servers ?? env.CHATKIT_BENCH_SERVERS, SERVERS.map((s) => s.id).join(','));
  for (const id of servers) if (!SERVERS.some((s) => s.id === id)) throw new Error(`unknown server ${id}`);
  const modes = list(values.modes ?? env.CHATKIT_BENCH_MODES, 'full,paced') as Mode[];
  for (const m of modes) if (m !== 'full' && m !== 'paced') throw new Error(`unknown mode ${m}`);
  const cModes = list(values['c-generator'] ?? env.CHATKIT_BENCH_C_GENERATOR, 'full').filter(
    (m) => m !== 'none',
  ) as Mode[];
  for (const m of cModes) if (!['full', 'paced', 'big'].includes(m)) throw new Error(`unknown mode ${m}`);
  return {
    members: list(values.members ?? env.CHATKIT_BENCH_MEMBERS, quick ? '10,100' : '10,100,1000').map((m) =>
      num(m, 0, '--members'),
    ),
    runs: num(values.runs ?? env.CHATKIT_BENCH_RUNS, quick ? 1 : 3, '--runs'),
    modes,
    servers: SERVERS.filter((s) => servers.includes(s.id)),
    pacedSeconds: num(
      values['paced-seconds'] ?? env.CHATKIT_BENCH_PACED_SECONDS,
      quick ? 2 : 5,
      '--paced-seconds',
    ),
    big: num(values.big ?? env.CHATKIT_BENCH_BIG, quick ? 1000 : 10_000, '--big'),
    profile: !(values['no-profile'] ?? quick),
    maxMinutes: num(values['max-minutes'] ?? env.CHATKIT_BENCH_MAX_MINUTES, 60, '--max-minutes'),
    quietWait: num(values['quiet-wait'], quick ? 5 : 30, '--quiet-wait'),
    out: values.out ?? env.CHATKIT_BENCH_OUT ?? join(ROOT, 'docs/BENCHMARKS.md'),
    install: values['no-install'] !== true,
    reportOnly: values['report-only'] === true,
    merge: values.merge === true,
    bigRuns: values['big-runs'] === undefined ? undefined : num(values['big-runs'], 0, '--big-runs'),
    cModes,
    argv: process.argv.slice(2),
    clusterNodes: list(values.cluster ?? env.CHATKIT_BENCH_CLUSTER, '1,2,3')
      .filter((n) => n !== 'none')
      .map((n) => num(n, 1, '--cluster')),
  };
}

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Builds a C peer with the machine's cc; false (and a note) where there is none or it fails. */
function buildC(source: string, bin: string, what: string, notes: string[]): boolean {
  if (!has('cc')) {
    notes.push(`There is no C compiler (\`cc\`): ${what}.`);
    log(`no cc: ${what}`);
    return false;
  }
  try {
    execFileSync('cc', ['-O2', '-o', bin, source, '-lm'], { stdio: 'pipe', timeout: 120_000 });
    process.once('exit', () => rmSync(bin, { force: true }));
    return true;
  } catch (error) {
    notes.push(`${source.slice(ROOT.length + 1)} did not build (${(error as Error).message.split('\n')[0]}): ${what}.`);
    return false;
  }
}

/** Installs Debian's ncat when it is missing and we may (root, apt-get); bounded. */
function ensureNcat(install: boolean, notes: string[]): boolean {
  if (has('ncat')) return true;
  const root = process.getuid?.() === 0;
  if (!install || !root || !has('apt-get')) {
    notes.push(
      `ncat is not installed${root ? '' : ' and this is not root'}: its rows are missing (Debian: \`apt-get install ncat\`).`,
    );
    return false;
  }
  log('ncat is missing: apt-get update && apt-get install -y ncat ...');
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 300_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', 'ncat'], {
      stdio: 'ignore',
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (error) {
    notes.push(
      `ncat could not be installed (${(error as Error).message.split('\n')[0]}): its rows are missing.`,
    );
    return false;
  }
  return has('ncat');
}

/**
 * Runs a generator (`chatkit bench ... --json`, or the C generator) to its end, bounded; the parsed
 * document or why there is none.
 */
async function runGenerator(
  file: string,
  args: string[],
  timeoutS: number,
  what: string,
): Promise<{ result?: BenchResult; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        const parsed = benchResultSchema.safeParse(JSON.parse(out));
        if (parsed.success) resolve({ result: parsed.data });
        else resolve({ error: `${what}, exit ${code}: unexpected JSON: ${parsed.error.message.slice(0, 200)}` });
      } catch {
        resolve({
          error: `${what}, exit ${code}: ${(err.trim().split('\n').pop() ?? '').slice(0, 300) || 'no output'}`,
        });
      }
    });
  });
}

/** Runs `chatkit bench ... --json` to its end (bounded). */
const runCli = (args: string[], timeoutS: number) =>
  runGenerator(process.execPath, [CHATKIT, 'bench', ...args, '--json'], timeoutS, 'chatkit bench');

/**
 * One run measured by the C generator: the server is started as `chatkit bench --spawn` would
 * (its own process group, waited for until it listens), the generator reads the CPU and RSS of the
 * process that holds the listening socket, and prints the same JSON document as `chatkit bench`.
 */
async function runLoadgen(
  server: ServerDef,
  args: string[],
  timeoutS: number,
): Promise<{ result?: BenchResult; error?: string }> {
  const commandFor = (port: number) => server.command.replaceAll('{port}', String(port));
  let target: Awaited<ReturnType<typeof spawnOnFreePort>> | undefined;
  try {
    target = await spawnOnFreePort({ command: commandFor, cwd: ROOT });
    const { port } = target;
    const command = commandFor(port);
    const pid = portHolders(port)[0] ?? target.pid;
    const genArgs = args.filter((_, i) => args[i] !== '--spawn' && args[i - 1] !== '--spawn');
    return await runGenerator(
      LOADGEN_BIN,
      [...genArgs, '--port', String(port), '--pid', String(pid), '--spawned', command],
      timeoutS,
      'C generator',
    );
  } catch (error) {
    return { error: `the server did not start: ${(error as Error).message.split('\n')[0]}` };
  } finally {
    await target?.stop();
  }
}

function benchArgs(server: ServerDef, members: number, mode: Mode, pacedSeconds: number): string[] {
  const senders = Math.min(SENDERS, members);
  const load =
    mode === 'full'
      ? ['--senders', String(senders), '--messages', String(FULL_MESSAGES)]
      : mode === 'paced'
        ? ['--senders', String(senders), '--rate', String(PACED_RATE), '--duration', String(pacedSeconds)]
        : ['--senders', '1', '--messages', '1'];
  return [
    '--dialect',
    server.dialect,
    '--spawn',
    server.command,
    '--clients',
    String(members),
    ...load,
    '--size',
    String(SIZE),
    '--join-concurrency',
    String(mode === 'big' ? BIG_JOIN_CONCURRENCY : JOIN_CONCURRENCY),
    // ncat sends every member the list of all connected users on every join (O(N²) bytes per
    // member) with blocking writes: a member that is not read stalls it, so it is read eagerly.
    '--join-reads',
    server.kind === 'ncat' ? 'eager' : 'lazy',
    '--join-timeout',
    '60',
    '--drain',
    '30',
    '--drain-quiet',
    '5',
    '--timeout',
    String(RUN_TIMEOUT_S - 20),
  ];
}

/** Waits (bounded) until other processes leave the CPU; returns their last measured share. */
async function waitForQuiet(maxS: number): Promise<number> {
  const until = performance.now() + maxS * 1000;
  let busy = await sampleBackground(500);
  while (busy > BUSY_PERCENT && performance.now() < until) {
    log(`  (others use ${busy} % of a core: waiting for the machine to go quiet)`);
    busy = await sampleBackground(2000);
  }
  return busy;
}

/** Profiles the reference server under one run: `node --cpu-prof`, then a summary. */
async function profileRun(
  server: ServerDef,
  members: number,
): Promise<{ what: string; summary: ReturnType<typeof summariseProfile>; bench?: BenchResult } | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'chatkit-prof-'));
  try {
    const commandFor = (port: number) =>
      server.command
        .replace('exec node ', `exec node --cpu-prof --cpu-prof-dir=${dir} `)
        .replaceAll('{port}', String(port));
    // argv, not a shell line: run uncontained, so that the shell leads the group `--pid` measures.
    const target = await spawnOnFreePort({
      command: (port) => ['/bin/sh', '-c', commandFor(port)],
      cwd: ROOT,
      // Writing the profile takes a while after a long run: SIGTERM, then wait for it (bounded).
      stopGraceMs: PROFILE_WRITE_MS,
    }).catch((error: unknown) => {
      if (error instanceof TargetError) return undefined;
      throw error;
    });
    if (target === undefined) return undefined;
    const cmd = commandFor(target.port);
    const args = benchArgs(server, members, 'full', 0).filter(
      (_, i, a) => a[i] !== '--spawn' && a[i - 1] !== '--spawn',
    );
    let run: Awaited<ReturnType<typeof runCli>>;
    try {
      run = await runCli([...args, '--target', `127.0.0.1:${target.port}`, '--pid', String(target.pid)], RUN_TIMEOUT_S);
    } finally {
      await target.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) return undefined;
    return {
      what: `\`node --cpu-prof\` of the ${server.label} server (\`${cmd.replace(/^exec /, '').replace(dir, '<dir>')}\`) during one ${members}-member full-speed run (${Math.min(SENDERS, members)} senders × ${FULL_MESSAGES} messages), joins included.`,
      summary: summariseProfile(join(dir, file)),
      ...(run.result ? { bench: run.result } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writeReport(results: MatrixResults, out: string): void {
  const analysisPath = join(ROOT, 'bench/analysis.md');
  const analysis = existsSync(analysisPath) ? readFileSync(analysisPath, 'utf8') : '';
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(join(out, '..', 'benchmarks.svg'), chartSvg(results));
  writeFileSync(out, renderReport(results, analysis) + clusterSection()); // multi-node rows: bench/cluster.ts
}

async function main(): Promise<void> {
  const o = options();
  if (o.reportOnly) {
    const results = JSON.parse(readFileSync(join(ROOT, 'bench/results.json'), 'utf8')) as MatrixResults;
    writeReport(results, o.out);
    log(`wrote ${o.out} from bench/results.json`);
    return;
  }
  const started = performance.now();
  const deadline = started + o.maxMinutes * 60_000;
  const notes: string[] = [];
  const loadAtStart = loadavg()[0]!;
  if (!existsSync(join(ROOT, 'dist/cli/commands/bench.js'))) {
    log('building (dist/ is missing) ...');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  let servers = o.servers;
  if (servers.some((s) => s.kind === 'ncat') && !ensureNcat(o.install, notes)) {
    servers = servers.filter((s) => s.kind !== 'ncat');
  }
  if (
    servers.some((s) => s.kind === 'c-relay') &&
    !buildC(RELAY_SOURCE, RELAY_BIN, 'the C relay rows (the limit peer) are missing', notes)
  ) {
    servers = servers.filter((s) => s.kind !== 'c-relay');
  }
  const cModes =
    o.cModes.length > 0 &&
    buildC(LOADGEN_SOURCE, LOADGEN_BIN, 'every row is measured with chatkit bench (no C generator)', notes)
      ? o.cModes
      : [];
  if (!has(PYTHON)) {
    notes.push(`${PYTHON} is missing: the seeds' rows are missing.`);
    servers = servers.filter((s) => s.kind !== 'seed');
  }
  const machine = machineFacts(ROOT);
  log(
    `chatkit bench matrix: ${machine.cores} cores, ${machine.cpuModel}; node ${machine.node}, python ${machine.python}, ncat ${machine.ncat}`,
  );

  type Job = { server: ServerDef; members: number; mode: Mode; rep: number; generator: Generator };
  const generatorOf = (mode: Mode): Generator => (cModes.includes(mode) ? 'c' : 'node');
  const jobs: Job[] = [];
  const regular = (rep: number) => {
    for (const mode of o.modes) {
      for (const members of o.members) {
        for (const server of servers) {
          // Past its select() limit ncat cannot serve; a run would only measure the failure.
          if (server.kind === 'ncat' && members > 1000) continue;
          jobs.push({ server, members, mode, rep, generator: generatorOf(mode) });
        }
      }
    }
    // The two generators side by side on the same servers in the same run (issue 11's generator
    // target): chatkit bench on the C relay and on the reference, where the C generator measures.
    if (cModes.includes('full') && o.modes.includes('full')) {
      const members = Math.max(...o.members);
      for (const server of servers.filter((s) => s.kind === 'c-relay' || s.id === 'reference-nick')) {
        jobs.push({ server, members, mode: 'full', rep, generator: 'node' });
      }
    }
  };
  const bigJobs = (rep: number) => {
    if (o.big <= 0) return;
    for (const server of servers.filter((s) => s.kind === 'reference' || s.kind === 'c-relay')) {
      jobs.push({ server, members: o.big, mode: 'big', rep, generator: generatorOf('big') });
    }
  };
  // The first repetition and the big runs come first, so that a matrix cut short by its time
  // bound still has every configuration.
  for (let rep = 1; rep <= Math.max(o.runs, o.bigRuns ?? o.runs); rep++) {
    if (rep <= o.runs) regular(rep);
    if (rep <= (o.bigRuns ?? o.runs)) bigJobs(rep);
  }

  let profile: MatrixResults['profile'];
  let profileTurn: MatrixResults['profileTurn'];
  if (o.profile && performance.now() < deadline) {
    const members = Math.max(...o.members);
    const ref = servers.find((s) => s.id === 'reference-nick');
    const strict = undefined as ServerDef | undefined;
    if (ref) {
      log(`profiling ${ref.label}, ${members} members, full speed ...`);
      await waitForQuiet(o.quietWait);
      profile = await profileRun(ref, members);
    }
    if (strict && performance.now() < deadline) {
      log(`profiling ${strict.label}, ${members} members, full speed ...`);
      await waitForQuiet(o.quietWait);
      profileTurn = await profileRun(strict, members);
    }
  }

  const runs: RunRecord[] = [];
  let skipped = 0;
  for (const [i, job] of jobs.entries()) {
    if (performance.now() >= deadline) {
      skipped = jobs.length - i;
      notes.push(
        `The matrix hit its bound of ${o.maxMinutes} minutes: ${skipped} of ${jobs.length} runs were not made.`,
      );
      break;
    }
    const what = `[${i + 1}/${jobs.length}] ${job.server.label}, ${job.members} members, ${job.mode}, run ${job.rep}, ${GENERATOR_LABEL[job.generator]}`;
    log(what);
    await waitForQuiet(o.quietWait);
    const load = new BackgroundLoad();
    const args = benchArgs(job.server, job.members, job.mode, o.pacedSeconds);
    const { result, error } =
      job.generator === 'c' ? await runLoadgen(job.server, args, RUN_TIMEOUT_S) : await runCli(args, RUN_TIMEOUT_S);
    const background = load.stop();
    runs.push({
      server: job.server.id,
      members: job.members,
      mode: job.mode,
      rep: job.rep,
      generator: job.generator,
      background,
      ...(result ? { result } : {}),
      ...(error ? { error } : {}),
    });
    if (result) {
      log(
        `  joined ${result.join.joined}/${job.members} in ${formatMs(result.join.ms)}, ${formatCount(result.deliveries.perSecond)} deliveries/s, p99 ${formatMs(result.latencyMs.p99)}, lost ${result.deliveries.lost}; others' CPU ${background} %`,
      );
    } else log(`  failed: ${error}`);
  }

  // The multi-node rows (bench/cluster.ts), in the same run: its own results file and section.
  const clusterMembers = o.members.filter((m) => m >= 100);
  if (o.clusterNodes.length > 0 && clusterMembers.length > 0) {
    await runClusterBench({
      members: clusterMembers,
      nodes: o.clusterNodes,
      runs: o.runs,
      deadline,
      beforeRun: () => waitForQuiet(o.quietWait),
      log,
      command: `npm run bench${o.argv.length > 0 ? ` -- ${o.argv.join(' ')}` : ''}`,
    });
  }

  notes.push(
    `Load average (1 min) of the machine: ${loadAtStart.toFixed(1)} when the matrix started, ${loadavg()[0]!.toFixed(1)} when it ended (${machine.cores} cores).`,
  );
  const disturbed = runs.filter((r) => r.background > BUSY_PERCENT).length;
  if (disturbed > 0) {
    notes.push(
      `${disturbed} of ${runs.length} runs shared the machine with other work (others used more than ${BUSY_PERCENT} % of a core): their figures are lower than this machine can do.`,
    );
  }
  let results: MatrixResults = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench${o.argv.length > 0 ? ` -- ${o.argv.join(' ')}` : ''}`,
    machine,
    config: {
      members: o.members,
      runs: o.runs,
      modes: o.modes,
      fullMessages: FULL_MESSAGES,
      senders: SENDERS,
      pacedRate: PACED_RATE,
      pacedSeconds: o.pacedSeconds,
      size: SIZE,
      joinConcurrency: JOIN_CONCURRENCY,
      big: o.big,
      bigJoinConcurrency: BIG_JOIN_CONCURRENCY,
      cGeneratorModes: cModes,
    },
    servers,
    runs,
    ...(profile ? { profile } : {}),
    ...(profileTurn ? { profileTurn } : {}),
    notes,
    durationMs: Math.round(performance.now() - started),
  };
  const previousPath = join(ROOT, 'bench/results.json');
  if (o.merge && existsSync(previousPath)) {
    const previous = JSON.parse(readFileSync(previousPath, 'utf8')) as MatrixResults;
    const ids = new Set(previous.servers.map((s) => s.id));
    results = {
      ...previous,
      generatedAt: results.generatedAt,
      machine: results.machine,
      command: `${previous.command}, then ${results.command}`,
      config: {
        ...previous.config,
        big: results.config.big || previous.config.big,
        bigJoinConcurrency: results.config.bigJoinConcurrency,
        cGeneratorModes: results.config.cGeneratorModes ?? [],
      },
      servers: [...previous.servers, ...results.servers.filter((s) => !ids.has(s.id))],
      // New figures replace the old ones of the same configuration.
      runs: [
        ...previous.runs.filter(
          (r) =>
            !results.runs.some(
              (n) =>
                n.server === r.server &&
                n.members === r.members &&
                n.mode === r.mode &&
                (n.generator ?? 'node') === (r.generator ?? 'node'),
            ),
        ),
        ...results.runs,
      ],
      ...((results.profile ?? previous.profile) ? { profile: results.profile ?? previous.profile } : {}),
      ...((results.profileTurn ?? previous.profileTurn)
        ? { profileTurn: results.profileTurn ?? previous.profileTurn }
        : {}),
      notes: [...previous.notes, ...results.notes],
      durationMs: previous.durationMs + results.durationMs,
    };
  }
  writeFileSync(previousPath, `${JSON.stringify(results, null, 2)}\n`);
  writeReport(results, o.out);
  log(
    `wrote ${o.out}, ${join(o.out, '..', 'benchmarks.svg')} and bench/results.json in ${formatMs(results.durationMs)}`,
  );
}

main().catch((error: unknown) => {
  log(`npm run bench: ${(error as Error).message}`);
  process.exit(1);
});
