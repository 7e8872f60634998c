import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EscapeSyntaxError, escapeBytes, unescapeBytes } from '../../src/index.js';

describe('escapeBytes / unescapeBytes', () => {
  it('shows printable ASCII as is and everything else as an escape', () => {
    expect(escapeBytes(Uint8Array.from([0x61, 0x7e, 0x0a, 0x0d, 0x09, 0x5c, 0x00, 0xc3, 0xa9]))).toBe(
      'a~\\n\\r\\t\\\\\\x00\\xc3\\xa9',
    );
  });

  it('reads non-ASCII characters as their UTF-8 bytes', () => {
    expect(unescapeBytes('hé🌍')).toEqual(new TextEncoder().encode('hé🌍'));
  });

  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        expect(unescapeBytes(escapeBytes(bytes))).toEqual(bytes);
      }),
    );
  });

  it('refuses a malformed escape with a code and the index', () => {
    expect(() => unescapeBytes('ab\\q')).toThrow(
      expect.objectContaining({ code: 'ESCAPE_SYNTAX', offset: 2 }),
    );
    expect(() => unescapeBytes('\\x4')).toThrow(EscapeSyntaxError);
  });
});
