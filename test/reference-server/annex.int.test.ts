/**
 * The reference server against every server defect of spec/PROTOCOL.md Annex A, on real sockets: each
 * test is named with the defect's ID, replays the annex's reproduction, and shows the defect is absent.
 * D-NS-* run with both prompts (`hii_server.py` shares them); D-TS-* run on the tilde dialect, and
 * D-TS-8 (a port in use) on every dialect. D-NS-11 and D-TS-9 back a member up with a flood it does not
 * read (slow-reader.ts, `backUp`) so that broadcasts wait in its queue while others join. Then the
 * requirements next to them that the annex does not number (NICK-RELAY-4) and the server's options:
 * the `Hii` prompt, strict prefix, graceful shutdown, maxClients and the line profile.
 *
 * How the checks are made (FRAME-6): streams, never chunks; every send that depends on an earlier effect
 * waits for it; "not relayed" and "not announced" are shown with a sentinel written after a bounded quiet
 * window (§3.7 item 5) and an exact comparison of the observer's stream since a known point; the
 * server's coded events (`leave`, `reject`, `drop`, `relay`) are asserted by code, never by message.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, openConnection } from '../../conformance/harness/connection.js';
import { TcpState, tcpSockets } from '../../src/processes/index.js';
import { escapeBytes, unescapeBytes } from '../../src/codec/escape.js';
import type { DialectName } from '../../src/codec/index.js';
import {
  type ChatServer,
  resolveServerOptions,
  type ServerEvents,
  ServerListenError,
  type ServerOptions,
  startServer,
} from '../../src/reference-server/index.js';
import { wireFormat } from '../support/room-model.js';
import {
  concat,
  expectBytes,
  expectServerState,
  expectStream,
  join,
  QUIET_MS,
  Session,
  until,
  utf8,
  WAIT_MS,
} from './helpers.js';
import { cpuDuring } from '../support/wait.js';
import { awaitLength, BACKLOG_QUEUE_BYTES, backUp, floodPastSlowMember } from './slow-reader.js';
import { NO_RATE_LIMIT } from '../../src/reference-server/flow.js';

const session = new Session();
afterEach(() => session.close());

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const bytesOf = (data: string | Uint8Array): Uint8Array => (typeof data === 'string' ? utf8(data) : data);

/**
 * The offset just past `text` on `conn`'s stream, once it arrived (bounded). Marks taken on a member
 * after a later join must wait for that join's announcement: it may still be on its way.
 */
const mark = (conn: Connection, text: string | Uint8Array, after = 0): Promise<number> =>
  conn.waitForText(text, { timeoutMs: WAIT_MS, after });

/** Asserts that `conn`'s stream since offset `from` is exactly `expected` (waiting, bounded, for it). */
async function expectSince(conn: Connection, from: number, expected: string | Uint8Array): Promise<void> {
  await expectStream(conn, concat(conn.stream().subarray(0, from), bytesOf(expected)), WAIT_MS);
}

/** Everything the server reports, by event, for asserting codes. */
function record(server: ChatServer) {
  const events = {
    leave: [] as ServerEvents['leave'][0][],
    reject: [] as ServerEvents['reject'][0][],
    drop: [] as ServerEvents['drop'][0][],
    relay: [] as ServerEvents['relay'][0][],
  };
  server.on('leave', (e) => events.leave.push(e));
  server.on('reject', (e) => events.reject.push(e));
  server.on('drop', (e) => events.drop.push(e));
  server.on('relay', (e) => events.relay.push(e));
  return events;
}

/** CPU time this process (and so the in-process server) burns during a window, in ms. */
/** A busy loop burns the whole window; an idle server next to nothing, even on a loaded machine. */
const CPU_WINDOW_MS = 300;

/**
 * The connection is refused: after `before` it holds `<refusedPrefix><reason>` (the reason is free
 * text: NICK printable ASCII, tilde without control characters) and then EOF.
 */
async function expectRefused(conn: Connection, dialect: DialectName, before: Uint8Array): Promise<void> {
  const kind = await conn.waitForClose({ timeoutMs: WAIT_MS }).catch(() => 'still open');
  expect(kind, `${conn.label} is closed with EOF\n${conn.transcript()}`).toBe('eof');
  const prefix = concat(before, wireFormat(dialect).refusedPrefix);
  const stream = conn.stream();
  expectBytes(stream.subarray(0, prefix.length), prefix, `${conn.label}'s stream up to the refusal`, conn);
  const reason = Buffer.from(stream.subarray(prefix.length));
  const text = reason.toString(dialect === 'nick' ? 'latin1' : 'utf8');
  const ok = dialect === 'nick' ? /^[\x20-\x7e]+$/.test(text) : /^[^\x00-\x1f\x7f]+$/u.test(text);
  expect(ok, `refusal reason "${escapeBytes(reason)}"`).toBe(true);
}

/** Removes one occurrence of `needle` (it must occur exactly once) and returns the rest. */
function withoutOnce(stream: Uint8Array, needle: string): string {
  const text = Buffer.from(stream).toString('latin1');
  expect(text.split(needle).length - 1, `"${needle}" occurs exactly once in "${escapeBytes(stream)}"`).toBe(
    1,
  );
  return text.replace(needle, '');
}

/**
 * Bound on a backed-up member taking in its backlog (megabytes) once it reads again. With the flood's own
 * bound (slow-reader.ts) it sets the test's timeout, 90 s: generous, for a loaded machine.
 */
const FLOOD_WAIT_MS = 20_000;

/**
 * Asserts that `conn`'s stream from `from` on is exactly `expected`, once it holds that many bytes
 * (bounded). For streams of megabytes: it never copies or prints the part before `from`.
 */
