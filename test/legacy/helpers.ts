/**
 * What the legacy tests share (the seeds' scripts on loopback, one test per Annex A defect): their
 * bounds, a seed server or client started fresh for each test with its transcript and output shown
 * when the test fails, evidence of a busy loop, and making a member stall.
 */
import { afterEach, beforeEach } from 'vitest';
import { type Connection, type Listener, listen, openConnection } from '../../conformance/harness/connection.js';
import {
  pollUntil,
  processCpuTimeMs,
  spawnPythonClient,
  spawnPythonServer,
  type TargetHandle,
  threadsBlockedInSend,
} from '../../src/processes/index.js';
import { escapeBytes } from '../../src/codec/escape.js';

/**
 * "Nothing arrives / nothing is shown" windows: long enough for loopback delivery and a print on a
 * loaded machine (< 1 ms idle). Longer than the judge's QUIET_WINDOW_MS (conformance/harness/timing.ts):
 * these tests prove an absence by the window alone, where the judge mostly has a sentinel behind it.
 */
export const SHOWN_QUIET_MS = 500;
/** Deadline for a client process to start and connect. */
export const CONNECT_DEADLINE_MS = 10_000;
/** Output a busy printing loop produces quickly (an empty line is one byte, the seeds' error lines ~40). */
export const FLOOD_STDOUT_BYTES = 20_000;
/**
 * CPU a busy-looping thread burns quickly even when it gets a third of a core; an idle process burns
 * ~0. Evidence awaited for up to {@link BUSY_DEADLINE_MS}, so not the judge's bounds, which must
 * decide within one case step (conformance/harness/timing.ts: CLIENT_LOOP_CPU_MS, BUSY_WINDOW_CPU_MS).
 */
export const LOOP_EVIDENCE_CPU_MS = 200;
/** Deadline for the two above (and for other quick work of a process, such as compiling). */
export const BUSY_DEADLINE_MS = 10_000;
/** Deadline for a slow member's kernel buffers to fill (a few MB on loopback) and to drain again. */
export const FLOOD_DEADLINE_MS = 20_000;
/** Pause between flood rounds, so that /proc is checked while the server works through the queue. */
const FLOOD_ROUND_PAUSE_MS = 5;
/** How much of a failed test's transcripts and output is shown, and of its stdout alone. */
const FAILURE_DUMP_CHARS = 20_000;
const FAILURE_STDOUT_CHARS = 2_000;

/** Everything `connection` received, escaped. */
export const text = (connection: Connection) => escapeBytes(connection.stream());
/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What a failed test shows: the transcripts, then the tail of the program's stdout and its stderr. */
function failureDump(transcripts: readonly string[], program: TargetHandle | undefined, name: string): string {
  return [
    ...transcripts,
    `# ${name} stdout (tail)\n${program?.stdout().slice(-FAILURE_STDOUT_CHARS)}`,
    `# stderr\n${program?.stderr()}`,
  ]
    .join('\n')
    .slice(-FAILURE_DUMP_CHARS);
}

/**
 * A fresh seed server (`script`) for each test of the calling `describe`, stopped after it with every
 * connection the test opened. `name` labels its output when a test fails.
 */
export function useSeedServer(script: string, name: string) {
  let server: TargetHandle | undefined;
  let peers: Connection[] = [];
  beforeEach(async ({ onTestFailed }) => {
    peers = [];
    server = await spawnPythonServer(script);
    onTestFailed(() => {
      console.error(failureDump(peers.map((p) => p.transcript()), server, name));
    });
  });
  afterEach(async () => {
    for (const peer of peers) peer.close();
    await server?.stop();
  });
  const running = (): TargetHandle => {
    if (!server) throw new Error('no seed server: useSeedServer() starts one before each test');
    return server;
  };
  return {
    /** The current test's server. */
    get server(): TargetHandle {
      return running();
    },
    /** Opens a connection to the server, closed after the test. */
    async connect(label: string): Promise<Connection> {
      const peer = await openConnection({ port: running().port!, label });
      peers.push(peer);
      return peer;
    },
  };
}

