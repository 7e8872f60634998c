/**
 * The load generator behind `chatkit bench`: many chat clients in this one process, on one event
 * loop, against a server of any dialect it speaks. It joins them (bounded concurrency and rate),
 * lets some of them send timestamped messages (full speed or paced), finds every message in every
 * member's byte stream, and reports joins, deliveries per second, latency percentiles, losses
 * and, when it knows the server's pid, the server's memory and CPU.
 *
 * Cost discipline (the generator shares the machine with the server it measures): one shared
 * receive buffer for every socket (`onread`), one timer for the whole run (progress, sampling,
 * handshake deadlines, drain), one more only while paced senders run; no timer per socket; the
 * stream search is native `indexOf`; latencies go into a fixed-size histogram.
 *
 * Every run is bounded: by `deadlineMs` as a whole, by `joinTimeoutMs` per handshake, by
 * `drainMs` after the last message, and it ends by itself.
 *
 * @module
 */
import { connect, type Socket } from 'node:net';
import {
  type BenchDialect,
  benchDialect,
  type Handshake,
  type HandshakeStep,
  type JoinFailure,
} from './dialects.js';
import { ChatkitError } from '../errors.js';
import { type NodeAddress, roundRobin } from '../nodes.js';
import { ensureOpenFileLimit, isGroupLeader, ProcessSampler, type ProcSample } from '../processes/index.js';
import { BENCH_RESULT_SCHEMA, type BenchResult, type LatencyFigures } from './result.js';
import { StreamScanner } from './scanner.js';
import { Histogram, type HistogramSnapshot } from './stats.js';
import {
  MAX_SENDERS,
  MAX_SEQUENCE,
  MAX_TIME_US,
  messageTemplate,
  stampMessage,
  tokenOffsets,
} from './token.js';

/** Default bytes per message. */
export const DEFAULT_MESSAGE_BYTES = 64;
/** Default handshakes in flight at once. */
export const DEFAULT_JOIN_CONCURRENCY = 64;
/** Default bound on one client's handshake. */
export const DEFAULT_JOIN_TIMEOUT_MS = 30_000;
/** Default bound on the wait for deliveries after the last message was sent. */
export const DEFAULT_DRAIN_MS = 30_000;
/** The drain ends early when nothing new arrived for this long. */
export const DEFAULT_DRAIN_QUIET_MS = 3_000;
/** Default bound on the whole run. */
export const DEFAULT_DEADLINE_MS = 300_000;
/** After the joins, the run waits until no byte arrived for this long (join announcements drained). */
export const SETTLE_QUIET_MS = 200;
/** ...but no longer than this. */
export const SETTLE_MAX_MS = 60_000;
/** Period of the one shared timer (progress, sampling, deadlines). */
export const TICK_MS = 100;
/**
 * With lazy join reads, every member is still read once this often while others join, so that
 * its kernel buffers never fill: a server that then sees backpressure (or blocks, like ncat and
 * the seeds) would measure the generator's laziness, not itself.
 */
export const JOIN_READ_SWEEP_MS = 500;
/** Period of the pacing timer of paced senders. */
export const PACE_TICK_MS = 1;
/** Above this much of its one core in the measured window, the generator warns that it was the bottleneck. */
export const GENERATOR_BOTTLENECK_PERCENT = 90;
/** Bytes of the shared receive buffer: the most one read takes from one socket. */
export const RECEIVE_BUFFER_BYTES = 256 * 1024;
/** Messages a full-speed sender writes in one turn before the others get theirs. */
const BURST = 8;
/** Descriptors the process needs besides the clients (stdio, the event loop, a spawned target's pipes). */
export const SPARE_DESCRIPTORS = 64;
/** The phases of a run, in order. */
export const BENCH_PHASES = ['join', 'settle', 'send', 'drain', 'done'] as const;

