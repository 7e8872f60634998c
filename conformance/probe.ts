/**
 * Dialect detection for `chatkit conform --dialect auto`: one probe connection decides, before any
 * case runs, whether the target speaks NICK (it prompts at once) or tilde (it waits for a username
 * and announces it), so a target that speaks neither gets ONE clear error instead of thirty failures.
 *
 * A probe is a real client, and the legacy servers are harmed by careless clients (spec Annex A):
 * - NICK seed: a connection that never answers the prompt blocks its accept loop (D-NS-3); one that
 *   closes after the prompt becomes a ghost member that kills the accept loop (D-NS-4); a member
 *   that closes with FIN makes its thread spin (D-NS-1). The probe therefore ANSWERS the prompt with
 *   a unique nickname, waits for `Connected to server!` (so the accept loop has finished with it) and
 *   then leaves with a reset, which the seed handles cleanly (`<nick> left!`, core case
 *   nick.leave.reset). If the handshake does not visibly complete, the probe stays connected
 *   (reading) until the run ends instead of risking D-NS-4.
 * - tilde seed: ANY leave harms it (FIN: a busy loop, D-TS-1; reset: the dead member stays listed and
 *   the next broadcast kills a sender's thread, D-TS-3), which would fail the first case's join for
 *   no fault of that case. So the tilde probe member stays connected, reading and discarding, until
 *   the whole run has ended, and only then leaves (with a reset: no busy loop).
 * - With `--spawn`, the probe runs against its own fresh instance, stopped right after; no case
 *   ever meets it.
 * Every wait is bounded; the probe's member name is unique (`chatkit-probe-<hex>`), so cases never
 * confuse its traffic with theirs.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { escapeBytes, isPromptToken, withoutLineEnd } from '../src/codec/index.js';
import { ChatkitError } from '../src/errors.js';
import { setDeadline } from '../src/deadline.js';
import { listen } from './harness/connection.js';
import { STEP_TIMEOUT_MS } from './harness/timing.js';
import { cpuPressureStallMs, type PortRange } from '../src/processes/index.js';
import { SPAWN_LISTEN_TIMEOUT_MS } from './harness/runner.js';
import { startClientTarget, startServerOnFreePort } from './handed-in/launch.js';

/** How long the probe waits for a prompt before it takes the silence as a tilde server's. */
export const PROBE_PROMPT_WAIT_MS = 1_000;
/** Quiet time after the first bytes before the prompt is taken as complete (it may come in pieces). */
export const PROBE_PROMPT_SETTLE_MS = 150;
/**
 * How long the probe waits for its own join (NICK `joined!`/`Connected`, tilde `added`): one
 * expected effect, so the cases' step bound.
 */
export const PROBE_ANSWER_WAIT_MS = STEP_TIMEOUT_MS;
/** Most a probe's wait is stretched by the machine's CPU overload (see ProbeSocket.until), as a multiple of it. */
export const PROBE_STARVED_EXTENSION_FACTOR = 5;
/** Bound on opening the probe connection (and on a client connecting to the probe). */
export const PROBE_CONNECT_TIMEOUT_MS = 5_000;
/** Most bytes the probe keeps as evidence. */
export const PROBE_EVIDENCE_BYTES = 4_096;
/** Prompt tokens the spec names (§4.3, §4.7): taken as NICK even when the join cannot be confirmed. */
export const KNOWN_PROMPTS: readonly string[] = ['NICK', 'Hii'];

/** What the probe found. */
export type DetectedDialect =
  | { readonly dialect: 'nick'; readonly prompt: string; readonly evidence: string }
  | { readonly dialect: 'tilde'; readonly evidence: string };

/** Timing and framing of a probe. */
export interface ProbeOptions {
  /** `line`: the probe's nickname/username ends in LF (§8). */
  readonly framing?: 'chunk' | 'line';
  /** Multiplies every bound (`--timeout-scale`). */
  readonly timeoutScale?: number;
  /** `--port-range`: the port a spawned probe target gets. */
  readonly portRange?: PortRange | undefined;
}

/** A server probe's result, and how its member leaves. */
export interface ServerProbe {
  readonly detected: DetectedDialect;
  /** The probe's member name. */
  readonly name: string;
  /** Ends the probe connection (if still open); call it once the run has ended. Never rejects. */
  release(): Promise<void>;
}

/** A target that could not be probed or speaks neither dialect; `received` is what arrived, escaped. */
export class ProbeError extends ChatkitError {
  /** What arrived on the probe connection, escaped. */
  readonly received: string;
  /** Creates the error (`PROBE_UNREACHABLE` or `PROBE_NO_DIALECT`). */
  constructor(code: 'PROBE_UNREACHABLE' | 'PROBE_NO_DIALECT', message: string, received = '') {
    super(code, message);
    this.name = 'ProbeError';
    this.received = received;
  }
}

