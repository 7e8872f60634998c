/**
 * The terminal program behind `chatkit connect`: {@link runTerminalClient} connects with the
 * reference client library, prints what arrives and sends what the user types.
 *
 * Two modes, chosen by the caller from whether standard input is a terminal:
 *
 * - **TTY**: a `node:readline` prompt (`<nick>> `); incoming messages are printed above the line
 *   being typed, which is then redrawn with the partial input; `/help` and `/quit` are commands.
 * - **scripted** (input piped or from a file): no prompt, no commands, no colours; each input line
 *   is one message and each incoming message is one output line, so tests and pipes can read it.
 *
 * In both modes sending is **paced** (FRAME-5, §3.6): after each message the program waits, bounded
 * by {@link PACE_ECHO_TIMEOUT_MS}, until the server's relay of it comes back, so two lines never
 * reach the server as one chunk.
 *
 * Exit codes: 0 after `/quit`, end of input or a close by the server (CLIENT-EOF-1); 1 when the
 * connection or handshake fails, or the connection fails later with a socket error; the reason is one
 * line on the error stream, `error <CODE>: <text>`.
 *
 * @module
 */
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { encode } from '../codec/encode.js';
import type { ExtensionMessageOf } from '../codec/extension.js';
import type { ExtensionName } from '../codec/generated/index.js';
import { concatBytes } from '../codec/text.js';
import { colorWanted, painter } from '../color.js';
import { ChatkitError, CodecError } from '../errors.js';
import { NICK_MESSAGE_MAX_BYTES, TILDE_CONTENT_MAX_BYTES } from '../limits.js';
import {
  type ChatClient,
  type ClientEvent,
  type ConnectOptions,
  connect,
  escapeForTerminal,
  formatForDisplay,
} from './client.js';

/**
 * How long a paced sender waits for the relay of its previous message before it sends the next one
 * anyway (a split relay never matches, and a server may not echo at all).
 */
export const PACE_ECHO_TIMEOUT_MS = 2_000;
/**
 * Scripted mode: input lines read ahead of the paced sender before input is paused, so a large piped
 * file does not sit in memory while messages go out one relay at a time.
 */
export const INPUT_QUEUE_HIGH_WATER_LINES = 100;

/** Exit codes of {@link runTerminalClient}. */
export const TERMINAL_EXIT_CODES = {
  /** `/quit`, end of input, or the server closed the connection. */
  OK: 0,
  /** The connection or the handshake failed, or the connection failed later with a socket error. */
  FAILURE: 1,
} as const;

/** Options of {@link runTerminalClient}: the connection's, plus the terminal's. */
export interface TerminalClientOptions extends ConnectOptions {
  /** What the user types (standard input). */
  readonly input: Readable;
  /** Where messages go (standard output). */
  readonly output: Writable;
  /** Where connection errors and, in scripted mode, refused input lines go; default `process.stderr`. */
  readonly errorOutput?: Writable;
  /** Whether `input` is a terminal: selects TTY mode (prompt, commands) or scripted mode. */
  readonly isTTY: boolean;
  /**
   * Whether the caller wants colours (for standard output: `colorWanted(process.stdout)` of
   * `src/color.ts`). They are used only in TTY mode unless `FORCE_COLOR` is set, and never when
   * `NO_COLOR` is.
   */
  readonly color: boolean;
  /** The environment consulted for `NO_COLOR` and `FORCE_COLOR`; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Bound on waiting for each message's relay; default {@link PACE_ECHO_TIMEOUT_MS}. */
  readonly echoTimeoutMs?: number;
}

const QUIT_COMMAND = '/quit';
const HELP = [
  '/help   show this list',
  '/quit   leave the chat (Ctrl-D and Ctrl-C too)',
  '//text  send a line that starts with "/"',
];
/** `/help` lines of each extension profile the server speaks (spec §14). */
const EXTENSION_HELP: Readonly<Record<ExtensionName, readonly string[]>> = {
  admin: ['/kick NICK  (admin) remove a member', '/ban NICK   (admin) ban a nickname and remove its member'],
  commands: [
    '/users          list the members',
    '/msg NICK TEXT  a private message',
    '/nick NEW       change your nickname',
  ],
  rooms: ['/join ROOM  move to a room (everyone starts in lobby)', '/rooms      list the rooms'],
};

