/**
 * What a server case works with: recorded connections to the target, handshakes done the way the
 * spec says, and checks that judge each connection's reassembled stream (FRAME-6). Every check
 * has a deadline; every failure carries the requirement, every acceptable alternative and what
 * arrived. Nicknames and texts are unique per case run, and checks only look for them, so other
 * members chatting on the same server cannot cause a false verdict (§3.7 item 8).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type DialectName, escapeBytes, type Framing } from '../../src/codec/index.js';
import { CaseFailure, CaseSkip, type FailureDetails } from './case.js';
import { type CloseKind, type Connection, ConnectionError, openConnection } from './connection.js';
import { type NodeAddress, roundRobin } from '../../src/nodes.js';

/** Bound on one expected effect (a relay, a join); met in milliseconds by a working server. */
export const STEP_TIMEOUT_MS = 5_000;
/** How long "nothing more arrives" is watched (a bounded quiet window, §3.7 item 7). */
export const QUIET_WINDOW_MS = 400;
/** Bound on opening a connection. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** How much of a stream a failure shows (its tail). */
export const FAILURE_STREAM_TAIL_BYTES = 600;

/** Timing knobs, scaled together by `--timeout-scale` on slow machines. */
export interface CaseTiming {
  /** Bound on one expected effect. */
  readonly stepMs: number;
  /** Quiet window. */
  readonly quietMs: number;
}

/** The default timing. */
export const DEFAULT_TIMING: CaseTiming = { stepMs: STEP_TIMEOUT_MS, quietMs: QUIET_WINDOW_MS };

/** A connection that completed its handshake. */
export interface Member {
  /** The recorded connection. */
  readonly conn: Connection;
  /** Its nickname (username). */
  readonly nick: string;
  /** Offset in its stream just past its own join confirmation; later checks look after it. */
  readonly joinedAt: number;
}

/** Options of the stream checks. */
export interface ExpectOptions {
  /** The requirement judged. */
  readonly requirement: string;
  /** What the check means, for the report ("alice receives bob's join"). */
  readonly what: string;
  /** Look only at bytes from this stream offset on. */
  readonly after?: number;
  /** Bound; default the case timing's step. */
  readonly timeoutMs?: number;
}

const encoder = new TextEncoder();
const toBytes = (s: string | Uint8Array) => (typeof s === 'string' ? encoder.encode(s) : s);
const show = (s: string | Uint8Array) => escapeBytes(toBytes(s));

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from);
}

/** The context of one server case run. */
export class ServerCaseContext {
  readonly dialect: DialectName;
  readonly prompt: string;
  /** `chunk` (the legacy wire) or `line`: under the line profile every message ends in LF (§8). */
  readonly framing: Framing;
  readonly host: string;
  readonly port: number;
  readonly timing: CaseTiming;
  /**
   * The pid (also the process group id) of the target when the runner spawned it (`--spawn`), so a
   * case can probe it read-only in /proc, e.g. for a busy loop (§6.1); undefined with `--target`.
   */
  readonly targetPid: number | undefined;
  /** Where the next connection goes: the target, or the nodes of a cluster round-robin. */
  readonly #nextNode: () => NodeAddress;
  readonly #suffix = randomBytes(3).toString('hex');
  readonly #connections: Connection[] = [];
  readonly #opened = new Map<Connection, number>();
  readonly #started = performance.now();
  #counter = 0;

  /** Creates the context for one run of one case against `host:port`. */
  constructor(options: {
    host: string;
    port: number;
    dialect: DialectName;
    prompt?: string;
    framing?: Framing;
    timing?: CaseTiming;
    targetPid?: number;
    /** Further servers of the same room (a cluster): connections go to all of them, round-robin. */
    moreNodes?: readonly NodeAddress[];
  }) {
    this.framing = options.framing ?? 'chunk';
    this.host = options.host;
    this.port = options.port;
    this.dialect = options.dialect;
    this.prompt = options.prompt ?? 'NICK';
    this.timing = options.timing ?? DEFAULT_TIMING;
    this.targetPid = options.targetPid;
    this.#nextNode = roundRobin([{ host: options.host, port: options.port }, ...(options.moreNodes ?? [])]);
  }

  /** A nickname unique to this case run, valid in both dialects: `<base>_<run><n>` (at most 32 bytes). */
  nick(base: string): string {
    return `${base.slice(0, 20)}_${this.#suffix}${(this.#counter++).toString(36)}`;
  }

