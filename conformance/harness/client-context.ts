/**
 * What a client case works with: chatkit plays the server on a fresh loopback port, starts the
 * client program (`{host}` and `{port}` in its command replaced), and types into its standard
 * input as a person would (the first line is the nickname, then one message per line, each typed
 * only once the previous effect was seen). Every wait is bounded; the program is stopped by its
 * process group after the case.
 *
 * **What "the client displays X" means.** A client program is observed only through its standard
 * output. The suite strips terminal escape sequences (colours, cursor moves) and carriage returns
 * from stdout ({@link visibleText}) and looks for X as a substring anywhere in what remains. A
 * client that decorates its lines (colours, a timestamp, a `>` before each line) therefore passes
 * as long as the text itself is there; X never needs a line of its own. Cases choose X: the unique
 * token of a message where only "it was shown" matters, and the exact `[<user>] <content>` where
 * the display format is the requirement (TILDE-DISPLAY-1).
 *
 * **Pacing.** The person waits to see the join confirmed and each message come back before typing
 * the next line ({@link ClientCaseContext.waitShown}). Those waits are *soft*: a client that does not
 * display the confirmation delays the person by one step bound, and is not failed for it, because a
 * conformant client never sends early anyway (NICK-CHAT-2, TILDE-MSG-1). Only the cases that judge
 * the display fail on a missing display.
 *
 * @module
 */
import { setDeadline } from '../../src/deadline.js';
import { type DialectName, encode, escapeBytes } from '../../src/codec/index.js';
import { CodecError } from '../../src/errors.js';
import { CaseContext, type ExpectOptions } from './case-context.js';
import { type Connection, ConnectionError, type Listener, listen } from './connection.js';
import { watchStopAfterClose } from './cpu-watch.js';
import { NameSource, newRunSeed } from './names.js';
import type { TargetExit, TargetHandle } from '../../src/processes/index.js';
import { type CaseTiming, CLIENT_START_STEPS, FAILURE_STREAM_TAIL_BYTES } from './timing.js';
import { startClientTarget } from '../handed-in/launch.js';

const encoder = new TextEncoder();
const toBytes = (s: string | Uint8Array) => (typeof s === 'string' ? encoder.encode(s) : s);
const show = (s: string | Uint8Array) => escapeBytes(toBytes(s));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Terminal escape sequences: CSI (`ESC [ ... final`), OSC (`ESC ] ... BEL|ST`) and two-byte escapes. */
const ESCAPE_SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/** What a person sees of a program's output: escape sequences and carriage returns removed. */
export function visibleText(output: string): string {
  return output.replace(ESCAPE_SEQUENCE, '').replaceAll('\r', '');
}

/** Whether the codec accepts `name` (its generated checks are the spec's rules). */
function accepted(dialect: DialectName, name: string): boolean {
  try {
    if (dialect === 'nick') encode('nick', { type: 'nickname', nick: name });
    else encode('tilde', { type: 'username', user: name });
    return true;
  } catch (error) {
    if (error instanceof CodecError) return false;
    throw error;
  }
}

/** Bytes a client sent as its NICK nickname are a valid one: 1–32 bytes 0x21–0x7E but `:` (NICK-NICK-2). */
export function isValidNickname(bytes: Uint8Array): boolean {
  return bytes.every((b) => b < 0x80) && accepted('nick', Buffer.from(bytes).toString('latin1'));
}

/**
 * Bytes a client sent as its tilde username are a valid one: 1–32 bytes of well-formed UTF-8, no
 * `~`, no C0, DEL or C1 control character, not `SERVER` (TILDE-USER-2).
 */
export function isValidUsername(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return false;
  }
  return accepted('tilde', text);
}

/** What happened first after the client was given its nickname. */
export type ClientStartOutcome =
  | { readonly kind: 'connected'; readonly conn: Connection }
  | { readonly kind: 'exited'; readonly exit: TargetExit }
  | { readonly kind: 'waiting' };

interface PendingAccept {
  settled: boolean;
  conn?: Connection;
  promise: Promise<void>;
}