/** The `/help` text for a client whose server speaks `extensions`. */
export function helpLines(extensions: readonly ExtensionName[]): string[] {
  const order = Object.keys(EXTENSION_HELP) as ExtensionName[];
  return [...HELP, ...order.filter((x) => extensions.includes(x)).flatMap((x) => EXTENSION_HELP[x])];
}

/**
 * A typed command of an extension profile the server speaks, as the message to send (spec §14), or
 * undefined when `line` is none of them. `/kick` and `/ban` become `KICK <nick>` and `BAN <nick>`
 * (ADMIN-CLIENT-1); the others travel bare (CMD-1).
 */
export function extensionCommand(
  line: string,
  extensions: readonly ExtensionName[],
): { [X in ExtensionName]: { ext: X; message: ExtensionMessageOf<X> } }[ExtensionName] | undefined {
  const [command = '', ...rest] = line.trim().split(' ');
  const arg = rest.join(' ');
  const on = (x: ExtensionName) => extensions.includes(x);
  if (on('admin') && command === '/kick' && arg) return { ext: 'admin', message: { type: 'kick', nick: arg } };
  if (on('admin') && command === '/ban' && arg) return { ext: 'admin', message: { type: 'ban', nick: arg } };
  if (on('commands') && command === '/users' && !arg) return { ext: 'commands', message: { type: 'users' } };
  if (on('commands') && command === '/nick' && arg) return { ext: 'commands', message: { type: 'rename', nick: arg } };
  if (on('commands') && command === '/msg' && rest.length >= 2)
    return { ext: 'commands', message: { type: 'msg', nick: rest[0]!, text: rest.slice(1).join(' ') } };
  if (on('rooms') && command === '/join' && arg) return { ext: 'rooms', message: { type: 'join', room: arg } };
  if (on('rooms') && command === '/rooms' && !arg) return { ext: 'rooms', message: { type: 'rooms' } };
  return undefined;
}

/** A bounded watch for one byte sequence in the received stream, across event boundaries. */
class EchoWatcher {
  #needle: Uint8Array | undefined;
  #window: Uint8Array = new Uint8Array(0);
  #seen: (() => void) | undefined;

  /** Starts watching; the promise settles once `needle` has been received (it never rejects). */
  arm(needle: Uint8Array): Promise<void> {
    this.#needle = needle;
    this.#window = new Uint8Array(0);
    return new Promise((resolve) => {
      this.#seen = resolve;
    });
  }

  disarm(): void {
    this.#needle = undefined;
    this.#seen = undefined;
    this.#window = new Uint8Array(0);
  }

