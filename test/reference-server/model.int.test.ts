/**
 * Model-based test of the reference server, both dialects, on real sockets (STYLE habit 11: "a model of
 * the room predicts what every client receives").
 *
 * Each run starts a server on 127.0.0.1 port 0 and plays a random sequence of commands (`fc.commands`)
 * against it and against {@link RoomModel} (`fc.asyncModelRun`): connections open, join with valid,
 * duplicate or invalid names, chat, split a message across writes, send forbidden bytes, and leave by
 * EOF or by reset. After every command, and again after a final quiet window:
 *
 * - every connection's reassembled stream EQUALS the model's expected bytes: nothing missing, nothing
 *   extra, nothing reordered (streams, never chunks: FRAME-6);
 * - the server's `members()` lists the model's members in join order, and `connectionCount()` counts the
 *   model's open connections (no ghost member, no leaked connection: NICK-LEAVE-2, ROBUST-EOF-1);
 * - at the end, the server announced exactly the model's leaves, in order, and dropped nothing.
 *
 * Pacing (FRAME-6): each command waits, bounded, until its effect is on every stream before the next
 * one runs, so one message is in flight at a time and the expected order is deterministic.
 *
 * Connections live in slots `c1`..`c4` named by the commands themselves (`connect(c3)`,
 * `join(c3, "bob")`, `send(c3, "hi~x")`, `leave(c3, reset)`), so a shrunk counterexample reads as a
 * script. A handshake command on a slot without an open connection connects first; a slot whose
 * connection closed can connect again (a new connection, checked separately from the old one).
 *
 * Runs per dialect: `CHATKIT_MODEL_RUNS` (default 25).
 */
import { nameRefusal } from '../../src/reference-server/names-policy.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../conformance/harness/connection.js';
import { escapeBytes } from '../../src/codec/escape.js';
import type { DialectName } from '../../src/codec/index.js';
import type { ChatServer, ServerEvents } from '../../src/reference-server/index.js';
import { FIELD_ARBITRARIES } from '../support/arbitraries.js';
import { RoomModel } from '../support/room-model.js';
import { concat, expectBytes, expectServerState, expectStream, Session, utf8 } from './helpers.js';
import { floodPastSlowMember } from './slow-reader.js';

const RUNS = Number(process.env.CHATKIT_MODEL_RUNS ?? 25);
/**
 * Commands generated per run. Those whose precondition does not hold are skipped (a send from a slot
 * with no member), so a run executes about half of them: enough for joins, chat and leaves to
 * interleave, few enough to stay fast.
 */
const MAX_COMMANDS = 50;
/** Connection slots `c1`..`c4`: at most four connections open at once; a slot reconnects after its connection closed. */
const LABELS = 4;
/** Bound on each command's effect; on loopback it normally arrives within milliseconds. */
const STEP_WAIT_MS = 3_000;
/** Quiet window after a run: whatever a command wrongly sent would have arrived by then. */
const FINAL_QUIET_MS = 25;
/** Quiet window between the two writes of a character split across writes: the server reads them apart. */
const SPLIT_QUIET_MS = 10;
/** Budget per run on a busy 2-core machine; the test's timeout scales with the number of runs. */
const PER_RUN_BUDGET_MS = 2_000;
const TEST_TIMEOUT_MS = Math.max(60_000, RUNS * PER_RUN_BUDGET_MS + 30_000);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** A readable rendering of text for `toString`, shortened past 40 characters. */
const show = (text: string): string =>
  JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text) +
  (text.length > 40 ? ` (${Buffer.byteLength(text)} bytes)` : '');
/** Bytes in chatkit's escaped form, shortened past 40 bytes. */
const showBytes = (bytes: Uint8Array): string =>
  bytes.length > 40
    ? `"${escapeBytes(bytes.subarray(0, 40))}…" (${bytes.length} bytes)`
    : `"${escapeBytes(bytes)}"`;

/** The real side of a run: one server, one recording peer per model connection (by key), and what the server reported. */
interface Real {
  readonly server: ChatServer;
  readonly session: Session;
  readonly conns: Map<string, Connection>;
  readonly leaves: ServerEvents['leave'][0][];
  readonly drops: ServerEvents['drop'][0][];
}

type Cmd = fc.AsyncCommand<RoomModel, Real>;

/** The peer of slot `label`'s latest connection. */
const conn = (model: RoomModel, real: Real, label: string): Connection =>
  real.conns.get(model.client(label)!.key)!;