/** A unique probe member name, valid in both dialects. */
export function probeName(): string {
  return `chatkit-probe-${randomBytes(3).toString('hex')}`;
}

export { isPromptToken };

/** A socket that records what arrives (bounded) and lets the probe wait on it, every wait bounded. */
class ProbeSocket {
  readonly socket: Socket;
  #bytes = Buffer.alloc(0);
  #closed: string | undefined;
  #lastData = 0;
  readonly #waiters = new Set<() => void>();

  constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.#bytes.length < PROBE_EVIDENCE_BYTES) {
        this.#bytes = Buffer.concat([this.#bytes, chunk]).subarray(0, PROBE_EVIDENCE_BYTES);
      }
      this.#lastData = performance.now();
      this.#wake();
    });
    socket.on('end', () => this.#close('EOF'));
    socket.on('error', (e: NodeJS.ErrnoException) => this.#close(e.code ?? e.message));
    socket.on('close', () => this.#close('closed'));
  }

  #close(how: string): void {
    this.#closed ??= how;
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters) w();
  }

  get text(): string {
    return this.#bytes.toString('latin1');
  }

  get closed(): string | undefined {
    return this.#closed;
  }

  get lastDataAt(): number {
    return this.#lastData;
  }

  /** Escaped evidence, with how the connection ended. */
  evidence(): string {
    const shown = this.#bytes.length ? `"${escapeBytes(this.#bytes)}"` : 'nothing';
    return `${shown}${this.#closed ? ` [connection ended: ${this.#closed}]` : ''}`;
  }

  /**
   * Resolves true once `test()` holds, false at the deadline or once the connection has ended. The
   * deadline moves on by the time the machine's CPUs were overloaded meanwhile (at most to
   * {@link PROBE_STARVED_EXTENSION_FACTOR} times `ms`): a target starved of CPU answers late, and
   * one clear error about its dialect must not come from the machine's load.
   */
  until(test: () => boolean, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (test()) done(true);
        else if (this.#closed !== undefined) done(false);
      };
      let settled = false;
      const started = performance.now();
      const stallAtStart = cpuPressureStallMs();
      const onDeadline = () => {
        if (test()) return done(true);
        const stall = stallAtStart === undefined ? 0 : (cpuPressureStallMs() ?? stallAtStart) - stallAtStart;
        const until = started + Math.min(ms + stall, ms * PROBE_STARVED_EXTENSION_FACTOR);
        const left = until - performance.now();
        if (left >= 1) timer = setDeadline(left, onDeadline);
        else done(false);
      };
      let timer = setDeadline(ms, onDeadline);
      const done = (value: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(value);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Waits until nothing has arrived for `quietMs` (bounded by `maxMs`). */
  async settle(quietMs: number, maxMs: number): Promise<void> {
    const deadline = performance.now() + maxMs;
    while (this.#closed === undefined && performance.now() < deadline) {
      const idle = performance.now() - this.#lastData;
      if (idle >= quietMs) return;
      // A deadline, not a pause: bytes that reached the kernel while this process was stalled are
      // read before the quiet time is judged.
      await new Promise<void>((r) => setDeadline(Math.min(quietMs - idle, deadline - performance.now()) + 1, r));
    }
  }

  /** Reads and discards from now on (the member stays healthy on the target's side). */
  discard(): void {
    this.#bytes = this.#bytes.subarray(0, 0);
    this.socket.removeAllListeners('data');
    this.socket.on('data', () => undefined);
    this.socket.resume();
  }

  /** Leaves with a reset (the clean leave on the legacy servers). */
  reset(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }
}

function openProbe(host: string, port: number, timeoutMs: number): Promise<ProbeSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setDeadline(timeoutMs, () => {
      if (!socket.connecting) return;
      socket.destroy();
      reject(
        new ProbeError(
          'PROBE_UNREACHABLE',
          `no connection to ${host}:${port} within ${timeoutMs} ms (is the server running, and is that its address?)`,
        ),
      );
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = error.code === 'ECONNREFUSED' ? 'connection refused: nothing listens there' : error.message;
      reject(new ProbeError('PROBE_UNREACHABLE', `cannot connect to ${host}:${port}: ${why}`));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(new ProbeSocket(socket));
    });
  });
}

/**
 * Probes the server at `host:port` (see the module comment for how it spares legacy servers).
 * Throws {@link ProbeError} when nothing accepts the connection or the target speaks neither dialect.
 */