  /** A text token unique to this case run, for messages the case looks for. */
  token(base = 'msg'): string {
    return `${base}-${this.#suffix}${(this.#counter++).toString(36)}`;
  }

  /** Every connection opened so far, with its opening time relative to the case start (ms). */
  connections(): { conn: Connection; openedAtMs: number }[] {
    return this.#connections.map((conn) => ({ conn, openedAtMs: this.#opened.get(conn) ?? 0 }));
  }

  /** Opens a recorded connection; a target that refuses it fails the case (TRANSPORT-1). */
  async connect(label: string): Promise<Connection> {
    try {
      const conn = await openConnection({
        ...this.#nextNode(),
        label,
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
      });
      this.#connections.push(conn);
      this.#opened.set(conn, performance.now() - this.#started);
      return conn;
    } catch (error) {
      throw new CaseFailure({
        requirement: 'TRANSPORT-1',
        message: `could not open connection "${label}": the server no longer accepts connections`,
        expected: ['the connection is accepted'],
        actual: error instanceof Error ? error.message.split('\n')[0]! : String(error),
        connection: label,
      });
    }
  }

  /** The bytes a member writes to say `text`: `<nick>: <text>` (NICK) or the content itself (tilde). */
  line(nick: string, text: string): string {
    return this.#end(this.dialect === 'nick' ? `${nick}: ${text}` : text);
  }