/** The invariant after every command: every stream equals the model's, and so does the server's state. */
async function settle(model: RoomModel, real: Real): Promise<void> {
  await Promise.all(
    model.clients().map((c) => expectStream(real.conns.get(c.key)!, model.expected(c.key), STEP_WAIT_MS)),
  );
  await expectServerState(real.server, model.memberNicks(), model.openCount(), STEP_WAIT_MS);
}

/** Opens a connection in free slot `label` and waits for its effect (NICK: the prompt, NICK-PROMPT-1). */
async function connect(model: RoomModel, real: Real, label: string): Promise<void> {
  const client = model.connect(label);
  real.conns.set(client.key, await real.session.open(real.server, client.key));
  await settle(model, real); // NICK: the prompt has arrived, so the nickname may be sent (NICK-NICK-1)
}

/** A handshake command runs on slot `label`'s pending connection, connecting first when the slot is free. */
async function pending(model: RoomModel, real: Real, label: string): Promise<Connection> {
  if (model.isFree(label)) await connect(model, real, label);
  return conn(model, real, label);
}

const canHandshake = (m: Readonly<RoomModel>, label: string): boolean =>
  m.isFree(label) || m.client(label)?.state === 'pending';

/** A refusal reason is one message of free text: NICK printable ASCII (§4.2), tilde no control characters (§5.2). */
function isReason(dialect: DialectName, reason: Uint8Array): boolean {
  const text = Buffer.from(reason).toString(dialect === 'nick' ? 'latin1' : 'utf8');
  return dialect === 'nick'
    ? /^[\x20-\x7e]+$/.test(text)
    : /^[^\x00-\x1f\x7f]+$/u.test(text) && Buffer.from(text, 'utf8').equals(reason);
}

/**
 * `label` sent a name the server must refuse (NICK-NICK-3, NICK-NICK-4, TILDE-USER-3): it receives
 * `Refused: <reason>` (any reason) and EOF; nobody else receives anything (checked by {@link settle} now,
 * and by every later command's exact comparison, since the server writes to members in order).
 */
async function expectRefusal(model: RoomModel, real: Real, label: string): Promise<void> {
  const peer = conn(model, real, label);
  const kind = await peer.waitForClose({
    timeoutMs: STEP_WAIT_MS,
    what: `${label} to be closed after refusal`,
  });
  expect(kind, `${label} is closed with EOF after its refusal\n${peer.transcript()}`).toBe('eof');
  const before = model.expected(model.client(label)!.key);
  const prefix = concat(before, model.wire.refusedPrefix);
  const stream = peer.stream();
  expectBytes(stream.subarray(0, prefix.length), prefix, `${label}'s stream up to the refusal`, peer);
  const reason = stream.subarray(prefix.length);
  expect(isReason(model.dialect, reason), `refusal reason "${escapeBytes(reason)}"`).toBe(true);
  model.refuse(label, stream.subarray(before.length));
  peer.close();
  await settle(model, real);
}

/** A connection that may stay in its handshake while others come and go (ROBUST-HANDSHAKE-1). */
class Connect implements Cmd {
  constructor(readonly label: string) {}
  check(m: Readonly<RoomModel>): boolean {
    return m.isFree(this.label);
  }
  async run(m: RoomModel, r: Real): Promise<void> {
    await connect(m, r, this.label);
  }
  toString(): string {
    return `connect(${this.label})`;
  }
}

/** A valid, unused name, optionally with the one trailing LF or CRLF the server strips (NICK-NICK-3). */
class Join implements Cmd {
  constructor(
    readonly label: string,
    readonly nick: string,
    readonly terminator: string,
  ) {}
  check(m: Readonly<RoomModel>): boolean {
    return canHandshake(m, this.label) && !m.nickInUse(this.nick);
  }
  async run(m: RoomModel, r: Real): Promise<void> {
    (await pending(m, r, this.label)).send(this.nick + this.terminator);
    m.join(this.label, this.nick);
    await settle(m, r);
  }
  toString(): string {
    return `join(${this.label}, ${show(this.nick)}${this.terminator ? ` + ${show(this.terminator)}` : ''})`;
  }
}