  observe(bytes: Uint8Array): void {
    const needle = this.#needle;
    if (needle === undefined || bytes.length === 0) return;
    const window = concatBytes([this.#window, bytes]);
    if (Buffer.from(window.buffer, window.byteOffset, window.byteLength).indexOf(needle) !== -1) {
      const seen = this.#seen;
      this.disarm();
      seen?.();
      return;
    }
    // Only a tail shorter than the needle can still be the start of a match: memory stays bounded.
    this.#window = window.slice(Math.max(0, window.length - (needle.length - 1)));
  }
}

/** Lines from `input` as a queue the sender pulls from; pauses input past the high-water mark. */
class LineSource {
  readonly #rl: Interface;
  readonly #lines: string[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  /** `onQuit`: called at once for a `/quit` line (TTY), which must not wait behind paced sends. */
  constructor(rl: Interface, onQuit?: () => void) {
    this.#rl = rl;
    rl.on('line', (line) => {
      if (onQuit !== undefined && line.trim() === QUIT_COMMAND) {
        onQuit();
        return;
      }
      this.#lines.push(line);
      if (this.#lines.length >= INPUT_QUEUE_HIGH_WATER_LINES) rl.pause();
      this.#notify();
    });
    rl.on('close', () => this.end());
  }

  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** The next line, or `undefined` at the end of input. */
  async next(): Promise<string | undefined> {
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) {
        if (this.#lines.length === 0 && !this.#ended) this.#rl.resume();
        return line;
      }
      if (this.#ended) return undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** Bytes the server relays back to the sender for `text`: what pacing waits for (§3.6). */
function echoOf(client: ChatClient, text: string): Uint8Array | undefined {
  const options = { framing: client.framing };
  try {
    return client.dialect === 'nick'
      ? encode('nick', { type: 'chat', nick: client.nick, text }, options) // NICK-RELAY-1: relayed unchanged
      : encode('tilde', { type: 'relay', user: client.nick, text }, options); // TILDE-RELAY-1
  } catch {
    return undefined; // Nothing to wait for: the relay would not fit one message, so it cannot match anyway.
  }
}

function describeError(error: unknown): string {
  const code =
    error instanceof ChatkitError
      ? error.code
      : ((error as NodeJS.ErrnoException | undefined)?.code ?? 'ERROR');
  const message = error instanceof Error ? error.message : String(error);
  return `error ${code}: ${escapeForTerminal(message)}`;
}

/** What {@link StopSignal.race} resolves with when the session is stopping. */
const STOPPED = Symbol('stopped');
/** What {@link StopSignal.race} resolves with when its bound passed. */
const TIMED_OUT = Symbol('timed out');

/**
 * One signal for every reason to stop (the server closed, `/quit`, Ctrl-C, the output went away).
 * Waits race it without attaching to a long-lived promise, so a long session accumulates no
 * reactions, and every timer a wait starts is cleared when the wait ends.
 */
class StopSignal {
  #stopped = false;
  readonly #listeners = new Set<() => void>();

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const listener of this.#listeners) listener();
    this.#listeners.clear();
  }

  /** The value of `promise`, or {@link STOPPED}, or {@link TIMED_OUT} after `timeoutMs`. */
  race<T>(promise: Promise<T>, timeoutMs?: number): Promise<T | typeof STOPPED | typeof TIMED_OUT> {
    if (this.#stopped) return Promise.resolve(STOPPED);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (value: T | typeof STOPPED | typeof TIMED_OUT) => {
        clearTimeout(timer);
        this.#listeners.delete(onStop);
        resolve(value);
      };
      const onStop = () => done(STOPPED);
      this.#listeners.add(onStop);
      if (timeoutMs !== undefined) timer = setTimeout(() => done(TIMED_OUT), timeoutMs);
      promise.then(done, () => done(STOPPED));
    });
  }
}

/**
 * Runs the terminal client until the user quits, input ends or the server closes; resolves with the
 * exit code ({@link TERMINAL_EXIT_CODES}). Never rejects.
 *
 * @example
 * ```ts
 * const code = await runTerminalClient({
 *   host: '127.0.0.1', port: 55555, dialect: 'auto', nick: 'alice',
 *   input: process.stdin, output: process.stdout, isTTY: process.stdin.isTTY === true, color: true,
 * });
 * process.exitCode = code;
 * ```
 */
export async function runTerminalClient(options: TerminalClientOptions): Promise<number> {
  const { input, output, isTTY } = options;
  const errorOutput = options.errorOutput ?? process.stderr;
  const color = options.color && colorWanted({ isTTY }, options.env ?? process.env);
  const echoTimeoutMs = options.echoTimeoutMs ?? PACE_ECHO_TIMEOUT_MS;

  let client: ChatClient;
  try {
    client = await connect(connectOptionsOf(options));
  } catch (error) {
    errorOutput.write(`${describeError(error)}\n`);
    return TERMINAL_EXIT_CODES.FAILURE;
  }

  const rl = isTTY
    ? createInterface({ input, output, terminal: true, prompt: `${client.nick}> ` })
    : createInterface({ input, terminal: false, crlfDelay: Number.POSITIVE_INFINITY });
  const stop = new StopSignal();
  const lines = new LineSource(rl, isTTY ? () => stop.stop() : undefined);
  let closing = false;
  let closedEvent: Extract<ClientEvent, { kind: 'closed' }> | undefined;

  /** TTY: clear the input line, print above it, then redraw the prompt and the partial input. */
  const print = (line: string) => {
    if (!isTTY) {
      output.write(`${line}\n`);
      return;
    }
    clearLine(output, 0);
    cursorTo(output, 0);
    output.write(`${line}\n`);
    if (!closing) rl.prompt(true);
  };
  const printError = (line: string) => {
    if (isTTY) print(line);
    else errorOutput.write(`${line}\n`);
  };

  if (isTTY) rl.on('SIGINT', () => stop.stop());
  // A reader that went away (EPIPE on a pipe) ends the session instead of crashing the process.
  const onOutputError = () => stop.stop();
  output.on('error', onOutputError);

  const watcher = new EchoWatcher();
  const pump = (async () => {
    for await (const event of client.events) {
      if (event.kind === 'message' || event.kind === 'issue') watcher.observe(event.bytes);
      const line = formatForDisplay(event, { color });
      if (event.kind === 'closed') {
        closing = true;
        closedEvent = event;
      }
      // CMD-CLIENT-1: after its own rename the prompt shows the new nickname.
      if (isTTY && rl.getPrompt() !== `${client.nick}> `) rl.setPrompt(`${client.nick}> `);
      if (line !== undefined) print(line);
    }
  })();
  void client.closed.then(() => stop.stop());

  if (isTTY) {
    print(
      painter(color)(
        'dim',
        `connected to ${options.host}:${options.port} as ${client.nick} (${client.dialect}${
          client.prompt === undefined ? '' : `, prompt ${client.prompt}`
        }); /help lists commands`,
      ),
    );
  }

  for (;;) {
    const next = await stop.race(lines.next());
    if (next === undefined || next === STOPPED || next === TIMED_OUT) break;
    let text = next;
    if (isTTY) {
      if (text === '') {
        rl.prompt();
        continue; // an empty Enter is no message in a conversation
      }
      if (text.startsWith('/') && !text.startsWith('//')) {
        const command = text.trim();
        const extension = extensionCommand(command, client.extensions);
        if (command === '/help') for (const line of helpLines(client.extensions)) print(line);
        else if (extension !== undefined) {
          try {
            client.sendExtension(extension.ext, extension.message as never);
          } catch (error) {
            if (!(error instanceof ChatkitError) || error.code === 'CLIENT_NOT_CONNECTED') break;
            printError(explainRefusedInput(error, client.dialect));
          }
        } else print(`unknown command ${escapeForTerminal(command)}; /help lists commands`);
        rl.prompt();
        continue;
      }
      if (text.startsWith('//')) text = text.slice(1);
    }
    const echo = echoOf(client, text);
    const seen = echo === undefined ? undefined : watcher.arm(echo);
    try {
      client.send(text);
    } catch (error) {
      watcher.disarm();
      // CLIENT-INPUT-1: say why, then go on with the next line.
      if (error instanceof ChatkitError && error.code !== 'CLIENT_NOT_CONNECTED') {
        printError(explainRefusedInput(error, client.dialect));
        if (isTTY) rl.prompt();
        continue;
      }
      break;
    }
    if (seen !== undefined) await stop.race(seen, echoTimeoutMs);
    watcher.disarm();
    if (isTTY && !client.isClosed) rl.prompt();
  }

  closing = true;
  rl.close();
  lines.end();
  await client.close();
  await pump;
  output.off('error', onOutputError);
  if (closedEvent?.reason === 'error') {
    errorOutput.write(`${describeError(closedEvent.error ?? new Error('socket error'))}\n`);
    return TERMINAL_EXIT_CODES.FAILURE;
  }
  return TERMINAL_EXIT_CODES.OK;
}

/** What a person needs to hear about a line that was not sent: the code, and the rule in plain words. */
function explainRefusedInput(error: ChatkitError, dialect: 'nick' | 'tilde'): string {
  if (!(error instanceof CodecError)) return `not sent (${error.code}): ${escapeForTerminal(error.message)}`;
  const hint =
    error.code === 'TEXT_FORBIDDEN_CHAR' && dialect === 'nick'
      ? 'the NICK dialect carries only printable ASCII and TAB'
      : error.code === 'CONTENT_EMPTY'
        ? 'an empty message cannot be sent'
        : error.code === 'MESSAGE_TOO_LONG'
          ? `too long: at most ${dialect === 'nick' ? `${NICK_MESSAGE_MAX_BYTES} bytes including "<nick>: "` : `${TILDE_CONTENT_MAX_BYTES} bytes`}`
          : error.code === 'INVALID_UTF8'
            ? 'the text is not valid Unicode'
            : escapeForTerminal(error.message);
  return `invalid input (${error.code}): ${hint}; not sent`;
}

/** The connection options within the terminal options (exactOptionalPropertyTypes: absent stays absent). */
function connectOptionsOf(options: TerminalClientOptions): ConnectOptions {
  const {
    input: _input,
    output: _output,
    errorOutput: _errorOutput,
    isTTY: _isTTY,
    color: _color,
    env: _env,
    echoTimeoutMs: _echoTimeoutMs,
    ...connectOptions
  } = options;
  return connectOptions;
}