/** The context of one client case run. */
export class ClientCaseContext extends CaseContext {
  readonly command: string;
  #listener: Listener | undefined;
  #client: TargetHandle | undefined;
  readonly #connections: Connection[] = [];
  #accept: PendingAccept | undefined;

  /** Creates the context for one run of one case of the client `command`. */
  constructor(options: { command: string; dialect: DialectName; prompt?: string; timing?: CaseTiming }) {
    super({
      dialect: options.dialect,
      ...(options.prompt === undefined ? {} : { prompt: options.prompt }),
      ...(options.timing === undefined ? {} : { timing: options.timing }),
      // Names valid in both dialects, `<base>_<run><n>`: a person types them into the client.
      names: new NameSource({ seed: newRunSeed(), caseId: 'client', dialect: options.dialect, style: 'plain' }),
    });
    this.command = options.command;
  }

  /** Bound on the program starting and connecting. */
  get startMs(): number {
    return this.timing.stepMs * CLIENT_START_STEPS;
  }

  /** Listens on a fresh port and starts the client program pointed at it. */
  async start(): Promise<{ client: TargetHandle; listener: Listener }> {
    const listener = await listen({ host: '127.0.0.1', port: 0, label: 'server' });
    this.#listener = listener;
    const client = await startClientTarget({ command: this.command, host: '127.0.0.1', port: listener.port });
    this.#client = client;
    return { client, listener };
  }

  /**
   * Starts the program pointed at a loopback port nothing listens on (CLIENT-CONNECT-1) and types
   * `lines` at once. The port is one the kernel just handed out and chatkit closed again, so its
   * connect is refused.
   */
  async launchUnreachable(...lines: string[]): Promise<TargetHandle> {
    const probe = await listen({ host: '127.0.0.1', port: 0, label: 'closed-port' });
    const port = probe.port;
    await probe.close();
    const client = await startClientTarget({ command: this.command, host: '127.0.0.1', port });
    this.#client = client;
    if (lines.length > 0) client.writeStdin(lines.map((line) => `${line}\n`).join(''));
    return client;
  }

  /** Starts the program and types `lines` at once (a person typing ahead, or just the nickname). */
  async launch(...lines: string[]): Promise<TargetHandle> {
    const { client } = await this.start();
    if (lines.length > 0) client.writeStdin(lines.map((line) => `${line}\n`).join(''));
    return client;
  }

  /** Waits for the client to connect; a client that never does (or exits first) fails the case. */
  async accept(requirement: string): Promise<Connection> {
    const outcome = await this.connectedOrExited(this.startMs);
    if (outcome.kind === 'connected') return outcome.conn;
    return this.fail({
      requirement,
      message:
        outcome.kind === 'exited'
          ? `the client exited without connecting (code ${outcome.exit.code}, signal ${outcome.exit.signal})`
          : 'the client did not connect',
      expected: ['a TCP connection to the server chatkit plays'],
      actual: `${outcome.kind === 'exited' ? 'exited' : `no connection within ${this.startMs} ms`}; stdout: ${this.stdoutTail()}; stderr: ${this.stderrTail()}`,
    });
  }

