/**
 * The reference client against every client defect of spec/PROTOCOL.md Annex A (A.2 `nick_client.py`,
 * A.4 `tilde_client.py`), on real sockets: a scripted server (a recording listener on 127.0.0.1, port 0)
 * replays each reproduction, and each test, named with the defect's ID, shows the defect is absent in
 * the library (`connect`, the events, `formatForDisplay`) and in the terminal program in scripted mode
 * (`runTerminalClient` with in-memory streams, the nickname taken from the first input line as
 * `chatkit connect` does when piped). D-NC-* run with both prompts (`hii_client.py` shares them).
 *
 * How the checks are made (FRAME-6): what the client sends is judged on the scripted server's stream
 * (and its chunks where one write per message matters, FRAME-2); "nothing is sent" is a bounded quiet
 * window; each server write that must arrive as its own chunk waits for the client's observed effect of
 * the previous one; issues are asserted by code and bytes, never by message.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { splitFirstLine } from '../../cli/stdin.js';
import type { Connection } from '../../conformance/harness/connection.js';
import { freePort } from '../../src/processes/index.js';
import { escapeBytes } from '../../src/codec/escape.js';
import { CodecError } from '../../src/errors.js';
import {
  type ChatClient,
  type ClientEvent,
  connect,
  formatForDisplay,
} from '../../src/reference-client/client.js';
import {
  accountedBytes,
  bytesOf,
  collect,
  exitWithin,
  nickServerHandshake,
  onCleanup,
  QUIET_MS,
  rejection,
  runTerminal,
  scriptedServer,
  sentBy,
  start,
  summarise,
  type TerminalOverrides,
  tildeServerHandshake,
  useCleanup,
  WAIT_MS,
} from './helpers.js';
import { cpuDuring, until } from '../support/wait.js';

useCleanup();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const latin1 = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
const utf8Text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const show = (event: ClientEvent) => formatForDisplay(event, { color: false });

/** A busy loop (D-NC-1, D-TC-3) burns the whole window; a stopped client next to nothing, even on a loaded machine. */
const CPU_WINDOW_MS = 300;

/** A member: the scripted server played the whole handshake. `at` is the server's stream offset after it. */
async function member(dialect: 'nick' | 'tilde', prompt = 'NICK', nick = 'alice') {
  const { peer, pending } = await start(dialect === 'nick' ? { dialect, nick, prompt } : { dialect, nick });
  if (dialect === 'nick') await nickServerHandshake(peer, nick, prompt);
  else await tildeServerHandshake(peer, nick);
  const client = await pending;
  return { peer, client, at: peer.stream().length };
}

/** The next event that is an issue, or a message of `type` (unread or later); bounded. */
const nextIssue = (client: ChatClient) => client.waitFor((e) => e.kind === 'issue', WAIT_MS);
const nextMessage = (client: ChatClient, type: string, text?: string) =>
  client.waitFor(
    (e) =>
      e.kind === 'message' &&
      e.message.type === type &&
      (text === undefined || utf8Text(e.bytes).includes(text)),
    WAIT_MS,
  );

/** Asserts that no connection reaches `server` within a quiet window: nothing was sent, not even a SYN. */
async function expectNoConnection(server: Awaited<ReturnType<typeof scriptedServer>>): Promise<void> {
  await expect(server.nextConnection({ timeoutMs: QUIET_MS })).rejects.toMatchObject({
    code: 'ACCEPT_TIMEOUT',
  });
}

/**
 * Starts the terminal program in scripted mode against `port`, as `chatkit connect` runs it with piped
 * input: everything the user typed is written at once, before the program starts, and the nickname is
 * its first line (cli/stdin.ts). `stdin: 'ends'` is `printf '<typed>' | chatkit connect` (the input
 * ends there); `'open'` leaves it open, as a user who has typed nothing more yet.
 */
