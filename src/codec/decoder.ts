/**
 * The streaming decoder: a pure state machine. `push(chunk)` takes whatever one `recv()` returned
 * and returns the messages and coded issues it completes. It never touches a socket, never throws
 * on input bytes, and holds at most one frame of bytes between calls.
 *
 * Chunk framing (the legacy wire, FRAME-1/FRAME-4): each chunk is one message, cut to the
 * dialect's frame limit as a legacy `recv(N)` would cut it. Three exceptions follow from the spec:
 * the NICK prompt is matched as a prefix of the stream (it is always the first bytes, so a split
 * or merged prompt is still found); while a NICK client is joining, `Connected to server!` is
 * found inside a chunk (§4.6); and a tilde chunk that ends inside a UTF-8 character is held
 * whole until the next chunk completes it (a sender never splits a character across writes, so
 * such a chunk is one write that TCP split).
 *
 * Line framing (the optional line profile, LINE-*): messages end in LF, a CR before it is dropped,
 * empty lines are ignored, and the result does not depend on chunk boundaries at all.
 *
 * @module
 */
import { CodecError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { UTF8_HOLD_MAX_BYTES } from '../limits.js';
import {
  type DecoderState,
  type DialectName,
  type Direction,
  encodingOf,
  type Framing,
  frameLimit,
  initialState,
  type MessageDefinition,
  type MessageOf,
  messagesFor,
} from './dialect.js';
import { DIALECTS } from './generated/tables.js';
import { codeOfCheck } from './issues.js';
import {
  charBoundaryAtOrBefore,
  concatBytes,
  decodeText,
  encodeText,
  firstInvalidUtf8,
  firstNonAscii,
  incompleteUtf8Tail,
  type WireEncoding,
} from './text.js';

/** Options of {@link createDecoder}. */
export interface DecoderOptions<D extends DialectName> {
  /** The dialect on the wire. */
  readonly dialect: D;
  /** Which way the decoded bytes travel. */
  readonly direction: Direction;
  /** `chunk` (default, the legacy wire) or `line` (the optional line profile). */
  readonly framing?: Framing;
  /** NICK only: the prompt token to expect (default `NICK`; `Hii` for seed 003's variant). */
  readonly prompt?: string;
  /** Where to start; by default where a fresh connection starts (see {@link initialState}). */
  readonly initialState?: DecoderState;
  /** Longest frame treated as one message; defaults to the dialect's limit (see {@link frameLimit}). */
  readonly maxFrameBytes?: number;
}

/**
 * What a decoder returns: a message with the exact bytes it came from (a line's terminator
 * included) and their stream offset, or a coded issue.
 */
export type DecodeEvent<M> =
  | { readonly kind: 'message'; readonly message: M; readonly bytes: Uint8Array; readonly offset: number }
  | { readonly kind: 'issue'; readonly error: CodecError };

/** A streaming decoder for one direction of one connection. */
export interface Decoder<M> {
  /** Feeds the bytes of one `recv()`; returns what they complete. Never throws on input. */
  push(chunk: Uint8Array): DecodeEvent<M>[];
  /** The stream has ended: reports what was held back as an issue (a truncated frame). */
  end(): DecodeEvent<M>[];
  /** The current state. */
  readonly state: DecoderState;
  /** Bytes held between calls; never more than the frame limit plus one (a CR in line framing). */
  readonly bufferedBytes: number;
  /** Bytes of the stream consumed so far (held bytes not included). */
  readonly offset: number;
}

const LF = 0x0a;
/** The NICK message that ends a client's handshake (NICK-JOIN-2). */
const CONNECTED = 'Connected to server!';
const CR = 0x0d;
/** What a decoder holds between chunks when it holds nothing: one empty array for all (never written). */
const NOTHING_HELD = new Uint8Array(0);

class StreamDecoder<D extends DialectName> implements Decoder<MessageOf<D>> {
  readonly #dialect: D;
  readonly #direction: Direction;
  readonly #framing: Framing;
  readonly #encoding: WireEncoding;
  readonly #limit: number;
  readonly #prompt: Uint8Array | undefined;
  readonly #connected: Uint8Array | undefined;
  readonly #candidates: readonly MessageDefinition[];
  #state: DecoderState;
  #held: Uint8Array = NOTHING_HELD;
  #offset = 0;
  #discarding = false;

  constructor(options: DecoderOptions<D>) {
    this.#dialect = options.dialect;
    this.#direction = options.direction;
    this.#framing = options.framing ?? 'chunk';
    this.#encoding = encodingOf(options.dialect);
    this.#limit = options.maxFrameBytes ?? frameLimit(options.dialect, options.direction);
    this.#state = options.initialState ?? initialState(options.dialect, options.direction);
    this.#candidates = messagesFor(options.dialect, options.direction);
    const defaults = DIALECTS[options.dialect].defaults;
    const prompt = options.prompt ?? ('prompt' in defaults ? defaults.prompt : undefined);
    this.#prompt =
      options.dialect === 'nick' && options.direction === 'toClient' && prompt !== undefined
        ? encodeText(prompt, 'ascii')
        : undefined;
    this.#connected = this.#prompt === undefined ? undefined : encodeText(CONNECTED, 'ascii');
  }

  get state(): DecoderState {
    return this.#state;
  }

  get bufferedBytes(): number {
    return this.#held.length;
  }

  get offset(): number {
    return this.#offset;
  }

  push(chunk: Uint8Array): DecodeEvent<MessageOf<D>>[] {
    if (chunk.length === 0) return [];
    const data = this.#held.length === 0 ? chunk : concatBytes([this.#held, chunk]);
    this.#held = NOTHING_HELD;
    return this.#framing === 'line' ? this.#pushLines(data) : this.#pushChunk(data);
  }

  end(): DecodeEvent<MessageOf<D>>[] {
    const held = this.#held;
    this.#held = NOTHING_HELD;
    const discarding = this.#discarding;
    this.#discarding = false;
    if (held.length === 0 || discarding) return [];
    const at = this.#offset;
    this.#offset += held.length;
    if (this.#framing === 'line') return [this.#issue('TRUNCATED_LINE', 'LINE-1', at, held)];
    if (this.#awaitingPrompt()) return [this.#issue('UNEXPECTED_MESSAGE', 'NICK-PROMPT-1', at, held)];
    return [this.#issue('TRUNCATED_UTF8', 'ENC-TILDE-1', at, held)];
  }

  #awaitingPrompt(): boolean {
    return this.#prompt !== undefined && this.#state === 'handshake';
  }

  #pushChunk(data: Uint8Array): DecodeEvent<MessageOf<D>>[] {
    const events: DecodeEvent<MessageOf<D>>[] = [];
    let pos = 0;
    const prompt = this.#prompt;
    if (prompt !== undefined && this.#awaitingPrompt()) {
      // The prompt is always the first bytes of the stream, so it is matched as a prefix:
      // a prompt split or merged by TCP is still recognised (FRAME-4).
      if (data.length < prompt.length && startsWith(prompt, data)) {
        this.#held = data;
        return events;
      }
      if (startsWith(data, prompt)) {
        events.push(this.#classify(data.subarray(0, prompt.length), this.#offset));
        pos = prompt.length;
      }
    }
    while (pos < data.length) {
      let end = data.length;
      const marker = this.#connected;
      if (marker !== undefined && this.#state === 'joining') {
        // §4.6 rule 3: while joining, `Connected to server!` is found inside a chunk, so the
        // usual merge `alice joined!Connected to server!` still reads as joined + connected.
        const at = indexOfBytes(data, marker, pos);
        if (at === pos) {
          events.push(this.#classify(data.subarray(pos, pos + marker.length), this.#offset + pos));
          pos += marker.length;
          continue;
        }
        if (at > pos) end = at;
      }
      const rest = data.subarray(pos, end);
      const cut = charBoundaryAtOrBefore(rest, this.#limit, this.#encoding);
      const frame = rest.subarray(0, cut);
      const isLast = pos + cut === data.length;
      if (isLast && this.#encoding === 'utf-8' && incompleteUtf8Tail(frame) > 0) {
        // One write split by TCP inside a character: wait for the rest of it (FRAME-4).
        this.#held = frame.slice();
        break;
      }
      events.push(this.#classify(frame, this.#offset + pos));
      pos += cut;
    }
    this.#offset += pos;
    return events;
  }

  #pushLines(data: Uint8Array): DecodeEvent<MessageOf<D>>[] {
    const events: DecodeEvent<MessageOf<D>>[] = [];
    let start = 0;
    for (let lf = data.indexOf(LF, start); lf !== -1; lf = data.indexOf(LF, start)) {
      const at = this.#offset + start;
      const whole = data.subarray(start, lf + 1);
      let line = data.subarray(start, lf);
      start = lf + 1;
      if (this.#discarding) {
        this.#discarding = false; // the over-long line was reported when it passed the limit
        continue;
      }
      if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
      if (line.length > this.#limit) events.push(this.#issue('LINE_TOO_LONG', 'LINE-2', at, line));
      else if (line.length > 0) events.push(this.#classify(line, at, whole));
    }
    const rest = data.subarray(start);
    if (!this.#discarding && rest.length > this.#limit + 1) {
      events.push(
        this.#issue('LINE_TOO_LONG', 'LINE-2', this.#offset + start, rest.slice(0, this.#limit + 1)),
      );
      this.#discarding = true;
    }
    if (this.#discarding) this.#offset += data.length;
    else {
      this.#held = rest.slice();
      this.#offset += start;
    }
    return events;
  }

  /** `frame` is what is matched; `whole` (default `frame`) is every byte it came from, terminator included. */
  #classify(frame: Uint8Array, at: number, whole: Uint8Array = frame): DecodeEvent<MessageOf<D>> {
    const bad = this.#encoding === 'ascii' ? firstNonAscii(frame) : firstInvalidUtf8(frame);
    if (bad !== -1) {
      const code = this.#encoding === 'ascii' ? 'NICK_NON_ASCII' : 'INVALID_UTF8';
      return this.#issue(code, this.#encoding === 'ascii' ? 'ENC-NICK-1' : 'ENC-TILDE-1', at + bad, whole);
    }
    let text = decodeText(frame, this.#encoding) ?? '';
    if (this.#state === 'handshake' && this.#direction === 'toServer' && this.#framing === 'chunk') {
      // NICK-NICK-3 / TILDE-USER-3: one trailing LF or CRLF is ignored so nc and telnet users can join.
      text = text.replace(/\r?\n$/, '');
    }
    let failure: { code: ErrorCode; requirement: string } | undefined;
    let anyMatched = false;
    for (const def of this.#candidates) {
      if (!def.states.includes(this.#state)) continue;
      let candidate: Record<string, string> | undefined;
      if (def.type === 'prompt') {
        // The prompt is whatever token this connection was told to expect, not any token.
        if (this.#prompt !== undefined && text === decodeText(this.#prompt, 'ascii'))
          candidate = { token: text };
      } else {
        const match = def.pattern.exec(text);
        if (match) candidate = { ...match.groups };
      }
      if (candidate === undefined) continue;
      anyMatched = true;
      const parsed = def.check({ type: def.type, ...candidate });
      if (parsed.success) {
        if (def.next !== undefined) this.#state = def.next;
        return { kind: 'message', message: parsed.data as MessageOf<D>, bytes: whole, offset: at };
      }
      failure ??= codeOfCheck(parsed.issue, def.requirement);
    }
    if (failure) return this.#issue(failure.code, failure.requirement, at, whole);
    const expected = this.#candidates.find((d) => d.states.includes(this.#state));
    if (!anyMatched && this.#dialect === 'tilde' && this.#direction === 'toClient') {
      return this.#issue('TILDE_MISSING_SEPARATOR', 'TILDE-RELAY-1', at, whole);
    }
    return this.#issue('UNEXPECTED_MESSAGE', expected?.requirement ?? 'FRAME-1', at, whole);
  }

  #issue(code: ErrorCode, requirement: string, offset: number, bytes: Uint8Array): DecodeEvent<MessageOf<D>> {
    const message = `${ERROR_CODES[code]} (${requirement}, at byte ${offset})`;
    return {
      kind: 'issue',
      error: new CodecError(code, message, { requirement, offset, bytes: bytes.slice() }),
    };
  }
}

function indexOfBytes(bytes: Uint8Array, needle: Uint8Array, from: number): number {
  for (let i = bytes.indexOf(needle[0]!, from); i !== -1; i = bytes.indexOf(needle[0]!, i + 1)) {
    if (i + needle.length > bytes.length) return -1;
    if (startsWith(bytes.subarray(i), needle)) return i;
  }
  return -1;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/**
 * Creates a streaming decoder for one direction of one connection.
 *
 * @example
 * ```ts
 * const decoder = createDecoder({ dialect: 'tilde', direction: 'toClient' });
 * for (const event of decoder.push(chunk)) {
 *   if (event.kind === 'message') show(event.message);
 *   else log(event.error.code);
 * }
 * ```
 */
export function createDecoder<D extends DialectName>(options: DecoderOptions<D>): Decoder<MessageOf<D>> {
  return new StreamDecoder(options);
}

/** The most bytes a decoder with these options may hold between calls (for tests and budgets). */
export function maxBufferedBytes(options: DecoderOptions<DialectName>): number {
  const limit = options.maxFrameBytes ?? frameLimit(options.dialect, options.direction);
  return Math.max(limit + 1, UTF8_HOLD_MAX_BYTES);
}
