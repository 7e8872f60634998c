/**
 * What a server case works with: recorded connections to the target, handshakes done the way the
 * spec says, and checks that judge each connection's reassembled stream (FRAME-6). Every check
 * has a deadline; every failure carries the requirement, every acceptable alternative and what
 * arrived. Nicknames and texts are unique per case run, and checks only look for them, so other
 * members chatting on the same server cannot cause a false verdict (§3.7 item 8).
 *
 * @module
 */
import { type DialectName, escapeBytes, type Framing } from '../../src/codec/index.js';
import { CaseFailure, type FailureDetails } from './verdict.js';
import { CaseContext, type ExpectOptions } from './case-context.js';
import { MEMBER_CLOSED } from './causes.js';
import { matchRelays } from './relays.js';
import { type CloseKind, type Connection, ConnectionError, openConnection } from './connection.js';
import { NameSource, newRunSeed } from './names.js';
import { type PreconditionStep, preconditionCase, preconditionCaseOf } from './preconditions.js';
import { type NodeAddress, roundRobin } from '../../src/nodes.js';
import { BROKEN_PRECONDITION_QUIET_WINDOWS, type CaseTiming, CONNECT_TIMEOUT_MS } from './timing.js';
import { fillTemplate, SPEC_TEXTS, type ServerTexts } from '../variant/texts.js';

/** A connection that completed its handshake. */
export interface Member {
  /** The recorded connection. */
  readonly conn: Connection;
  /** Its nickname (username). */
  readonly nick: string;
  /** Offset in its stream just past its own join confirmation; later checks look after it. */
  readonly joinedAt: number;
}

const encoder = new TextEncoder();
const toBytes = (s: string | Uint8Array) => (typeof s === 'string' ? encoder.encode(s) : s);
const show = (s: string | Uint8Array) => escapeBytes(toBytes(s));

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from);
}

/** The context of one server case run. */
export class ServerCaseContext extends CaseContext {
  /** `chunk` (the legacy wire) or `line`: under the line profile every message ends in LF (§8). */
  readonly framing: Framing;
  readonly host: string;
  readonly port: number;
  /** The texts expected from the target: the spec's, or a variant's (`--learn`, `--variant`). */
  readonly texts: ServerTexts;
  /**
   * The pid (also the process group id) of the target when the runner spawned it (`--spawn`), so a
   * case can probe it read-only in /proc, e.g. for a busy loop (§6.1); undefined with `--target`.
   */
  readonly targetPid: number | undefined;
  /** The case being run (precondition failures name the case that judges the precondition). */
  readonly caseId: string | undefined;
  /** The requirements the case judges; undefined: every requirement is judged strictly. */
  readonly #judged: ReadonlySet<string> | undefined;
  /** Members by connection: a wait for a member's own relay is a wait for its echo. */
  readonly #memberNick = new Map<Connection, string>();
  /** Writes the context made itself on a connection (its nickname, its members' chat lines). */
  readonly #ordinaryWrites = new Map<Connection, number>();
  /** Join announcements handed out by {@link joined}, by their text: the nickname they name. */
  readonly #joinTexts = new Map<string, string>();
  /** tilde relays handed out by {@link relay}, by their text: the user and the content (§3.7 item 9). */
  readonly #relayTexts = new Map<string, { user: string; content: Uint8Array }>();
  /** Leave announcements handed out by {@link left}, by their text: the nickname they name. */
  readonly #leaveTexts = new Map<string, string>();
  /**
   * Where the target's texts differ from the spec's in a step the case stands on but does not judge
   * (a prompt, a welcome, a join announcement): the case goes on judging behaviour, and the text is
   * judged once, by its own case (no masking).
   */
  readonly deviations: string[] = [];
  readonly #failedCases: ReadonlySet<string>;
  /** Where the next connection goes: the target, or the nodes of a cluster round-robin. */
  readonly #nextNode: () => NodeAddress;
  readonly #connections: Connection[] = [];
  readonly #opened = new Map<Connection, number>();
  readonly #started = performance.now();

