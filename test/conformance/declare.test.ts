/**
 * What a target declares (spec §9.1.1, conformance/declare.ts): the spec's own example parses, defaults
 * are filled in, every invalid declaration is DECLARATION_INVALID with its issues as data, and flags
 * given on the command line win over the file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import {
  DeclarationError,
  declarationEffect,
  declaredFlags,
  JUDGED_HANDSHAKE_TIMEOUT_MAX_MS,
  parseDeclaration,
  readDeclaration,
  TARGET_DECLARATION_SCHEMA,
} from '../../conformance/declare.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('declare');

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const spec = readFileSync(join(PACKAGE_ROOT, 'spec/PROTOCOL.md'), 'utf8');
const section = spec.slice(spec.indexOf('### 9.1.1'), spec.indexOf('### 9.2'));
const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';

/** The code a declaration fails with, and its issue paths. */
function rejection(document: unknown): { code: string; paths: string[] } {
  try {
    parseDeclaration(document);
  } catch (error) {
    if (!(error instanceof DeclarationError)) throw error;
    return { code: error.code, paths: error.issues.map((i) => i.path.join('.')) };
  }
  return { code: 'accepted', paths: [] };
}

describe('target declaration (spec §9.1.1)', () => {
  it("reads the spec's own YAML example: a Hii server with strict prefix", () => {
    expect(example).not.toBe('');
    expect(readDeclaration(file('example.yaml', example))).toEqual({
      declaration: 1,
      dialect: 'nick',
      side: 'server',
      prompt: 'Hii',
      framing: 'chunk',
      optional: ['NICK-RELAY-3'],
      extensions: [],
    });
  });

  it('reads JSON too, filling in the defaults', () => {
    const path = file('tilde.json', JSON.stringify({ declaration: 1, dialect: 'tilde', side: 'client' }));
    expect(readDeclaration(path)).toMatchObject({ dialect: 'tilde', side: 'client', framing: 'chunk', optional: [] });
  });

  it.each([
    ['an unknown key (a misspelt option)', { declaration: 1, dialect: 'nick', framming: 'line' }, ''],
    ['an unknown format version', { declaration: 2, dialect: 'nick' }, 'declaration'],
    ['no dialect', { declaration: 1 }, 'dialect'],
    ['a prompt for the tilde dialect', { declaration: 1, dialect: 'tilde', prompt: 'NICK' }, 'prompt'],
    ['a prompt with a space', { declaration: 1, dialect: 'nick', prompt: 'N K' }, 'prompt'],
    ['a MUST declared as optional', { declaration: 1, dialect: 'nick', optional: ['NICK-RELAY-1'] }, 'optional.0'],
    ['an unknown requirement', { declaration: 1, dialect: 'nick', optional: ['NICK-RELAY-99'] }, 'optional.0'],
    ['a handshake timeout below the minimum', { declaration: 1, dialect: 'nick', handshakeTimeoutMs: 500 }, 'handshakeTimeoutMs'],
  ])('refuses %s with DECLARATION_INVALID', (_what, document, path) => {
    expect(rejection(document)).toEqual({ code: 'DECLARATION_INVALID', paths: [path] });
  });

  it('says so when the file is missing or not JSON/YAML', () => {
    expect(() => readDeclaration(join(dir, 'absent.json'))).toThrow(DeclarationError);
    expect(() => readDeclaration(file('bad.yaml', 'dialect: [nick'))).toThrow(/not JSON or YAML/);
  });

  it('fills only the flags left at their defaults; an explicit flag wins; a contradiction is an error', () => {
    const declared = TARGET_DECLARATION_SCHEMA.parse({ declaration: 1, dialect: 'nick', prompt: 'Hii', framing: 'line' });
    const defaults = { dialect: 'auto', prompt: undefined, framing: 'chunk' } as const;
    expect(declaredFlags(defaults, undefined)).toEqual(defaults);
    expect(declaredFlags(defaults, declared)).toEqual({ dialect: 'nick', prompt: 'Hii', framing: 'line' });
    expect(declaredFlags({ dialect: 'nick', prompt: 'NICK', framing: 'chunk' }, declared)).toEqual({
      dialect: 'nick',
      prompt: 'NICK',
      framing: 'line',
    });
    expect(() => declaredFlags({ ...defaults, dialect: 'tilde' }, declared)).toThrow(/contradicts/);
  });

  describe('the fields beyond the flags (declarationEffect)', () => {
    const nick = (extra: object) => TARGET_DECLARATION_SCHEMA.parse({ declaration: 1, dialect: 'nick', ...extra });

    it('changes nothing without a declaration, or for a plain server declaration', () => {
      expect(declarationEffect(undefined, { side: 'client' }, ALL_CASES)).toEqual({ exclude: [], notes: [] });
      expect(declarationEffect(nick({}), { side: 'server' }, ALL_CASES)).toEqual({ exclude: [], notes: [] });
    });

    it('refuses a side that contradicts how the target is given', () => {
      expect(() => declarationEffect(nick({ side: 'client' }), { side: 'server' }, ALL_CASES)).toThrow(DeclarationError);
      expect(() => declarationEffect(nick({}), { side: 'client' }, ALL_CASES)).toThrow(/side: server/);
      expect(declarationEffect(nick({ side: 'client' }), { side: 'client' }, ALL_CASES).notes).toEqual([]);
    });

    it('notes an optional requirement no case judges, and none that a case judges', () => {
      const effect = declarationEffect(nick({ optional: ['NICK-RELAY-3'] }), { side: 'server' }, ALL_CASES);
      expect(effect.notes).toEqual([expect.stringMatching(/^optional NICK-RELAY-3 .* not judged$/)]);
      // Once a case cites it, the note goes: the declared behaviour is then judged by that case.
      const judging = { ...ALL_CASES[0]!, dialect: 'nick', requirements: ['NICK-RELAY-3'] } as (typeof ALL_CASES)[number];
      expect(declarationEffect(nick({ optional: ['NICK-RELAY-3'] }), { side: 'server' }, [judging]).notes).toEqual([]);
    });

    it('leaves out the handshake-timeout cases only for a timeout longer than the suite waits', () => {
      const at = declarationEffect(nick({ handshakeTimeoutMs: JUDGED_HANDSHAKE_TIMEOUT_MAX_MS }), { side: 'server' }, ALL_CASES);
      expect(at).toEqual({ exclude: [], notes: [] });
      const past = declarationEffect(
        nick({ handshakeTimeoutMs: JUDGED_HANDSHAKE_TIMEOUT_MAX_MS + 1 }),
        { side: 'server' },
        ALL_CASES,
      );
      expect(past.exclude).toEqual(['nick.robust.handshake-timeout']);
      expect(past.notes).toHaveLength(1);
      const tilde = TARGET_DECLARATION_SCHEMA.parse({ declaration: 1, dialect: 'tilde', handshakeTimeoutMs: 60_000 });
      expect(declarationEffect(tilde, { side: 'server' }, ALL_CASES).exclude).toEqual(['tilde.handshake.timeout']);
    });
  });
});
