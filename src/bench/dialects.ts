/**
 * How the load generator joins and talks in each dialect it can measure: the spec's two
 * (spec/PROTOCOL.md §4, §5) and `raw-lines`, the dialect of a plain line relay such as
 * `ncat -l --chat`, which has no handshake and does not echo a line to its sender.
 *
 * The handshake is a small state machine per client that looks at the raw chunks until the client
 * is a member; it never decides anything from chunk boundaries (FRAME-6): it reassembles.
 *
 * @module
 */

/** A dialect the load generator speaks. */
export type BenchDialect = 'nick' | 'tilde' | 'raw-lines';

/** The dialects, for flags and schemas. */
export const BENCH_DIALECTS = ['nick', 'tilde', 'raw-lines'] as const;

/** Why a client did not become a member. */
export type JoinFailure = 'refused' | 'closed' | 'timeout' | 'prompt-mismatch' | 'connect-error';

/** What the handshake wants next. */
export type HandshakeStep =
  | { readonly kind: 'wait' }
  | { readonly kind: 'send'; readonly bytes: Uint8Array }
  | { readonly kind: 'joined' }
  | { readonly kind: 'failed'; readonly why: JoinFailure; readonly detail: string };

/** One client's handshake. */
export interface Handshake {
  /** Called once connected: bytes to send at once, if the dialect speaks first. */
  connected(): HandshakeStep;
  /** Called with each chunk received until it answers `joined` or `failed`. */
  received(chunk: Uint8Array): HandshakeStep;
}

/** Per-dialect facts the load generator needs. */
export interface BenchDialectSpec {
  /** A fresh handshake for a client with this name. */
  handshake(name: string): Handshake;
  /** Bytes before the measured text in each message (NICK's `<nick>: `). */
  prefix(name: string): Uint8Array;
  /** Bytes after it (`\n` for line relays). */
  readonly suffix: Uint8Array;
  /** Whether a member receives its own messages back (NICK-RELAY-1, TILDE-RELAY-1; not ncat). */
  readonly echoesToSender: boolean;
}

const WAIT: HandshakeStep = { kind: 'wait' };
const JOINED: HandshakeStep = { kind: 'joined' };
const latin1 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
const ascii = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));

/** Keeps the end of a stream so that a marker cut by a chunk boundary is still found. */
class Window {
  #text = '';
  constructor(readonly keep: number) {}
  /** Appends text; returns what to search (the kept end and the new text). */
  push(text: string): string {
    const out = this.#text + text;
    this.#text = out.length > this.keep ? out.slice(-this.keep) : out;
    return out;
  }
}

const failed = (why: JoinFailure, detail: string): HandshakeStep => ({ kind: 'failed', why, detail });

/** NICK (§4.3): wait for the whole prompt token, send the nickname, wait for `Connected to server!`. */
function nickHandshake(name: string, prompt: string): Handshake {
  const refused = 'Refused: ';
  const mark = 'Connected to server!';
  const window = new Window(mark.length);
  let head = '';
  let prompted = false;
  let answer = '';
  const afterPrompt = (text: string): HandshakeStep => {
    // NICK-NICK-3: the answer to a nickname may be one refusal.
    if (answer.length < refused.length) answer += text.slice(0, refused.length - answer.length);
    if (answer === refused) return failed('refused', text.trim());
    return window.push(text).includes(mark) ? JOINED : WAIT;
  };
  return {
    connected: () => WAIT,
    received(chunk) {
      const text = latin1(chunk);
      if (prompted) return afterPrompt(text);
      // NICK-PROMPT-2: nothing comes before the prompt, so its bytes can be reassembled.
      head += text;
      const mismatch = () =>
        failed('prompt-mismatch', `expected the prompt ${prompt}, got ${head.slice(0, 40)}`);
      if (head.length < prompt.length) return prompt.startsWith(head) ? WAIT : mismatch();
      if (!head.startsWith(prompt)) return mismatch();
      prompted = true;
      const rest = head.slice(prompt.length);
      if (rest.length > 0) {
        const step = afterPrompt(rest);
        if (step.kind !== 'wait') return step;
      }
      return { kind: 'send', bytes: ascii(name) };
    },
  };
}

/** tilde (§5.3): the username first, then wait for its own `SERVER~<user> added to the chat`. */
function tildeHandshake(name: string): Handshake {
  const refused = 'SERVER~Refused: ';
  const mark = `SERVER~${name} added to the chat`;
  const window = new Window(mark.length);
  let answer = '';
  return {
    connected: () => ({ kind: 'send', bytes: ascii(name) }),
    received(chunk) {
      const text = latin1(chunk);
      // TILDE-JOIN-2: the first answer is the refusal or a message for members.
      if (answer.length < refused.length) answer += text.slice(0, refused.length - answer.length);
      if (answer === refused) return failed('refused', text.trim());
      return window.push(text).includes(mark) ? JOINED : WAIT;
    },
  };
}

/**
 * A line relay has no handshake, but a connection is only a member once the server has accepted
 * it, which a TCP connect does not show: the first bytes the server sends it (ncat greets every
 * newcomer with `<announce>` lines) do.
 */
function rawHandshake(): Handshake {
  return { connected: () => WAIT, received: () => JOINED };
}

/** The dialect's facts; `prompt` is the NICK prompt token (default `NICK`). */
export function benchDialect(dialect: BenchDialect, prompt = 'NICK'): BenchDialectSpec {
  switch (dialect) {
    case 'nick':
      return {
        handshake: (name) => nickHandshake(name, prompt),
        prefix: (name) => ascii(`${name}: `),
        suffix: new Uint8Array(0),
        echoesToSender: true,
      };
    case 'tilde':
      return {
        handshake: tildeHandshake,
        prefix: () => new Uint8Array(0),
        suffix: new Uint8Array(0),
        echoesToSender: true,
      };
    case 'raw-lines':
      return {
        handshake: rawHandshake,
        prefix: () => new Uint8Array(0),
        suffix: ascii('\n'),
        echoesToSender: false,
      };
  }
}