async function expectTail(
  conn: Connection,
  from: number,
  expected: Uint8Array,
  timeoutMs = WAIT_MS,
): Promise<void> {
  try {
    await awaitLength(conn, from + expected.length, timeoutMs);
  } catch {
    // Timed out or closed: the comparison below shows what arrived.
  }
  expectBytes(conn.stream().subarray(from), expected, `${conn.label}'s stream from byte ${from}`);
}

/**
 * D-NS-11 and D-TS-9: what the server broadcast while a member was backed up never reaches a member
 * who joined after it. `zed` joins and is backed up ({@link backUp}: its queue holds a flood, so every
 * later copy for it waits). Then `carol` joins and writes `MARK`, and `alice` joins, each broadcast
 * while its copy for zed waits; then `bob` joins. Then zed reads again and its queue drains, which is
 * when the seeds' unfinished broadcasts would go on over the grown member list. Every member receives
 * its own handshake and then only what was broadcast after it (bob nothing of carol's or alice's, alice
 * no `MARK`), and zed every one of them in order after the flood (zed is kept: this is a backlog, not an
 * overflow). A sentinel from carol then shows nothing was still on its way. (carol joins after the stall,
 * not before as in the annex, so that the flood is relayed to zed alone: half the work, same state.)
 */
async function newcomerAfterBacklog(dialect: DialectName, prompt = 'NICK'): Promise<void> {
  const wire = wireFormat(dialect, prompt);
  const server = await session.server({
    dialect,
    maxQueueBytes: BACKLOG_QUEUE_BYTES,
    // A flood is how this state is reached quickly: no rate limit (it would only make it slower).
    maxRate: NO_RATE_LIMIT,
    ...(dialect === 'nick' ? { prompt } : {}),
  });
  const events = record(server);
  const member = (nick: string) => join(session, server, dialect, nick, prompt);
  const handshake = (nick: string) => concat(wire.greeting, wire.joined(nick), wire.welcome);
  const zed = await member('zed');
  // zed's stream is megabytes long from here on: it is judged from an offset (expectTail), never whole.
  const zedAfter = zed.at + (await backUp(server, zed.conn, 'zed', dialect));

  const carol = await member('carol');
  const markChat = wire.chat('carol', 'MARK');
  const markRelay = wire.relay('carol', markChat);
  carol.conn.send(markChat);
  await expectSince(carol.conn, carol.at, markRelay);
  const alice = await member('alice');
  await expectSince(carol.conn, carol.at, concat(markRelay, wire.joined('alice')));
  const bob = await member('bob');
  await expectSince(carol.conn, carol.at, concat(markRelay, wire.joined('alice'), wire.joined('bob')));
  await expectSince(alice.conn, 0, concat(handshake('alice'), wire.joined('bob')));
  expect(events.leave, 'nobody left: zed is backed up, not overflowing').toEqual([]);

  // zed reads again: its queue drains, which is when the seeds' unfinished broadcasts go on.
  zed.conn.resumeReading();
  const backlog = concat(wire.joined('carol'), markRelay, wire.joined('alice'), wire.joined('bob'));
  await expectTail(zed.conn, zedAfter, backlog, FLOOD_WAIT_MS);
  const sentinelChat = wire.chat('carol', 'sentinel');
  const sentinel = wire.relay('carol', sentinelChat);
  await sleep(QUIET_MS);
  carol.conn.send(sentinelChat);
  await expectTail(zed.conn, zedAfter, concat(backlog, sentinel));
  const afterCarol = concat(markRelay, wire.joined('alice'), wire.joined('bob'), sentinel);
  await expectSince(carol.conn, 0, concat(handshake('carol'), afterCarol));
  await expectSince(alice.conn, 0, concat(handshake('alice'), wire.joined('bob'), sentinel));
  // The newcomer: its handshake, then only what was sent after it (NICK-PROMPT-2, TILDE-JOIN-2).
  await expectSince(bob.conn, 0, concat(handshake('bob'), sentinel));
  expect(events.leave).toEqual([]);
  await expectServerState(server, ['zed', 'carol', 'alice', 'bob'], 4);
}