  /** A message as written on the wire: under the line profile it ends in LF (LINE-1). */
  #end(message: string): string {
    return this.framing === 'line' ? `${message}\n` : message;
  }

  /** A bare message (a nickname, a prompt) as written on the wire. */
  wire(message: string): string {
    return this.#end(message);
  }

  /** What every member receives when `nick` says `text` (NICK-RELAY-1, TILDE-RELAY-1). */
  relay(nick: string, text: string): string {
    return this.#end(this.dialect === 'nick' ? `${nick}: ${text}` : `${nick}~${text}`);
  }

  /** The join announcement of `nick` (NICK-JOIN-1, TILDE-JOIN-1). */
  joined(nick: string): string {
    return this.#end(this.dialect === 'nick' ? `${nick} joined!` : `SERVER~${nick} added to the chat`);
  }

  /** The leave announcement of `nick` (NICK-LEAVE-1, TILDE-LEAVE-2). */
  left(nick: string): string {
    return this.#end(this.dialect === 'nick' ? `${nick} left!` : `SERVER~${nick} left the chat`);
  }

  /**
   * Connects and completes the handshake as the spec says, pacing on observed traffic: NICK waits
   * for the prompt, answers, and waits for `Connected to server!`; tilde sends the username and
   * waits for its own `added`. A server that does not complete it fails the case.
   */
  async join(nick: string, label = nick): Promise<Member> {
    const conn = await this.connect(label);
    if (this.dialect === 'nick') {
      await this.expectReceives(conn, [this.wire(this.prompt)], {
        requirement: 'NICK-PROMPT-1',
        what: `the prompt "${this.prompt}" on accept`,
      });
      conn.send(this.wire(nick));
      const joinedAt = await this.expectReceives(conn, [this.wire('Connected to server!')], {
        requirement: 'NICK-JOIN-2',
        what: `"Connected to server!" after the nickname ${nick}`,
      });
      return { conn, nick, joinedAt };
    }
    conn.send(this.wire(nick));
    const joinedAt = await this.expectReceives(conn, [this.joined(nick)], {
      requirement: 'TILDE-JOIN-1',
      what: `its own join announcement after the username ${nick}`,
    });
    return { conn, nick, joinedAt };
  }

  /** Writes what `member` says (one write) and returns the relay every member should receive. */
  say(member: Member, text: string): string {
    member.conn.send(this.line(member.nick, text));
    return this.relay(member.nick, text);
  }

  /**
   * Waits until the stream of `conn`, from `after` on, contains one of `alternatives`; resolves
   * with the offset just past it. Fails the case with every alternative and the stream tail.
   */
  async expectReceives(
    conn: Connection,
    alternatives: readonly (string | Uint8Array)[],
    options: ExpectOptions,
  ): Promise<number> {
    const needles = alternatives.map(toBytes);
    const after = options.after ?? 0;
    let end = -1;
    const found = (stream: Uint8Array) => {
      for (const needle of needles) {
        const at = indexOf(stream, needle, after);
        if (at !== -1) {
          end = at + needle.length;
          return true;
        }
      }
      return false;
    };
    try {
      await conn.waitFor(found, { timeoutMs: options.timeoutMs ?? this.timing.stepMs, what: options.what });
      return end;
    } catch (error) {
      if (!(error instanceof ConnectionError)) throw error;
      this.fail({
        requirement: options.requirement,
        message: `${conn.label}: ${options.what}: ${error.code === 'CLOSED_BEFORE_MATCH' ? 'the connection closed first' : `nothing matching within ${options.timeoutMs ?? this.timing.stepMs} ms`}`,
        expected: alternatives.map(show),
        actual: this.tail(conn, after),
        connection: conn.label,
      });
    }
  }

  /** Fails the case if any of `forbidden` is in the stream of `conn` between `after` and `before`. */
  expectAbsent(
    conn: Connection,
    forbidden: readonly (string | Uint8Array)[],
    options: Omit<ExpectOptions, 'timeoutMs'> & { before?: number },
  ): void {
    const stream = conn.stream().subarray(0, options.before ?? undefined);
    for (const item of forbidden) {
      if (indexOf(stream, toBytes(item), options.after ?? 0) !== -1) {
        this.fail({
          requirement: options.requirement,
          message: `${conn.label}: ${options.what}`,
          expected: [`no "${show(item)}"`],
          actual: this.tail(conn, options.after ?? 0, options.before),
          connection: conn.label,
        });
      }
    }
  }

  /** Watches `conn` for a quiet window and fails if any of `forbidden` arrives in it. */
  async expectQuiet(
    conn: Connection,
    forbidden: readonly (string | Uint8Array)[],
    options: Omit<ExpectOptions, 'timeoutMs'> & { windowMs?: number },
  ): Promise<void> {
    const from = conn.stream().length;
    await conn.quiet(options.windowMs ?? this.timing.quietMs);
    this.expectAbsent(conn, forbidden, { ...options, after: Math.min(options.after ?? from, from) });
  }

  /** Waits for the target to close `conn` (EOF or reset); fails if it stays open. */
  async expectClosed(conn: Connection, options: Omit<ExpectOptions, 'after'>): Promise<CloseKind> {
    try {
      return await conn.waitForClose({
        timeoutMs: options.timeoutMs ?? this.timing.stepMs,
        what: options.what,
      });
    } catch (error) {
      if (!(error instanceof ConnectionError)) throw error;
      this.fail({
        requirement: options.requirement,
        message: `${conn.label}: ${options.what}`,
        expected: ['the server closes the connection (EOF or reset)'],
        actual: `still open after ${options.timeoutMs ?? this.timing.stepMs} ms; received: "${this.tail(conn, 0)}"`,
        connection: conn.label,
      });
    }
  }

  /**
   * The target still serves: a fresh member joins and its message comes back to it. Robustness
   * cases end with this, because a server that stops serving in answer to one client's traffic
   * has broken a requirement (ROBUST-BAD-1).
   */
  async expectStillServing(requirement: string, why: string): Promise<Member> {
    const probe = await this.join(this.nick('probe'), 'probe').catch((error: unknown) => {
      if (error instanceof CaseFailure) {
        this.fail({
          ...error.details,
          requirement,
          message: `after ${why}, a new member cannot join: ${error.details.message}`,
        });
      }
      throw error;
    });
    const text = this.token('alive');
    const relay = this.say(probe, text);
    await this.expectReceives(probe.conn, [relay], {
      requirement,
      what: `after ${why}, a new member's own message comes back to it`,
      after: probe.joinedAt,
    });
    return probe;
  }

  /** The escaped tail of a stream, for failure reports. */
  tail(conn: Connection, after = 0, before?: number): string {
    const stream = conn.stream().subarray(after, before);
    const cut = Math.max(0, stream.length - FAILURE_STREAM_TAIL_BYTES);
    return `${cut > 0 ? '…' : ''}${escapeBytes(stream.subarray(cut))}${conn.closed ? ` [closed: ${conn.closeKind}]` : ''}`;
  }

  /** Fails the case. */
  fail(details: FailureDetails): never {
    throw new CaseFailure(details);
  }

  /** Skips the case with a reason. */
  skip(reason: string): never {
    throw new CaseSkip(reason);
  }

  /** Closes every connection (the runner calls it after the case). */
  closeAll(): void {
    for (const conn of this.#connections) conn.close();
  }
}
