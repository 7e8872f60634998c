/**
 * The reference client library against a server played by hand on a real loopback socket: each case
 * says what the server sends, what the client must send back, and the requirement it checks.
 */
import { connect as netConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../conformance/harness/connection.js';
import { freePort, PYTHON_COMMAND, spawnTarget } from '../../src/processes/index.js';
import { CodecError } from '../../src/errors.js';
import {
  type ClientError,
  connect,
  EventOverflowError,
} from '../../src/reference-client/client.js';
import {
  accountedBytes,
  bytesOf,
  collect,
  nickServerHandshake,
  onCleanup,
  QUIET_MS,
  rejection,
  scriptedServer,
  sentBy,
  start,
  summarise,
  tildeServerHandshake,
  track,
  trackTarget,
  useCleanup,
  WAIT_MS,
} from './helpers.js';

useCleanup();

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

describe('NICK handshake', () => {
  it('sends nothing before the prompt, then only its nickname in one write (NICK-NICK-1)', async () => {
    const { peer, pending } = await start({ dialect: 'nick', nick: 'alice' });
    expect(text(await peer.quiet(QUIET_MS))).toBe('');
    peer.send('NICK');
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    expect(text(await peer.quiet(QUIET_MS))).toBe('');
    expect(peer.chunks().map(text)).toEqual(['alice']);
    peer.send('alice joined!Connected to server!');
    const client = await pending;
    expect([client.dialect, client.prompt, client.nick]).toEqual(['nick', 'NICK', 'alice']);
  });

  it('joins on `Connected to server!` merged with `<nick> joined!` and shows both (NICK-CHAT-2, §4.6)', async () => {
    const { peer, pending } = await start({ dialect: 'nick', nick: 'alice' });
    peer.send('NICK');
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    peer.send('alice joined!Connected to server!bob: hi');
    const client = await pending;
    peer.end();
    const events = await collect(client);
    expect(summarise(events)).toEqual([
      { type: 'prompt', token: 'NICK' },
      { type: 'joined', nick: 'alice' },
      { type: 'connected' },
      { type: 'chat', nick: 'bob', text: 'hi' },
      { closed: 'eof' },
    ]);
  });

  it('answers a prompt that TCP split in two chunks, once (FRAME-4)', async () => {
    const { peer, pending } = await start({ dialect: 'nick', nick: 'alice' });
    peer.send('NI');
    await peer.flushed();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(text(peer.stream())).toBe('');
    peer.send('CK');
    await nickServerHandshakeAfterPrompt(peer, 'alice');
    await pending;
    expect(text(peer.stream())).toBe('alice');
  });

  it('expects the configured prompt token (`Hii`, §4.7)', async () => {
    const { peer, pending } = await start({ dialect: 'nick', nick: 'alice', prompt: 'Hii' });
    await nickServerHandshake(peer, 'alice', 'Hii');
    const client = await pending;
    expect(client.prompt).toBe('Hii');
  });

  it('rejects with CLIENT_REFUSED and the reason on `Refused: <reason>` (NICK-NICK-4)', async () => {
    const { peer, pending } = await start({ dialect: 'nick', nick: 'alice' });
    peer.send('NICK');
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    peer.send('Refused: nickname in use');
    const { code, error } = await rejection(pending);
    expect(code).toBe('CLIENT_REFUSED');
    expect((error as ClientError).reason).toBe('nickname in use');
    expect(await peer.waitForClose({ timeoutMs: WAIT_MS })).not.toBe('local');
  });

  it('rejects with CLIENT_CLOSED_DURING_HANDSHAKE when the server closes after the prompt', async () => {
    const { peer, pending } = await start({ dialect: 'nick', nick: 'alice' });
    peer.send('NICK');
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    peer.end();
    expect((await rejection(pending)).code).toBe('CLIENT_CLOSED_DURING_HANDSHAKE');
  });

  it('rejects with CLIENT_CLOSED_DURING_HANDSHAKE when the server resets before `Connected to server!`', async () => {
    // (A reset before the client has seen its own connection complete is CONNECT_FAILED instead.)
    const { peer, pending } = await start({ dialect: 'nick', nick: 'alice' });
    peer.send('NICK');
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    peer.reset();
    expect((await rejection(pending)).code).toBe('CLIENT_CLOSED_DURING_HANDSHAKE');
  });

  it('rejects with CLIENT_HANDSHAKE_TIMEOUT when the server never prompts, and closes', async () => {
    const { peer, pending } = await start({ dialect: 'nick', nick: 'alice', handshakeTimeoutMs: 300 });
    const started = performance.now();
    expect((await rejection(pending)).code).toBe('CLIENT_HANDSHAKE_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(WAIT_MS);
    await peer.waitForClose({ timeoutMs: WAIT_MS });
  });

  it('under the line profile, reads `NICK\\n` and sends `alice\\n` and `alice: hi\\n` (LINE-1)', async () => {
    const { peer, pending } = await start({ dialect: 'nick', nick: 'alice', framing: 'line' });
    peer.send('NICK\n');
    await peer.waitForText('alice\n', { timeoutMs: WAIT_MS });
    peer.send('alice joined!\nConnected to server!\n');
    const client = await pending;
    client.send('hi');
    await peer.waitForText('alice: hi\n', { timeoutMs: WAIT_MS });
    expect(text(peer.stream())).toBe('alice\nalice: hi\n');
  });
});

/** The rest of a NICK handshake once the prompt has been sent. */
async function nickServerHandshakeAfterPrompt(peer: Connection, nick: string) {
  await peer.waitForText(nick, { timeoutMs: WAIT_MS });
  peer.send(`${nick} joined!`);
  peer.send('Connected to server!');
}

describe('NICK session', () => {
  async function member(nick = 'alice') {
    const { peer, pending } = await start({ dialect: 'nick', nick });
    await nickServerHandshake(peer, nick);
    const client = await pending;
    const joinedAt = peer.stream().length;
    return { peer, client, joinedAt };
  }

  it('sends `<nick>: <text>` in one write; `:`, `~` and TAB are text (NICK-CHAT-1)', async () => {
    const { peer, client, joinedAt } = await member();
    client.send('a:b ~ c\tok');
    await peer.waitForText('alice: a:b ~ c\tok', { timeoutMs: WAIT_MS, after: joinedAt });
    client.send('');
    await peer.waitForText('alice: ', { timeoutMs: WAIT_MS, after: joinedAt + 17 });
    expect(text(peer.stream().subarray(joinedAt))).toBe('alice: a:b ~ c\tokalice: ');
  });

  it('throws the CodecError for text NICK cannot carry and sends nothing (CLIENT-INPUT-1)', async () => {
    const { peer, client, joinedAt } = await member();
    for (const [input, code] of [
      ['café', 'TEXT_FORBIDDEN_CHAR'],
      ['two\nlines', 'TEXT_FORBIDDEN_CHAR'],
      ['x'.repeat(1024), 'MESSAGE_TOO_LONG'],
    ] as const) {
      let thrown: unknown;
      try {
        client.send(input);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CodecError);
      expect((thrown as CodecError).code).toBe(code);
    }
    expect(text(await peer.quiet(QUIET_MS))).toBe('');
    expect(peer.stream().length).toBe(joinedAt);
  });

  it('sends the longest message NICK allows (1024 bytes) and refuses one byte more (TRANSPORT-3)', async () => {
    const { peer, client, joinedAt } = await member();
    client.send('x'.repeat(1024 - 'alice: '.length));
    await peer.waitFor((s) => s.length === joinedAt + 1024, { timeoutMs: WAIT_MS });
    expect(() => client.send('x'.repeat(1024 - 'alice: '.length + 1))).toThrow(CodecError);
  });

  it('reports every received byte as a message or an issue, and never stops reading (CLIENT-BYTES-1)', async () => {
    const { peer, client } = await member();
    const collected = collect(client);
    peer.send('bob: yo');
    await new Promise((resolve) => setTimeout(resolve, 30));
    peer.send(Uint8Array.from([...bytesOf('caf'), 0xc3, 0xa9]));
    await new Promise((resolve) => setTimeout(resolve, 30));
    peer.send('bob left!');
    await peer.flushed();
    peer.end();
    const events = await collected;
    expect(accountedBytes(events)).toEqual(sentBy(peer));
    expect(summarise(events).slice(3)).toEqual([
      { type: 'chat', nick: 'bob', text: 'yo' },
      { issue: 'NICK_NON_ASCII' },
      { type: 'left', nick: 'bob' },
      { closed: 'eof' },
    ]);
  });

  it('reports a reset as `closed: reset` (CLIENT-EOF-1)', async () => {
    const { peer, client } = await member();
    const collected = collect(client);
    peer.reset();
    const events = await collected;
    expect(events.at(-1)).toMatchObject({ kind: 'closed', reason: 'reset' });
  });

  it('close() sends FIN, ends the events with `closed: local`, and refuses later sends and waits', async () => {
    const { peer, client } = await member();
    const collected = collect(client);
    await client.close();
    expect(await peer.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    expect((await collected).at(-1)).toEqual({ kind: 'closed', reason: 'local' });
    expect(client.isClosed).toBe(true);
    expect(() => client.send('late')).toThrow(expect.objectContaining({ code: 'CLIENT_NOT_CONNECTED' }));
    expect((await rejection(client.waitFor(() => false, 100))).code).toBe('CLIENT_NOT_CONNECTED');
    await client.close(); // idempotent
  });

  it('waitFor sees unread and later events, and gives up with CLIENT_WAIT_TIMEOUT', async () => {
    const { peer, client } = await member();
    const joined = await client.waitFor((e) => e.kind === 'message' && e.message.type === 'joined', WAIT_MS);
    expect(joined).toMatchObject({ message: { type: 'joined', nick: 'alice' } });
    const later = client.waitFor((e) => e.kind === 'message' && e.message.type === 'left', WAIT_MS);
    peer.send('bob left!');
    expect(await later).toMatchObject({ message: { type: 'left', nick: 'bob' } });
    expect((await rejection(client.waitFor(() => false, 100))).code).toBe('CLIENT_WAIT_TIMEOUT');
  });

  it('keeps at most maxQueuedEvents unread events, drops the oldest and counts them', async () => {
    const server = await scriptedServer();
    const pending = connect({
      host: '127.0.0.1',
      port: server.port,
      dialect: 'nick',
      nick: 'alice',
      maxQueuedEvents: 5,
    }).then(track);
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await nickServerHandshake(peer, 'alice');
    const client = await pending;
    const flood = bytesOf('x'.repeat(20 * 1024)); // at least 20 frames of at most 1024 bytes (FRAME-4)
    peer.send(flood);
    await peer.flushed();
    peer.end();
    await client.closed;
    const stats = client.stats();
    expect(stats.peakQueuedEvents).toBeLessThanOrEqual(5);
    const events = await collect(client);
    const [first, ...rest] = events;
    expect(first?.kind).toBe('issue');
    const overflow = (first as { error: EventOverflowError }).error;
    expect(overflow).toBeInstanceOf(EventOverflowError);
    expect(overflow.code).toBe('CLIENT_EVENT_OVERFLOW');
    expect(overflow.dropped).toBe(stats.droppedEvents);
    // Nothing is lost silently: the dropped bytes are counted, the rest are delivered.
    const handshakeBytes = 'NICKalice joined!Connected to server!'.length;
    expect(overflow.droppedBytes + accountedBytes(rest).length).toBe(handshakeBytes + flood.length);
    expect(rest.at(-1)).toEqual({ kind: 'closed', reason: 'eof' });
  });
});

describe('tilde', () => {
  it('speaks first with the username alone, and joins on its own `added` (TILDE-USER-1, TILDE-MSG-1)', async () => {
    const { peer, pending } = await start({ dialect: 'tilde', nick: 'bøb' });
    await peer.waitForText('bøb', { timeoutMs: WAIT_MS });
    expect(text(await peer.quiet(QUIET_MS))).toBe('');
    expect(Buffer.from(peer.stream()).toString('utf8')).toBe('bøb');
    peer.send('SERVER~bøb added to the chat');
    const client = await pending;
    expect([client.dialect, client.prompt]).toEqual(['tilde', undefined]);
    client.send('café ~ 5€');
    await peer.waitForText('bøbcafé ~ 5€', { timeoutMs: WAIT_MS });
  });

  it('joins when its `added` arrives merged with a relay behind it (TILDE-JOIN-2)', async () => {
    const { peer, pending } = await start({ dialect: 'tilde', nick: 'alice' });
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    peer.send('SERVER~alice added to the chatbob~hi');
    const client = await pending;
    peer.end();
    const events = await collect(client);
    expect(Buffer.from(accountedBytes(events)).toString()).toBe('SERVER~alice added to the chatbob~hi');
  });

  it('does not take another user’s `added` for its own', async () => {
    const { peer, pending } = await start({ dialect: 'tilde', nick: 'al', handshakeTimeoutMs: 400 });
    await peer.waitForText('al', { timeoutMs: WAIT_MS });
    peer.send('SERVER~alice added to the chat');
    expect((await rejection(pending)).code).toBe('CLIENT_HANDSHAKE_TIMEOUT');
  });

  it('rejects with CLIENT_REFUSED on `SERVER~Refused: <reason>` (TILDE-USER-3)', async () => {
    const { peer, pending } = await start({ dialect: 'tilde', nick: 'alice' });
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    peer.send('SERVER~Refused: username in use');
    const { code, error } = await rejection(pending);
    expect(code).toBe('CLIENT_REFUSED');
    expect((error as ClientError).reason).toBe('username in use');
  });

  it('throws for content the wire cannot carry and sends nothing (TILDE-MSG-1, ENC-TILDE-1)', async () => {
    const { peer, pending } = await start({ dialect: 'tilde', nick: 'alice' });
    await tildeServerHandshake(peer, 'alice');
    const client = await pending;
    const before = peer.stream().length;
    for (const [input, code] of [
      ['', 'CONTENT_EMPTY'],
      ['é'.repeat(1008), 'MESSAGE_TOO_LONG'],
      ['\ud800', 'INVALID_UTF8'],
    ] as const) {
      expect(() => client.send(input)).toThrow(expect.objectContaining({ code }));
    }
    client.send('é'.repeat(1007)); // 2014 bytes: within 2015
    await peer.waitFor((s) => s.length === before + 2014, { timeoutMs: WAIT_MS });
  });

  it('reports a chunk without `~` and a character split at the end as issues, keeping every byte (FRAME-4)', async () => {
    const { peer, pending } = await start({ dialect: 'tilde', nick: 'alice' });
    await tildeServerHandshake(peer, 'alice');
    const client = await pending;
    const collected = collect(client);
    peer.send('hello');
    await new Promise((resolve) => setTimeout(resolve, 30));
    peer.send(Uint8Array.from([...bytesOf('bob~caf'), 0xc3]));
    await peer.flushed();
    peer.end();
    const events = await collected;
    expect(summarise(events).slice(1)).toEqual([
      { issue: 'TILDE_MISSING_SEPARATOR' },
      { issue: 'TRUNCATED_UTF8' },
      { closed: 'eof' },
    ]);
    expect(accountedBytes(events).length).toBe('SERVER~alice added to the chat'.length + 5 + 8);
  });
});

describe('auto', () => {
  it('detects NICK from a `NICK` prompt', async () => {
    const { peer, pending } = await start({ dialect: 'auto', nick: 'alice' });
    await nickServerHandshake(peer, 'alice');
    const client = await pending;
    expect([client.dialect, client.prompt]).toEqual(['nick', 'NICK']);
  });

  it('detects NICK with the token `Hii`, even split in two writes', async () => {
    const { peer, pending } = await start({ dialect: 'auto', nick: 'alice' });
    peer.send('H');
    await peer.flushed();
    peer.send('ii');
    await nickServerHandshakeAfterPrompt(peer, 'alice');
    const client = await pending;
    expect([client.dialect, client.prompt]).toEqual(['nick', 'Hii']);
    expect(text(peer.stream())).toBe('alice');
  });

  it('detects tilde by silence: sends the username only after the prompt wait', async () => {
    const { peer, pending } = await start({ dialect: 'auto', nick: 'alice', autoPromptWaitMs: 300 });
    const started = performance.now();
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    peer.send('SERVER~alice added to the chat');
    const client = await pending;
    expect([client.dialect, client.prompt]).toEqual(['tilde', undefined]);
  });

  it('rejects with CLIENT_DIALECT_UNDETECTED when the first bytes are no prompt token', async () => {
    const { peer, pending } = await start({ dialect: 'auto', nick: 'alice' });
    peer.send('hello world');
    const { code, error } = await rejection(pending);
    expect(code).toBe('CLIENT_DIALECT_UNDETECTED');
    expect(text((error as ClientError).bytes)).toBe('hello world');
  });

  it('does not take `NICK\\n` for a prompt under the raw profile (it does not guess; the judge does)', async () => {
    const { peer, pending } = await start({ dialect: 'auto', nick: 'alice' });
    peer.send('NICK\n');
    const { code } = await rejection(pending);
    expect(code).toBe('CLIENT_DIALECT_UNDETECTED');
  });

  it('requires a name valid in both dialects', async () => {
    const server = await scriptedServer();
    for (const [nick, code] of [
      ['bøb', 'NICKNAME_FORBIDDEN_CHAR'],
      ['SERVER', 'NICKNAME_RESERVED'],
    ] as const) {
      const { code: got } = await rejection(
        connect({ host: '127.0.0.1', port: server.port, dialect: 'auto', nick }),
      );
      expect(got).toBe(code);
    }
  });
});

describe('before and around the connection', () => {
  it('validates the name with the codec before connecting (NICK-NICK-2, TILDE-USER-2)', async () => {
    const server = await scriptedServer();
    for (const [dialect, nick, code] of [
      ['nick', 'bad:nick', 'NICKNAME_FORBIDDEN_CHAR'],
      ['nick', 'two words', 'NICKNAME_FORBIDDEN_CHAR'],
      ['nick', '', 'NICKNAME_EMPTY'],
      ['nick', 'x'.repeat(33), 'NICKNAME_TOO_LONG'],
      ['tilde', 'a~b', 'NICKNAME_FORBIDDEN_CHAR'],
      ['tilde', 'SERVER', 'NICKNAME_RESERVED'],
    ] as const) {
      const { code: got, error } = await rejection(
        connect({ host: '127.0.0.1', port: server.port, dialect, nick }),
      );
      expect(got).toBe(code);
      expect(error).toBeInstanceOf(CodecError);
    }
    await expect(server.nextConnection({ timeoutMs: QUIET_MS })).rejects.toMatchObject({
      code: 'ACCEPT_TIMEOUT',
    });
  });

  it('rejects an invalid prompt option with PROMPT_INVALID', async () => {
    const { code } = await rejection(
      connect({ host: '127.0.0.1', port: 1, dialect: 'nick', nick: 'alice', prompt: 'two words' }),
    );
    expect(code).toBe('PROMPT_INVALID');
  });

  it('rejects with CONNECT_FAILED when nothing listens', async () => {
    const port = await freePort();
    const { code } = await rejection(connect({ host: '127.0.0.1', port, dialect: 'nick', nick: 'alice' }));
    expect(code).toBe('CONNECT_FAILED');
  });

  it('rejects with CONNECT_TIMEOUT when the connection cannot be established in time', async () => {
    // A listener that never accepts, with a backlog of 0: once one connection waits in its queue,
    // the kernel drops further SYNs, so a connect hangs in SYN retries.
    const port = await freePort();
    trackTarget(
      await spawnTarget({
        command: [
          PYTHON_COMMAND,
          '-c',
          'import socket,sys,time\ns=socket.socket();s.bind(("127.0.0.1",int(sys.argv[1])));s.listen(0);time.sleep(60)',
          String(port),
        ],
        port,
      }),
    );
    const filler = netConnect({ host: '127.0.0.1', port });
    filler.on('error', () => undefined);
    onCleanup(() => filler.destroy());
    await new Promise((resolve) => filler.once('connect', resolve));
    const started = performance.now();
    const { code } = await rejection(
      connect({ host: '127.0.0.1', port, dialect: 'nick', nick: 'alice', connectTimeoutMs: 300 }),
    );
    expect(code).toBe('CONNECT_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(WAIT_MS);
  });
});