/** What to run. */
export interface BenchOptions {
  host: string;
  port: number;
  /** Further servers of the same room (a cluster): clients connect to all of them, round-robin. */
  nodes?: readonly NodeAddress[];
  dialect: BenchDialect;
  /** NICK prompt token (default `NICK`). */
  prompt?: string;
  /** Clients to join. */
  clients: number;
  /** How many of them send (the first ones to join). */
  senders: number;
  /** Messages per sender; or `durationMs`. */
  messagesPerSender?: number;
  /** How long senders send; or `messagesPerSender`. */
  durationMs?: number;
  /** Messages per second per sender; 0 = full speed (as fast as each socket takes them). */
  rate: number;
  /** Bytes per message (prefix and tokens included). */
  size: number;
  joinConcurrency: number;
  /** New connections per second; 0 = as fast as `joinConcurrency` allows. */
  joinRate: number;
  joinTimeoutMs: number;
  /**
   * `lazy` (default): while clients are still joining, members that have joined are read only
   * every {@link JOIN_READ_SWEEP_MS}; the join announcements wait in their sockets' kernel buffers
   * meanwhile, and are read once all have joined.
   * `eager`: every member is read all the time, so every join costs the generator one read per
   * member (and the join time measures the generator as much as the server).
   */
  joinReads?: 'lazy' | 'eager';
  drainMs: number;
  drainQuietMs: number;
  deadlineMs: number;
  /** The server's pid, for RSS and CPU. */
  pid?: number;
  /** Sum the pid's process group (default: when the pid leads its group). */
  pidGroup?: boolean;
  /** The command that started the target, for the report. */
  spawned?: string;
  /** Called on every tick with the state of the run. */
  onProgress?: (progress: BenchProgress) => void;
  /**
   * Set when this run is one thread's share of a larger run (`--workers`, see ./bench-threads.ts):
   * its members are `clients`, its senders are `senders`, and it starts sending when every share
   * has joined.
   */
  shard?: ShardLink;
}

/** What ties one thread's share of a run to the others (./bench-threads.ts builds it). */
export interface ShardLink {
  /** This share's number (part of its members' names, so that names are unique across shares). */
  readonly index: number;
  /** The whole run's token salt and name tag: every share accepts every share's tokens. */
  readonly salt: number;
  readonly runTag: string;
  /** The whole run's epoch, as `performance.timeOrigin + performance.now()` of the thread that set it. */
  readonly epochMs: number;
  /** The whole run's index of this share's first sender. */
  readonly senderBase: number;
  /** Messages sent so far by each sender of the whole run (shared memory: written by its own share only). */
  readonly sent: Int32Array;
  /** Reports this share joined (and settled); resolves when every share has, to start sending. */
  ready(joined: number): Promise<void>;
  /** Reports this share's senders done; resolves once every share's are. */
  sendersDone(): Promise<void>;
  /** The share's raw figures, for the merge; called once, just before the share's result is returned. */
  report(raw: ShardRaw): void;
}

/** A share's figures that its result only holds summarized (merged across shares by ./bench-threads.ts). */
export interface ShardRaw {
  readonly joinLatency: HistogramSnapshot;
  readonly latency: HistogramSnapshot;
  /** On the shared epoch, in ms. */
  readonly joinStartMs: number;
  readonly joinEndMs: number;
  readonly sendStartedMs: number;
  readonly sendEndedMs: number;
  readonly lastDeliveryMs: number;
  /** The end of the measured window (the last delivery when the drain idled at its end). */
  readonly windowEndMs: number;
}

/** A snapshot for live display. */
export interface BenchProgress {
  phase: (typeof BENCH_PHASES)[number];
  elapsedMs: number;
  clients: number;
  joined: number;
  failed: number;
  sent: number;
  expected: number;
  seen: number;
  /** Deliveries per second over the last tick. */
  recentPerSecond: number;
  serverRssBytes: number | undefined;
}

/** Thrown when the run cannot start (nothing listens, options out of range). */
export class BenchError extends ChatkitError {
  /** Stable code. */
  declare readonly code: 'BENCH_BAD_OPTION' | 'BENCH_CONNECT_FAILED';
  /** Creates the error with its code. */
  constructor(code: 'BENCH_BAD_OPTION' | 'BENCH_CONNECT_FAILED', message: string) {
    super(code, message);
    this.name = 'BenchError';
  }
}

type ClientState = 'connecting' | 'handshake' | 'member' | 'failed' | 'closed';