describe.each([
  { prompt: 'NICK', script: 'nick_server.py' },
  { prompt: 'Hii', script: 'hii_server.py' },
])('Annex A.1: the defects of $script are absent (NICK dialect, prompt "$prompt")', ({ prompt }) => {
  const start = (options: Partial<ServerOptions> = {}) =>
    session.server({ dialect: 'nick', prompt, ...options });
  const member = (server: ChatServer, nick: string) => join(session, server, 'nick', nick, prompt);
  /** Opens a connection and waits for the prompt (NICK-PROMPT-1). */
  const prompted = async (server: ChatServer, label: string) => {
    const conn = await session.open(server, label);
    await expectStream(conn, utf8(prompt));
    return conn;
  };

  it('D-NS-1: a member that closes cleanly (EOF) is removed at once and announced as left, once', async () => {
    const server = await start();
    const events = record(server);
    const ra = await member(server, 'ra');
    const bob = await member(server, 'bob');
    const at = bob.at;
    ra.conn.end();
    // The server ends its side too: it stops reading the connection (ROBUST-EOF-1), no busy loop.
    expect(await ra.conn.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    await expectSince(bob.conn, at, 'ra left!');
    await expectServerState(server, ['bob'], 1);
    expect(events.leave.map((e) => [e.nick, e.reason])).toEqual([['ra', 'eof']]);
    expect(await cpuDuring(CPU_WINDOW_MS), 'CPU ms over an idle window').toBeLessThan(CPU_WINDOW_MS / 2);
    // §6.1: after a member closes, two paced messages from another member reach everyone.
    bob.conn.send('bob: one');
    await expectSince(bob.conn, at, 'ra left!bob: one');
    bob.conn.send('bob: two');
    await expectSince(bob.conn, at, 'ra left!bob: onebob: two');
  });

  it('D-NS-1 (ROBUST-RESET-1): a member that resets is removed and announced as left, once', async () => {
    const server = await start();
    const events = record(server);
    const ra = await member(server, 'ra');
    const bob = await member(server, 'bob');
    ra.conn.reset();
    await expectSince(bob.conn, bob.at, 'ra left!');
    await expectServerState(server, ['bob'], 1);
    expect(events.leave.map((e) => [e.nick, e.reason])).toEqual([['ra', 'reset']]);
    await sleep(QUIET_MS);
    bob.conn.send('bob: sentinel');
    await expectSince(bob.conn, bob.at, 'ra left!bob: sentinel');
  });

  it('D-NS-2: a dead member costs neither the sender its membership nor the others a message', async () => {
    const server = await start();
    const events = record(server);
    const dead = await member(server, 'dead');
    const bob = await member(server, 'bob');
    const carol = await member(server, 'carol');
    const marks = { bob: await mark(bob.conn, 'carol joined!'), carol: carol.at };
    // The reset races the broadcast on purpose: the server may still write `bob: one` to `dead`.
    dead.conn.reset();
    bob.conn.send('bob: one');
    await carol.conn.waitForText('bob: one', { timeoutMs: WAIT_MS, after: marks.carol });
    bob.conn.send('bob: two');
    await carol.conn.waitForText('bob: two', { timeoutMs: WAIT_MS, after: marks.carol });
    await bob.conn.waitForText('bob: two', { timeoutMs: WAIT_MS, after: marks.bob });
    await sleep(QUIET_MS);
    // `dead left!` comes once, before or after `bob: one`; bob is never announced as left.
    for (const [conn, from] of [
      [bob.conn, marks.bob],
      [carol.conn, marks.carol],
    ] as const) {
      expect(withoutOnce(conn.stream().subarray(from), 'dead left!'), conn.label).toBe('bob: onebob: two');
    }
    expect(bob.conn.closed).toBe(false);
    await expectServerState(server, ['bob', 'carol'], 2);
    expect(events.leave.map((e) => e.nick)).toEqual(['dead']);
  });

  it('D-NS-3: a connection that never answers the prompt does not delay anyone', async () => {
    const server = await start();
    const alice = await member(server, 'alice');
    const silent = await prompted(server, 'silent');
    // A newcomer gets its prompt and joins while `silent` is still in its handshake.
    const bob = await member(server, 'bob');
    bob.conn.send('bob: hi');
    await expectSince(alice.conn, alice.at, 'bob joined!bob: hi');
    expect(silent.closed).toBe(false);
    await expectServerState(server, ['alice', 'bob'], 3);
    expectBytes(silent.stream(), utf8(prompt), "silent's stream: the prompt only (NICK-PROMPT-2)", silent);
  });

  it('D-NS-3 (ROBUST-HANDSHAKE-2): an unfinished handshake is closed after handshakeTimeoutMs, unannounced', async () => {
    const server = await start({ handshakeTimeoutMs: 300 });
    const events = record(server);
    const alice = await member(server, 'alice');
    // Not `prompted`: on a busy machine the refusal may already have joined the prompt.
    const silent = await session.open(server, 'silent');
    expect(await silent.waitForClose({ timeoutMs: 300 + WAIT_MS })).toBe('eof');
    // The server may say why (NICK-PROMPT-2 allows one refusal) and closes; nobody is told.
    if (silent.stream().length > prompt.length) await expectRefused(silent, 'nick', utf8(prompt));
    else expectBytes(silent.stream(), utf8(prompt), "silent's stream", silent);
    expect(events.reject.map((e) => e.code)).toEqual(['HANDSHAKE_TIMEOUT']);
    await expectServerState(server, ['alice'], 1);
    alice.conn.send('alice: sentinel');
    await expectSince(alice.conn, alice.at, 'alice: sentinel');
  });

  it('D-NS-12: restarted at once on its port after a member was connected, it listens again (TRANSPORT-4)', async () => {
    const server = await start();
    const alice = await member(server, 'alice');
    const port = server.port;
    await server.close();
    expect(['eof', 'reset']).toContain(await alice.conn.waitForClose({ timeoutMs: WAIT_MS }));
    // The closed connection's socket still holds the port; Node listens with SO_REUSEADDR, so this works.
    const again = await session.server({ dialect: 'nick', prompt, port });
    const conn = await session.open(again, 'after-restart');
    await expectStream(conn, utf8(prompt));
  });

  it('D-NS-4: a connection closed before its nickname is not announced and leaves no ghost', async () => {
    const server = await start();
    const events = record(server);
    const alice = await member(server, 'alice');
    const closes = await prompted(server, 'closes');
    closes.end();
    expect(await closes.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    const resets = await prompted(server, 'resets');
    resets.reset();
    await expectServerState(server, ['alice'], 1);
    expect(events.reject.map((e) => e.code)).toEqual(['eof', 'reset']);
    expect(events.leave).toEqual([]);
    await sleep(QUIET_MS);
    alice.conn.send('alice: sentinel');
    // Neither ` joined!` (the empty nickname) nor ` left!`.
    await expectSince(alice.conn, alice.at, 'alice: sentinel');
  });

  it('D-NS-5: a non-ASCII nickname is refused, and the server keeps accepting', async () => {
    const server = await start();
    const events = record(server);
    const alice = await member(server, 'alice');
    const bad = await prompted(server, 'bad');
    bad.send(unescapeBytes('\\xc3\\xa9'));
    await expectRefused(bad, 'nick', utf8(prompt));
    expect(events.reject.map((e) => e.code)).toEqual(['NICK_NON_ASCII']);
    const bob = await member(server, 'bob');
    await expectSince(alice.conn, alice.at, 'bob joined!');
    await expectServerState(server, ['alice', 'bob'], 2);
    expectBytes(bob.conn.stream(), utf8(`${prompt}bob joined!Connected to server!`), "bob's stream");
  });

  it('D-NS-6: non-ASCII chat is never relayed; the sender is closed and announced as left', async () => {
    const server = await start();
    const events = record(server);
    const alice = await member(server, 'alice');
    const ra = await member(server, 'ra');
    const at = await alice.conn.waitForText('ra joined!', { timeoutMs: WAIT_MS, after: alice.at });
    const raAt = ra.conn.stream().length;
    ra.conn.send(unescapeBytes('ra: caf\\xc3\\xa9'));
    expect(['eof', 'reset']).toContain(await ra.conn.waitForClose({ timeoutMs: WAIT_MS }));
    await expectSince(alice.conn, at, 'ra left!');
    expectBytes(ra.conn.stream().subarray(raAt), new Uint8Array(0), 'what ra received after its chunk');
    expect(events.leave.map((e) => [e.nick, e.reason])).toEqual([['ra', 'NICK_NON_ASCII']]);
    await sleep(QUIET_MS);
    alice.conn.send('alice: sentinel');
    await expectSince(alice.conn, at, 'ra left!alice: sentinel');
    expect(
      alice.conn.stream().every((b) => b < 0x80),
      'alice never receives a byte >= 0x80',
    ).toBe(true);
  });

  describe('D-NS-7: an invalid or duplicate nickname is refused, unannounced', () => {
    it.each([
      { name: 'a:b', code: 'NICKNAME_FORBIDDEN_CHAR' },
      { name: 'a b', code: 'NICKNAME_FORBIDDEN_CHAR' },
      { name: 'bad\\x01', code: 'NICKNAME_FORBIDDEN_CHAR' },
      { name: 'bad\\x7f', code: 'NICKNAME_FORBIDDEN_CHAR' },
      { name: 'bad\\r', code: 'NICKNAME_FORBIDDEN_CHAR' },
      { name: 'bad\\n\\n', code: 'NICKNAME_FORBIDDEN_CHAR' },
      { name: 'x'.repeat(40), code: 'NICKNAME_TOO_LONG' },
      { name: 'x'.repeat(33), code: 'NICKNAME_TOO_LONG' },
      { name: '\\n', code: 'NICKNAME_EMPTY' },
      { name: 'alice', code: 'NICKNAME_IN_USE' },
      { name: 'alice\\r\\n', code: 'NICKNAME_IN_USE' },
    ])('D-NS-7: $name is refused ($code)', async ({ name, code }) => {
      const server = await start();
      const events = record(server);
      const alice = await member(server, 'alice');
      const r = await prompted(server, 'r');
      r.send(unescapeBytes(name));
      await expectRefused(r, 'nick', utf8(prompt));
      expect(events.reject.map((e) => e.code)).toEqual([code]);
      await expectServerState(server, ['alice'], 1);
      await sleep(QUIET_MS);
      alice.conn.send('alice: sentinel');
      await expectSince(alice.conn, alice.at, 'alice: sentinel');
    });

    it('D-NS-7: the longest valid nickname (32 bytes) and one trailing LF are accepted (NICK-NICK-3)', async () => {
      const server = await start();
      const r = await prompted(server, 'r');
      r.send(`${'x'.repeat(32)}\n`);
      await expectStream(r, utf8(`${prompt}${'x'.repeat(32)} joined!Connected to server!`));
    });
  });

  it('D-NS-8: a member that stops reading does not stall the others; it is closed as a leave', async () => {
    await floodPastSlowMember(session, 'nick', prompt);
  }, 60_000);

  it('D-NS-9: a reset after the prompt, before the nickname, leaves the server accepting: a newcomer gets the prompt and joins', async () => {
    const server = await start();
    const events = record(server);
    const alice = await member(server, 'alice');
    const rude = await prompted(server, 'rude');
    rude.reset();
    await until(() => events.reject.length === 1, "the server to see rude's reset");
    expect(events.reject.map((e) => e.code)).toEqual(['reset']);
    await expectServerState(server, ['alice'], 1);
    const late = await member(server, 'late');
    expectBytes(late.conn.stream(), utf8(`${prompt}late joined!Connected to server!`), "late's stream");
    // alice hears of late, and of nobody else: neither ` joined!` nor ` left!` for the reset connection.
    await expectSince(alice.conn, alice.at, 'late joined!');
    await expectServerState(server, ['alice', 'late'], 2);
    expect(events.leave).toEqual([]);
    late.conn.send('late: sentinel');
    await expectSince(alice.conn, alice.at, 'late joined!late: sentinel');
  });

  it("D-NS-10: with duplicates refused, every leave is announced under the leaver's own nickname", async () => {
    const server = await start();
    const events = record(server);
    const alice = await member(server, 'alice');
    const bob = await member(server, 'bob');
    const xavier = await member(server, 'xavier');
    const carol = await member(server, 'carol');
    const at = await mark(alice.conn, 'carol joined!');
    // The annex's second bob: refused (NICK-NICK-4), so it never becomes a member to be confused with.
    const bob2 = await prompted(server, 'bob#2');
    bob2.send('bob');
    await expectRefused(bob2, 'nick', utf8(prompt));
    // The reproduction's order of leaves, each paced on its announcement.
    const expected: string[] = [];
    const leaves = async (conn: Connection, nick: string) => {
      conn.reset();
      expected.push(`${nick} left!`);
      await expectSince(alice.conn, at, expected.join(''));
    };
    await leaves(xavier.conn, 'xavier');
    await leaves(bob.conn, 'bob');
    // The nickname is free again: a new bob is admitted, and his leave is his own too.
    const bob3 = await member(server, 'bob');
    expected.push('bob joined!');
    await expectSince(alice.conn, at, expected.join(''));
    await leaves(carol.conn, 'carol');
    await leaves(bob3.conn, 'bob');
    expect(events.leave.map((e) => [e.nick, e.reason])).toEqual([
      ['xavier', 'reset'],
      ['bob', 'reset'],
      ['carol', 'reset'],
      ['bob', 'reset'],
    ]);
    expect(events.reject.map((e) => e.code)).toEqual(['NICKNAME_IN_USE']);
    await expectServerState(server, ['alice'], 1);
  });

  it('D-NS-11: a broadcast made while a member is backed up never reaches a member who joined after it', async () => {
    await newcomerAfterBacklog('nick', prompt);
  }, 90_000);
});

describe('Annex A.3: the defects of tilde_server.py are absent (tilde dialect)', () => {
  const start = (options: Partial<ServerOptions> = {}) => session.server({ dialect: 'tilde', ...options });
  const member = (server: ChatServer, user: string) => join(session, server, 'tilde', user);

  it('D-TS-1: a member that closes is removed, no longer read (no busy loop), and announced', async () => {
    const server = await start();
    const events = record(server);
    const ra = await member(server, 'ra');
    const bob = await member(server, 'bob');
    ra.conn.end();
    expect(await ra.conn.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    await expectSince(bob.conn, bob.at, 'SERVER~ra left the chat');
    await expectServerState(server, ['bob'], 1);
    expect(events.leave.map((e) => [e.nick, e.reason])).toEqual([['ra', 'eof']]);
    expect(await cpuDuring(CPU_WINDOW_MS), 'CPU ms over an idle window').toBeLessThan(CPU_WINDOW_MS / 2);
    bob.conn.send('one');
    await expectSince(bob.conn, bob.at, 'SERVER~ra left the chatbob~one');
    bob.conn.send('two');
    await expectSince(bob.conn, bob.at, 'SERVER~ra left the chatbob~onebob~two');
  });

  it('D-TS-2: a connection closed before its username is dropped at once (no busy loop), unannounced', async () => {
    const server = await start();
    const events = record(server);
    const alice = await member(server, 'alice');
    const closes = await session.open(server, 'closes');
    await expectServerState(server, ['alice'], 2);
    closes.end();
    expect(await closes.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    const resets = await session.open(server, 'resets');
    await expectServerState(server, ['alice'], 2);
    resets.reset();
    await expectServerState(server, ['alice'], 1);
    expect(events.reject.map((e) => e.code)).toEqual(['eof', 'reset']);
    expect(await cpuDuring(CPU_WINDOW_MS), 'CPU ms over an idle window').toBeLessThan(CPU_WINDOW_MS / 2);
    expectBytes(closes.stream(), new Uint8Array(0), 'what the closed connection received (TILDE-JOIN-2)');
    alice.conn.send('sentinel');
    await expectSince(alice.conn, alice.at, 'alice~sentinel');
  });

  it('D-TS-3: a dead member costs neither the sender its membership nor the others a message', async () => {
    const server = await start();
    const events = record(server);
    const dead = await member(server, 'dead');
    const bob = await member(server, 'bob');
    const carol = await member(server, 'carol');
    const marks = { bob: await mark(bob.conn, 'SERVER~carol added to the chat'), carol: carol.at };
    dead.conn.reset();
    bob.conn.send('one');
    await bob.conn.waitForText('bob~one', { timeoutMs: WAIT_MS, after: marks.bob });
    bob.conn.send('two');
    await carol.conn.waitForText('bob~two', { timeoutMs: WAIT_MS, after: marks.carol });
    await bob.conn.waitForText('bob~two', { timeoutMs: WAIT_MS, after: marks.bob });
    await sleep(QUIET_MS);
    for (const [conn, from] of [
      [bob.conn, marks.bob],
      [carol.conn, marks.carol],
    ] as const) {
      expect(withoutOnce(conn.stream().subarray(from), 'SERVER~dead left the chat'), conn.label).toBe(
        'bob~onebob~two',
      );
    }
    await expectServerState(server, ['bob', 'carol'], 2);
    expect(events.leave.map((e) => e.nick)).toEqual(['dead']);
  });

  it('D-TS-4: a leave is announced to every remaining member, on EOF and on reset', async () => {
    const server = await start();
    const events = record(server);
    const alice = await member(server, 'alice');
    const bob = await member(server, 'b\u00f8b');
    const carol = await member(server, 'carol');
    const at = carol.at;
    const aliceAt = await mark(alice.conn, 'SERVER~carol added to the chat');
    bob.conn.end();
    await expectSince(carol.conn, at, 'SERVER~b\u00f8b left the chat');
    carol.conn.reset();
    await expectSince(alice.conn, aliceAt, 'SERVER~b\u00f8b left the chatSERVER~carol left the chat');
    expect(events.leave.map((e) => [e.nick, e.reason])).toEqual([
      ['b\u00f8b', 'eof'],
      ['carol', 'reset'],
    ]);
    await expectServerState(server, ['alice'], 1);
    await sleep(QUIET_MS);
    alice.conn.send('sentinel');
    await expectSince(
      alice.conn,
      aliceAt,
      'SERVER~b\u00f8b left the chatSERVER~carol left the chatalice~sentinel',
    );
  });

  describe('D-TS-5: invalid UTF-8 is never relayed; the sender is closed and announced as left', () => {
    it.each([
      { content: 'caf\\xff', why: 'a byte that is never UTF-8, at the end' },
      { content: '\\xff', why: 'a byte that is never UTF-8, alone' },
      { content: 'caf\\xc0', why: 'a lead byte that is never valid, at the end (FRAME-4)' },
      { content: 'caf\\xc3(x', why: 'a lead byte without its continuation' },
      { content: 'caf\\xed\\xa0\\x80', why: 'a surrogate' },
      // FRAME-4: "A tail that can never become valid (for example \xc0, \xff or \xed\xa0) is invalid at once".
      { content: 'caf\\xed\\xa0', why: 'a surrogate prefix at the end, which can never become valid' },
      { content: 'caf\\xe0\\x80', why: 'an overlong prefix at the end, which can never become valid' },
      { content: 'caf\\xf4\\x90', why: 'a prefix above U+10FFFF at the end, which can never become valid' },
    ])('D-TS-5: $content ($why)', async ({ content }) => {
      const server = await start();
      const events = record(server);
      const alice = await member(server, 'alice');
      const bob = await member(server, 'bob');
      const at = bob.at;
      const aliceAt = await mark(alice.conn, 'SERVER~bob added to the chat');
      alice.conn.send(unescapeBytes(content));
      const kind = await alice.conn.waitForClose({ timeoutMs: WAIT_MS }).catch(() => 'still open');
      expect(['eof', 'reset'], `alice (the sender) is closed\n${alice.conn.transcript()}`).toContain(kind);
      await expectSince(bob.conn, at, 'SERVER~alice left the chat');
      expectBytes(alice.conn.stream().subarray(aliceAt), new Uint8Array(0), 'what alice received after');
      expect(events.leave.map((e) => [e.nick, e.reason])).toEqual([['alice', 'INVALID_UTF8']]);
      await sleep(QUIET_MS);
      bob.conn.send('sentinel');
      await expectSince(bob.conn, at, 'SERVER~alice left the chatbob~sentinel');
    });

    it('D-TS-5 (FRAME-4): a character split across two writes is held back and relayed whole, once', async () => {
      const server = await start();
      const events = record(server);
      const alice = await member(server, 'alice');
      const bob = await member(server, 'bob');
      const at = bob.at;
      alice.conn.send(unescapeBytes('caf\\xc3'));
      // The server reads the first piece on its own; nothing may be relayed before the character is whole.
      await sleep(QUIET_MS);
      expectBytes(
        bob.conn.stream().subarray(at),
        new Uint8Array(0),
        'relayed before the character was whole',
      );
      alice.conn.send(unescapeBytes('\\xa9!'));
      await expectSince(bob.conn, at, 'alice~caf\u00e9!');
      expect(alice.conn.closed).toBe(false);
      expect(events.leave).toEqual([]);
      await sleep(QUIET_MS);
      bob.conn.send('sentinel');
      await expectSince(bob.conn, at, 'alice~caf\u00e9!bob~sentinel');
    });
  });

  describe('D-TS-6: a username that could forge server notices, or is taken, is refused, unannounced', () => {
    it.each([
      { name: 'SERVER', code: 'NICKNAME_RESERVED' },
      { name: 'SERVER\\n', code: 'NICKNAME_RESERVED' },
      { name: 'a~b', code: 'NICKNAME_FORBIDDEN_CHAR' },
      { name: 'x\\x01', code: 'NICKNAME_FORBIDDEN_CHAR' },
      { name: 'x\\x7f', code: 'NICKNAME_FORBIDDEN_CHAR' },
      { name: 'x\\xc2\\x85', code: 'NICKNAME_FORBIDDEN_CHAR' },
      { name: 'x'.repeat(40), code: 'NICKNAME_TOO_LONG' },
      { name: '\\xc3\\xa9'.repeat(17), code: 'NICKNAME_TOO_LONG' },
      { name: '\\xff', code: 'INVALID_UTF8' },
      // FRAME-4: a tail that can never become valid is invalid at once, not held back until the timeout.
      { name: 'x\\xed\\xa0', code: 'INVALID_UTF8' },
      { name: '\\r\\n', code: 'NICKNAME_EMPTY' },
      { name: 'bob', code: 'NICKNAME_IN_USE' },
      { name: 'bob\\r\\n', code: 'NICKNAME_IN_USE' },
    ])('D-TS-6: $name is refused ($code)', async ({ name, code }) => {
      const server = await start();
      const events = record(server);
      const bob = await member(server, 'bob');
      const r = await session.open(server, 'r');
      r.send(unescapeBytes(name));
      await expectRefused(r, 'tilde', new Uint8Array(0));
      expect(events.reject.map((e) => e.code)).toEqual([code]);
      await expectServerState(server, ['bob'], 1);
      await sleep(QUIET_MS);
      bob.conn.send('sentinel');
      await expectSince(bob.conn, bob.at, 'bob~sentinel');
    });

    it("D-TS-6: content that looks like a notice is relayed under its sender's name, never as SERVER", async () => {
      const server = await start();
      const alice = await member(server, 'alice');
      const bob = await member(server, 'bob');
      const at = bob.at;
      alice.conn.send('alice left the chat');
      await expectSince(bob.conn, at, 'alice~alice left the chat');
    });
  });

  describe('D-TS-7: a chunk over 2015 bytes is relayed as several relays cut at character boundaries', () => {
    it.each([
      { what: '3000 × "a"', content: 'a'.repeat(3000) },
      { what: '"a" + 1500 × "é" (byte 2015 falls inside a character)', content: `a${'\u00e9'.repeat(1500)}` },
      { what: '1008 × "é" (2016 bytes, Annex B.5)', content: '\u00e9'.repeat(1008) },
      { what: '2000 × "🌍" (8000 bytes)', content: '\u{1f30d}'.repeat(2000) },
    ])('D-TS-7 (TILDE-RELAY-3): $what', async ({ content }) => {
      const server = await start();
      const events = record(server);
      const alice = await member(server, 'alice');
      const bob = await member(server, 'bob');
      const at = bob.at;
      const sent = utf8(content);
      alice.conn.send(sent);
      // Each relay is one write (the server's `relay` event gives its size); TCP may merge them on the way.
      const relayed = () => events.relay.reduce((n, e) => n + e.bytes - 'alice~'.length, 0);
      await until(() => relayed() >= sent.length, 'the whole chunk to be relayed');
      const sizes = events.relay.map((e) => e.bytes);
      const total = sizes.reduce((n, size) => n + size, 0);
      await bob.conn.waitFor((s) => s.length >= at + total, { timeoutMs: WAIT_MS });
      await sleep(QUIET_MS);
      const stream = bob.conn.stream().subarray(at);
      expect(stream.length, 'bytes bob received: the relays and nothing else').toBe(total);
      const pieces: Uint8Array[] = [];
      let pos = 0;
      for (const size of sizes) {
        const relay = stream.subarray(pos, pos + size);
        expectBytes(relay.subarray(0, 6), utf8('alice~'), `relay at byte ${pos}`);
        const piece = relay.subarray(6);
        expect(piece.length, 'content bytes of one relay').toBeGreaterThanOrEqual(1);
        expect(piece.length, 'content bytes of one relay').toBeLessThanOrEqual(2015);
        // Cut at a character boundary: every piece is well-formed UTF-8 on its own.
        expect(() => new TextDecoder('utf-8', { fatal: true }).decode(piece)).not.toThrow();
        pieces.push(piece);
        pos += size;
      }
      expect(sizes.length, 'number of relays').toBeGreaterThanOrEqual(Math.ceil(sent.length / 2015));
      expectBytes(concat(...pieces), sent, 'the relayed contents joined');
      expect(alice.conn.closed).toBe(false);
      expect(events.leave).toEqual([]);
    });
  });

  it('D-TS-9: an announcement made while a member is backed up never reaches a member who joined after it', async () => {
    await newcomerAfterBacklog('tilde');
  }, 90_000);

  it('D-TS-10: a member that stops reading does not stall the others; it is closed as a leave', async () => {
    await floodPastSlowMember(session, 'tilde');
  }, 60_000);
});

describe('D-TS-8: a port in use makes startServer reject; the server never listens elsewhere', () => {
  let blocker: Server | undefined;
  afterEach(async () => {
    const b = blocker;
    blocker = undefined;
    if (b !== undefined) await new Promise<void>((resolve) => b.close(() => resolve()));
  });

  /**
   * The addresses this process listens on (`host:port`), from /proc: its socket fds matched with the
   * LISTEN rows of /proc/net/tcp and tcp6, whatever the address, as the legacy reproduction looks for the
   * seed's fallback listener.
   */
  const ownListeners = (): string[] => {
    const inodes = new Set<number>();
    for (const fd of readdirSync('/proc/self/fd')) {
      let link = '';
      try {
        link = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined) inodes.add(Number(inode));
    }
    return tcpSockets()
      .filter((row) => row.state === TcpState.LISTEN && inodes.has(row.inode))
      .map((row) => `${row.localAddress}:${row.localPort}`);
  };

  it.each([
    { dialect: 'tilde', prompt: undefined },
    { dialect: 'nick', prompt: 'NICK' },
    { dialect: 'nick', prompt: 'Hii' },
  ] as const)(
    'D-TS-8: startServer rejects with ServerListenError (SERVER_LISTEN_FAILED) ($dialect, prompt $prompt)',
    async ({ dialect, prompt }) => {
      const b = createServer();
      blocker = b;
      await new Promise<void>((resolve) => b.listen(0, '127.0.0.1', resolve));
      const address = b.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const before = ownListeners();
      expect(before, 'the blocker listens').toContain(`127.0.0.1:${port}`);
      let thrown: unknown;
      try {
        const server = await startServer({ dialect, port, host: '127.0.0.1', ...(prompt ? { prompt } : {}) });
        // Not expected; closed so that a failure here leaks nothing.
        await server.close();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ServerListenError);
      expect((thrown as ServerListenError).code).toBe('SERVER_LISTEN_FAILED');
      expect(((thrown as ServerListenError).cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
      // TRANSPORT-1: no fallback listener on another port or address is left behind.
      const added = () => ownListeners().filter((address) => !before.includes(address));
      try {
        await until(() => added().length === 0, 'no listener but those from before');
      } catch {
        // Reported below.
      }
      expect(added(), 'listeners opened by the failed start').toEqual([]);
      // The port is still the blocker's: a connection there reaches it, not a chat server.
      const accepted = new Promise<void>((resolve) =>
        b.once('connection', (socket) => {
          socket.destroy();
          resolve();
        }),
      );
      const probe = await openConnection({ port, label: 'probe' });
      try {
        await accepted;
      } finally {
        probe.close();
      }
    },
  );
});

describe('NICK-RELAY-4: a chunk over 1024 bytes is relayed in pieces of at most 1024 bytes', () => {
  it.each([1025, 1500, 4000])(
    'NICK-RELAY-4: %i bytes arrive unchanged, relayed in pieces <= 1024',
    async (n) => {
      const server = await session.server({ dialect: 'nick' });
      const events = record(server);
      const alice = await join(session, server, 'nick', 'alice');
      const bob = await join(session, server, 'nick', 'bob');
      const at = bob.at;
      const sent = utf8(`alice: ${'x'.repeat(n - 7)}`);
      alice.conn.send(sent);
      // NICK relay is stream-transparent: bob's stream holds exactly the chunk, however it was cut.
      await expectSince(bob.conn, at, sent);
      const sizes = events.relay.map((e) => e.bytes);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(1024);
      expect(sizes.length).toBeGreaterThanOrEqual(Math.ceil(n / 1024));
    },
  );
});

describe('server options and shutdown', () => {
  it('the Hii prompt option (seed 003): the prompt is `Hii`, its default port 11826', async () => {
    expect(resolveServerOptions({ dialect: 'nick', prompt: 'Hii' }).port).toBe(11826);
    const server = await session.server({ dialect: 'nick', prompt: 'Hii' });
    const conn = await session.open(server, 'alice');
    await expectStream(conn, utf8('Hii'));
    conn.send('alice');
    await expectStream(conn, utf8('Hiialice joined!Connected to server!'));
  });

  it('strictPrefix (NICK-RELAY-3): a chunk from alice starting with `bob: ` is dropped, a proper one relayed', async () => {
    const server = await session.server({ dialect: 'nick', strictPrefix: true });
    const events = record(server);
    const alice = await join(session, server, 'nick', 'alice');
    const bob = await join(session, server, 'nick', 'bob');
    const marks = { alice: await mark(alice.conn, 'bob joined!'), bob: bob.at };
    alice.conn.send('bob: I am bob');
    // The drop is the observed effect; then a proper message acts as the sentinel.
    await until(() => events.drop.length === 1, 'the drop');
    expect(events.drop.map((e) => [e.nick, e.code])).toEqual([['alice', 'PREFIX_MISMATCH']]);
    alice.conn.send('alice: hi');
    await expectSince(bob.conn, marks.bob, 'alice: hi');
    await expectSince(alice.conn, marks.alice, 'alice: hi');
    await expectServerState(server, ['alice', 'bob'], 2);
  });

  it.each(['nick', 'tilde'] as const)(
    'graceful close() (%s): members are told and get EOF; a pending connection gets EOF only',
    async (dialect) => {
      const server = await session.server({ dialect });
      const alice = await join(session, server, dialect, 'alice');
      const bob = await join(session, server, dialect, 'bob');
      const aliceAt = await mark(alice.conn, wireFormat(dialect).joined('bob'));
      const pending = await session.open(server, 'pending');
      await expectServerState(server, ['alice', 'bob'], 3);
      const before = dialect === 'nick' ? utf8('NICK') : new Uint8Array(0);
      if (dialect === 'nick') await expectStream(pending, before);
      await server.close();
      const told = wireFormat(dialect).shutdown;
      for (const [conn, from] of [
        [alice.conn, aliceAt],
        [bob.conn, bob.at],
      ] as const) {
        expect(await conn.waitForClose({ timeoutMs: WAIT_MS }), `${conn.label} ends with EOF`).toBe('eof');
        expectBytes(conn.stream().subarray(from), told, `what ${conn.label} received on shutdown`, conn);
      }
      expect(await pending.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
      expectBytes(pending.stream(), before, 'what the pending connection received (NICK-PROMPT-2)', pending);
    },
  );

  it('maxClients: the connection over the limit is told SERVER_FULL and closed; members are unaffected', async () => {
    const server = await session.server({ dialect: 'nick', maxClients: 2 });
    const alice = await join(session, server, 'nick', 'alice');
    const bob = await join(session, server, 'nick', 'bob');
    const extra = await session.open(server, 'extra');
    expect(await extra.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    expect(Buffer.from(extra.stream()).toString(), 'what the extra connection received (not NICK)').toMatch(
      /^Refused: .*\(SERVER_FULL\)$/,
    );
    alice.conn.send('alice: hi');
    await expectSince(bob.conn, bob.at, 'alice: hi');
    await expectServerState(server, ['alice', 'bob'], 2);
    // A place frees up when a member leaves.
    bob.conn.end();
    await expectServerState(server, ['alice'], 1);
    const carol = await join(session, server, 'nick', 'carol');
    await expectSince(carol.conn, 0, 'NICKcarol joined!Connected to server!');
  });

  it('line profile (NICK, LINE-1): lines are relayed with one LF, CRLF included, whatever the chunks', async () => {
    const server = await session.server({ dialect: 'nick', framing: 'line' });
    const alice = await session.open(server, 'alice');
    await expectStream(alice, utf8('NICK\n'));
    alice.send('alice\r\n');
    await expectStream(alice, utf8('NICK\nalice joined!\nConnected to server!\n'));
    const bob = await session.open(server, 'bob');
    await expectStream(bob, utf8('NICK\n'));
    bob.send('bob\n');
    const at = utf8('NICK\nbob joined!\nConnected to server!\n').length;
    await expectSince(bob, 0, 'NICK\nbob joined!\nConnected to server!\n');
    alice.send('alice: hi\n');
    await expectSince(bob, at, 'alice: hi\n');
    alice.send('alice: crlf\r\n');
    await expectSince(bob, at, 'alice: hi\nalice: crlf\n');
    // LINE-3: one line split over two writes is still one message.
    alice.send('alice: sp');
    await sleep(QUIET_MS);
    alice.send('lit\n');
    await expectSince(bob, at, 'alice: hi\nalice: crlf\nalice: split\n');
  });

  it('line profile (tilde, LINE-1): the username and content lines are taken without CR, relayed with LF', async () => {
    const server = await session.server({ dialect: 'tilde', framing: 'line' });
    const alice = await session.open(server, 'alice');
    alice.send('alice\r\n');
    await expectStream(alice, utf8('SERVER~alice added to the chat\n'));
    alice.send('caf\u00e9 ~ 5\u20ac\r\n');
    await expectSince(alice, 0, 'SERVER~alice added to the chat\nalice~caf\u00e9 ~ 5\u20ac\n');
  });
});
