/**
 * What a client case works with: chatkit plays the server on a fresh loopback port, starts the
 * client program (`{host}` and `{port}` in its command replaced), and types into its standard
 * input as a person would (the first line is the nickname, then one message per line, each typed
 * only once the previous effect was seen). Every wait is bounded; the program is stopped by its
 * process group after the case.
 *
 * @module
 */
import type { DialectName } from '../../src/codec/index.js';
import { CaseFailure, type FailureDetails } from './case.js';
import type { Connection, Listener } from './connection.js';
import { listen } from './connection.js';
import { type CaseTiming, DEFAULT_TIMING, type ExpectOptions, FAILURE_STREAM_TAIL_BYTES } from './context.js';
import { spawnTarget, type TargetHandle } from './spawn.js';

/** Replaces `{host}` and `{port}` in a client command line. */
export function fillClientCommand(command: string, host: string, port: number): string {
  return command.replaceAll('{host}', host).replaceAll('{port}', String(port));
}

/** The context of one client case run. */
export class ClientCaseContext {
  readonly dialect: DialectName;
  readonly prompt: string;
  readonly command: string;
  readonly timing: CaseTiming;
  #listener: Listener | undefined;
  #client: TargetHandle | undefined;
  readonly #connections: Connection[] = [];

  /** Creates the context for one run of one case of the client `command`. */
  constructor(options: { command: string; dialect: DialectName; prompt?: string; timing?: CaseTiming }) {
    this.command = options.command;
    this.dialect = options.dialect;
    this.prompt = options.prompt ?? 'NICK';
    this.timing = options.timing ?? DEFAULT_TIMING;
  }

  /** Listens on a fresh port and starts the client program pointed at it. */
  async start(): Promise<{ client: TargetHandle; listener: Listener }> {
    const listener = await listen({ host: '127.0.0.1', port: 0, label: 'server' });
    this.#listener = listener;
    const client = await spawnTarget({
      command: fillClientCommand(this.command, '127.0.0.1', listener.port),
    });
    this.#client = client;
    return { client, listener };
  }

  /** Waits for the client to connect; a client that never does fails the case. */
  async accept(requirement: string): Promise<Connection> {
    if (!this.#listener) throw new Error('start() first');
    try {
      const conn = await this.#listener.nextConnection({ timeoutMs: this.timing.stepMs });
      this.#connections.push(conn);
      return conn;
    } catch {
      return this.fail({
        requirement,
        message: 'the client did not connect',
        expected: ['a TCP connection to the server chatkit plays'],
        actual: `no connection within ${this.timing.stepMs} ms; client stderr: ${this.stderrTail()}`,
      });
    }
  }

  /** Types one line into the client's standard input, as a person pressing Enter. */
  type(line: string): void {
    this.#client?.writeStdin(`${line}\n`);
  }

  /** Waits until the client's stdout contains `text`; fails with the stdout tail otherwise. */
  async expectShown(text: string, options: Omit<ExpectOptions, 'after'>): Promise<void> {
    const client = this.#client;
    if (!client) throw new Error('start() first');
    try {
      await client.waitForOutput('stdout', text, { timeoutMs: options.timeoutMs ?? this.timing.stepMs });
    } catch {
      this.fail({
        requirement: options.requirement,
        message: `the client's screen: ${options.what}`,
        expected: [text],
        actual: `stdout: ${JSON.stringify(client.stdout().slice(-FAILURE_STREAM_TAIL_BYTES))}`,
      });
    }
  }

  /** The tail of the client's stderr, for reports. */
  stderrTail(): string {
    return JSON.stringify(this.#client?.stderr().slice(-FAILURE_STREAM_TAIL_BYTES) ?? '');
  }

  /** Every connection the client opened, for transcripts. */
  connections(): Connection[] {
    return [...this.#connections];
  }

  /** The running client, once started. */
  get client(): TargetHandle | undefined {
    return this.#client;
  }

  /** Fails the case. */
  fail(details: FailureDetails): never {
    throw new CaseFailure(details);
  }

  /** Stops the client's process group and closes the server side (the runner calls it). */
  async closeAll(): Promise<void> {
    for (const conn of this.#connections) conn.close();
    await this.#client?.stop();
    await this.#listener?.close();
  }
}