interface Client {
  readonly name: string;
  readonly socket: Socket;
  readonly handshake: Handshake;
  state: ClientState;
  /** Counted among the handshakes in flight. */
  pending: boolean;
  readonly startedAt: number;
  readonly deadline: number;
  scanner: StreamScanner | undefined;
}

interface Sender {
  readonly client: Client;
  readonly index: number;
  readonly template: Uint8Array;
  readonly offsets: number[];
  next: number;
  blocked: boolean;
  dueAt: number;
}

const microsSince = (epoch: number) => Math.round((performance.now() - epoch) * 1000);
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * A run's identity: the token salt and the members' name tag, random per run so that tokens and
 * names of another run on the same server are not counted as ours.
 */
export function runIdentity(): { salt: number; runTag: string } {
  return {
    salt: Math.floor(Math.random() * 0x1000),
    runTag: Math.floor(Math.random() * 36 ** 3)
      .toString(36)
      .padStart(3, '0'),
  };
}

/** A histogram of microseconds as the result's figures in ms. */
export function latency(h: Histogram): LatencyFigures {
  const toMs = (us: number) => round3(us / 1000);
  return {
    samples: h.count,
    min: toMs(h.min),
    p50: toMs(h.percentile(50)),
    p90: toMs(h.percentile(90)),
    p99: toMs(h.percentile(99)),
    max: toMs(h.max),
    mean: toMs(h.mean),
  };
}

function validate(o: BenchOptions): void {
  const bad = (what: string) => {
    throw new BenchError('BENCH_BAD_OPTION', what);
  };
  if (!Number.isInteger(o.clients) || o.clients < 1) bad('clients must be an integer >= 1');
  if (!Number.isInteger(o.senders) || o.senders < 0 || o.senders > o.clients)
    bad('senders must be an integer from 0 to the number of clients');
  if (o.senders > MAX_SENDERS) bad(`at most ${MAX_SENDERS} senders`);
  if ((o.messagesPerSender === undefined) === (o.durationMs === undefined))
    bad('give either messages per sender or a duration');
  if (
    o.messagesPerSender !== undefined &&
    (o.messagesPerSender < 1 || o.messagesPerSender > MAX_SEQUENCE + 1)
  )
    bad(`messages per sender must be 1 to ${MAX_SEQUENCE + 1}`);
  if (o.rate < 0) bad('rate must be >= 0');
  if (o.joinConcurrency < 1) bad('join concurrency must be >= 1');
  if (o.deadlineMs * 1000 > MAX_TIME_US) bad('deadline too long for the token clock');
}

/**
 * Runs one benchmark to its end and returns the result. Once clients are connecting it does not
 * throw: the result says how far the run got (`endedBy`, `join.failures`, `warnings`).
 *
 * @throws {@link BenchError} for options out of range, or when not one client can connect.
 */