/** The name of a current member (NICK-NICK-4, TILDE-USER-3): refused, nobody told. */
class JoinDuplicate implements Cmd {
  constructor(
    readonly label: string,
    readonly of: string,
    readonly terminator: string,
  ) {}
  check(m: Readonly<RoomModel>): boolean {
    return canHandshake(m, this.label) && m.client(this.of)?.state === 'member';
  }
  async run(m: RoomModel, r: Real): Promise<void> {
    (await pending(m, r, this.label)).send(m.client(this.of)!.nick! + this.terminator);
    await expectRefusal(m, r, this.label);
  }
  toString(): string {
    return `join(${this.label}, <nickname of ${this.of}>${this.terminator ? ` + ${show(this.terminator)}` : ''})`;
  }
}

/** A name the dialect forbids (empty after the LF strip, too long, a forbidden character, `SERVER`). */
class JoinInvalid implements Cmd {
  constructor(
    readonly label: string,
    readonly bytes: Uint8Array,
  ) {}
  check(m: Readonly<RoomModel>): boolean {
    return canHandshake(m, this.label);
  }
  async run(m: RoomModel, r: Real): Promise<void> {
    (await pending(m, r, this.label)).send(this.bytes);
    await expectRefusal(m, r, this.label);
  }
  toString(): string {
    return `joinInvalid(${this.label}, ${showBytes(this.bytes)})`;
  }
}

/** A chat message as a conformant client writes it: NICK `<nick>: <text>`, tilde the content. */
class Send implements Cmd {
  constructor(
    readonly label: string,
    readonly text: string,
  ) {}
  check(m: Readonly<RoomModel>): boolean {
    return m.client(this.label)?.state === 'member';
  }
  async run(m: RoomModel, r: Real): Promise<void> {
    const bytes = m.wire.chat(m.client(this.label)!.nick!, this.text);
    conn(m, r, this.label).send(bytes);
    m.relay(this.label, bytes); // NICK-RELAY-1 / TILDE-RELAY-1: to every member, the sender included
    await settle(m, r);
  }
  toString(): string {
    return `send(${this.label}, ${show(this.text)})`;
  }
}

/** NICK: any ASCII chunk, control bytes included, or one over 1024 bytes (NICK-RELAY-1, NICK-RELAY-4). */
class SendRaw implements Cmd {
  constructor(
    readonly label: string,
    readonly bytes: Uint8Array,
  ) {}
  check(m: Readonly<RoomModel>): boolean {
    return m.client(this.label)?.state === 'member';
  }
  async run(m: RoomModel, r: Real): Promise<void> {
    conn(m, r, this.label).send(this.bytes);
    // Relay is stream-transparent: however the chunk is read or cut, every stream gets the same bytes.
    m.relay(this.label, this.bytes);
    await settle(m, r);
  }
  toString(): string {
    return `sendRaw(${this.label}, ${showBytes(this.bytes)})`;
  }
}

/**
 * One message written in two writes.
 *
 * NICK: cut anywhere and written back to back; relay is stream-transparent (§3.6), so every stream gets
 * the message unchanged whether the server reads one chunk or two.
 * tilde: cut inside a multi-byte character, with a quiet window between the writes so the server reads
 * them apart; it holds the chunk back until the character is complete (FRAME-4 hold-back rule,
 * TILDE-RELAY-2), so nothing is relayed in between and then the whole content is relayed once.
 */
class SendSplit implements Cmd {
  constructor(
    readonly label: string,
    readonly text: string,
    /** NICK: any cut point (taken modulo the message length); tilde: bytes of the character in part one. */
    readonly cut: number,
    /** tilde: index in `text` of the UTF-16 unit where the cut character starts. */
    readonly charAt: number,
  ) {}
  check(m: Readonly<RoomModel>): boolean {
    return m.client(this.label)?.state === 'member';
  }
  async run(m: RoomModel, r: Real): Promise<void> {
    const peer = conn(m, r, this.label);
    const whole = m.wire.chat(m.client(this.label)!.nick!, this.text);
    if (m.dialect === 'nick') {
      const at = 1 + (this.cut % (whole.length - 1));
      peer.send(whole.subarray(0, at));
      peer.send(whole.subarray(at));
    } else {
      const at = Buffer.byteLength(this.text.slice(0, this.charAt)) + this.cut;
      peer.send(whole.subarray(0, at));
      await sleep(SPLIT_QUIET_MS);
      await settle(m, r); // nothing relayed yet: the streams still equal the model's
      peer.send(whole.subarray(at));
    }
    m.relay(this.label, whole);
    await settle(m, r);
  }
  toString(): string {
    if (this.charAt < 0) return `sendSplit(${this.label}, ${show(this.text)}, cut seed ${this.cut})`;
    const char = String.fromCodePoint(this.text.codePointAt(this.charAt)!);
    return `sendSplit(${this.label}, ${show(this.text)}, inside ${show(char)} after byte ${this.cut})`;
  }
}

