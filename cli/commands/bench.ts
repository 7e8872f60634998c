import { Flags } from '@oclif/core';
import { spawnOnFreePort, spawnTarget, TargetError, type TargetHandle } from '../../src/processes/index.js';
import { BENCH_DIALECTS } from '../../src/bench/dialects.js';
import { CLEAR_LINE, colorWanted, painter } from '../../src/color.js';
import { fillSpawnCommand } from '../../src/command-template.js';
import {
  BenchError,
  type BenchProgress,
  DEFAULT_DEADLINE_MS,
  DEFAULT_DRAIN_MS,
  DEFAULT_DRAIN_QUIET_MS,
  DEFAULT_JOIN_CONCURRENCY,
  DEFAULT_JOIN_TIMEOUT_MS,
  DEFAULT_MESSAGE_BYTES,
} from '../../src/bench/loadgen.js';
import {
  defaultWorkers,
  MEMBERS_PER_WORKER,
  ONE_THREAD_DELIVERIES_PER_SECOND,
  runBenchThreads,
} from '../../src/bench/bench-threads.js';
import { formatBenchSummary, formatProgress } from '../../src/bench/render.js';
import type { BenchResult } from '../../src/bench/result.js';
import { ChatkitCommand } from '../base.js';
import { EXIT_USAGE, intFlag, parseAddress, promptFlag } from '../flags.js';

/** Exit code when the run could not take place (nothing listens, the target did not start, nobody joined). */
const EXIT_NO_RUN = 1;

const seconds = (description: string) =>
  Flags.custom<number>({
    description,
    parse: async (input) => {
      const value = Number(input);
      if (!Number.isFinite(value) || value <= 0)
        throw new Error(`expected a positive number of seconds, got "${input}"`);
      return value;
    },
  })();

/** `chatkit bench`: a load generator for any chat server of the NICK or tilde dialect (or a line relay). */
export default class Bench extends ChatkitCommand {
  static override summary =
    'Measure a chat server under load: joins, deliveries/s, latency, losses, RSS, CPU.';

  static override description =
    `Joins --clients clients with the dialect's handshake (at most --join-concurrency at once), lets the first --senders of them send timestamped messages (--messages each, or for --duration; at --rate per sender, or at full speed), and finds every message in every member's byte stream, whatever the chunk boundaries. Reports members joined and the join time, deliveries per second, latency p50/p90/p99/max (sender's write to member's read), messages lost after a bounded drain, and the server's RSS and CPU when it knows its pid (--pid, or --spawn). Every run is bounded by --timeout and ends by itself.

Dialects: nick and tilde as in spec/PROTOCOL.md (every member, the sender included, should get every message); raw-lines for a plain line relay such as \`ncat -l --chat\` (no handshake: a client is a member once the server sent it its first bytes; messages end with LF; the sender gets no copy).

The summary is coloured on a terminal (NO_COLOR turns it off, FORCE_COLOR on): losses red, none green, warnings yellow.

Exit codes: 0 the run took place (read "lost" in the report), 1 it could not (nothing listens, the spawned target did not start, no client joined), 2 usage error.`;

  static override examples = [
    {
      description:
        "the seeds' NICK server on its default port, 100 clients, 10 of them sending 100 messages each",
      command: '<%= config.bin %> bench --target 127.0.0.1:55555 --dialect nick',
    },
    {
      description: 'spawn the reference server and measure it, 1000 clients, 100 senders at 5 msg/s for 10 s',
      command:
        '<%= config.bin %> bench --dialect tilde --spawn "chatkit serve --dialect tilde --port {port}" --clients 1000 --senders 100 --rate 5 --duration 10',
    },
    {
      description: '10,000 members read by 2 threads, against a server already running',
      command: '<%= config.bin %> bench --target 127.0.0.1:55555 --dialect nick --clients 10000 --workers 2',
    },
    {
      description: 'ncat in chat mode, JSON for machines',
      command:
        '<%= config.bin %> bench --dialect raw-lines --spawn "ncat -l --chat --max-conns 2000 127.0.0.1 {port}" --json',
    },
  ];

