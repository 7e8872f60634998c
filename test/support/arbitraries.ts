/**
 * fast-check arbitraries for valid messages of both dialects, built from each field's charset
 * (spec/dialects/*.yaml) with the edge cases that matter: separators inside text (`:`, `~`),
 * empty and maximal lengths, multi-byte characters.
 */
import fc from 'fast-check';
import { type AnyMessage, type DialectName, messageTable } from '../../src/index.js';

const range = (from: number, to: number, except = ''): string[] => {
  const out: string[] = [];
  for (let c = from; c <= to; c++)
    if (!except.includes(String.fromCharCode(c))) out.push(String.fromCharCode(c));
  return out;
};
const stringOf = (unit: fc.Arbitrary<string>, minLength: number, maxLength: number) =>
  fc.string({ unit, minLength, maxLength });

const printable = range(0x20, 0x7e);
const unicodeChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...printable) },
  { weight: 2, arbitrary: fc.constantFrom('~', 'é', 'ü', 'ß', '中', '🌍', '\u00a0', '\ufeff') },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 0xa0, max: 0x10ffff })
      .filter((c) => c < 0xd800 || c > 0xdfff)
      .map((c) => String.fromCodePoint(c)),
  },
);
const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Field arbitraries per dialect; every value passes the field's schema. */
export const FIELD_ARBITRARIES: Record<DialectName, Record<string, fc.Arbitrary<string>>> = {
  nick: {
    token: fc.oneof(fc.constantFrom('NICK', 'Hii'), stringOf(fc.constantFrom(...range(0x21, 0x7e)), 1, 32)),
    nick: stringOf(fc.constantFrom(...range(0x21, 0x7e, ':')), 1, 32),
    text: stringOf(fc.oneof(fc.constantFrom(...printable, '\t'), fc.constantFrom(': ', ':', ' ')), 0, 120),
    reason: stringOf(fc.constantFrom(...printable), 1, 60),
    body: stringOf(fc.constantFrom(...range(0x00, 0x7f)), 1, 200),
  },
  tilde: {
    user: stringOf(
      unicodeChar.filter((c) => !/[\x00-\x1f\x7f-\x9f~]/u.test(c)),
      1,
      12,
    ).filter((s) => utf8Bytes(s) <= 32 && s !== 'SERVER'),
    content: stringOf(fc.oneof(unicodeChar, fc.constantFrom('\n', '\t', '\r')), 1, 300).filter(
      (s) => utf8Bytes(s) <= 2015,
    ),
    text: stringOf(unicodeChar, 0, 300),
    reason: stringOf(
      unicodeChar.filter((c) => !/[\x00-\x1f\x7f]/u.test(c)),
      1,
      60,
    ),
  },
};

/** A valid message of `dialect` of the given type (any type when omitted). */
export function validMessage(dialect: DialectName, type?: string): fc.Arbitrary<AnyMessage> {
  const defs = messageTable(dialect).filter((d) => type === undefined || d.type === type);
  return fc.oneof(
    ...defs.map((def) => {
      const fields = Object.fromEntries(def.fields.map((f) => [f, FIELD_ARBITRARIES[dialect][f]!]));
      return fc.record(fields).map((values) => ({ type: def.type, ...values }) as AnyMessage);
    }),
  );
}

/** Random cut points for splitting a byte stream into chunks (possibly empty chunks, possibly one). */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}