  /** Creates the context for one run of one case against `host:port`. */
  constructor(options: {
    host: string;
    port: number;
    dialect: DialectName;
    prompt?: string;
    framing?: Framing;
    timing?: CaseTiming;
    targetPid?: number;
    caseId?: string;
    /** The requirements the case judges (default: all, strictly). */
    judges?: readonly string[];
    /** The run's seed, from which the case's names derive (default: a fresh one). */
    seed?: number;
    /** Which attempt of the case this is (retries get other names). */
    attempt?: number;
    /** Cases that already failed in this run: waits on the preconditions they judge are cut short. */
    failedCases?: ReadonlySet<string>;
    /** Further servers of the same room (a cluster): connections go to all of them, round-robin. */
    moreNodes?: readonly NodeAddress[];
    /** The texts to expect instead of the spec's (conformance/variant/). */
    texts?: ServerTexts;
  }) {
    super({
      dialect: options.dialect,
      ...(options.prompt === undefined ? {} : { prompt: options.prompt }),
      ...(options.timing === undefined ? {} : { timing: options.timing }),
      names: new NameSource({
        seed: options.seed ?? newRunSeed(),
        caseId: options.caseId ?? 'case',
        dialect: options.dialect,
        ...(options.attempt === undefined ? {} : { attempt: options.attempt }),
      }),
    });
    this.framing = options.framing ?? 'chunk';
    this.host = options.host;
    this.port = options.port;
    this.texts = options.texts ?? SPEC_TEXTS[options.dialect];
    this.targetPid = options.targetPid;
    this.caseId = options.caseId;
    this.#judged = options.judges ? new Set(options.judges) : undefined;
    this.#failedCases = options.failedCases ?? new Set();
    this.#nextNode = roundRobin([{ host: options.host, port: options.port }, ...(options.moreNodes ?? [])]);
  }

  /** Whether this case judges `requirement` itself (its texts strictly), rather than standing on it. */
  judges(requirement: string): boolean {
    return this.#judged === undefined || this.#judged.has(requirement);
  }

  /** The bound of a wait on a precondition judged by `owner`: short when that case already failed. */
  #boundFor(owner: string | undefined, bound: number): number {
    if (owner === undefined || owner === this.caseId || !this.#failedCases.has(owner)) return bound;
    return Math.min(bound, BROKEN_PRECONDITION_QUIET_WINDOWS * this.timing.quietMs);
  }