  static override enableJsonFlag = true;

  static override flags = {
    target: Flags.string({
      description:
        'HOST:PORT of the server [default with --spawn: 127.0.0.1 and a free port]; give it again for each server of one room (a cluster): clients spread round-robin, cross-node deliveries reported',
      multiple: true,
    }),
    dialect: Flags.option({
      options: BENCH_DIALECTS,
      required: true,
      description: 'nick, tilde, or raw-lines (a line relay such as ncat --chat)',
    })(),
    prompt: promptFlag,
    clients: intFlag('clients to join [default: 100]', 1),
    senders: intFlag('how many of the clients send [default: 10]'),
    messages: intFlag('messages per sender [default: 100 unless --duration]', 1),
    duration: seconds('send for this many seconds instead of a number of messages'),
    rate: Flags.custom<number>({
      description: 'messages per second per sender; 0 = full speed [default: 0]',
      parse: async (input) => {
        const value = Number(input);
        if (!Number.isFinite(value) || value < 0) throw new Error(`expected a rate >= 0, got "${input}"`);
        return value;
      },
    })(),
    size: intFlag(`bytes per message, prefix included [default: ${DEFAULT_MESSAGE_BYTES}]`, 1),
    'join-concurrency': intFlag(`handshakes in flight at once [default: ${DEFAULT_JOIN_CONCURRENCY}]`, 1),
    'join-rate': intFlag('new connections per second; 0 = no limit [default: 0]'),
    'join-reads': Flags.option({
      options: ['lazy', 'eager'] as const,
      default: 'lazy' as const,
      description:
        "lazy: while others still join, joined members are read only every 500 ms (their announcements wait in the kernel's buffers), so the join time is the server's; eager: read every member all the time (each join then costs the generator one read per member)",
    })(),
    'join-timeout': seconds(`bound on one client's handshake [default: ${DEFAULT_JOIN_TIMEOUT_MS / 1000}]`),
    drain: seconds(
      `bound on the wait for deliveries after the last message [default: ${DEFAULT_DRAIN_MS / 1000}]`,
    ),
    'drain-quiet': seconds(
      `the drain ends early after this long without a new delivery [default: ${DEFAULT_DRAIN_QUIET_MS / 1000}]`,
    ),
    timeout: seconds(`hard bound on the whole run [default: ${DEFAULT_DEADLINE_MS / 1000}]`),
    pid: intFlag("the server's pid, for its RSS and CPU (summed over its process group if it leads one)", 1),
    workers: intFlag(
      `threads the members are spread over [default: one per core, at most one per ${MEMBERS_PER_WORKER} clients; one for a paced run below ${ONE_THREAD_DELIVERIES_PER_SECOND / 1e6} M deliveries/s]`,
      1,
    ),
    spawn: Flags.string({
      description:
        'start the server with this shell command ({port} is replaced), wait until it listens, measure it, stop it',
    }),
  };