async function terminal(
  port: number,
  typed: string,
  options: TerminalOverrides = {},
  stdin: 'ends' | 'open' = 'open',
) {
  const input = new PassThrough();
  onCleanup(() => input.end());
  input.write(typed);
  if (stdin === 'ends') input.end();
  const { first, rest } = await splitFirstLine(input);
  // Ending `input` ends `rest` too (it is piped on): that is the end of input.
  return { ...runTerminal(port, rest, { nick: first ?? '', ...options }), input };
}

/** Asserts the scripted server's stream is exactly `expected` and nothing more comes in a quiet window. */
async function expectOnly(peer: Connection, expected: string, what: string): Promise<void> {
  await sleep(QUIET_MS);
  expect(escapeBytes(peer.stream()), what).toBe(escapeBytes(bytesOf(expected)));
}

describe.each([
  { prompt: 'NICK', script: 'nick_client.py' },
  { prompt: 'Hii', script: 'hii_client.py' },
])('Annex A.2: the defects of $script are absent (NICK dialect, prompt "$prompt")', ({ prompt }) => {
  const handshake = (peer: Connection, nick = 'alice') => nickServerHandshake(peer, nick, prompt);

  it('D-NC-1: after a close by the server the client reports it once and stops: `closed: eof`, exit 0, no busy loop', async () => {
    // The library: one `closed` event, last; `closed` settles; nothing more is read or sent.
    const { peer, client } = await member('nick', prompt);
    const collected = collect(client);
    peer.send('bob: bye');
    await nextMessage(client, 'chat', 'bye');
    peer.end();
    const events = await collected;
    expect(await client.closed).toBe('eof');
    expect(client.isClosed).toBe(true);
    expect(events.filter((e) => e.kind === 'closed')).toEqual([{ kind: 'closed', reason: 'eof' }]);
    expect(events.at(-1)).toEqual({ kind: 'closed', reason: 'eof' });
    expect(show(events.at(-1)!)).toBe('disconnected by server');
    // The client closes its own socket too (the seed never does).
    expect(['eof', 'reset']).toContain(await peer.waitForClose({ timeoutMs: WAIT_MS }));
    const received = client.stats().receivedBytes;
    expect(await cpuDuring(CPU_WINDOW_MS), 'CPU ms over an idle window').toBeLessThan(CPU_WINDOW_MS / 2);
    expect(client.stats().receivedBytes).toBe(received);
    expect(() => client.send('late')).toThrow(expect.objectContaining({ code: 'CLIENT_NOT_CONNECTED' }));

    // The terminal program, input still open: it prints one line and exits 0.
    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\n', { prompt });
    const termPeer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await handshake(termPeer);
    await term.output.waitFor('Connected to server!\n');
    termPeer.send('bob: bye');
    await term.output.waitFor('bob: bye');
    termPeer.end();
    expect(await exitWithin(term.exit)).toBe(0);
    expect(term.output.lines().slice(-2)).toEqual(['bob: bye', 'disconnected by server']);
    expect(term.errorOutput.text()).toBe('');
    expect(['eof', 'reset']).toContain(await termPeer.waitForClose({ timeoutMs: WAIT_MS }));
    expect(await cpuDuring(CPU_WINDOW_MS), 'CPU ms over an idle window').toBeLessThan(CPU_WINDOW_MS / 2);
  });

  it('D-NC-1: a close right after the nickname (the annex reproduction) ends the handshake: CLIENT_CLOSED_DURING_HANDSHAKE, exit 1', async () => {
    const { peer, pending } = await start({ dialect: 'nick', nick: 'alice', prompt });
    peer.send(prompt);
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    peer.end();
    expect((await rejection(pending)).code).toBe('CLIENT_CLOSED_DURING_HANDSHAKE');
    expect(['eof', 'reset']).toContain(await peer.waitForClose({ timeoutMs: WAIT_MS }));

    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\nhello\n', { prompt }, 'ends');
    const termPeer = await server.nextConnection({ timeoutMs: WAIT_MS });
    termPeer.send(prompt);
    await termPeer.waitForText('alice', { timeoutMs: WAIT_MS });
    termPeer.end();
    expect(await exitWithin(term.exit)).toBe(1);
    expect(term.errorOutput.text()).toMatch(/^error CLIENT_CLOSED_DURING_HANDSHAKE: .+\n$/);
    expect(term.output.text()).toBe('');
    expect(latin1(termPeer.stream()), 'the typed-ahead line is never sent').toBe('alice');
    expect(await cpuDuring(CPU_WINDOW_MS), 'CPU ms over an idle window').toBeLessThan(CPU_WINDOW_MS / 2);
  });

  it('D-NC-7: a prompt token a member sends after the handshake is shown as a message, never answered (CLIENT-PROMPT-2)', async () => {
    const { peer, client, at } = await member('nick', prompt);
    peer.send(prompt);
    const shown = await client.waitFor((e) => e.kind === 'message' && latin1(e.bytes) === prompt, WAIT_MS);
    expect(shown.kind).toBe('message');
    await sleep(QUIET_MS);
    expect(latin1(peer.stream().subarray(at)), 'nothing sent in answer').toBe('');
  });

  it('D-NC-8: when its input ends after the handshake, the client closes its connection and exits 0 (CLIENT-EOF-2)', async () => {
    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\n', { prompt }, 'ends');
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await handshake(peer);
    expect(await exitWithin(term.exit)).toBe(0);
    expect(['eof', 'reset']).toContain(await peer.waitForClose({ timeoutMs: WAIT_MS }));
  });

  it('D-NC-2: non-ASCII bytes from the server are one NICK_NON_ASCII issue with those bytes; the client stays and shows what follows', async () => {
    const { peer, client, at } = await member('nick', prompt);
    const bad = Uint8Array.from([...bytesOf('caf'), 0xc3, 0xa9]);
    peer.send(bad);
    const issue = await nextIssue(client);
    expect(issue).toMatchObject({ kind: 'issue', dialect: 'nick' });
    expect(issue.kind === 'issue' && issue.error.code).toBe('NICK_NON_ASCII');
    expect(escapeBytes(issue.kind === 'issue' ? issue.bytes : new Uint8Array(0))).toBe(escapeBytes(bad));
    expect(show(issue)).toBe('[!] caf\ufffd\ufffd');
    peer.send('bob: still here');
    const later = await nextMessage(client, 'chat', 'still here');
    expect(show(later)).toBe('bob: still here');
    expect(client.isClosed).toBe(false);
    expect(peer.closed).toBe(false);
    client.send('ok');
    await peer.waitForText('alice: ok', { timeoutMs: WAIT_MS, after: at });

    // The terminal program: the bytes shown with U+FFFD, then the next message, still running.
    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\n', { prompt });
    const termPeer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await handshake(termPeer);
    await term.output.waitFor('Connected to server!\n');
    termPeer.send(bad);
    await term.output.waitFor('caf');
    termPeer.send('bob: still here');
    await term.output.waitFor('bob: still here');
    expect(term.output.lines().slice(-2)).toEqual(['[!] caf\ufffd\ufffd', 'bob: still here']);
    term.input.end();
    expect(await exitWithin(term.exit)).toBe(0);
  });

  it('D-NC-2: non-ASCII bytes right after the nickname (the annex reproduction) do not stop the handshake', async () => {
    const { peer, pending } = await start({ dialect: 'nick', nick: 'alice', prompt });
    peer.send(prompt);
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    const bad = Uint8Array.from([...bytesOf('caf'), 0xc3, 0xa9]);
    peer.send(bad);
    // Its own chunk: the client reads it before the next write (it has no observable effect yet).
    await sleep(QUIET_MS);
    peer.send('alice joined!');
    peer.send('Connected to server!');
    const client = await pending;
    peer.send('bob: hi');
    await nextMessage(client, 'chat', 'bob: hi');
    peer.end();
    const events = await collect(client);
    expect(latin1(accountedBytes(events))).toBe(latin1(sentBy(peer)));
    const issues = events.flatMap((e) => (e.kind === 'issue' ? [[e.error.code, latin1(e.bytes)]] : []));
    expect(issues).toEqual([['NICK_NON_ASCII', latin1(bad)]]);
    expect(summarise(events).slice(-2)).toEqual([
      { type: 'chat', nick: 'bob', text: 'hi' },
      { closed: 'eof' },
    ]);
  });

  it('D-NC-3: lines typed ahead are not sent before `Connected to server!`; the nickname goes out alone, after the prompt', async () => {
    const server = await scriptedServer();
    // `printf 'alice\nhello\n' | chatkit connect`: both lines are there before the server says anything.
    const term = await terminal(server.port, 'alice\nhello\n', { prompt }, 'ends');
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    // The server waits before prompting: nothing may arrive (NICK-NICK-1).
    await expectOnly(peer, '', 'before the prompt');
    peer.send(prompt);
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    await expectOnly(peer, 'alice', 'after the prompt, before the join');
    peer.send('alice joined!');
    await expectOnly(peer, 'alice', 'after `alice joined!`, before `Connected to server!` (NICK-CHAT-2)');
    peer.send('Connected to server!');
    await peer.waitForText('alice: hello', { timeoutMs: WAIT_MS });
    expect(peer.chunks().map(latin1), 'one write each (FRAME-2)').toEqual(['alice', 'alice: hello']);
    peer.send('alice: hello');
    expect(await exitWithin(term.exit)).toBe(0);
    expect(term.output.lines()).toEqual(['alice joined!', 'Connected to server!', 'alice: hello']);
  });

  it('D-NC-4: an empty nickname is refused before connecting (NICKNAME_EMPTY); nothing is sent', async () => {
    const server = await scriptedServer();
    const { code, error } = await rejection(
      connect({ host: '127.0.0.1', port: server.port, dialect: 'nick', nick: '', prompt }),
    );
    expect(code).toBe('NICKNAME_EMPTY');
    expect(error).toBeInstanceOf(CodecError);
    await expectNoConnection(server);

    // Enter pressed at the nickname, then `hi`: exit 1 with the code, and `: hi` never goes out.
    const term = await terminal(server.port, '\nhi\n', { prompt }, 'ends');
    expect(await exitWithin(term.exit)).toBe(1);
    expect(term.errorOutput.text()).toMatch(/^error NICKNAME_EMPTY: .+\n$/);
    expect(term.output.text()).toBe('');
    await expectNoConnection(server);
  });

  it('D-NC-5: a non-ASCII input line is refused with a message (TEXT_FORBIDDEN_CHAR), and later lines are still sent', async () => {
    const { peer, client, at } = await member('nick', prompt);
    let thrown: unknown;
    try {
      client.send('café');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CodecError);
    expect((thrown as CodecError).code).toBe('TEXT_FORBIDDEN_CHAR');
    client.send('ok');
    await peer.waitForText('alice: ok', { timeoutMs: WAIT_MS, after: at });
    expect(latin1(peer.stream().subarray(at))).toBe('alice: ok');

    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\ncafé\nok\nstill\n', { prompt }, 'ends');
    const termPeer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await handshake(termPeer);
    await term.output.waitFor('Connected to server!\n');
    await termPeer.waitForText('alice: ok', { timeoutMs: WAIT_MS });
    termPeer.send('alice: ok');
    await termPeer.waitForText('alice: still', { timeoutMs: WAIT_MS });
    termPeer.send('alice: still');
    expect(await exitWithin(term.exit)).toBe(0);
    expect(latin1(termPeer.stream())).toBe('alicealice: okalice: still');
    expect(term.errorOutput.lines()).toEqual([
      'invalid input (TEXT_FORBIDDEN_CHAR): the NICK dialect carries only printable ASCII and TAB; not sent',
    ]);
  });

  it('D-NC-6: a non-ASCII nickname is refused before connecting (NICKNAME_FORBIDDEN_CHAR); nothing is sent', async () => {
    const server = await scriptedServer();
    const { code, error } = await rejection(
      connect({ host: '127.0.0.1', port: server.port, dialect: 'nick', nick: 'zoë', prompt }),
    );
    expect(code).toBe('NICKNAME_FORBIDDEN_CHAR');
    expect(error).toBeInstanceOf(CodecError);
    await expectNoConnection(server);

    const term = await terminal(server.port, 'zoë\nhi\n', { prompt }, 'ends');
    expect(await exitWithin(term.exit)).toBe(1);
    expect(term.errorOutput.text()).toMatch(/^error NICKNAME_FORBIDDEN_CHAR: .+\n$/);
    await expectNoConnection(server);
  });
});

