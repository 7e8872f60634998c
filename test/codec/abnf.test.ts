/**
 * spec/PROTOCOL.md Annex D (the ABNF grammar of every message) against every vector of spec/vectors:
 * a message row's bytes match the rule of its message type; an error row's bytes break the grammar
 * of the state it was decoded in, or one of the side conditions Annex D names (length, `SERVER`);
 * every message a stream row yields, encoded, matches its rule.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AnyMessage, encode, unescapeBytes } from '../../src/index.js';
import { NICK_MESSAGE_MAX_BYTES, NICKNAME_MAX_BYTES, TILDE_MESSAGE_MAX_BYTES } from '../../src/limits.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { loadVectors } from '../support/vectors.js';
import { type AbnfNode, matchesRule, parseAbnf, referencedRules } from './abnf.js';

const spec = readFileSync(join(PACKAGE_ROOT, 'spec/PROTOCOL.md'), 'utf8');
const annexD = spec.slice(spec.indexOf('## Annex D'));
const block = /```abnf\n([\s\S]*?)```/.exec(annexD)?.[1] ?? '';
const grammar = parseAbnf(block);
const rows = loadVectors();

/** Under the line profile a message is followed by `[ CR ] LF` (Annex D): the rules describe the message. */
function withoutLineEnd(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  if (bytes[end - 1] === 0x0a) end--;
  if (bytes[end - 1] === 0x0d) end--;
  return bytes.subarray(0, end);
}

/** The decoder state a row starts in when it names none: a fresh connection's (tilde clients start as members). */
function stateOf(v: { dialect: string; direction: string; state?: string | undefined }): string {
  return v.state ?? (v.dialect === 'tilde' && v.direction === 'toClient' ? 'session' : 'handshake');
}

const kebab = (direction: string) => (direction === 'toClient' ? 'to-client' : 'to-server');

/** A vector configured with a prompt token matches that token only (a `Hii` client does not take `NICK`). */
function overridesFor(v: { prompt?: string | undefined }): Map<string, AbnfNode> {
  if (v.prompt === undefined) return new Map();
  return new Map([['token', { kind: 'bytes', bytes: [...Buffer.from(v.prompt, 'latin1')], caseless: false }]]);
}

/** The side conditions of Annex D that ABNF cannot count; each returns true when the bytes break it. */
const SIDE_CONDITIONS: Record<string, (bytes: Uint8Array, dialect: string) => boolean> = {
  NICKNAME_TOO_LONG: (b) => withoutLineEnd(b).length > NICKNAME_MAX_BYTES,
  NICKNAME_RESERVED: (b) => Buffer.from(withoutLineEnd(b)).toString('latin1') === 'SERVER',
  MESSAGE_TOO_LONG: (b, d) => b.length > (d === 'nick' ? NICK_MESSAGE_MAX_BYTES : TILDE_MESSAGE_MAX_BYTES),
};

describe('spec Annex D: the ABNF grammar', () => {
  it('parses, defines every rule it uses, and has a rule for every message type of both dialects', () => {
    expect(grammar.size).toBeGreaterThan(30);
    const used = new Set<string>();
    for (const node of grammar.values()) referencedRules(node, used);
    expect([...used].filter((name) => !grammar.has(name))).toEqual([]);
    const types = new Set(
      rows.flatMap(({ vector: v }) => ('message' in v && 'bytes' in v ? [`${v.dialect}-${v.message.type}`] : [])),
    );
    expect([...types].filter((t) => !grammar.has(t))).toEqual([]);
  });

  it('tells a match from a near miss (the matcher itself)', () => {
    const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
    expect(matchesRule(grammar, 'tilde-added', bytes('SERVER~Refused: x added to the chat'))).toBe(true);
    expect(matchesRule(grammar, 'tilde-added', bytes('SERVER~ added to the chat'))).toBe(false);
    expect(matchesRule(grammar, 'nick-connected', bytes('connected to server!'))).toBe(false);
    expect(matchesRule(grammar, 'nick-chat', bytes('alice: a: b'))).toBe(true);
    expect(matchesRule(grammar, 'nick', bytes('x'.repeat(33)))).toBe(false);
  });

  for (const { file, vector: v } of rows) {
    if ('encodeError' in v) {
      // An encode-error row has no bytes: there is nothing on the wire for the grammar to judge.
      continue;
    }
    describe(`${file} ${v.id}`, () => {
      const framing = v.framing ?? 'chunk';
      if ('bytes' in v && 'message' in v) {
        it(`matches ${v.dialect}-${v.message.type}`, () => {
          const bytes = unescapeBytes(v.bytes);
          const body = framing === 'line' ? withoutLineEnd(bytes) : bytes;
          expect(matchesRule(grammar, `${v.dialect}-${v.message.type}`, body, overridesFor(v))).toBe(true);
        });
      } else if ('bytes' in v && 'error' in v) {
        const rule = `${v.dialect}-${kebab(v.direction)}-${stateOf(v)}`;
        it(`breaks ${rule} or a side condition (${v.error})`, () => {
          const bytes = unescapeBytes(v.bytes);
          const body = framing === 'line' ? withoutLineEnd(bytes) : bytes;
          const grammatical = matchesRule(grammar, rule, body, overridesFor(v));
          const side = SIDE_CONDITIONS[v.error]?.(bytes, v.dialect) ?? false;
          expect(grammatical && !side, `${v.error}: the grammar accepts these bytes and no side condition fails`).toBe(
            false,
          );
        });
      } else if ('chunks' in v) {
        const messages = v.events.flatMap((e) => ('message' in e ? [e.message as AnyMessage] : []));
        it(`every message it yields (${messages.length}), encoded, matches its rule`, () => {
          for (const message of messages) {
            const bytes = encode(v.dialect, message as never, { framing });
            const body = framing === 'line' ? withoutLineEnd(bytes) : bytes;
            expect(matchesRule(grammar, `${v.dialect}-${message.type}`, body), message.type).toBe(true);
          }
        });
      }
    });
  }
});
