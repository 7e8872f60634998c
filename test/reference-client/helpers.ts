/**
 * Shared pieces of the reference client's tests: cleanup tracking, bounded event collection, and the
 * byte accounting that FRAME-4 promises (every received byte is in exactly one message or issue).
 */
import { afterEach } from 'vitest';
import { type Connection, type Listener, listen } from '../../conformance/harness/connection.js';
import type { TargetHandle } from '../../conformance/harness/spawn.js';
import { concatBytes } from '../../src/codec/text.js';
import type { ChatClient, ClientEvent } from '../../src/reference-client/client.js';

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