/**
 * A server the test plays (a recording listener) for each test of the calling `describe`, and the
 * seed client (`script`) it starts against it, stopped after the test. `name` labels its output when
 * a test fails.
 */
export function useSeedClient(script: string, name: string) {
  let listener: Listener;
  let client: TargetHandle | undefined;
  let server: Connection | undefined;
  beforeEach(async ({ onTestFailed }) => {
    client = undefined;
    server = undefined;
    listener = await listen({ label: 'server' });
    onTestFailed(() => {
      console.error(failureDump([server?.transcript() ?? '(no connection)'], client, name));
    });
  });
  afterEach(async () => {
    await client?.stop();
    await listener.close();
  });
  return {
    /** The current test's client, once started. */
    get client(): TargetHandle {
      if (!client) throw new Error('start() first');
      return client;
    },
    /** The current test's connection from the client, once accepted. */
    get server(): Connection {
      if (!server) throw new Error('start() first');
      return server;
    },
    /** Starts the client with `stdin` already written, and accepts its connection. */
    async start(stdin: string): Promise<{ client: TargetHandle; server: Connection }> {
      client = await spawnPythonClient(script, { port: listener.port });
      client.writeStdin(stdin);
      server = await listener.nextConnection({ timeoutMs: CONNECT_DEADLINE_MS });
      return { client, server };
    },
  };
}

/** The output and CPU time a program has used so far: where a busy-loop check starts counting. */
export function usage(program: TargetHandle): { readonly stdoutBytes: number; readonly cpuMs: number } {
  return { stdoutBytes: program.outputBytes().stdout, cpuMs: processCpuTimeMs(program.pid) ?? 0 };
}

/** Resolves once the process has burnt {@link LOOP_EVIDENCE_CPU_MS} of CPU time since `sinceCpuMs`: a busy loop (bounded). */
export async function expectBusyLoop(
  pid: number,
  what: string,
  sinceCpuMs = processCpuTimeMs(pid) ?? 0,
): Promise<void> {
  await pollUntil(() => (processCpuTimeMs(pid) ?? sinceCpuMs) - sinceCpuMs >= LOOP_EVIDENCE_CPU_MS, {
    timeoutMs: BUSY_DEADLINE_MS,
    what: `${LOOP_EVIDENCE_CPU_MS} ms of CPU time (${what})`,
  });
}

/**
 * Resolves once `program` has printed {@link FLOOD_STDOUT_BYTES} more of `what` and burnt
 * {@link LOOP_EVIDENCE_CPU_MS} since `since`: a loop that prints (bounded).
 */
export async function expectPrintingBusyLoop(
  program: TargetHandle,
  what: string,
  since = usage(program),
): Promise<void> {
  await pollUntil(() => program.outputBytes().stdout - since.stdoutBytes >= FLOOD_STDOUT_BYTES, {
    timeoutMs: BUSY_DEADLINE_MS,
    what: `${FLOOD_STDOUT_BYTES} bytes of ${what}`,
  });
  await expectBusyLoop(program.pid, what, since.cpuMs);
}

/**
 * Makes `slow` stop reading and floods from it until a thread of `server` is blocked in send(): its
 * own relays fill its receive window and the server's send buffer. Observed in /proc, not guessed
 * from timing. `flood`: the bytes of one write, and how many writes are queued per round.
 */
export async function stallOn(
  server: TargetHandle,
  slow: Connection,
  flood: { readonly byte: number; readonly writeBytes: number; readonly writesPerRound: number },
): Promise<void> {
  slow.pauseReading();
  const chunk = new Uint8Array(flood.writeBytes).fill(flood.byte);
  const deadline = performance.now() + FLOOD_DEADLINE_MS;
  while (threadsBlockedInSend(server.pid) === 0) {
    if (performance.now() > deadline) throw new Error('the server never blocked in send()');
    for (let i = 0; i < flood.writesPerRound; i++) slow.send(chunk);
    await sleep(FLOOD_ROUND_PAUSE_MS);
  }
}
