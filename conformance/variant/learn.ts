/**
 * `--learn`: one ordinary session with a server (two members join, one chats, one leaves), from which
 * its texts are read: the prompt, the join announcement and the welcome around the nickname, the leave
 * announcement, and whether it writes anything but ASCII. The result is a {@link Variant}; the run then
 * judges behaviour against it (variant.ts). Nothing here judges: a text the session did not show
 * stays the spec's, and the cases judge it as usual.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { DialectName } from '../../src/codec/index.js';
import { ChatkitError } from '../../src/errors.js';
import { type Connection, openConnection } from '../harness/connection.js';
import { CONNECT_TIMEOUT_MS, type CaseTiming } from '../harness/timing.js';
import { isPromptToken, PROMPT_TOKEN_RULE } from '../../src/codec/index.js';
import { NICK_PLACEHOLDER } from './texts.js';
import { SPEC_ENCODING, type Variant } from './variant.js';

/** The learning session could not show even the first texts (no prompt, no admission). */
export class VariantNotLearnedError extends ChatkitError {
  constructor(message: string) {
    super('VARIANT_NOT_LEARNED', message);
    this.name = 'VariantNotLearnedError';
  }
}

/** What the learning session found, and what it could not. */
export interface Learned {
  readonly variant: Variant;
  /** Texts the session did not show (they stay the spec's), each with why. */
  readonly missing: readonly string[];
}

const decoder = new TextDecoder('utf-8', { fatal: false });
const text = (bytes: Uint8Array) => decoder.decode(bytes);
const indexOfText = (haystack: Uint8Array, needle: string, from = 0) =>
  Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from, 'utf8');

/**
 * Waits (bounded by the step) until `done` holds on the stream past `after`, then until the stream
 * stops growing for a quiet window (bounded too): what the server writes in answer to one step.
 * Returns the bytes past `after`.
 */
async function answer(
  conn: Connection,
  after: number,
  timing: CaseTiming,
  done: (rest: Uint8Array) => boolean = (rest) => rest.length > 0,
): Promise<Uint8Array> {
  await conn
    .waitFor((s) => done(s.subarray(after)), { timeoutMs: timing.stepMs, what: 'an answer' })
    .catch(() => undefined);
  const deadline = performance.now() + timing.stepMs;
  while (!conn.closed && performance.now() < deadline) {
    const more = await conn.quiet(timing.quietMs);
    if (more.length === 0) break;
  }
  return conn.stream().subarray(after);
}

/** A nickname valid in both dialects, lowercase ASCII (a server that changes case is judged by the cases). */
function learnerNick(base: string): string {
  return `${base}${randomBytes(3).toString('hex')}`;
}

/** `seen` with the nickname replaced by the placeholder, or undefined if the nickname is not in it. */
function templateOf(seen: string, nick: string): string | undefined {
  const at = seen.indexOf(nick);
  if (at === -1 || seen.trim() === '') return undefined;
  return `${seen.slice(0, at)}${NICK_PLACEHOLDER}${seen.slice(at + nick.length)}`;
}

/**
 * Learns the texts of the server at `host:port` (one fresh instance, or a shared target: the session
 * leaves with resets, as the probe does). Throws {@link VariantNotLearnedError} when not even the
 * first member could join.
 */
export async function learnVariant(options: {
  readonly host: string;
  readonly port: number;
  readonly dialect: DialectName;
  readonly timing: CaseTiming;
}): Promise<Learned> {
  const { host, port, dialect, timing } = options;
  const opened: Connection[] = [];
  const open = async (label: string) => {
    const conn = await openConnection({ host, port, label, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    opened.push(conn);
    return conn;
  };
  const missing: string[] = [];
  const variant: { -readonly [K in keyof Variant]: Variant[K] } = { dialect };
  const seen: Uint8Array[] = [];
  try {
    const nickA = learnerNick('ann');
    const nickB = learnerNick('bob');
    const a = await open('learn-a');
    let aStart = 0;
    if (dialect === 'nick') {
      const prompt = await answer(a, 0, timing);
      if (prompt.length === 0) {
        throw new VariantNotLearnedError(`no prompt within ${timing.stepMs} ms of connecting: is it a NICK server? (--dialect)`);
      }
      const token = text(prompt);
      if (isPromptToken(token)) variant.prompt = token;
      else missing.push(`prompt: "${token}" is no prompt token (${PROMPT_TOKEN_RULE}): the spec's is judged`);
      seen.push(prompt);
      aStart = prompt.length;
    }
    a.send(nickA);
    const admittedA = await answer(a, aStart, timing);
    if (admittedA.length === 0 || a.closed) {
      throw new VariantNotLearnedError(`the first member (${nickA}) was not admitted: nothing came back within ${timing.stepMs} ms of its name${a.closed ? ', and the server closed the connection' : ''}`);
    }
    seen.push(admittedA);
    let aMark = a.stream().length;

    const b = await open('learn-b');
    let bStart = 0;
    if (dialect === 'nick') bStart = (await answer(b, 0, timing)).length;
    b.send(nickB);
    const admittedB = await answer(b, bStart, timing, (rest) => indexOfText(rest, nickB) !== -1);
    seen.push(admittedB);
    // What a member sees when another joins: the join announcement alone.
    const joinSeen = await answer(a, aMark, timing, (rest) => indexOfText(rest, nickB) !== -1);
    seen.push(joinSeen);
    const joined = templateOf(text(joinSeen), nickB) ?? templateOf(text(admittedA), nickA);
    if (joined === undefined) missing.push('joined: no announcement naming the newcomer arrived');
    else variant.joined = joined;
    if (dialect === 'nick') {
      // The newcomer's answer is its own announcement and the welcome, in either order.
      const own = joined === undefined ? '' : joined.replace(NICK_PLACEHOLDER, () => nickB);
      const rest = text(admittedB).replace(own, '');
      if (rest === '') missing.push('welcome: the newcomer got nothing but its announcement');
      else variant.welcome = rest;
    }

    // An ordinary chat line, so the session is what a person does (and nothing is learned from it).
    aMark = a.stream().length;
    const line = dialect === 'nick' ? `${nickB}: hello` : 'hello';
    b.send(line);
    await answer(a, aMark, timing, (r) => indexOfText(r, 'hello') !== -1);

    aMark = a.stream().length;
    b.reset();
    const leaveSeen = await answer(a, aMark, timing, (r) => indexOfText(r, nickB) !== -1);
    seen.push(leaveSeen);
    const left = templateOf(text(leaveSeen), nickB);
    if (left === undefined) missing.push('left: no announcement naming the member that left arrived');
    else variant.left = left;

    const wide = seen.some((bytes) => bytes.some((byte) => byte >= 0x80));
    variant.encoding = wide ? 'utf-8' : SPEC_ENCODING[dialect];
    variant.note = `learned by chatkit conform --learn from ${host}:${port}`;
    return { variant, missing };
  } finally {
    for (const conn of opened) conn.reset();
  }
}