describe('Annex A.4: the defects of tilde_client.py are absent (tilde dialect)', () => {
  const tilde = { dialect: 'tilde' } as const;

  it('D-TC-1: content with `~` is shown whole: `bob~a~b` is `[bob] a~b` (TILDE-DISPLAY-1)', async () => {
    const { peer, client } = await member('tilde');
    peer.send('bob~a~b');
    const relay = await nextMessage(client, 'relay', 'bob~a~b');
    expect(relay).toMatchObject({ message: { type: 'relay', user: 'bob', text: 'a~b' } });
    expect(show(relay)).toBe('[bob] a~b');

    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\n', tilde);
    const termPeer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await tildeServerHandshake(termPeer, 'alice');
    await term.output.waitFor('[SERVER] alice added to the chat\n');
    termPeer.send('bob~a~b');
    await term.output.waitFor('[bob] a');
    term.input.end();
    expect(await exitWithin(term.exit)).toBe(0);
    expect(term.output.lines()).toEqual(['[SERVER] alice added to the chat', '[bob] a~b']);
  });

  it('D-TC-2: a chunk without `~` is shown as it is, and later messages still are', async () => {
    const { peer, client } = await member('tilde');
    const collected = collect(client);
    peer.send('hello');
    const issue = await nextIssue(client);
    expect(issue.kind === 'issue' && [issue.error.code, latin1(issue.bytes)]).toEqual([
      'TILDE_MISSING_SEPARATOR',
      'hello',
    ]);
    expect(show(issue)).toBe('[!] hello');
    // What tilde_server.py sends for content over 2048 bytes: one relay a legacy recv(2048) cannot hold.
    peer.send(`bob~${'x'.repeat(3000)}`);
    await until(() => client.stats().receivedBytes >= sentBy(peer).length, 'the long relay to arrive');
    peer.send('bob~still here');
    const later = await nextMessage(client, 'relay', 'still here');
    expect(show(later)).toBe('[bob] still here');
    expect(client.isClosed).toBe(false);
    peer.end();
    const events = await collected;
    // FRAME-4: every byte is in a message or an issue, in order.
    expect(latin1(accountedBytes(events))).toBe(latin1(sentBy(peer)));

    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\n', tilde);
    const termPeer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await tildeServerHandshake(termPeer, 'alice');
    await term.output.waitFor('[SERVER] alice added to the chat\n');
    termPeer.send('hello');
    await term.output.waitFor('hello');
    termPeer.send('bob~still here');
    await term.output.waitFor('[bob] still here');
    term.input.end();
    expect(await exitWithin(term.exit)).toBe(0);
    expect(term.output.lines()).toEqual([
      '[SERVER] alice added to the chat',
      '[!] hello',
      '[bob] still here',
    ]);
  });

  it('D-TC-3: after a close by the server the client reports it once and stops: `closed: eof`, exit 0, no busy loop', async () => {
    const { peer, client } = await member('tilde');
    const collected = collect(client);
    peer.end();
    const events = await collected;
    expect(await client.closed).toBe('eof');
    expect(events.filter((e) => e.kind === 'closed')).toEqual([{ kind: 'closed', reason: 'eof' }]);
    expect(show(events.at(-1)!)).toBe('disconnected by server');
    expect(['eof', 'reset']).toContain(await peer.waitForClose({ timeoutMs: WAIT_MS }));
    expect(await cpuDuring(CPU_WINDOW_MS), 'CPU ms over an idle window').toBeLessThan(CPU_WINDOW_MS / 2);

    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\n', tilde);
    const termPeer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await tildeServerHandshake(termPeer, 'alice');
    await term.output.waitFor('[SERVER] alice added to the chat');
    termPeer.end();
    expect(await exitWithin(term.exit)).toBe(0);
    expect(term.output.lines()).toEqual(['[SERVER] alice added to the chat', 'disconnected by server']);
    expect(term.errorOutput.text()).toBe('');
    expect(await cpuDuring(CPU_WINDOW_MS), 'CPU ms over an idle window').toBeLessThan(CPU_WINDOW_MS / 2);
  });

  it('D-TC-3: a close right after the username (the annex reproduction) ends the handshake: CLIENT_CLOSED_DURING_HANDSHAKE, exit 1', async () => {
    const { peer, pending } = await start({ dialect: 'tilde', nick: 'alice' });
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    peer.end();
    expect((await rejection(pending)).code).toBe('CLIENT_CLOSED_DURING_HANDSHAKE');
    expect(['eof', 'reset']).toContain(await peer.waitForClose({ timeoutMs: WAIT_MS }));

    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\nhello\n', tilde, 'ends');
    const termPeer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await termPeer.waitForText('alice', { timeoutMs: WAIT_MS });
    termPeer.end();
    expect(await exitWithin(term.exit)).toBe(1);
    expect(term.errorOutput.text()).toMatch(/^error CLIENT_CLOSED_DURING_HANDSHAKE: .+\n$/);
    expect(utf8Text(termPeer.stream()), 'the typed-ahead line is never sent').toBe('alice');
    expect(await cpuDuring(CPU_WINDOW_MS), 'CPU ms over an idle window').toBeLessThan(CPU_WINDOW_MS / 2);
  });

  it('D-TC-4: merged relays `a~hib~yo` lose nothing: shown as `[a] hib~yo` (FRAME-4)', async () => {
    const { peer, client } = await member('tilde');
    peer.send('a~hib~yo');
    const relay = await nextMessage(client, 'relay', 'a~hib~yo');
    expect(relay).toMatchObject({ message: { type: 'relay', user: 'a', text: 'hib~yo' } });
    expect(show(relay)).toBe('[a] hib~yo');

    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\n', tilde);
    const termPeer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await tildeServerHandshake(termPeer, 'alice');
    await term.output.waitFor('[SERVER] alice added to the chat\n');
    termPeer.send('a~hib~yo');
    await term.output.waitFor('[a] hib');
    term.input.end();
    expect(await exitWithin(term.exit)).toBe(0);
    expect(term.output.lines()).toEqual(['[SERVER] alice added to the chat', '[a] hib~yo']);
  });

  it('D-TC-5: invalid UTF-8 from the server is an issue with its bytes; the client stays and shows what follows (CLIENT-BYTES-1)', async () => {
    const { peer, client } = await member('tilde');
    const collected = collect(client);
    const cases = [
      { bytes: Uint8Array.from([...bytesOf('a~'), 0xff]), code: 'INVALID_UTF8', shown: '[!] [a] \ufffd' },
      {
        bytes: Uint8Array.from([...bytesOf('a~caf'), 0xc3, 0x28, 0x78]),
        code: 'INVALID_UTF8',
        shown: '[!] [a] caf\ufffd(x',
      },
    ];
    for (const { bytes, code, shown } of cases) {
      peer.send(bytes);
      const issue = await client.waitFor(
        (e) => e.kind === 'issue' && Buffer.compare(e.bytes, bytes) === 0,
        WAIT_MS,
      );
      expect(issue.kind === 'issue' && issue.error.code).toBe(code);
      expect(show(issue)).toBe(shown);
    }
    peer.send('b~still here');
    const later = await nextMessage(client, 'relay', 'still here');
    expect(show(later)).toBe('[b] still here');
    expect(client.isClosed).toBe(false);
    // A character cut off by the end of the stream is reported too, with its bytes (FRAME-4).
    await sleep(QUIET_MS);
    const cut = Uint8Array.from([...bytesOf('a~caf'), 0xc3]);
    peer.send(cut);
    await peer.flushed();
    peer.end();
    const events = await collected;
    expect(latin1(accountedBytes(events))).toBe(latin1(sentBy(peer)));
    const last = events.slice(-2);
    expect(last[0]?.kind === 'issue' && [last[0].error.code, latin1(last[0].bytes)]).toEqual([
      'TRUNCATED_UTF8',
      latin1(cut),
    ]);
    expect(last[1]).toEqual({ kind: 'closed', reason: 'eof' });

    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\n', tilde);
    const termPeer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await tildeServerHandshake(termPeer, 'alice');
    await term.output.waitFor('[SERVER] alice added to the chat\n');
    termPeer.send(cases[0]!.bytes);
    await term.output.waitFor('[!]');
    termPeer.send('b~still here');
    await term.output.waitFor('[b] still here');
    term.input.end();
    expect(await exitWithin(term.exit)).toBe(0);
    expect(term.output.lines()).toEqual([
      '[SERVER] alice added to the chat',
      '[!] [a] \ufffd',
      '[b] still here',
    ]);
  });

  it('D-TC-6: an empty username is refused before connecting (NICKNAME_EMPTY); no message is taken as the username', async () => {
    const server = await scriptedServer();
    const { code, error } = await rejection(
      connect({ host: '127.0.0.1', port: server.port, dialect: 'tilde', nick: '' }),
    );
    expect(code).toBe('NICKNAME_EMPTY');
    expect(error).toBeInstanceOf(CodecError);
    await expectNoConnection(server);

    // An empty first line, then `hi`: exit 1 with the code; `hi` never reaches a server as a username.
    const term = await terminal(server.port, '\nhi\n', tilde, 'ends');
    expect(await exitWithin(term.exit)).toBe(1);
    expect(term.errorOutput.text()).toMatch(/^error NICKNAME_EMPTY: .+\n$/);
    await expectNoConnection(server);
  });

  it('D-TC-8: when its input ends after the handshake, the client closes its connection and exits 0 (CLIENT-EOF-2)', async () => {
    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\n', tilde, 'ends');
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await tildeServerHandshake(peer, 'alice');
    expect(await exitWithin(term.exit)).toBe(0);
    expect(['eof', 'reset']).toContain(await peer.waitForClose({ timeoutMs: WAIT_MS }));
  });

  it('D-TC-9: a refused connect is reported on stderr only, as CONNECT_FAILED, with exit 1 (CLIENT-CONNECT-1)', async () => {
    const term = await terminal(await freePort(), 'alice\n', tilde, 'ends');
    expect(await exitWithin(term.exit)).toBe(1);
    expect(term.errorOutput.text()).toMatch(/^error CONNECT_FAILED: .+\n$/);
    expect(term.output.text(), 'nothing on the chat channel').toBe('');
  });

  it('D-TC-7: content typed ahead is not sent before the client’s own `added` arrives (TILDE-MSG-1)', async () => {
    const server = await scriptedServer();
    const term = await terminal(server.port, 'alice\nhello\n', tilde, 'ends');
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    await expectOnly(peer, 'alice', 'after the username, before any `added`');
    // Someone else's announcement does not complete alice's handshake.
    peer.send('SERVER~bob added to the chat');
    await expectOnly(peer, 'alice', 'after `SERVER~bob added to the chat`');
    peer.send('SERVER~alice added to the chat');
    await peer.waitForText('hello', { timeoutMs: WAIT_MS, after: 'alice'.length });
    expect(peer.chunks().map(utf8Text), 'the username alone, then the content (FRAME-2)').toEqual([
      'alice',
      'hello',
    ]);
    peer.send('alice~hello');
    expect(await exitWithin(term.exit)).toBe(0);
    expect(term.output.lines()).toEqual([
      '[SERVER] bob added to the chat',
      '[SERVER] alice added to the chat',
      '[alice] hello',
    ]);
  });
});