/** Bytes the dialect forbids from a member: NICK a byte >= 0x80, tilde invalid UTF-8. */
class SendBadBytes implements Cmd {
  constructor(
    readonly label: string,
    readonly bytes: Uint8Array,
  ) {}
  check(m: Readonly<RoomModel>): boolean {
    return m.client(this.label)?.state === 'member';
  }
  async run(m: RoomModel, r: Real): Promise<void> {
    const peer = conn(m, r, this.label);
    peer.send(this.bytes);
    // NICK-RELAY-2 / TILDE-RELAY-2: never relayed; the reference server closes the sender, announced as a leave.
    m.leave(this.label);
    const kind = await peer.waitForClose({ timeoutMs: STEP_WAIT_MS, what: `${this.label} to be closed` });
    expect(['eof', 'reset'], `how ${this.label} was closed\n${peer.transcript()}`).toContain(kind);
    await settle(m, r);
  }
  toString(): string {
    return `sendBadBytes(${this.label}, ${showBytes(this.bytes)})`;
  }
}

/** The client ends its connection: FIN (EOF at the server) or RST (a reset). */
class Leave implements Cmd {
  constructor(
    readonly label: string,
    readonly how: 'eof' | 'reset',
  ) {}
  check(m: Readonly<RoomModel>): boolean {
    const state = m.client(this.label)?.state;
    return state === 'pending' || state === 'member';
  }
  async run(m: RoomModel, r: Real): Promise<void> {
    const peer = conn(m, r, this.label);
    if (this.how === 'eof') peer.end();
    else peer.reset();
    // NICK-LEAVE-1 / TILDE-LEAVE-2 for a member; nothing at all for a pending connection (NICK-LEAVE-2).
    m.leave(this.label);
    if (this.how === 'eof') {
      // The server ends its side too (ROBUST-EOF-1): it does not keep a half-open connection.
      const kind = await peer.waitForClose({ timeoutMs: STEP_WAIT_MS, what: 'the server to end its side' });
      expect(kind, `${this.label} receives EOF back\n${peer.transcript()}`).toBe('eof');
    }
    await settle(m, r);
  }
  toString(): string {
    return `leave(${this.label}, ${this.how})`;
  }
}

const label = fc.integer({ min: 1, max: LABELS }).map((i) => `c${i}`);
const terminator = fc.constantFrom('', '', '', '\n', '\r\n');
const chars = (from: number, to: number, except = ''): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i)).filter(
    (c) => !except.includes(c),
  );
const latin1 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

/** Names: a few fixed ones (so duplicates and reuse after a leave happen) and the dialect's field values. */
const NAMES: Record<DialectName, fc.Arbitrary<string>> = {
  nick: fc.oneof(fc.constantFrom('alice', 'bob', 'Refused', 'x'.repeat(32)), FIELD_ARBITRARIES.nick.nick!),
  // The reference server also refuses SERVER look-alikes and bidi controls (names-policy.ts).
  tilde: fc
    .oneof(fc.constantFrom('alice', 'bøb', 'serverless', 'a b', '中'.repeat(10)), FIELD_ARBITRARIES.tilde.user!)
    .filter((name) => nameRefusal(name) === undefined),
};

const NICK_NAME_CHARS = chars(0x21, 0x7e, ':');
const nickName = (min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...NICK_NAME_CHARS), minLength: min, maxLength: max });

