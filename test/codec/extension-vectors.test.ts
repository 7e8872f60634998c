/**
 * The extension profiles' vectors (spec/vectors/extensions/*.json, spec §14): every row decodes to
 * its message (or to none: then it stays an ordinary NICK message), every round-trip row encodes back
 * to its bytes, every message of every extension table has a vector, and a legacy NICK decoder takes
 * every server-to-client extension message as an ordinary message (EXT-2).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { matchesRule, parseAbnf } from './abnf.js';
import {
  createDecoder,
  decodeExtension,
  EXTENSIONS,
  type ExtensionMessageOf,
  type ExtensionName,
  encodeExtension,
  unescapeBytes,
} from '../../src/index.js';

const DIR = join(import.meta.dirname, '../../spec/vectors/extensions');
const row = z.strictObject({
  id: z.string().regex(/^[a-z]+(\.[a-z0-9-]+)+$/),
  requirement: z.string().regex(/^[A-Z]+(-[A-Z0-9]+)+$/),
  direction: z.enum(['toClient', 'toServer']),
  state: z.enum(['handshake', 'session']).optional(),
  bytes: z.string(),
  message: z.looseObject({ type: z.string() }).nullable(),
  roundtrip: z.boolean().optional(),
  note: z.string().optional(),
});
const file = z.strictObject({
  description: z.string(),
  format: z.string(),
  extension: z.enum(['admin', 'commands', 'rooms']),
  vectors: z.array(row).min(5),
});

const spec = readFileSync(join(PACKAGE_ROOT, 'spec/PROTOCOL.md'), 'utf8');
const grammar = parseAbnf(/```abnf\n([\s\S]*?)```/.exec(spec.slice(spec.indexOf('## Annex D')))?.[1] ?? '');
const kebab = (direction: string) => (direction === 'toClient' ? 'to-client' : 'to-server');

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => file.parse(JSON.parse(readFileSync(join(DIR, f), 'utf8'))));

describe('spec/vectors/extensions', () => {
  it('has one file per extension profile, with unique ids', () => {
    expect(files.map((f) => f.extension).sort()).toEqual(Object.keys(EXTENSIONS).sort());
    const ids = files.flatMap((f) => f.vectors.map((v) => v.id));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each(Object.keys(EXTENSIONS) as ExtensionName[])('covers every message of the %s table', (ext) => {
    const covered = new Set(
      files.filter((f) => f.extension === ext).flatMap((f) => f.vectors.map((v) => v.message?.type)),
    );
    const missing = EXTENSIONS[ext].messages.map((m) => m.type).filter((t) => !covered.has(t));
    expect(missing).toEqual([]);
  });

  for (const f of files) {
    for (const v of f.vectors) {
      describe(`${f.extension} ${v.id} (${v.requirement})`, () => {
        const bytes = unescapeBytes(v.bytes);
        it(v.message === null ? 'is no message of the profile' : 'decodes to the stated message', () => {
          const decoded = decodeExtension(f.extension, v.direction, bytes, v.state ?? 'session');
          expect(decoded ?? null).toEqual(v.message);
        });
        const stateRule = `${f.extension}-${kebab(v.direction)}-${v.state ?? 'session'}`;
        it(
          v.message === null
            ? `matches no rule of ${stateRule} (Annex D)`
            : `matches ${f.extension}-${v.message.type} (Annex D)`,
          () => {
            if (v.message === null) expect(matchesRule(grammar, stateRule, bytes)).toBe(false);
            else expect(matchesRule(grammar, `${f.extension}-${v.message.type}`, bytes)).toBe(true);
          },
        );
        if (v.message !== null && v.roundtrip) {
          it('encodes back to the same bytes', () => {
            const message = v.message as ExtensionMessageOf<typeof f.extension>;
            expect(encodeExtension(f.extension, message)).toEqual(bytes);
          });
        }
        if (v.message !== null && v.direction === 'toClient' && (v.state ?? 'session') === 'session') {
          it('is an ordinary message to a legacy NICK client (EXT-2)', () => {
            const events = createDecoder({ dialect: 'nick', direction: 'toClient', initialState: 'session' }).push(bytes);
            expect(events.map((e) => e.kind)).toEqual(['message']);
          });
        }
      });
    }
  }

  it('refuses to encode a message whose field breaks its check, with the check code', () => {
    expect(() => encodeExtension('admin', { type: 'kick', nick: 'a b' })).toThrow(
      expect.objectContaining({ code: 'NICKNAME_FORBIDDEN_CHAR' }),
    );
    expect(() => encodeExtension('rooms', { type: 'join', room: 'a#b' })).toThrow(
      expect.objectContaining({ code: 'TEXT_FORBIDDEN_CHAR' }),
    );
  });
});
