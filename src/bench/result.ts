/**
 * The result of one `chatkit bench` run as data: the `--json` document, validated with zod, from
 * which the terminal summary and the matrix report (`npm run bench`) are rendered.
 *
 * @module
 */
import { z } from 'zod';
import { BENCH_DIALECTS } from './dialects.js';

/** The schema's name and version; a breaking change bumps the number. */
export const BENCH_RESULT_SCHEMA = 'chatkit-bench/1';

const ms = z.number().nonnegative();

/** Latency figures in milliseconds (nearest-rank, at most 0.8 % above the exact value). */
export const latencySchema = z.strictObject({
  samples: z.number().int().nonnegative(),
  min: ms,
  p50: ms,
  p90: ms,
  p99: ms,
  max: ms,
  mean: ms,
});

/** RSS and CPU of a process (or process group) over the measured window. */
export const processFiguresSchema = z.strictObject({
  /** Pid sampled (the group leader when `group`). */
  pid: z.number().int().positive(),
  /** Whether the figures are summed over the process group. */
  group: z.boolean(),
  /** Resident memory once every client had joined, bytes. */
  rssAfterJoinBytes: z.number().int().nonnegative().nullable(),
  /** Largest resident memory seen during the run (sampled), bytes. */
  rssPeakBytes: z.number().int().nonnegative().nullable(),
  /** CPU time spent while the clients joined (first connect to last member), ms. */
  joinCpuMs: ms.nullable(),
  /** CPU time spent during the measured window (first send to end of drain), ms. */
  cpuMs: ms.nullable(),
  /** That CPU time over the window's wall time, in % of one core. */
  cpuPercent: z.number().nonnegative().nullable(),
});

/** The whole result. */
export const benchResultSchema = z.strictObject({
  schema: z.literal(BENCH_RESULT_SCHEMA),
  target: z.strictObject({
    host: z.string(),
    port: z.number().int().positive(),
    dialect: z.enum(BENCH_DIALECTS),
    prompt: z.string().optional(),
    /** Further servers of the same room (a cluster), `HOST:PORT` each; clients spread round-robin. */
    nodes: z.array(z.string()).optional(),
    /** The command the bench started, with `{port}` filled in, if it spawned the target. */
    spawned: z.string().optional(),
  }),
  config: z.strictObject({
    clients: z.number().int().positive(),
    senders: z.number().int().nonnegative(),
    messagesPerSender: z.number().int().positive().nullable(),
    durationMs: z.number().int().positive().nullable(),
    /** Messages per second per sender; 0 = full speed. */
    rate: z.number().nonnegative(),
    size: z.number().int().positive(),
    joinConcurrency: z.number().int().positive(),
    joinRate: z.number().nonnegative(),
    /** Whether members were read while others still joined (see `chatkit bench --help`). */
    joinReads: z.enum(['lazy', 'eager']),
  }),
  join: z.strictObject({
    attempted: z.number().int().nonnegative(),
    joined: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    /** Failures by reason (refused, closed, timeout, prompt-mismatch, connect-error). */
    failures: z.record(z.string(), z.number().int().positive()),
    /** First connect to the last member's handshake, ms. */
    ms,
    /** One client's connect-to-member time. */
    latencyMs: latencySchema,
  }),
  send: z.strictObject({
    messages: z.number().int().nonnegative(),
    /** First to last write, ms. */
    ms,
    /** Bytes of one message on the wire, as written by a sender. */
    messageBytes: z.number().int().positive(),
  }),
  deliveries: z.strictObject({
    /** Message copies that should reach members: each message times its recipients. */
    expected: z.number().int().nonnegative(),
    /** Copies found (each counted once, whatever the number of token copies). */
    seen: z.number().int().nonnegative(),
    /** expected - seen, after the drain. */
    lost: z.number().int().nonnegative(),
    /** Deliveries per second, from the first write to the last delivery. */
    perSecond: z.number().nonnegative(),
    /** Token copies damaged by a split or an insertion (their message may still be counted). */
    damagedTokens: z.number().int().nonnegative(),
    /** With several targets (a cluster): copies found at a member on another node than the sender's. */
    crossNode: z.number().int().nonnegative().optional(),
  }),
  /** From the sender's write to a member's read. */
  latencyMs: latencySchema,
  /** Members the server closed (or that failed) after they joined. */
  membersLost: z.number().int().nonnegative(),
  server: processFiguresSchema.nullable(),
  /** The load generator's own process (it shares the machine with the server). */
  generator: z.strictObject({
    /** Which generator measured the run: `chatkit bench`, or the yardstick `bench/c/loadgen.c`. */
    program: z.string().optional(),
    /** Worker threads the members were spread over (`--workers`); absent for one thread. */
    workers: z.number().int().positive().optional(),
    /** CPU time spent while the clients joined, ms. */
    joinCpuMs: ms,
    /** CPU time spent during the measured window, ms. */
    cpuMs: ms,
    cpuPercent: z.number().nonnegative(),
    rssBytes: z.number().int().nonnegative(),
  }),
  /** How the run ended. */
  endedBy: z.enum(['complete', 'drain-quiet', 'drain-limit', 'deadline', 'no-members']),
  /** Whole run, connect to close, ms. */
  durationMs: ms,
  openFiles: z.strictObject({
    needed: z.number().int().positive(),
    soft: z.number().nullable(),
    raised: z.boolean(),
  }),
  warnings: z.array(z.string()),
});

/** The `--json` document of `chatkit bench`. */
export type BenchResult = z.infer<typeof benchResultSchema>;
/** Latency figures. */
export type LatencyFigures = z.infer<typeof latencySchema>;
/** Server or generator process figures. */
export type ProcessFigures = z.infer<typeof processFiguresSchema>;
