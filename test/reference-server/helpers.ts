/**
 * Shared pieces of the reference server's socket tests: a per-test (or per-run) set of servers and
 * recording peers that is always closed, joins that pace on their observed effect, exact stream
 * comparisons that print Expected and Actual in chatkit's escaped form, and bounded waits on the
 * server's own state.
 *
 * Every wait here is bounded and ends as soon as its condition holds, so a loaded machine only makes
 * the tests slower, never wrong. The one kind of sleep is a bounded quiet window ("nothing more arrives").
 */
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';
import { type Connection, openConnection } from '../../conformance/harness/connection.js';
import { escapeBytes } from '../../src/codec/escape.js';
import type { DialectName } from '../../src/codec/index.js';
import { type ChatServer, type ServerOptions, startServer } from '../../src/reference-server/index.js';
import { isPrefix, until } from '../support/wait.js';

/** Deadline for anything that happens promptly on loopback (milliseconds when idle), even on a busy machine. */
export const WAIT_MS = 5_000;

export { isPrefix, until };
/** A window in which nothing is expected to arrive; loopback delivery takes well under 1 ms when idle. */
export const QUIET_MS = 150;

/** UTF-8 bytes of a string. */
export const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
/** Concatenated bytes. */
export const concat = (...parts: readonly Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));


/** Asserts byte equality, showing both sides escaped (and the transcript on failure). */
export function expectBytes(actual: Uint8Array, expected: Uint8Array, what: string, conn?: Connection): void {
  if (Buffer.compare(actual, expected) === 0) return;
  const transcript = conn === undefined ? '' : `\n${conn.transcript()}`;
  expect(escapeBytes(actual), `${what}${transcript}`).toBe(escapeBytes(expected));
}

/**
 * Waits (bounded) until `conn`'s stream holds at least `expected.length` bytes or stops being a prefix of
 * `expected`, then asserts it EQUALS `expected`: extra, missing and wrong bytes all fail, and a wrong byte
 * fails at once instead of at the deadline.
 */
export async function expectStream(
  conn: Connection,
  expected: Uint8Array,
  timeoutMs = WAIT_MS,
  what = `${conn.label}'s stream`,
): Promise<void> {
  const settled = (s: Uint8Array) => s.length >= expected.length || !isPrefix(s, expected);
  if (!settled(conn.stream())) {
    try {
      await conn.waitFor(settled, { timeoutMs, what: `${what} to reach "${escapeBytes(expected)}"` });
    } catch {
      // Timed out or closed early: the comparison below shows Expected and Actual.
    }
  }
  expectBytes(conn.stream(), expected, what, conn);
}


/** Waits until the server's members (in join order) and open connections are as given; bounded. */
export async function expectServerState(
  server: ChatServer,
  members: readonly string[],
  connections: number,
  timeoutMs = WAIT_MS,
): Promise<void> {
  const matches = () =>
    isDeepStrictEqual(server.members(), members) && server.connectionCount() === connections;
  try {
    await until(matches, 'the server state', timeoutMs);
  } catch {
    // The assertions below report the difference.
  }
  expect(server.members(), 'server.members()').toEqual(members);
  expect(server.connectionCount(), 'server.connectionCount()').toBe(connections);
}

/**
 * Servers and peers of one test (or one property run). {@link Session.close} closes every peer first,
 * then every server, so a graceful shutdown never waits on a peer that stopped reading.
 */
export class Session {
  readonly #servers: ChatServer[] = [];
  readonly #conns: Connection[] = [];

  /** Starts a reference server on 127.0.0.1, port 0. */
  async server(options: ServerOptions): Promise<ChatServer> {
    const server = await startServer({ port: 0, host: '127.0.0.1', ...options });
    this.#servers.push(server);
    return server;
  }

  /** Opens a recording peer to `server`. */
  async open(server: ChatServer, label: string): Promise<Connection> {
    const conn = await openConnection({ port: server.port, label });
    this.#conns.push(conn);
    return conn;
  }

  /** Every peer opened so far (for failure reports). */
  connections(): readonly Connection[] {
    return this.#conns;
  }

  /** Closes every peer, then every server. Idempotent. */
  async close(): Promise<void> {
    for (const conn of this.#conns.splice(0)) conn.close();
    await Promise.all(this.#servers.splice(0).map((s) => s.close()));
  }
}

/**
 * Connects and completes the handshake, pacing on its effect (FRAME-6): NICK waits for the prompt, sends
 * the nickname and waits for `Connected to server!`; tilde sends the username and waits for its own
 * `SERVER~<user> added to the chat`. Resolves with the peer and the stream offset just past the handshake.
 */
export async function join(
  session: Session,
  server: ChatServer,
  dialect: DialectName,
  nick: string,
  prompt = 'NICK',
): Promise<{ conn: Connection; at: number }> {
  const conn = await session.open(server, nick);
  if (dialect === 'nick') {
    await conn.waitForText(prompt, { timeoutMs: WAIT_MS });
    conn.send(nick);
    const at = await conn.waitForText('Connected to server!', { timeoutMs: WAIT_MS });
    return { conn, at };
  }
  conn.send(nick);
  const at = await conn.waitForText(`SERVER~${nick} added to the chat`, { timeoutMs: WAIT_MS });
  return { conn, at };
}

/** The bytes received since `from`. */
export const since = (conn: Connection, from: number): Uint8Array => conn.stream().subarray(from);
