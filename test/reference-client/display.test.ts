/**
 * What a person sees: formatForDisplay and escapeForTerminal, without sockets. Events are built by
 * decoding real wire bytes, so the display is tested on what the client would really report.
 */
import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/codec/decoder.js';
import type { DialectName } from '../../src/codec/dialect.js';
import { unescapeBytes } from '../../src/codec/escape.js';
import {
  type ClientEvent,
  EventOverflowError,
  escapeForTerminal,
  formatForDisplay,
} from '../../src/reference-client/client.js';

/** The events a client in session would report for one chunk (escaped form, spec/README.md). */
function eventsFor(dialect: DialectName, escaped: string): ClientEvent[] {
  const decoder = createDecoder({
    dialect,
    direction: 'toClient',
    ...(dialect === 'nick' ? { initialState: 'session' as const } : {}),
  });
  return decoder.push(unescapeBytes(escaped)).map((e): ClientEvent => {
    if (e.kind === 'issue') return { kind: 'issue', dialect, error: e.error, bytes: e.error.bytes };
    return dialect === 'nick'
      ? { kind: 'message', dialect: 'nick', message: e.message as never, bytes: e.bytes }
      : { kind: 'message', dialect: 'tilde', message: e.message as never, bytes: e.bytes };
  });
}

const plain = (dialect: DialectName, escaped: string) =>
  eventsFor(dialect, escaped).map((e) => formatForDisplay(e, { color: false }));

describe('NICK display (as the legacy client prints it)', () => {
  it.each([
    ['alice: hi', 'alice: hi'],
    ['bob joined!', 'bob joined!'],
    ['bob left!', 'bob left!'],
    ['Connected to server!', 'Connected to server!'],
    ['bob: a:b ~ c\\tok', 'bob: a:b ~ c\tok'],
    ['carol: hi\\n', 'carol: hi'], // an nc user's Enter is not shown
    ['hi\\r\\n', 'hi'],
    ['a\\nb', 'a\\nb'], // an LF inside a line is shown escaped, never obeyed
  ])('shows %s as %s', (wire, shown) => {
    expect(plain('nick', wire)).toEqual([shown]);
  });

  it('never shows the prompt token (CLIENT-PROMPT-1)', () => {
    const decoder = createDecoder({ dialect: 'nick', direction: 'toClient', prompt: 'Hii' });
    const [event] = decoder.push(unescapeBytes('Hii'));
    if (event?.kind !== 'message') throw new Error('the prompt did not decode');
    const clientEvent: ClientEvent = {
      kind: 'message',
      dialect: 'nick',
      message: event.message,
      bytes: event.bytes,
    };
    expect(event.message).toEqual({ type: 'prompt', token: 'Hii' });
    expect(formatForDisplay(clientEvent, { color: false })).toBeUndefined();
    expect(formatForDisplay(clientEvent, { color: true })).toBeUndefined();
  });

  it('shows a non-ASCII chunk with U+FFFD and a marker, as an issue (CLIENT-BYTES-1)', () => {
    expect(plain('nick', 'alice: caf\\xc3\\xa9')).toEqual(['[!] alice: caf\ufffd\ufffd']);
  });
});

describe('tilde display (TILDE-DISPLAY-1)', () => {
  it.each([
    ['alice~hi', '[alice] hi'],
    ['alice~a~b', '[alice] a~b'],
    ['alice~hibob~yo', '[alice] hibob~yo'],
    ['SERVER~bøb added to the chat', '[SERVER] bøb added to the chat'],
    ['SERVER~bob left the chat', '[SERVER] bob left the chat'],
    ['SERVER~Refused: username in use', '[SERVER] Refused: username in use'],
    ['SERVER~maintenance at noon', '[SERVER] maintenance at noon'],
  ])('shows %s as %s, split at the first ~', (wire, shown) => {
    expect(plain('tilde', wire)).toEqual([shown]);
  });

  it('shows a chunk without `~` as it is, marked', () => {
    expect(plain('tilde', 'hello')).toEqual(['[!] hello']);
  });

  it('still splits an issue frame at its first `~` (an empty user, invalid UTF-8)', () => {
    expect(plain('tilde', '~hi')).toEqual(['[!] [] hi']);
    expect(plain('tilde', 'bob~caf\\xff')).toEqual(['[!] [bob] caf\ufffd']);
  });
});

describe('terminal safety', () => {
  it('escapes every control character but TAB, so a peer cannot drive the terminal', () => {
    expect(plain('nick', 'bob: \\x1b[2J\\x07x')).toEqual(['bob: \\x1b[2J\\x07x']);
    expect(plain('tilde', 'bob~a\\r\\nb\\x7f')).toEqual(['[bob] a\\r\\nb\\x7f']);
    expect(escapeForTerminal('a\tb')).toBe('a\tb');
  });

  it('escapes C1 controls, line separators and bidirectional overrides', () => {
    expect(escapeForTerminal('x\u0085y\u2028z\u202eevil')).toBe('x\\u{85}y\\u{2028}z\\u{202e}evil');
  });

  it('keeps received escapes inert also when colours are on', () => {
    const [line] = eventsFor('tilde', 'm\\x1b[31mallory~hi').map((e) => formatForDisplay(e, { color: true }));
    expect(line).toContain('m\\x1b[31mallory');
    expect(line).not.toContain('\x1b[31m');
  });
});

describe('colours', () => {
  it('uses ANSI sequences only when asked to', () => {
    for (const wire of ['alice: hi', 'bob joined!']) {
      const [event] = eventsFor('nick', wire);
      expect(formatForDisplay(event!, { color: false })).not.toContain('\x1b');
      expect(formatForDisplay(event!, { color: true })).toContain('\x1b[');
    }
    const [issue] = eventsFor('tilde', 'hello');
    expect(formatForDisplay(issue!, { color: true })).toBe('\x1b[2m[!]\x1b[0m hello');
  });
});

describe('other events', () => {
  it('reports the end of the connection (CLIENT-EOF-1), and nothing for a close the user asked for', () => {
    expect(formatForDisplay({ kind: 'closed', reason: 'eof' }, { color: false })).toBe(
      'disconnected by server',
    );
    expect(formatForDisplay({ kind: 'closed', reason: 'reset' }, { color: false })).toBe(
      'disconnected by server (connection reset)',
    );
    expect(formatForDisplay({ kind: 'closed', reason: 'local' }, { color: false })).toBeUndefined();
    const error = Object.assign(new Error('boom'), { code: 'ETIMEDOUT' });
    expect(formatForDisplay({ kind: 'closed', reason: 'error', error }, { color: false })).toBe(
      'disconnected (ETIMEDOUT)',
    );
  });

  it('counts dropped events', () => {
    const event: ClientEvent = {
      kind: 'issue',
      dialect: 'nick',
      error: new EventOverflowError(3, 120),
      bytes: new Uint8Array(0),
    };
    expect(formatForDisplay(event, { color: false })).toBe(
      '[!] 3 events (120 bytes) were dropped because nobody read them in time',
    );
  });
});