export async function runBench(o: BenchOptions): Promise<BenchResult> {
  validate(o);
  const spec = benchDialect(o.dialect, o.prompt ?? 'NICK');
  const warnings: string[] = [];
  const fileLimit = ensureOpenFileLimit(o.clients + SPARE_DESCRIPTORS);
  if (fileLimit.warning) warnings.push(fileLimit.warning);
  const shard = o.shard;
  const { salt, runTag } = shard ?? runIdentity();
  const namePrefix = shard === undefined ? `b${runTag}` : `b${runTag}${shard.index.toString(36)}x`;
  const nameOf = (i: number) => `${namePrefix}${i.toString(36)}`;
  // The layout must fit the longest name before anything connects (throws a RangeError otherwise).
  try {
    tokenOffsets({ prefix: spec.prefix(nameOf(o.clients - 1)), suffix: spec.suffix, size: o.size });
  } catch (error) {
    throw new BenchError('BENCH_BAD_OPTION', (error as Error).message);
  }

  // A share measures on the whole run's clock: a token stamped in one thread is read in another.
  const epoch = shard === undefined ? performance.now() : shard.epochMs - performance.timeOrigin;
  const elapsed = () => performance.now() - epoch;
  const group = o.pid === undefined ? false : (o.pidGroup ?? isGroupLeader(o.pid));
  let rssPeak: number | undefined;
  const sampler = o.pid === undefined ? undefined : new ProcessSampler(o.pid, group);
  const sample = (): ProcSample | undefined => {
    const s = sampler?.sample();
    if (s !== undefined) rssPeak = Math.max(rssPeak ?? 0, s.rssBytes);
    return s;
  };
  sample();

  const clients: Client[] = [];
  const members: Client[] = [];
  const joinLatency = new Histogram();
  const latencyHist = new Histogram();
  const failures: Record<string, number> = {};
  let failedCount = 0;
  let connectedOnce = false;
  let firstConnectError: string | undefined;
  let membersLost = 0;
  let lastByteAtUs = 0;

  // Delivery accounting, sized once the members are known. Senders are numbered over the whole
  // run (a share's from `senderBase`); `sentBySender` is shared memory when the run has shares.
  let senderCount = 0;
  const senderBase = shard?.senderBase ?? 0;
  let allSenders = 0;
  let lastSeq = new Int32Array(0);
  let sentBySender: Int32Array<ArrayBufferLike> = new Int32Array(0);
  let sent = 0;
  let expected = 0;
  let seen = 0;
  /** Deliveries to a member on another node than the sender's (with {@link BenchOptions.nodes}). */
  let crossNode = 0;
  const nextNode = roundRobin([{ host: o.host, port: o.port }, ...(o.nodes ?? [])]);
  const nodeOf = new Map<Client, NodeAddress>();
  let lastDeliveryUs = 0;
  let nowUs = 0;

  let phase: BenchProgress['phase'] = 'join';
  let endedBy: BenchResult['endedBy'] | undefined;
  let wake: () => void = () => undefined;
  /** Ends the run (the first reason wins) and wakes whatever phase is waiting. */
  const finish = (why: BenchResult['endedBy']) => {
    endedBy ??= why;
    wake();
  };
  const waitUntil = (condition: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (endedBy !== undefined || condition()) {
          wake = () => undefined;
          resolve();
        }
      };
      wake = check;
      check();
    });

  const receiveBuffer = Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES);
  const lazyJoinReads = (o.joinReads ?? 'lazy') === 'lazy';
  const onToken = (member: number, sender: number, seq: number, timeUs: number) => {
    if (sender >= allSenders || seq >= Atomics.load(sentBySender, sender)) return; // not (yet) ours: damaged
    const k = member * allSenders + sender;
    if (seq <= lastSeq[k]!) return; // the message's second token copy
    lastSeq[k] = seq;
    seen++;
    if (o.nodes !== undefined && nodeOf.get(members[member]!) !== nodeOf.get(members[sender - senderBase]!)) crossNode++;
    latencyHist.record(nowUs - timeUs);
    lastDeliveryUs = nowUs;
    if (seen === expected && phase === 'drain') finish('complete');
  };

  // ---- joining -----------------------------------------------------------------------------------
  let launched = 0;
  let inFlight = 0;
  let joinStart = 0;
  let joinEnd = 0;
  let rateTimer: NodeJS.Timeout | undefined;

  const endHandshake = (c: Client) => {
    if (c.pending) {
      c.pending = false;
      inFlight--;
    }
  };

  const lose = (c: Client, why: JoinFailure) => {
    if (phase === 'done' || c.state === 'failed' || c.state === 'closed') return;
    if (c.state === 'member') {
      c.state = 'closed';
      membersLost++;
    } else {
      c.state = 'failed';
      failedCount++;
      failures[why] = (failures[why] ?? 0) + 1;
      endHandshake(c);
    }
    c.socket.destroy();
    launchJoins();
  };

  const act = (c: Client, step: HandshakeStep) => {
    if (step.kind === 'send') c.socket.write(step.bytes);
    else if (step.kind === 'joined') {
      c.state = 'member';
      endHandshake(c);
      const member = members.length;
      members.push(c);
      joinLatency.record(Math.round((elapsed() - c.startedAt) * 1000));
      c.scanner = new StreamScanner((s, q, t) => onToken(member, s, q, t), salt);
      launchJoins();
    } else if (step.kind === 'failed') {
      if (warnings.length < 5) warnings.push(`${c.name}: ${step.why}: ${step.detail}`);
      lose(c, step.why);
    }
  };

  /** Every read of every socket lands here, in the one shared buffer; true keeps the socket reading. */
  const onRead = (c: Client, n: number): boolean => {
    if (n <= 0) return true;
    const chunk = receiveBuffer.subarray(0, n);
    nowUs = microsSince(epoch);
    lastByteAtUs = nowUs;
    if (c.state === 'handshake') act(c, c.handshake.received(chunk));
    // The chunk that completes a handshake is scanned too (no token can be in it yet).
    c.scanner?.push(chunk);
    // Returning false pauses the socket (resumed when everyone has joined).
    return !(lazyJoinReads && phase === 'join' && c.state === 'member');
  };

  const launchOne = () => {
    const name = nameOf(launched++);
    inFlight++;
    const startedAt = elapsed();
    const holder: { client?: Client } = {};
    const node = nextNode();
    const socket = connect({
      ...node,
      noDelay: true,
      onread: { buffer: receiveBuffer, callback: (n: number) => onRead(holder.client!, n) },
    });
    const c: Client = {
      name,
      socket,
      handshake: spec.handshake(name),
      state: 'connecting',
      pending: true,
      startedAt,
      deadline: startedAt + o.joinTimeoutMs,
      scanner: undefined,
    };
    holder.client = c;
    if (o.nodes !== undefined) nodeOf.set(c, node);
    clients.push(c);
    socket.once('connect', () => {
      if (c.state !== 'connecting') return;
      connectedOnce = true;
      c.state = 'handshake';
      act(c, c.handshake.connected());
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (c.state === 'connecting')
        firstConnectError ??= `${o.host}:${o.port} (${error.code ?? error.message})`;
      lose(c, c.state === 'connecting' ? 'connect-error' : 'closed');
    });
    socket.on('close', () => lose(c, c.state === 'connecting' ? 'connect-error' : 'closed'));
  };

  function launchJoins(): void {
    if (phase !== 'join') return;
    // Nothing listens: every attempt so far failed to connect and none is pending.
    const hopeless = !connectedOnce && failedCount > 0 && inFlight === 0;
    while (!hopeless && launched < o.clients && inFlight < o.joinConcurrency) {
      if (o.joinRate > 0) {
        const dueAt = joinStart + (launched / o.joinRate) * 1000;
        if (dueAt > elapsed()) {
          rateTimer ??= setTimeout(
            () => {
              rateTimer = undefined;
              launchJoins();
            },
            Math.max(1, Math.ceil(dueAt - elapsed())),
          );
          return;
        }
      }
      launchOne();
    }
    if ((hopeless || launched >= o.clients) && inFlight === 0 && joinEnd === 0) {
      joinEnd = elapsed();
      wake();
    }
  }

  // ---- the one shared timer ---------------------------------------------------------------------
  let lastSweepAt = 0;
  let lastTickSeen = 0;
  let lastTickAt = 0;
  let drainStartedAt = 0;
  let lastProgressAt = 0;
  /** Server CPU and generator CPU when the last delivery was seen (for runs that end on a quiet drain). */
  let atLastProgress: { at: number; serverCpuMs: number | undefined; gen: NodeJS.CpuUsage } | undefined;
  const tick = () => {
    const now = elapsed();
    const s = sample();
    if (phase === 'join') {
      for (const c of clients) {
        if (c.pending && now >= c.deadline) lose(c, 'timeout');
      }
      if (lazyJoinReads && now - lastSweepAt >= JOIN_READ_SWEEP_MS) {
        lastSweepAt = now;
        // One read each (the read callback pauses the socket again).
        for (const c of members) if (c.state === 'member') c.socket.resume();
      }
    }
    if (seen !== lastTickSeen) {
      lastProgressAt = now;
      atLastProgress = { at: now, serverCpuMs: s?.cpuMs, gen: process.cpuUsage() };
    }
    if (phase === 'drain') {
      if (now - drainStartedAt >= o.drainMs) finish('drain-limit');
      else if (now - lastProgressAt >= o.drainQuietMs) finish('drain-quiet');
    }
    const dt = now - lastTickAt;
    o.onProgress?.({
      phase,
      elapsedMs: Math.round(now),
      clients: o.clients,
      joined: members.length,
      failed: failedCount,
      sent,
      expected,
      seen,
      recentPerSecond: dt > 0 ? Math.round(((seen - lastTickSeen) * 1000) / dt) : 0,
      serverRssBytes: s?.rssBytes,
    });
    lastTickSeen = seen;
    lastTickAt = now;
  };
  const ticker = setInterval(tick, TICK_MS);
  const deadline = setTimeout(() => finish('deadline'), o.deadlineMs);

  let rssAfterJoin: number | undefined;
  let serverCpuStart: number | undefined;
  let genCpuStart = process.cpuUsage();
  let sendStartedAt = 0;
  let sendEndedAt = 0;
  let pacer: NodeJS.Timeout | undefined;
  let settleTimer: NodeJS.Timeout | undefined;

  const joinCpu0 = { server: sample()?.cpuMs, gen: process.cpuUsage() };
  let joinCpu: { server: number | undefined; gen: number } | undefined;
  try {
    joinStart = elapsed();
    launchJoins();
    await waitUntil(() => joinEnd !== 0);
    const genJoin = process.cpuUsage(joinCpu0.gen);
    const serverNow = sample()?.cpuMs;
    joinCpu = {
      server:
        serverNow === undefined || joinCpu0.server === undefined ? undefined : serverNow - joinCpu0.server,
      gen: (genJoin.user + genJoin.system) / 1000,
    };
    if (!connectedOnce && endedBy === undefined) {
      throw new BenchError(
        'BENCH_CONNECT_FAILED',
        `cannot connect to ${firstConnectError ?? `${o.host}:${o.port}`}`,
      );
    }
    if (joinEnd === 0) joinEnd = elapsed();
    phase = 'settle';
    for (const c of members) if (c.state === 'member') c.socket.resume();
    // Join announcements (one per member per join: quadratic) drain before the clock starts.
    const settleUntil = elapsed() + SETTLE_MAX_MS;
    await waitUntil(() => {
      const quiet = microsSince(epoch) - lastByteAtUs >= SETTLE_QUIET_MS * 1000;
      if (!quiet && elapsed() < settleUntil) {
        settleTimer = setTimeout(() => wake(), SETTLE_QUIET_MS / 4);
        return false;
      }
      return true;
    });
    rssAfterJoin = sample()?.rssBytes;
    // Every share starts sending at once (a share without members still takes part, with none).
    // Its accounting is ready first: the other shares' first relays may come before its own 'go'.
    if (shard !== undefined) {
      countDeliveries();
      await shard.ready(members.length);
    }
    if (endedBy === undefined && members.length === 0 && shard === undefined) endedBy = 'no-members';
    if (endedBy === undefined) await measure();
  } finally {
    clearInterval(ticker);
    clearTimeout(deadline);
    if (rateTimer) clearTimeout(rateTimer);
    if (settleTimer) clearTimeout(settleTimer);
    if (pacer) clearInterval(pacer);
  }

  // ---- sending and draining ---------------------------------------------------------------------
  /** Sizes the delivery accounting, once the members are known. */
  function countDeliveries(): void {
    if (lastSeq.length > 0) return;
    senderCount = Math.min(o.senders, members.length);
    sentBySender = shard?.sent ?? new Int32Array(senderCount);
    allSenders = sentBySender.length;
    lastSeq = new Int32Array(members.length * allSenders).fill(-1);
  }

  async function measure(): Promise<void> {
    countDeliveries();
    const recipients = spec.echoesToSender ? members.length : members.length - 1;
    const senders: Sender[] = members.slice(0, senderCount).map((client, index) => {
      const layout = { prefix: spec.prefix(client.name), suffix: spec.suffix, size: o.size };
      return {
        client,
        index,
        template: messageTemplate(layout),
        offsets: tokenOffsets(layout),
        next: 0,
        blocked: false,
        dueAt: 0,
      };
    });
    phase = 'send';
    serverCpuStart = sample()?.cpuMs;
    genCpuStart = process.cpuUsage();
    sendStartedAt = elapsed();
    const sendUntil = o.durationMs === undefined ? Number.POSITIVE_INFINITY : sendStartedAt + o.durationMs;
    const limit = o.messagesPerSender ?? MAX_SEQUENCE + 1;
    const active = new Set(senders);
    const retireDone = () => {
      const late = elapsed() >= sendUntil;
      for (const s of active) {
        if (late || s.next >= limit || s.client.state !== 'member') active.delete(s);
      }
      if (active.size === 0) wake();
    };
    const writeOne = (s: Sender): boolean => {
      const timeUs = microsSince(epoch);
      const bytes = stampMessage(
        s.template,
        s.offsets,
        { sender: senderBase + s.index, seq: s.next, timeUs },
        salt,
      );
      s.next++;
      // Before the write: a share that reads the relay first must find it counted.
      Atomics.store(sentBySender, senderBase + s.index, s.next);
      sent++;
      if (shard === undefined) expected += recipients;
      return s.client.socket.write(bytes);
    };

    if (o.rate === 0) {
      // Full speed: each sender writes until its socket stops taking bytes, then waits for
      // 'drain'. Senders take turns in bursts, so they interleave and reads run between turns.
      let scheduled = false;
      const schedule = () => {
        if (!scheduled && active.size > 0) {
          scheduled = true;
          setImmediate(pump);
        }
      };
      const pump = () => {
        scheduled = false;
        if (endedBy !== undefined) return;
        let wrote = false;
        for (const s of active) {
          for (let i = 0; i < BURST && !s.blocked && s.next < limit; i++) {
            wrote = true;
            if (!writeOne(s)) s.blocked = true;
          }
        }
        retireDone();
        if (wrote) schedule();
      };
      for (const s of senders) {
        s.client.socket.on('drain', () => {
          s.blocked = false;
          schedule();
        });
      }
      // A duration run ends on time even while every sender waits for 'drain'.
      if (o.durationMs !== undefined) pacer = setInterval(retireDone, TICK_MS);
      schedule();
    } else {
      // Paced: message k of sender i is due at start + (i / S + k) / rate seconds, so the
      // senders' messages are spread evenly over each period instead of arriving together.
      const period = 1000 / o.rate;
      for (const s of senders) s.dueAt = sendStartedAt + (s.index / senders.length) * period;
      pacer = setInterval(() => {
        const now = elapsed();
        for (const s of active) {
          while (s.next < limit && s.dueAt <= now && now < sendUntil) {
            writeOne(s);
            s.dueAt += period;
          }
        }
        retireDone();
      }, PACE_TICK_MS);
    }
    await waitUntil(() => active.size === 0);
    if (pacer) clearInterval(pacer);
    sendEndedAt = elapsed();
    if (shard !== undefined) {
      // Every share's messages come to this share's members: known once every share has sent.
      await shard.sendersDone();
      let total = 0;
      for (let i = 0; i < allSenders; i++) total += Atomics.load(sentBySender, i);
      expected = total * members.length - (spec.echoesToSender ? 0 : sent);
    }
    phase = 'drain';
    drainStartedAt = sendEndedAt;
    lastProgressAt = drainStartedAt;
    await waitUntil(() => seen >= expected);
    if (seen >= expected) endedBy ??= 'complete';
  }

  // ---- the result -------------------------------------------------------------------------------
  phase = 'done';
  const why: BenchResult['endedBy'] = endedBy ?? 'complete';
  let endAt = elapsed();
  let end = sample();
  let genCpu = process.cpuUsage(genCpuStart);
  if (why !== 'complete' && atLastProgress !== undefined && atLastProgress.at > sendStartedAt) {
    // The run idled at its end (a quiet or bounded drain): CPU is measured up to the last delivery.
    endAt = atLastProgress.at;
    end =
      atLastProgress.serverCpuMs === undefined ? undefined : { ...end!, cpuMs: atLastProgress.serverCpuMs };
    genCpu = {
      user: atLastProgress.gen.user - genCpuStart.user,
      system: atLastProgress.gen.system - genCpuStart.system,
    };
  }
  const windowMs = sendStartedAt > 0 ? Math.max(1, endAt - sendStartedAt) : 0;
  const deliveryWindowMs = Math.max(1, lastDeliveryUs / 1000 - sendStartedAt);
  const genCpuMs = (genCpu.user + genCpu.system) / 1000;
  const serverCpuMs =
    end !== undefined && serverCpuStart !== undefined ? Math.max(0, end.cpuMs - serverCpuStart) : undefined;
  const damaged = members.reduce((n, m) => n + (m.scanner?.damaged ?? 0), 0);
  for (const c of clients) {
    // RST rather than FIN: a server whose reader spins on EOF (D-NS-1, D-TS-4) sees an error at once.
    if (!c.socket.destroyed) c.socket.resetAndDestroy();
  }
  const lost = Math.max(0, expected - seen);
  if (lost > 0 && damaged > 0) {
    warnings.push(
      `${damaged} token copies were damaged (a relay cut or prefixed inside a message); a message counts once either of its copies is whole`,
    );
  }
  if (why === 'deadline') warnings.push(`the run hit its deadline of ${o.deadlineMs} ms`);
  // The generator is one thread: past this share of its core it, not the server, set the pace.
  if (windowMs > 0 && (genCpuMs / windowMs) * 100 > GENERATOR_BOTTLENECK_PERCENT) {
    warnings.push(
      `the generator was the bottleneck (${Math.round((genCpuMs / windowMs) * 100)} % of its core): the figure is a lower bound`,
    );
  }
  shard?.report({
    joinLatency: joinLatency.snapshot(),
    latency: latencyHist.snapshot(),
    joinStartMs: joinStart,
    joinEndMs: joinEnd || elapsed(),
    sendStartedMs: sendStartedAt,
    sendEndedMs: sendEndedAt,
    lastDeliveryMs: lastDeliveryUs / 1000,
    windowEndMs: endAt,
  });
  return {
    schema: BENCH_RESULT_SCHEMA,
    target: {
      host: o.host,
      port: o.port,
      dialect: o.dialect,
      ...(o.dialect === 'nick' ? { prompt: o.prompt ?? 'NICK' } : {}),
      ...(o.nodes === undefined ? {} : { nodes: o.nodes.map((n) => `${n.host}:${n.port}`) }),
      ...(o.spawned === undefined ? {} : { spawned: o.spawned }),
    },
    config: {
      clients: o.clients,
      senders: o.senders,
      messagesPerSender: o.messagesPerSender ?? null,
      durationMs: o.durationMs ?? null,
      rate: o.rate,
      size: o.size,
      joinConcurrency: o.joinConcurrency,
      joinRate: o.joinRate,
      joinReads: o.joinReads ?? 'lazy',
    },
    join: {
      attempted: launched,
      joined: members.length,
      failed: failedCount,
      failures,
      ms: round3((joinEnd || elapsed()) - joinStart),
      latencyMs: latency(joinLatency),
    },
    send: {
      messages: sent,
      ms: round3(Math.max(0, sendEndedAt - sendStartedAt)),
      messageBytes: o.size,
    },
    deliveries: {
      expected,
      seen,
      lost,
      perSecond: seen > 0 ? Math.round((seen * 1000) / deliveryWindowMs) : 0,
      damagedTokens: damaged,
      ...(o.nodes === undefined ? {} : { crossNode }),
    },
    latencyMs: latency(latencyHist),
    membersLost,
    server:
      o.pid === undefined
        ? null
        : {
            pid: o.pid,
            group,
            rssAfterJoinBytes: rssAfterJoin ?? null,
            rssPeakBytes: rssPeak ?? null,
            joinCpuMs: joinCpu?.server === undefined ? null : Math.round(joinCpu.server),
            cpuMs: serverCpuMs === undefined ? null : Math.round(serverCpuMs),
            cpuPercent:
              serverCpuMs === undefined || windowMs === 0
                ? null
                : Math.round((serverCpuMs / windowMs) * 1000) / 10,
          },
    generator: {
      program: 'chatkit bench',
      joinCpuMs: Math.round(joinCpu?.gen ?? 0),
      cpuMs: Math.round(genCpuMs),
      cpuPercent: windowMs === 0 ? 0 : Math.round((genCpuMs / windowMs) * 1000) / 10,
      rssBytes: process.memoryUsage.rss(),
    },
    endedBy: why,
    durationMs: Math.round(elapsed()),
    openFiles: {
      needed: fileLimit.needed,
      soft: fileLimit.soft === undefined || !Number.isFinite(fileLimit.soft) ? null : fileLimit.soft,
      raised: fileLimit.raised,
    },
    warnings,
  };
}