  /**
   * Waits (bounded by `timeoutMs`) for whichever comes first: the client connects, or it exits.
   * `waiting` when neither happened; a connection that comes later is still taken by the next call.
   */
  async connectedOrExited(timeoutMs: number): Promise<ClientStartOutcome> {
    const listener = this.#listener;
    const client = this.#client;
    if (!listener || !client) throw new Error('start() first');
    // One accept at a time: an accept still pending from an earlier call keeps its claim, so a
    // connection made while nobody waited is not lost.
    if (this.#accept === undefined || (this.#accept.settled && this.#accept.conn === undefined)) {
      const entry: PendingAccept = { settled: false, promise: Promise.resolve() };
      entry.promise = listener.nextConnection({ timeoutMs }).then(
        (conn) => {
          entry.conn = conn;
          entry.settled = true;
        },
        () => {
          entry.settled = true;
        },
      );
      this.#accept = entry;
    }
    const entry = this.#accept;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      entry.promise,
      client.exited,
      new Promise<void>((resolve) => {
        // After one more poll, so that a connection already in the kernel is accepted first.
        timer = setDeadline(timeoutMs, resolve);
      }),
    ]);
    clearTimeout(timer);
    // A connection made just before an exit is still judged.
    if (!entry.settled && client.exitStatus() !== undefined) await Promise.race([entry.promise, sleep(50)]);
    const conn = entry.conn;
    if (conn !== undefined) {
      this.#accept = undefined;
      this.#connections.push(conn);
      return { kind: 'connected', conn };
    }
    const exit = client.exitStatus();
    if (exit === undefined) return { kind: 'waiting' };
    // Its last words (a traceback) may still be in the pipes: the report shows them.
    await client.outputSettled();
    return { kind: 'exited', exit };
  }

  /** Ends the client's standard input, as a person pressing Ctrl-D. */
  endInput(): void {
    this.#client?.endStdin();
  }

  /** Types one line into the client's standard input, as a person pressing Enter. */
  type(line: string): void {
    this.#client?.writeStdin(`${line}\n`);
  }

  // ---------------------------------------------------------------------------------------------
  // The screen

  /** What the client has shown so far (stdout, see {@link visibleText}). */
  shown(): string {
    return visibleText(this.#client?.stdout() ?? '');
  }

  /** A mark in the shown text; {@link shownSince} returns what was shown after it. */
  mark(): number {
    return this.shown().length;
  }

  /** What was shown after `mark` (all of the kept tail if the output outgrew it meanwhile). */
  shownSince(mark: number): string {
    const text = this.shown();
    return mark <= text.length ? text.slice(mark) : text;
  }

  /** Waits until the client shows `text`; false after `timeoutMs` or once its output closed. */
  async waitShown(text: string, timeoutMs = this.timing.stepMs): Promise<boolean> {
    const client = this.#client;
    if (!client) throw new Error('start() first');
    return client
      .waitForOutput('stdout', (tail) => visibleText(tail).includes(text), { timeoutMs })
      .then(
        () => true,
        () => false,
      );
  }

  /**
   * Waits until the client shows `text`; fails with the screen's tail otherwise. `unless`: a later
   * text (a sentinel sent after it); once that is shown without `text`, the case fails at once,
   * because a client shows what it receives in order.
   */
  async expectShown(
    text: string,
    options: Omit<ExpectOptions, 'after'> & {
      alternatives?: readonly string[];
      unless?: string;
      /** Stop waiting once the client closes this connection (nothing more can arrive to show). */
      conn?: Connection;
    },
  ): Promise<void> {
    const client = this.#client;
    if (!client) throw new Error('start() first');
    const wanted = [text, ...(options.alternatives ?? [])];
    const timeoutMs = options.timeoutMs ?? this.timing.stepMs;
    const found = (tail: string) => {
      const visible = visibleText(tail);
      return (
        wanted.some((w) => visible.includes(w)) ||
        (options.unless !== undefined && visible.includes(options.unless))
      );
    };
    const shown = client.waitForOutput('stdout', found, { timeoutMs }).then(
      () => 'matched' as const,
      () => 'failed' as const,
    );
    const closed = options.conn
      ?.waitForClose({ timeoutMs })
      // The last output may still be on its way from the pipe: give it a moment.
      .then(() => sleep(this.timing.quietMs / 4).then(() => 'closed' as const))
      .catch(() => 'failed' as const);
    const settled = await Promise.race(closed ? [shown, closed] : [shown]);
    const visible = this.shown();
    if (settled === 'matched' && wanted.some((w) => visible.includes(w))) return;
    const why =
      settled === 'matched'
        ? `a later message was shown, but not this one`
        : settled === 'closed'
          ? 'the client closed its connection first'
          : client.exitStatus() !== undefined
            ? 'the client exited first'
            : `not shown within ${timeoutMs} ms`;
    this.fail({
      requirement: options.requirement,
      message: `the client's screen: ${options.what}: ${why}`,
      expected: wanted.map((w) => `stdout contains "${w}" (colours and other decoration around it allowed)`),
      actual: `stdout: ${this.stdoutTail()}${this.#exitNote()}; stderr: ${this.stderrTail()}`,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // The wire

  /**
   * Waits until the client's stream from `after` holds `expected` and fails unless it is exactly
   * that: fails at once when the bytes received stop being a prefix of `expected` (a missing prefix,
   * a wrong nickname), and when more bytes than `expected` are already there (a terminator in the
   * same write). Resolves with the offset past it.
   */
  async expectExactly(
    conn: Connection,
    expected: string | Uint8Array,
    options: ExpectOptions & { after: number },
  ): Promise<number> {
    const want = toBytes(expected);
    const { after } = options;
    const rest = () => conn.stream().subarray(after);
    const isPrefix = (got: Uint8Array) => got.every((b, i) => i >= want.length || b === want[i]);
    const timeoutMs = options.timeoutMs ?? this.timing.stepMs;
    const outcome = await conn
      .waitFor(
        () => {
          const got = rest();
          return got.length >= want.length || !isPrefix(got);
        },
        { timeoutMs, what: options.what },
      )
      .then(
        () => 'arrived' as const,
        (error: unknown) => {
          if (error instanceof ConnectionError)
            return error.code === 'CLOSED_BEFORE_MATCH' ? 'closed' : 'timeout';
          throw error;
        },
      );
    const got = rest();
    if (outcome === 'arrived' && got.length === want.length && isPrefix(got)) return after + want.length;
    this.fail({
      requirement: options.requirement,
      message: `${conn.label}: ${options.what}: ${
        outcome === 'closed'
          ? 'the client closed the connection first'
          : outcome === 'timeout'
            ? `not within ${timeoutMs} ms`
            : 'other bytes arrived'
      }`,
      expected: [show(want)],
      actual: `${this.tail(conn, after)}${this.#exitNote()}`,
      connection: conn.label,
    });
  }

  /** Watches `conn` for a quiet window and fails if the client sends anything in it. */
  async expectNothingSent(
    conn: Connection,
    options: Omit<ExpectOptions, 'timeoutMs'> & { windowMs?: number },
  ): Promise<void> {
    const from = options.after ?? conn.stream().length;
    await conn.quiet(options.windowMs ?? this.timing.quietMs);
    if (conn.stream().length > from) {
      this.fail({
        requirement: options.requirement,
        message: `${conn.label}: ${options.what}`,
        expected: ['no bytes at all'],
        actual: this.tail(conn, from),
        connection: conn.label,
      });
    }
  }

  /** Fails if the stream from `after` holds a byte >= 0x80 (ENC-NICK-1). */
  expectAscii(conn: Connection, options: Omit<ExpectOptions, 'timeoutMs'>): void {
    const bytes = conn.stream().subarray(options.after ?? 0);
    if (bytes.some((b) => b >= 0x80)) {
      this.fail({
        requirement: options.requirement,
        message: `${conn.label}: ${options.what}`,
        expected: ['only bytes 0x00-0x7f'],
        actual: this.tail(conn, options.after ?? 0),
        connection: conn.label,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Playing the server

  /**
   * NICK: sends the prompt, expects exactly the nickname (NICK-NICK-1), then sends `<nick> joined!`
   * and `Connected to server!` back to back as a server does, and waits (softly) until the person
   * sees the join confirmed. Resolves with the stream offset past the nickname.
   */
  async nickHandshake(conn: Connection, nick: string): Promise<number> {
    conn.send(this.prompt);
    const at = await this.expectExactly(conn, nick, {
      requirement: 'NICK-NICK-1',
      what: `the answer to the prompt "${this.prompt}" is the nickname "${nick}"`,
      after: 0,
    });
    conn.send(`${nick} joined!`);
    conn.send('Connected to server!');
    await this.waitShown('Connected to server!');
    return at;
  }

  /**
   * tilde: expects exactly the username as the first write (TILDE-USER-1), sends the user's own
   * `SERVER~<user> added to the chat`, and waits (softly) until the person sees it.
   */
  async tildeHandshake(conn: Connection, user: string): Promise<number> {
    const at = await this.expectExactly(conn, user, {
      requirement: 'TILDE-USER-1',
      what: `the first write is the username "${user}"`,
      after: 0,
    });
    conn.send(`SERVER~${user} added to the chat`);
    await this.waitShown(`${user} added to the chat`);
    return at;
  }

  /**
   * The person types `text` once the previous message came back: expects exactly the message on the
   * wire (NICK `<nick>: <text>`, NICK-CHAT-1; tilde the content, TILDE-MSG-1), relays it back as a
   * server does, and waits (softly) until the person sees `seen` (default: the whole text; a
   * token at its start is enough where a legacy display would cut the rest). Resolves with the
   * offset past it.
   */
  async say(conn: Connection, nick: string, text: string, after: number, seen = text): Promise<number> {
    this.type(text);
    const nickDialect = this.dialect === 'nick';
    const at = await this.expectExactly(conn, nickDialect ? `${nick}: ${text}` : text, {
      requirement: nickDialect ? 'NICK-CHAT-1' : 'TILDE-MSG-1',
      what: nickDialect
        ? `the line "${text}" is sent as "${nick}: ${text}"`
        : `the line "${text}" is sent as its content`,
      after,
    });
    conn.send(nickDialect ? `${nick}: ${text}` : `${nick}~${text}`);
    await this.waitShown(seen);
    return at;
  }

  /**
   * The server closes (FIN) and the client must stop (CLIENT-EOF-1): it passes when it exits, or
   * when it reports the disconnection (any output) and then stays quiet and idle, whether or not it
   * closed its socket (a receive thread that prints and breaks out of its loop is a stop). It fails
   * when it burns CPU (a loop on the closed socket), floods its output or is still printing at the
   * end of the step, or stays running without a word (cpu-watch.ts).
   */
  async expectStopsAfterClose(conn: Connection, requirement: string): Promise<void> {
    const client = this.#client;
    if (!client) throw new Error('start() first');
    const breach = await watchStopAfterClose(client, conn, this.timing, () => this.stdoutTail());
    if (breach === undefined) return;
    if ('notJudged' in breach) this.notJudged(breach.notJudged);
    this.fail({ requirement, ...breach });
  }

  /** The client is still running and still connected (CLIENT-BYTES-1: no crash, no disconnect). */
  expectStillConnected(conn: Connection, requirement: string, why: string): void {
    const exit = this.#client?.exitStatus();
    if (exit !== undefined || conn.closed) {
      this.fail({
        requirement,
        message: `after ${why}, the client ${exit !== undefined ? 'exited' : 'closed its connection'}`,
        expected: ['the client stays connected and running'],
        actual: `${exit !== undefined ? `exited (code ${exit.code}, signal ${exit.signal})` : `connection ended: ${conn.closeKind}`}; stdout: ${this.stdoutTail()}; stderr: ${this.stderrTail()}`,
        connection: conn.label,
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reports

  /** The escaped tail of what the client sent, for failure reports. */
  tail(conn: Connection, after = 0): string {
    const bytes = conn.stream().length <= after ? '(nothing)' : `"${this.streamTail(conn, after)}"`;
    return `${bytes}${conn.closed ? ` [connection ended: ${conn.closeKind}]` : ''}`;
  }

  /** The tail of the client's stdout (as a JSON string), for reports. */
  stdoutTail(): string {
    return JSON.stringify(this.#client?.stdout().slice(-FAILURE_STREAM_TAIL_BYTES) ?? '');
  }

  /** The tail of the client's stderr (as a JSON string), for reports. */
  stderrTail(): string {
    return JSON.stringify(this.#client?.stderr().slice(-FAILURE_STREAM_TAIL_BYTES) ?? '');
  }

  #exitNote(): string {
    const exit = this.#client?.exitStatus();
    return exit === undefined ? '' : ` (the client exited: code ${exit.code}, signal ${exit.signal})`;
  }

  /** Every connection the client opened, for transcripts. */
  connections(): Connection[] {
    return [...this.#connections];
  }

  /** The running client, once started. */
  get client(): TargetHandle | undefined {
    return this.#client;
  }

  /** Stops the client's process group and closes the server side (the runner calls it). */
  async closeAll(): Promise<void> {
    for (const conn of this.#connections) conn.close();
    await this.#client?.stop();
    await this.#listener?.close();
  }
}
