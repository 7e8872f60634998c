/**
 * Byte-level text helpers shared by the codecs: byte lengths in a dialect's encoding, strict
 * decoding, and UTF-8 character boundaries (a tilde receiver must never split a character).
 *
 * @module
 */

/** The two wire encodings of the legacy chat. */
export type WireEncoding = 'ascii' | 'utf-8';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Number of bytes `text` takes on the wire in `encoding`. */
export function byteLength(text: string, encoding: WireEncoding): number {
  return encoding === 'ascii' ? text.length : Buffer.byteLength(text, 'utf8');
}

/** Encodes text for the wire. ASCII text must already be checked to be 7-bit. */
export function encodeText(text: string, encoding: WireEncoding): Uint8Array {
  if (encoding === 'utf-8') return utf8Encoder.encode(text);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Index of the first byte of 0x80 or above, or -1 when every byte is 7-bit ASCII. */
export function firstNonAscii(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return i;
  return -1;
}

/**
 * Index of the first byte that makes `bytes` ill-formed UTF-8, or -1 when it is well-formed.
 * An incomplete character at the very end counts as ill-formed (callers hold such tails back first).
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    const need = sequenceLength(lead);
    if (need === 0 || i + need > bytes.length) return i;
    if (need > 1) {
      if (!secondByteFits(lead, bytes[i + 1]!)) return i;
      for (let k = 2; k < need; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    }
    i += need;
  }
  return -1;
}

/**
 * Strictly decodes bytes in `encoding`. Returns `undefined` for bytes the encoding forbids
 * (a byte >= 0x80 in ASCII, ill-formed UTF-8), so callers decide how to report it.
 */
export function decodeText(bytes: Uint8Array, encoding: WireEncoding): string | undefined {
  if (encoding === 'ascii') {
    if (firstNonAscii(bytes) !== -1) return undefined;
    return String.fromCharCode(...bytes);
  }
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Decodes for display: never fails; bytes the encoding forbids become U+FFFD. */
export function decodeLossy(bytes: Uint8Array, encoding: WireEncoding): string {
  if (encoding === 'utf-8') return new TextDecoder('utf-8').decode(bytes);
  let out = '';
  for (const byte of bytes) out += byte < 0x80 ? String.fromCharCode(byte) : '\ufffd';
  return out;
}

/** How many bytes a UTF-8 sequence has, judged by its lead byte (0 for a byte that cannot lead). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * Whether `second` may follow `lead` in well-formed UTF-8. Its range rules out overlong forms,
 * surrogates and code points above U+10FFFF (Unicode, Table 3-7).
 */
function secondByteFits(lead: number, second: number): boolean {
  const lo = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
  const hi = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
  return second >= lo && second <= hi;
}

/**
 * Length of an incomplete UTF-8 character at the end of `bytes` (0 to 3): the bytes a receiver
 * holds back until the next chunk completes the character (FRAME-4). Ill-formed tails return 0,
 * so they are reported as invalid rather than held.
 */
export function incompleteUtf8Tail(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= Math.min(3, end); back++) {
    const byte = bytes[end - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead
    const need = sequenceLength(byte);
    if (need <= back) return 0;
    // A tail that no continuation can make valid (a surrogate, overlong or out-of-range prefix
    // such as `\xed\xa0`) is not held: it is reported as invalid at once.
    if (back >= 2 && !secondByteFits(byte, bytes[end - back + 1]!)) return 0;
    return back;
  }
  return 0;
}

/**
 * The largest cut point `<= max` that does not fall inside a UTF-8 character of `bytes`
 * (for ASCII every point is a boundary). Never returns 0 when `max > 0` and `bytes` is non-empty,
 * so a caller that cuts repeatedly always makes progress even on ill-formed input.
 */
export function charBoundaryAtOrBefore(bytes: Uint8Array, max: number, encoding: WireEncoding): number {
  if (max >= bytes.length) return bytes.length;
  if (encoding === 'ascii') return max;
  let cut = max;
  for (let back = 0; back < 3 && cut > 0 && (bytes[cut]! & 0xc0) === 0x80; back++) cut--;
  return cut === 0 ? max : cut;
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
