/**
 * Shared pieces of the reference client's tests: cleanup tracking, bounded event collection, the
 * byte accounting that FRAME-4 promises (every received byte is in exactly one message or issue), and
 * the terminal program run with in-memory streams.
 */
import { PassThrough, type Readable } from 'node:stream';
import { afterEach } from 'vitest';
import { type Connection, type Listener, listen } from '../../conformance/harness/connection.js';
import type { TargetHandle } from '../../src/processes/index.js';
import { concatBytes } from '../../src/codec/text.js';
import { type ChatClient, type ClientEvent, type ConnectOptions, connect } from '../../src/reference-client/client.js';
import { runTerminalClient, type TerminalClientOptions } from '../../src/reference-client/tui.js';

/** Deadline for anything that happens promptly on loopback, even with every core busy. */
export const WAIT_MS = 5_000;
/** A window in which nothing is expected to arrive. */
export const QUIET_MS = 150;

const clients: ChatClient[] = [];
const listeners: Listener[] = [];
const targets: TargetHandle[] = [];
const cleanups: Array<() => unknown> = [];

/** Registers the afterEach that closes every client, listener and process the test created. */
export function useCleanup(): void {
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(listeners.splice(0).map((l) => l.close()));
    await Promise.all(targets.splice(0).map((t) => t.stop()));
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
}

/** Closes `client` after the test. */
export function track<T extends ChatClient>(client: T): T {
  clients.push(client);
  return client;
}

/** Stops `target` after the test. */
export function trackTarget(target: TargetHandle): TargetHandle {
  targets.push(target);
  return target;
}

/** Runs `cleanup` after the test. */
export function onCleanup(cleanup: () => unknown): void {
  cleanups.push(cleanup);
}

/** A scripted server (a recording listener) on 127.0.0.1, port 0, closed after the test. */
export async function scriptedServer(label = 'server'): Promise<Listener> {
  const listener = await listen({ label });
  listeners.push(listener);
  return listener;
}

/** Every event until `closed` (inclusive); rejects if the connection has not ended by the deadline. */
export async function collect(client: ChatClient, timeoutMs = WAIT_MS): Promise<ClientEvent[]> {
  const events: ClientEvent[] = [];
  const all = (async () => {
    for await (const event of client.events) events.push(event);
    return events;
  })();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`client did not close within ${timeoutMs} ms (${events.length} events)`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([all, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The received bytes as the events account for them (message and issue bytes, in order). */
export function accountedBytes(events: readonly ClientEvent[]): Uint8Array {
  return concatBytes(events.flatMap((e) => (e.kind === 'closed' ? [] : [e.bytes])));
}

const encoder = new TextEncoder();
/** UTF-8 bytes of `text`. */
export const bytesOf = (text: string): Uint8Array => encoder.encode(text);

/** A short, readable summary of events for assertions: messages as objects, issues as codes. */
export function summarise(events: readonly ClientEvent[]): unknown[] {
  return events.map((e) =>
    e.kind === 'message' ? e.message : e.kind === 'issue' ? { issue: e.error.code } : { closed: e.reason },
  );
}

/** Plays a NICK server's side of the handshake on `peer` (prompt, nickname, joined, connected). */
export async function nickServerHandshake(peer: Connection, nick: string, prompt = 'NICK'): Promise<void> {
  peer.send(prompt);
  await peer.waitForText(nick, { timeoutMs: WAIT_MS, what: `the nickname ${nick}` });
  peer.send(`${nick} joined!`);
  peer.send('Connected to server!');
}

/** Plays a tilde server's side of the handshake on `peer` (username, then its own `added`). */
export async function tildeServerHandshake(peer: Connection, user: string): Promise<void> {
  await peer.waitForText(user, { timeoutMs: WAIT_MS, what: `the username ${user}` });
  peer.send(`SERVER~${user} added to the chat`);
}

/**
 * Resolves once `text` (UTF-8) has been received, across event boundaries: TCP may merge a relay with
 * its neighbours, and checks judge the stream (FRAME-6), not the chunks.
 */
export function waitForText(client: ChatClient, text: string, timeoutMs = WAIT_MS): Promise<void> {
  const needle = Buffer.from(text, 'utf8');
  let window = Buffer.alloc(0);
  return client
    .waitFor((event) => {
      if (event.kind === 'closed') return false;
      window = Buffer.concat([window, event.bytes]);
      if (window.includes(needle)) return true;
      window = window.subarray(Math.max(0, window.length - needle.length + 1));
      return false;
    }, timeoutMs)
    .then(() => undefined);
}

/** A captured output stream with a bounded wait for text to appear in it. */
export function capture() {
  const stream = new PassThrough();
  let content = '';
  const waiters = new Set<() => void>();
  stream.on('data', (chunk: Buffer) => {
    content += chunk.toString('utf8');
    for (const waiter of waiters) waiter();
  });
  return {
    stream,
    text: () => content,
    lines: () => content.split('\n').filter((line) => line !== ''),
    waitFor(needle: string, timeoutMs = WAIT_MS): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!content.includes(needle)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`"${needle}" not in output within ${timeoutMs} ms; output: ${JSON.stringify(content)}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** What a test may set of the terminal program's options (the streams are the test's own). */
export type TerminalOverrides = Partial<Omit<TerminalClientOptions, 'input' | 'output' | 'errorOutput'>>;

/**
 * Starts the terminal program on `input` against `port` (NICK, nickname `alice`, scripted mode, no
 * colour unless `options` say otherwise), its output and error output captured.
 */
export function runTerminal<I extends Readable>(port: number, input: I, options: TerminalOverrides = {}) {
  const output = capture();
  const errorOutput = capture();
  const exit = runTerminalClient({
    host: '127.0.0.1',
    port,
    dialect: 'nick',
    nick: 'alice',
    isTTY: false,
    color: false,
    env: {},
    ...options,
    input,
    output: output.stream,
    errorOutput: errorOutput.stream,
  });
  return { input, output, errorOutput, exit };
}

/** Resolves with the exit code, or rejects if the program has not ended within the deadline. */
export function exitWithin(exit: Promise<number>, timeoutMs = WAIT_MS): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    exit,
    new Promise<number>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not exit within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Every byte the scripted server wrote, in order. */
export const sentBy = (peer: Connection) =>
  concatBytes(peer.events().flatMap((e) => (e.dir === 'out' && e.bytes !== undefined ? [e.bytes] : [])));

/** Starts `connect` against a fresh scripted server and hands over both ends. */
export async function start(options: Omit<ConnectOptions, 'host' | 'port'>) {
  const server = await scriptedServer();
  const pending = connect({ host: '127.0.0.1', port: server.port, ...options }).then(track);
  // A rejection is asserted by the caller; this keeps it from being reported as unhandled meanwhile.
  pending.catch(() => undefined);
  const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
  return { server, peer, pending };
}

/** The code of the error `promise` rejects with, and the error. */
export async function rejection(promise: Promise<unknown>): Promise<{ code: string; error: unknown }> {
  try {
    await promise;
  } catch (error) {
    return { code: (error as { code?: string }).code ?? 'NO_CODE', error };
  }
  throw new Error('expected a rejection');
}