export async function probeServer(
  host: string,
  port: number,
  options: ProbeOptions = {},
): Promise<ServerProbe> {
  const scale = options.timeoutScale ?? 1;
  const line = options.framing === 'line' ? '\n' : '';
  const name = probeName();
  const probe = await openProbe(host, port, PROBE_CONNECT_TIMEOUT_MS * scale);
  let released = false;
  const holdUntilRelease = (): ServerProbe['release'] => {
    probe.discard();
    return async () => {
      if (released) return;
      released = true;
      probe.reset();
    };
  };
  try {
    const spoke = await probe.until(() => probe.text.length > 0, PROBE_PROMPT_WAIT_MS * scale);
    if (spoke) {
      await probe.settle(PROBE_PROMPT_SETTLE_MS * scale, PROBE_PROMPT_WAIT_MS * scale);
      const first = probe.text;
      const token = withoutLineEnd(first);
      if (!isPromptToken(token) || probe.closed !== undefined) {
        throw new ProbeError(
          'PROBE_NO_DIALECT',
          `speaks neither dialect: received ${probe.evidence()} on connecting; a NICK server sends one prompt token (such as "NICK") and waits, a tilde server sends nothing until it has the username`,
          probe.evidence(),
        );
      }
      probe.socket.write(`${name}${line}`);
      const joined = `${name} joined!`;
      // An answer naming the nickname in other words (`<nick> joined the chat!`) is a join too: a
      // wording variant, judged by the text cases (and adopted by --learn).
      const answered = await probe.until(
        () => probe.text.includes(name) || probe.text.includes('Connected to server!'),
        PROBE_ANSWER_WAIT_MS * scale,
      );
      if (answered && !probe.text.includes(joined) && !probe.text.includes('Connected to server!')) {
        await probe.settle(PROBE_PROMPT_SETTLE_MS * scale, PROBE_PROMPT_WAIT_MS * scale);
      }
      const worded = !probe.text.includes(joined) && !probe.text.includes('Connected to server!');
      if (!answered && !KNOWN_PROMPTS.includes(token)) {
        throw new ProbeError(
          'PROBE_NO_DIALECT',
          `speaks neither dialect: received "${escapeBytes(Buffer.from(token, 'latin1'))}" like a NICK prompt, but after the nickname "${name}" no "${joined}" arrived within ${PROBE_ANSWER_WAIT_MS * scale} ms (received ${probe.evidence()}). The spec's prompts are ${KNOWN_PROMPTS.map((p) => `"${p}"`).join(' and ')}; to judge it as NICK anyway, give --dialect nick: the prompt case then fails on "${escapeBytes(Buffer.from(token, 'latin1'))}" and the other cases judge what follows the first message`,
          probe.evidence(),
        );
      }
      // A worded answer has settled already: the accept loop is done with the probe.
      const connected =
        (answered && worded) ||
        (await probe.until(() => probe.text.includes('Connected to server!'), PROBE_ANSWER_WAIT_MS * scale));
      const said = worded ? escapeBytes(Buffer.from(probe.text.slice(first.length), 'latin1')) : joined;
      const evidence = `prompt "${escapeBytes(Buffer.from(token, 'latin1'))}" on connecting${answered ? `, then "${said}"` : ' (the join could not be confirmed)'}`;
      if (connected) {
        // The accept loop is done with the probe: a reset is now the clean leave (`<nick> left!`).
        probe.reset();
        released = true;
        return { detected: { dialect: 'nick', prompt: token, evidence }, name, release: async () => {} };
      }
      return { detected: { dialect: 'nick', prompt: token, evidence }, name, release: holdUntilRelease() };
    }
    if (probe.closed !== undefined) {
      throw new ProbeError(
        'PROBE_NO_DIALECT',
        `speaks neither dialect: the connection ended without a byte (${probe.closed})`,
        probe.evidence(),
      );
    }
    probe.socket.write(`${name}${line}`);
    const added = `SERVER~${name} added to the chat`;
    // A server notice naming the username in other words is tilde with a wording variant (TILDE-JOIN-1
    // judges the text; --learn adopts it).
    const notice = `SERVER~${name}`;
    const lateJoin = `${name} joined!`;
    // A NICK server whose prompt came late took the username as the nickname: a prompt token, then
    // its join naming it (in the spec's words or others: a wording variant).
    const latePrompt = () => {
      const at = probe.text.indexOf(name);
      return at > 0 && isPromptToken(withoutLineEnd(probe.text.slice(0, at)));
    };
    const answered = await probe.until(
      () => probe.text.includes(notice) || probe.text.includes(lateJoin) || latePrompt(),
      PROBE_ANSWER_WAIT_MS * scale,
    );
    if (answered && probe.text.includes(notice)) {
      if (!probe.text.includes(added)) await probe.until(() => probe.text.includes(added), PROBE_PROMPT_SETTLE_MS * scale);
      const said = probe.text.includes(added) ? added : escapeBytes(Buffer.from(probe.text, 'latin1'));
      return {
        detected: { dialect: 'tilde', evidence: `silence on connecting, then "${said}" for the username` },
        name,
        release: holdUntilRelease(),
      };
    }
    if (answered) {
      // A NICK server whose prompt came late (a loaded machine): it took the username as the nickname.
      const token = withoutLineEnd(probe.text.slice(0, probe.text.indexOf(name)));
      if (isPromptToken(token)) {
        await probe.until(() => probe.text.includes('Connected to server!'), PROBE_ANSWER_WAIT_MS * scale);
        const said = escapeBytes(Buffer.from(probe.text.slice(probe.text.indexOf(name)), 'latin1'));
        const evidence = `prompt "${token}" only after ${PROBE_PROMPT_WAIT_MS * scale} ms, then "${said}"`;
        if (probe.text.includes('Connected to server!')) {
          probe.reset();
          released = true;
          return { detected: { dialect: 'nick', prompt: token, evidence }, name, release: async () => {} };
        }
        return { detected: { dialect: 'nick', prompt: token, evidence }, name, release: holdUntilRelease() };
      }
    }
    throw new ProbeError(
      'PROBE_NO_DIALECT',
      `speaks neither dialect: nothing arrived within ${PROBE_PROMPT_WAIT_MS * scale} ms of connecting (so no NICK prompt), and after the username "${name}" no "${added}" arrived within ${PROBE_ANSWER_WAIT_MS * scale} ms (received ${probe.evidence()}). A NICK server whose accept loop is blocked by an earlier client that never answered its prompt is silent too: restart it`,
      probe.evidence(),
    );
  } catch (error) {
    if (!released) {
      released = true;
      // Nothing was admitted (or the target is no chat server): end the probe without lingering.
      probe.socket.destroy();
    }
    throw error;
  }
}