/** Names the server must refuse (NICK-NICK-3, TILDE-USER-3), as the bytes of one write. */
const INVALID_NAMES: Record<DialectName, fc.Arbitrary<Uint8Array>> = {
  nick: fc.oneof(
    fc.constantFrom('\n', '\r\n').map(latin1), // empty once the one LF or CRLF is stripped
    nickName(33, 40).map(latin1), // too long
    fc
      .tuple(
        nickName(0, 8),
        // `:`, space, controls, DEL, bytes >= 0x80 (D-NS-5), a CR or LF that is not one trailing LF/CRLF
        fc.constantFrom(
          ':',
          ' ',
          '\t',
          '\x00',
          '\x01',
          '\x1b',
          '\x7f',
          '\x80',
          '\xc3\xa9',
          '\xff',
          '\r',
          '\n\n',
        ),
        nickName(0, 8),
      )
      .map(([a, bad, b]) => latin1(a + bad + b)),
  ),
  tilde: fc.oneof(
    fc.constantFrom('\n', '\r\n', 'SERVER', 'SERVER\n').map(utf8),
    fc.constantFrom('x'.repeat(33), 'é'.repeat(17), '中'.repeat(11), `${'x'.repeat(32)}\n\n`).map(utf8),
    fc
      .tuple(
        fc.string({ unit: fc.constantFrom('a', 'é', ' ', '中'), maxLength: 6 }),
        // `~`, C0 (TAB included), DEL, C1 (U+0085, U+009F), and a CR or LF that is not one trailing LF/CRLF
        fc.constantFrom('~', '\x00', '\x01', '\t', '\x7f', '\u0085', '\u009f', '\r', '\n\n').map(utf8),
        fc.string({ unit: fc.constantFrom('a', 'é', ' ', '中'), maxLength: 6 }),
      )
      .map(([a, bad, b]) => concat(utf8(a), bad, utf8(b))),
    // Bytes that are never UTF-8, wherever they stand.
    fc
      .tuple(
        fc.string({ unit: fc.constantFrom('a', 'é'), maxLength: 6 }),
        fc.constantFrom('\xff', '\xc0\x80', '\xed\xa0\x80', '\x80', '\xf5\x80\x80\x80').map(latin1),
        fc.string({ unit: fc.constantFrom('a', 'é'), maxLength: 6 }),
      )
      .map(([a, bad, b]) => concat(utf8(a), bad, utf8(b))),
  ),
};

/**
 * Chunks a member must not send. tilde: sequences that are invalid wherever they stand, and, when
 * nothing follows them, prefixes that no continuation can make valid (`\xed\xa0`, FRAME-4's own example:
 * "invalid at once", not held back). A valid but unfinished character at the end is held back instead
 * (FRAME-4), which SendSplit covers.
 */
const BAD_BYTES: Record<DialectName, fc.Arbitrary<Uint8Array>> = {
  nick: fc
    .tuple(
      FIELD_ARBITRARIES.nick.text!,
      fc.integer({ min: 0x80, max: 0xff }),
      fc.string({ unit: fc.constantFrom(...chars(0x20, 0x7e)), maxLength: 20 }),
    )
    .map(([a, byte, b]) => latin1(`${a}${String.fromCharCode(byte)}${b}`)),
  tilde: fc
    .tuple(
      fc.string({ unit: fc.constantFrom('a', '~', 'é', '中', '🌍'), maxLength: 20 }),
      fc
        .constantFrom(
          '\xff',
          '\xfe',
          '\x80',
          '\xc0\x80', // overlong
          '\xc1\xbf', // overlong
          '\xe0\x80\x80', // overlong
          '\xed\xa0\x80', // surrogate U+D800
          '\xf4\x90\x80\x80', // above U+10FFFF
          '\xf5\x80\x80\x80',
          '\xc3(', // a lead byte followed by no continuation
        )
        .map(latin1),
      // Often at the very end: a sequence that can never become valid is not held back (FRAME-4).
      fc.oneof(
        fc.constant(''),
        fc.string({ unit: fc.constantFrom('a', '~', 'é', '中', '🌍'), maxLength: 20 }),
      ),
    )
    .map(([a, bad, b]) => concat(utf8(a), bad, utf8(b))),
};
/** tilde: prefixes that look unfinished but can never become valid (a surrogate, overlong, > U+10FFFF). */
const IMPOSSIBLE_TAILS = fc
  .tuple(
    fc.string({ unit: fc.constantFrom('a', '~', 'é', '中', '🌍'), maxLength: 20 }),
    fc.constantFrom(
      '\xed\xa0',
      '\xed\xbf',
      '\xe0\x80',
      '\xe0\x9f',
      '\xf0\x80',
      '\xf0\x8f\xbf',
      '\xf4\x90',
      '\xf4\xbf\xbf',
    ),
  )
  .map(([a, tail]) => concat(utf8(a), latin1(tail)));

/** tilde content with one multi-byte character to cut: prefix, the character, suffix, and the cut. */
const splitContent = fc
  .tuple(
    FIELD_ARBITRARIES.tilde.content!,
    fc.constantFrom('é', '€', '中', '🌍', '\u00a0', '\u{10ffff}'),
    fc.string({ unit: fc.constantFrom('a', '!', '~', 'é'), maxLength: 10 }),
    fc.nat(),
  )
  .filter(([a, c, b]) => Buffer.byteLength(a + c + b) <= 2015)
  .map(([a, c, b, n]) => ({ text: a + c + b, charAt: a.length, cut: 1 + (n % (Buffer.byteLength(c) - 1)) }));