  /**
   * Marks a failure as one of a precondition the case stands on, naming the case that judges it
   * (unless that is this case, or the case judges the requirement itself).
   */
  #asPrecondition(details: FailureDetails, step?: PreconditionStep): FailureDetails {
    if (details.precondition !== undefined) return details;
    const owner =
      step !== undefined
        ? preconditionCase(this.dialect, step)
        : this.judges(details.requirement)
          ? undefined
          : preconditionCaseOf(this.dialect, details.requirement);
    return owner === undefined || owner === this.caseId ? details : { ...details, precondition: owner };
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
      // The connection's own origin, so events of every connection are on one clock.
      this.#opened.set(conn, conn.openedAt - this.#started);
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
    const relay = this.#end(this.dialect === 'nick' ? `${nick}: ${text}` : `${nick}~${text}`);
    if (this.dialect === 'tilde') this.#relayTexts.set(relay, { user: nick, content: toBytes(relay.slice(nick.length + 1)) });
    return relay;
  }

  /** What a NICK newcomer is told once admitted (NICK-JOIN-2): `Connected to server!`, or the variant's. */
  get welcome(): string {
    return this.texts.welcome;
  }

  /** A join or leave announcement of `nick`, as written (no line end); `''` gives the nameless one. */
  announcement(kind: 'joined' | 'left', nick: string): string {
    return fillTemplate(this.texts[kind], nick);
  }

  /** The join announcement of `nick` (NICK-JOIN-1, TILDE-JOIN-1). */
  joined(nick: string): string {
    const text = this.#end(this.announcement('joined', nick));
    this.#joinTexts.set(text, nick);
    return text;
  }

  /** The leave announcement of `nick` (NICK-LEAVE-1, TILDE-LEAVE-2). */
  left(nick: string): string {
    const text = this.#end(this.announcement('left', nick));
    this.#leaveTexts.set(text, nick);
    return text;
  }

  /**
   * Connects and completes the handshake as the spec says, pacing on observed traffic: NICK waits
   * for the prompt, answers, and waits for `Connected to server!`; tilde sends the username and
   * waits for its own `added`. A server that does not complete it fails the case.
   *
   * Texts the case does not judge are recognised by position instead (no masking): any first bytes
   * are the prompt, anything but a refusal or a close after the nickname is the welcome, and in
   * tilde the newcomer's own name coming back is its announcement; the difference is noted in
   * {@link deviations} and judged by the text's own case.
   */
  async join(nick: string, label = nick): Promise<Member> {
    const conn = await this.connect(label);
    if (this.dialect === 'nick') {
      const promptEnd = await this.#prompt(conn);
      this.#sendOrdinary(conn, this.wire(nick));
      const joinedAt = await this.#admitted(conn, nick, promptEnd, this.wire(this.welcome), {
        requirement: 'NICK-JOIN-2',
        step: 'welcome',
        what: `"${this.welcome}" after the nickname ${nick}`,
      });
      this.#memberNick.set(conn, nick);
      return { conn, nick, joinedAt };
    }
    this.#sendOrdinary(conn, this.wire(nick));
    const joinedAt = await this.#admitted(conn, nick, 0, this.joined(nick), {
      requirement: 'TILDE-JOIN-1',
      step: 'welcome',
      what: `its own join announcement after the username ${nick}`,
      mustName: true,
    });
    this.#memberNick.set(conn, nick);
    return { conn, nick, joinedAt };
  }

  /** Waits for the prompt on a fresh NICK connection; resolves with the offset past it. */
  async #prompt(conn: Connection): Promise<number> {
    const prompt = this.wire(this.prompt);
    const options = { requirement: 'NICK-PROMPT-1', what: `the prompt "${this.prompt}" on accept` };
    if (this.judges('NICK-PROMPT-1')) return this.expectReceives(conn, [prompt], options);
    await this.#recognise(conn, 0, () => conn.stream().length > 0, { ...options, step: 'prompt' }, [prompt]);
    const exact = indexOf(conn.stream(), toBytes(prompt), 0);
    if (exact === 0) return toBytes(prompt).length;
    // Another prompt text: the first message, whatever it says, is the prompt (NICK-PROMPT-1 judges it).
    await this.#settled(conn, () => indexOf(conn.stream(), toBytes(prompt), 0) === 0);
    const again = indexOf(conn.stream(), toBytes(prompt), 0);
    if (again === 0) return toBytes(prompt).length;
    this.deviations.push(`prompt: "${this.tail(conn)}" instead of "${show(prompt)}"`);
    return conn.stream().length;
  }

  /**
   * After the nickname (username) was sent: waits for `exact`, or, when the case does not judge
   * `requirement`, for any answer that is not a refusal and leaves the connection open.
   */
  async #admitted(
    conn: Connection,
    nick: string,
    after: number,
    exact: string,
    options: { requirement: string; step: PreconditionStep; what: string; mustName?: boolean },
  ): Promise<number> {
    if (this.judges(options.requirement)) {
      return this.expectReceives(conn, [exact], { requirement: options.requirement, what: options.what, after });
    }
    const needle = toBytes(exact);
    const name = toBytes(nick);
    const answered = () => {
      const s = conn.stream();
      return indexOf(s, needle, after) !== -1 || (options.mustName ? indexOf(s, name, after) !== -1 : s.length > after);
    };
    await this.#recognise(conn, after, answered, options, [exact]);
    // Let the rest of the answer arrive (a welcome written in pieces, or worded otherwise).
    await this.#settled(conn, () => indexOf(conn.stream(), needle, after) !== -1);
    const at = indexOf(conn.stream(), needle, after);
    if (at !== -1) return at + needle.length;
    const rest = conn.stream().subarray(after);
    if (conn.closed || Buffer.from(rest).toString('latin1').includes('Refused')) {
      this.fail(
        this.#asPrecondition(
          {
            requirement: options.requirement,
            message: `${conn.label}: ${options.what}: the server refused or closed the connection instead of admitting ${nick}`,
            expected: [show(exact), 'any welcome, with the connection left open'],
            actual: this.tail(conn, after),
            connection: conn.label,
          },
          options.step,
        ),
      );
    }
    this.deviations.push(`${options.what}: "${this.tail(conn, after)}" instead of "${show(exact)}"`);
    return conn.stream().length;
  }

  /**
   * Waits until `done()` holds, or until `conn`'s stream has not grown for a quiet window, bounded by
   * the step bound: what a peer is still writing (a message in pieces) lands before the case goes on.
   */
  async #settled(conn: Connection, done: () => boolean): Promise<void> {
    const deadline = performance.now() + this.timing.stepMs;
    for (let seen = -1; !done() && !conn.closed && performance.now() < deadline; ) {
      const now = conn.stream().length;
      if (now === seen) return;
      seen = now;
      await conn.quiet(this.timing.quietMs);
    }
  }

  /** Waits until `done()` holds on `conn`; a timeout or a close fails as the precondition `step`. */
  async #recognise(
    conn: Connection,
    after: number,
    done: () => boolean,
    options: { requirement: string; step: PreconditionStep; what: string },
    expected: readonly string[],
  ): Promise<void> {
    try {
      const bound = this.#boundFor(preconditionCase(this.dialect, options.step), this.timing.stepMs);
      await conn.waitFor(done, { timeoutMs: bound, what: options.what });
    } catch (error) {
      if (!(error instanceof ConnectionError)) throw error;
      this.fail(
        this.#asPrecondition(
          this.#withCloseCause(conn, options.what, {
            requirement: options.requirement,
            message: `${conn.label}: ${options.what}: ${error.code === 'CLOSED_BEFORE_MATCH' ? 'the connection closed first' : 'nothing arrived in time'}`,
            expected: expected.map(show),
            actual: this.tail(conn, after),
            connection: conn.label,
          }),
          options.step,
        ),
      );
    }
  }

  /** One write the context makes as an ordinary member would (see {@link #closedForNothing}). */
  #sendOrdinary(conn: Connection, data: string): void {
    this.#ordinaryWrites.set(conn, (this.#ordinaryWrites.get(conn) ?? 0) + 1);
    conn.send(data);
  }

  /**
   * Whether the server closed `conn`, a member, although it only joined and chatted: the case wrote
   * nothing else on it, and neither closed, half-closed nor paused it (causes.ts, MEMBER_CLOSED).
   */
  #closedForNothing(conn: Connection): boolean {
    if (!this.#memberNick.has(conn) || (conn.closeKind !== 'eof' && conn.closeKind !== 'reset')) return false;
    const writes = conn.events().filter((e) => e.dir === 'out').length;
    return conn.localActs().length === 0 && writes === (this.#ordinaryWrites.get(conn) ?? 0);
  }

  /** A failure's details, marked MEMBER_CLOSED (with the words for it) when {@link #closedForNothing}. */
  #withCloseCause(conn: Connection, what: string, details: FailureDetails): FailureDetails {
    if (!this.#closedForNothing(conn)) return details;
    return {
      ...details,
      message: `${conn.label}: the server closed this member's connection although it had only joined and chatted (waiting for: ${what})`,
      cause: MEMBER_CLOSED,
    };
  }

  /**
   * Fails the case, as MEMBER_CLOSED, when the server has closed `member` although it only joined and
   * chatted: a case that judges what others see of a member needs it still there.
   */
  expectStillMember(member: Member, options: { requirement: string; what: string }): void {
    if (!member.conn.closed || !this.#closedForNothing(member.conn)) return;
    this.fail({
      requirement: options.requirement,
      message: `${member.conn.label}: the server closed this member's connection although it had only joined and chatted (before: ${options.what})`,
      expected: [`${member.nick} still connected`],
      actual: this.tail(member.conn, member.joinedAt),
      connection: member.conn.label,
      cause: MEMBER_CLOSED,
    });
  }

  /** Writes what `member` says (one write) and returns the relay every member should receive. */
  say(member: Member, text: string): string {
    this.#memberNick.set(member.conn, member.nick);
    this.#sendOrdinary(member.conn, this.line(member.nick, text));
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
    // A join announcement the case stands on but does not judge is recognised by the nickname.
    const judged = this.judges(options.requirement);
    // An announcement whose text this case does not own is recognised by the nickname (no masking):
    // a join anywhere after `after`; a leave only from now on, so an earlier join notice or relay
    // naming the member can never pass for its leave.
    const named = alternatives.flatMap((a) => {
      if (typeof a !== 'string') return [];
      const join = this.#joinTexts.get(a);
      if (join !== undefined && this.caseId !== preconditionCase(this.dialect, 'joined') && !judged) {
        return [{ name: toBytes(join), from: options.after ?? 0 }];
      }
      const leave = this.#leaveTexts.get(a);
      if (leave !== undefined && this.caseId !== preconditionCase(this.dialect, 'left')) {
        return [{ name: toBytes(leave), from: Math.max(options.after ?? 0, conn.stream().length) }];
      }
      return [];
    });
    const after = options.after ?? 0;
    // A tilde server may relay content in pieces of any size (§3.7 item 9): a relay is found when
    // the sender's relays from `after` on join to its content.
    const pieced = alternatives.flatMap((a) => {
      const relay = typeof a === 'string' ? this.#relayTexts.get(a) : undefined;
      return relay === undefined || indexOf(relay.content, toBytes(`${relay.user}~`), 0) !== -1 ? [] : [relay];
    });
    let end = -1;
    const found = (stream: Uint8Array) => {
      for (const needle of needles) {
        const at = indexOf(stream, needle, after);
        if (at !== -1) {
          end = at + needle.length;
          return true;
        }
      }
      for (const { user, content } of pieced) {
        const match = matchRelays(stream, after, user, content);
        if (match.matched >= content.length) {
          end = match.end;
          return true;
        }
      }
      for (const { name, from } of named) {
        const at = indexOf(stream, name, from);
        if (at !== -1) {
          end = at + name.length;
          return true;
        }
      }
      return false;
    };
    const echo = this.#isEcho(conn, alternatives);
    const owner = echo
      ? preconditionCase(this.dialect, 'echo')
      : judged
        ? undefined
        : preconditionCaseOf(this.dialect, options.requirement);
    const bound = this.#boundFor(owner, options.timeoutMs ?? this.timing.stepMs);
    try {
      await conn.waitFor(found, { timeoutMs: bound, what: options.what });
      if (named.length > 0 && !needles.some((n) => indexOf(conn.stream(), n, after) !== -1)) {
        this.deviations.push(`${options.what}: the announcement differs from the spec's text`);
      }
      return end;
    } catch (error) {
      if (!(error instanceof ConnectionError)) throw error;
      const details: FailureDetails = {
        requirement: options.requirement,
        message: `${conn.label}: ${options.what}: ${error.code === 'CLOSED_BEFORE_MATCH' ? 'the connection closed first' : `nothing matching within ${bound} ms`}`,
        expected: alternatives.map(show),
        actual: this.tail(conn, after),
        connection: conn.label,
      };
      this.fail(this.#asPrecondition(this.#withCloseCause(conn, options.what, details), echo ? 'echo' : undefined));
    }
  }

  /** Whether every alternative is a relay of `conn`'s own member's message: a wait for its echo. */
  #isEcho(conn: Connection, alternatives: readonly (string | Uint8Array)[]): boolean {
    const nick = this.#memberNick.get(conn);
    if (nick === undefined || alternatives.length === 0) return false;
    const prefix = this.dialect === 'nick' ? `${nick}: ` : `${nick}~`;
    return alternatives.every((a) => typeof a === 'string' && a.startsWith(prefix));
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
    const since = performance.now();
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
        actual: `still open after ${Math.round(performance.now() - since)} ms; received: "${this.tail(conn, 0)}"`,
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
        // The case's own stimulus stopped the server: its own failure, not a precondition's.
        const { precondition: _stood, ...details } = error.details;
        this.fail({
          ...details,
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
    return `${this.streamTail(conn, after, before)}${conn.closed ? ` [closed: ${conn.closeKind}]` : ''}`;
  }

  /** Closes every connection (the runner calls it after the case). */
  closeAll(): void {
    for (const conn of this.#connections) conn.close();
  }

  /**
   * Leaves a shared target (`--target`) the way the probe does, so that the next case finds it
   * alive (probe.ts): on NICK a connection that got its prompt but never answered it first answers
   * with a throwaway nickname (a close right after the prompt kills the seed's accept loop, D-NS-4),
   * and every connection leaves with a reset (a FIN makes the seed's thread spin, D-NS-1).
   */
  async leaveShared(): Promise<void> {
    if (this.dialect !== 'nick') {
      this.closeAll();
      return;
    }
    await Promise.all(
      this.#connections.map(async (conn) => {
        if (conn.closed) return;
        const silent = conn.events().every((e) => e.dir !== 'out');
        if (silent && conn.stream().length > 0) {
          const at = conn.stream().length;
          conn.send(this.wire(this.nick('bye')));
          await conn
            .waitFor((s) => s.length > at, { timeoutMs: this.timing.stepMs, what: 'an answer to the nickname' })
            .catch(() => undefined);
        }
        conn.reset();
      }),
    );
  }
}
