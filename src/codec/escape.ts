/**
 * The one escaping scheme chatkit uses wherever bytes are shown to people or stored as text:
 * vectors in `spec/vectors/`, wire transcripts, and failure reports.
 *
 * Printable ASCII (0x20–0x7E) stands for itself, except the backslash, which is doubled.
 * LF, CR and TAB are written `\n`, `\r`, `\t`; every other byte is `\xNN` (lower-case hex).
 * The form is reversible: {@link unescapeBytes} of {@link escapeBytes} returns the same bytes.
 *
 * @module
 */
import { ChatkitError } from '../errors.js';

const NAMED_ESCAPES: Readonly<Record<number, string>> = { 10: '\\n', 13: '\\r', 9: '\\t', 92: '\\\\' };

/** The escaped form of every byte value. */
const ESCAPED: readonly string[] = Array.from(
  { length: 256 },
  (_, byte) =>
    NAMED_ESCAPES[byte] ??
    (byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`),
);

/** Whether a byte stands for itself (printable ASCII other than the backslash). */
const isPlain = (byte: number): boolean => byte >= 0x20 && byte <= 0x7e && byte !== 0x5c;

/** Renders bytes in chatkit's escaped form, e.g. `alice~h\xc3\xa9\n`. */
export function escapeBytes(bytes: Uint8Array): string {
  // Runs of plain bytes are decoded natively in one piece: transcripts of floods are megabytes,
  // and building the string byte by byte made a failing flood case's report take seconds.
  const parts: string[] = [];
  let runStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (isPlain(byte)) continue;
    if (i > runStart) parts.push(latin1(bytes, runStart, i));
    parts.push(ESCAPED[byte]!);
    runStart = i + 1;
  }
  if (runStart < bytes.length) parts.push(latin1(bytes, runStart, bytes.length));
  return parts.join('');
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

/** Thrown by {@link unescapeBytes} for a malformed escape; `offset` is the index in the text. */
export class EscapeSyntaxError extends ChatkitError {
  /** Stable code, for matching without reading the message. */
  declare readonly code: 'ESCAPE_SYNTAX';
  /** Index in the escaped text where the bad escape starts. */
  readonly offset: number;
  /** Creates the error for a bad escape at `offset` in the text. */
  constructor(offset: number, detail: string) {
    super('ESCAPE_SYNTAX', `bad escape at index ${offset}: ${detail}`);
    this.name = 'EscapeSyntaxError';
    this.offset = offset;
  }
}

/**
 * Parses chatkit's escaped form back to bytes. Characters other than escapes are taken as their
 * UTF-8 encoding, so vectors may write `héllo` instead of `h\xc3\xa9llo`.
 */
export function unescapeBytes(text: string): Uint8Array {
  const out: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '\\') {
      const code = text.codePointAt(i)!;
      if (code < 0x80) out.push(code);
      else {
        const char = String.fromCodePoint(code);
        out.push(...encoder.encode(char));
        i += char.length - 1;
      }
      continue;
    }
    const next = text[i + 1];
    if (next === 'n') out.push(0x0a);
    else if (next === 'r') out.push(0x0d);
    else if (next === 't') out.push(0x09);
    else if (next === '\\') out.push(0x5c);
    else if (next === 'x') {
      const hex = text.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex))
        throw new EscapeSyntaxError(i, `\\x needs two hex digits, got "${hex}"`);
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else throw new EscapeSyntaxError(i, `unknown escape "\\${next ?? ''}"`);
    i += 1;
  }
  return Uint8Array.from(out);
}