function commandArbitraries(dialect: DialectName): fc.Arbitrary<Cmd>[] {
  const leave = fc
    .tuple(label, fc.constantFrom('eof' as const, 'reset' as const))
    .map(([l, how]) => new Leave(l, how));
  const join = fc.tuple(label, NAMES[dialect], terminator).map(([l, n, t]) => new Join(l, n, t));
  const send = fc
    .tuple(label, dialect === 'nick' ? FIELD_ARBITRARIES.nick.text! : FIELD_ARBITRARIES.tilde.content!)
    .map(([l, t]) => new Send(l, t));
  const common: fc.Arbitrary<Cmd>[] = [
    label.map((l) => new Connect(l)),
    label.map((l) => new Connect(l)),
    join,
    join,
    join,
    fc.tuple(label, label, terminator).map(([l, of, t]) => new JoinDuplicate(l, of, t)),
    fc.tuple(label, INVALID_NAMES[dialect]).map(([l, b]) => new JoinInvalid(l, b)),
    send,
    send,
    send,
    fc
      .tuple(label, dialect === 'nick' ? BAD_BYTES.nick : fc.oneof(BAD_BYTES.tilde, IMPOSSIBLE_TAILS))
      .map(([l, b]) => new SendBadBytes(l, b)),
    leave,
    leave,
  ];
  if (dialect === 'nick') {
    const ascii = chars(0x00, 0x7f);
    return [
      ...common,
      fc
        .tuple(
          label,
          fc.oneof(
            FIELD_ARBITRARIES.nick.body!,
            fc.string({ unit: fc.constantFrom(...ascii), minLength: 1025, maxLength: 3000 }),
          ),
        )
        .map(([l, b]) => new SendRaw(l, latin1(b))),
      fc.tuple(label, FIELD_ARBITRARIES.nick.text!, fc.nat()).map(([l, t, n]) => new SendSplit(l, t, n, -1)),
    ];
  }
  return [
    ...common,
    fc.tuple(label, splitContent).map(([l, s]) => new SendSplit(l, s.text, s.cut, s.charAt)),
  ];
}

// Both output modes: 'turn' (the batching option of FRAME-7) may change write boundaries, never a stream.
describe.each([
  ['nick', 'backpressure'],
  ['tilde', 'backpressure'],
  ['nick', 'turn'],
  ['tilde', 'turn'],
] as const)('%s, writeBatching %s: the reference server against the room model', (dialect, writeBatching) => {
  it(
    `gives every connection exactly the bytes the model predicts, after every command (${RUNS} runs)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.commands(commandArbitraries(dialect), { maxCommands: MAX_COMMANDS, size: 'max' }),
          async (cmds) => {
            const session = new Session();
            try {
              // The model has no clock: no pending connection may time out during a run, however slow.
              const server = await session.server({ dialect, writeBatching, handshakeTimeoutMs: 600_000 });
              const real: Real = { server, session, conns: new Map(), leaves: [], drops: [] };
              server.on('leave', (e) => real.leaves.push(e));
              server.on('drop', (e) => real.drops.push(e));
              const model = new RoomModel(dialect);
              await fc.asyncModelRun(() => ({ model, real }), cmds);
              await sleep(FINAL_QUIET_MS); // bounded quiet window: nothing more arrives
              await settle(model, real);
              expect(
                real.leaves.map((e) => e.nick),
                'leaves the server announced',
              ).toEqual(model.leaves);
              expect(real.drops, 'chunks the server dropped').toEqual([]);
            } finally {
              await session.close();
            }
          },
        ),
        {
          numRuns: RUNS,
          // A failing run waits out its bounded waits; keep shrinking inside the test's own timeout.
          plugins: [fc.interruptAfterTimeLimit(TEST_TIMEOUT_MS - 15_000, { failOnInterrupt: true })],
        },
      );
    },
    TEST_TIMEOUT_MS,
  );
});

describe.each(['nick', 'tilde'] as const)('%s: a member that stops reading (ROBUST-SLOW-1)', (dialect) => {
  it('is closed as a leave once its queue overflows, while every other member gets every message', async () => {
    const session = new Session();
    try {
      await floodPastSlowMember(session, dialect);
    } finally {
      await session.close();
    }
  }, 60_000);
});