/** Probes a fresh instance of a `--spawn` command (own port, stopped afterwards). */
export async function probeSpawned(command: string, options: ProbeOptions = {}): Promise<DetectedDialect> {
  const target = await startServerOnFreePort({
    command,
    portRange: options.portRange,
    attempts: 1,
    listenTimeoutMs: SPAWN_LISTEN_TIMEOUT_MS * (options.timeoutScale ?? 1),
  });
  try {
    const probe = await probeServer('127.0.0.1', target.port, options);
    await probe.release();
    return probe.detected;
  } finally {
    await target.stop();
  }
}

/**
 * Probes a client program (`--client`, `{host}`/`{port}` replaced): chatkit listens, starts it and
 * types a nickname, as a person would. A client that writes first (its username) speaks tilde; one
 * that waits, and answers the prompt with the nickname, speaks NICK.
 */
export async function probeClient(
  command: string,
  options: ProbeOptions & { readonly prompt?: string } = {},
): Promise<DetectedDialect> {
  const scale = options.timeoutScale ?? 1;
  const prompt = options.prompt ?? 'NICK';
  const line = options.framing === 'line' ? '\n' : '';
  const name = probeName();
  const listener = await listen({ host: '127.0.0.1', port: 0, label: 'probe' });
  const client = await startClientTarget({ command, host: '127.0.0.1', port: listener.port });
  try {
    client.writeStdin(`${name}\n`);
    let conn: Awaited<ReturnType<typeof listener.nextConnection>>;
    try {
      conn = await listener.nextConnection({ timeoutMs: PROBE_CONNECT_TIMEOUT_MS * scale });
    } catch {
      throw new ProbeError(
        'PROBE_UNREACHABLE',
        `the client did not connect within ${PROBE_CONNECT_TIMEOUT_MS * scale} ms (does its command take {host} and {port}?); its stderr: ${JSON.stringify(client.stderr().slice(-300))}`,
      );
    }
    const spoke = await conn
      .waitFor((s) => s.length > 0, { timeoutMs: PROBE_PROMPT_WAIT_MS * scale })
      .then(
        () => true,
        () => false,
      );
    if (spoke) {
      return { dialect: 'tilde', evidence: `it wrote first: "${escapeBytes(conn.stream())}"` };
    }
    conn.send(`${prompt}${line}`);
    const answered = await conn
      .waitFor((s) => s.length > 0, { timeoutMs: PROBE_ANSWER_WAIT_MS * scale })
      .then(
        () => true,
        () => false,
      );
    if (answered) {
      return {
        dialect: 'nick',
        prompt,
        evidence: `it waited, then answered the prompt "${prompt}" with "${escapeBytes(conn.stream())}"`,
      };
    }
    throw new ProbeError(
      'PROBE_NO_DIALECT',
      `the client speaks neither dialect: it wrote nothing within ${PROBE_PROMPT_WAIT_MS * scale} ms of connecting, nor within ${PROBE_ANSWER_WAIT_MS * scale} ms of the prompt "${prompt}"`,
      escapeBytes(conn.stream()),
    );
  } finally {
    await client.stop();
    await listener.close();
  }
}