  async run(): Promise<BenchResult> {
    const { flags } = await this.parse(Bench);
    if (flags.messages !== undefined && flags.duration !== undefined) {
      this.fail('BENCH_BAD_OPTION', '--messages and --duration exclude each other', EXIT_USAGE);
    }
    if (flags.target === undefined && flags.spawn === undefined) {
      this.fail(
        'BENCH_BAD_OPTION',
        'give --target HOST:PORT, or --spawn "CMD" to start the server',
        EXIT_USAGE,
      );
    }
    let address: { host: string; port: number } | undefined;
    let nodes: { host: string; port: number }[] | undefined;
    if (flags.target !== undefined) {
      try {
        const [first, ...more] = flags.target.map((t) => parseAddress(t));
        address = first;
        if (more.length > 0) nodes = more;
      } catch (error) {
        this.fail('BENCH_BAD_OPTION', `--target: ${(error as Error).message}`, EXIT_USAGE);
      }
    }
    if (flags.spawn !== undefined && address === undefined && !flags.spawn.includes('{port}')) {
      this.fail(
        'BENCH_BAD_OPTION',
        '--spawn needs {port} in the command, or a --target with the port',
        EXIT_USAGE,
      );
    }

    let target: TargetHandle | undefined;
    let spawned: string | undefined;
    const host = address?.host ?? '127.0.0.1';
    let port = address?.port ?? 0;
    if (flags.spawn !== undefined) {
      const command = flags.spawn;
      try {
        target =
          address === undefined
            ? await spawnOnFreePort({ command: (free) => fillSpawnCommand(command, free), attempts: 1 })
            : await spawnTarget({ command: fillSpawnCommand(command, port), port });
      } catch (error) {
        if (error instanceof TargetError) this.fail(error.code, error.message.split('\n')[0]!, EXIT_NO_RUN);
        throw error;
      }
      port = target.port ?? port;
      spawned = fillSpawnCommand(command, port);
    }
    const live = !this.jsonEnabled() && process.stderr.isTTY === true;
    let result: BenchResult;
    try {
      const clients = flags.clients ?? 100;
      result = await runBenchThreads({
        host,
        port,
        ...(nodes === undefined ? {} : { nodes }),
        dialect: flags.dialect,
        ...(flags.prompt === undefined ? {} : { prompt: flags.prompt }),
        clients,
        senders: Math.min(flags.senders ?? 10, clients),
        ...(flags.duration === undefined
          ? { messagesPerSender: flags.messages ?? 100 }
          : { durationMs: Math.round(flags.duration * 1000) }),
        rate: flags.rate ?? 0,
        size: flags.size ?? DEFAULT_MESSAGE_BYTES,
        joinConcurrency: flags['join-concurrency'] ?? DEFAULT_JOIN_CONCURRENCY,
        joinRate: flags['join-rate'] ?? 0,
        joinReads: flags['join-reads'],
        joinTimeoutMs: Math.round((flags['join-timeout'] ?? DEFAULT_JOIN_TIMEOUT_MS / 1000) * 1000),
        drainMs: Math.round((flags.drain ?? DEFAULT_DRAIN_MS / 1000) * 1000),
        drainQuietMs: Math.round((flags['drain-quiet'] ?? DEFAULT_DRAIN_QUIET_MS / 1000) * 1000),
        deadlineMs: Math.round((flags.timeout ?? DEFAULT_DEADLINE_MS / 1000) * 1000),
        ...(target !== undefined ? { pid: target.pid, pidGroup: true } : {}),
        ...(flags.pid !== undefined && target === undefined ? { pid: flags.pid } : {}),
        ...(spawned === undefined ? {} : { spawned }),
        ...(live
          ? { onProgress: (p: BenchProgress) => process.stderr.write(`${CLEAR_LINE}${formatProgress(p)}`) }
          : {}),
      }, flags.workers ?? defaultWorkers({ clients, senders: Math.min(flags.senders ?? 10, clients), rate: flags.rate ?? 0 }));
    } catch (error) {
      if (error instanceof BenchError) {
        this.fail(error.code, error.message, error.code === 'BENCH_BAD_OPTION' ? EXIT_USAGE : EXIT_NO_RUN);
      }
      throw error;
    } finally {
      if (live) process.stderr.write(CLEAR_LINE);
      await target?.stop();
    }
    if (!this.jsonEnabled()) {
      process.stdout.write(`${formatBenchSummary(result, painter(colorWanted(process.stdout)))}\n`);
    }
    if (result.join.joined === 0) {
      if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      this.fail('BENCH_NO_MEMBERS', 'no client joined the server', EXIT_NO_RUN);
    }
    return result;
  }
}
