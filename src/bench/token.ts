/**
 * The measurement token that `chatkit bench` puts in every message it sends: who sent it, its
 * sequence number and when it was written, in 16 printable bytes that every dialect relays as
 * they are (NICK chat text, tilde content, a raw line).
 *
 * Layout (fixed width, so a parse is a bounded number of byte reads, no search for separators):
 *
 * ```
 * #  SSS  QQQQ  TTTTTT  CC
 * |  |    |     |       check: 12 bits of a hash of S, Q and T
 * |  |    |     send time, microseconds since the run's epoch (64^6 us = 19 h)
 * |  |    sequence number of the message for its sender (64^4 = 16.7 M)
 * |  sender index (64^3 = 262,144 senders)
 * marker (0x23): never one of the 64 digits below, nor of the padding
 * ```
 *
 * Each digit is one byte of the 64-character alphabet 0x30 (`0`) to 0x6F (`o`): printable ASCII,
 * no space, no `~` (the tilde separator) and no `#`. A relay prefix that a server inserts into the
 * middle of a token (tilde's `user~`, ncat's `<user5> `, another sender's chunk relayed between
 * the two halves of a split one) therefore breaks the token's shape or its check, and the token
 * is discarded as damaged instead of being misread. Every message carries its token twice, so a
 * single split or insertion leaves one copy whole (see {@link buildMessage}).
 *
 * @module
 */

/** The byte that starts a token (`#`). */
export const TOKEN_MARK = 0x23;
/** Bytes of one token. */
export const TOKEN_BYTES = 16;
/** Smallest digit byte (`0`); digits are `DIGIT_BASE + value`, value 0..63. */
const DIGIT_BASE = 0x30;
/** Padding byte between and after tokens (`-`): outside the alphabet, so tokens are found exactly. */
export const PAD_BYTE = 0x2d;
/** Largest sender index a token can carry. */
export const MAX_SENDERS = 64 ** 3;
/** Largest sequence number a token can carry. */
export const MAX_SEQUENCE = 64 ** 4 - 1;
/** Largest send time (microseconds since the epoch) a token can carry. */
export const MAX_TIME_US = 64 ** 6 - 1;

/** What a token says. */
export interface Token {
  /** Index of the sending client among the senders (0-based). */
  readonly sender: number;
  /** Sequence number of the message for its sender (0-based). */
  readonly seq: number;
  /** Send time in microseconds since the run's epoch. */
  readonly timeUs: number;
}

/**
 * 12-bit check of a token's fields: a damaged token whose digits happen to look valid fails it.
 * `salt` (a run's random 12 bits) also makes tokens of another run on the same server fail it.
 */
export function tokenCheck(sender: number, seq: number, timeUs: number, salt = 0): number {
  const lo = timeUs % 0x1000000;
  const hi = Math.floor(timeUs / 0x1000000);
  let h = Math.imul(sender + 1, 0x9e3779b1) ^ Math.imul(seq + 7, 0x85ebca6b) ^ Math.imul(lo, 0xc2b2ae35) ^ hi;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h ^ salt) & 0xfff;
}

function putDigits(target: Uint8Array, at: number, value: number, width: number): void {
  let v = value;
  for (let i = width - 1; i >= 0; i--) {
    target[at + i] = DIGIT_BASE + (v % 64);
    v = Math.floor(v / 64);
  }
}

/**
 * Writes a token at `at` in `target` (16 bytes).
 *
 * @throws RangeError when a field is out of range.
 */
export function writeToken(target: Uint8Array, at: number, token: Token, salt = 0): void {
  const { sender, seq, timeUs } = token;
  if (!Number.isInteger(sender) || sender < 0 || sender >= MAX_SENDERS) throw new RangeError('sender');
  if (!Number.isInteger(seq) || seq < 0 || seq > MAX_SEQUENCE) throw new RangeError('seq');
  if (!Number.isInteger(timeUs) || timeUs < 0 || timeUs > MAX_TIME_US) throw new RangeError('timeUs');
  target[at] = TOKEN_MARK;
  putDigits(target, at + 1, sender, 3);
  putDigits(target, at + 4, seq, 4);
  putDigits(target, at + 8, timeUs, 6);
  putDigits(target, at + 14, tokenCheck(sender, seq, timeUs, salt), 2);
}

/** The token as a string (tests, debugging). */
export function formatToken(token: Token, salt = 0): string {
  const bytes = new Uint8Array(TOKEN_BYTES);
  writeToken(bytes, 0, token, salt);
  return Buffer.from(bytes).toString('latin1');
}

/** Reusable result of {@link parseTokenAt}, so the hot path allocates nothing. */
export interface TokenSlot {
  sender: number;
  seq: number;
  timeUs: number;
}

/**
 * The sender and sequence digits of the token at `at` as one number (sender × 2^24 + seq), or -1
 * when a digit is out of range. Not checked: equal ids say two tokens name the same message, not
 * that either is whole.
 */
export function tokenIdAt(bytes: Uint8Array, at: number): number {
  let id = 0;
  for (let i = 1; i < 8; i++) {
    const d = bytes[at + i]! - DIGIT_BASE;
    if (d >>> 0 > 63) return -1;
    id = id * 64 + d;
  }
  return id;
}

/**
 * Parses the 16 bytes at `at` (which the caller checked are there and start with `#`) into `out`.
 * Returns false, leaving `out` unspecified, when a byte is outside the alphabet or the check fails.
 */
export function parseTokenAt(bytes: Uint8Array, at: number, out: TokenSlot, salt = 0): boolean {
  let sender = 0;
  for (let i = 1; i < 4; i++) {
    const d = bytes[at + i]! - DIGIT_BASE;
    if (d >>> 0 > 63) return false;
    sender = sender * 64 + d;
  }
  let seq = 0;
  for (let i = 4; i < 8; i++) {
    const d = bytes[at + i]! - DIGIT_BASE;
    if (d >>> 0 > 63) return false;
    seq = seq * 64 + d;
  }
  let timeUs = 0;
  for (let i = 8; i < 14; i++) {
    const d = bytes[at + i]! - DIGIT_BASE;
    if (d >>> 0 > 63) return false;
    timeUs = timeUs * 64 + d;
  }
  const c0 = bytes[at + 14]! - DIGIT_BASE;
  const c1 = bytes[at + 15]! - DIGIT_BASE;
  if (c0 >>> 0 > 63 || c1 >>> 0 > 63) return false;
  if (c0 * 64 + c1 !== tokenCheck(sender, seq, timeUs, salt)) return false;
  out.sender = sender;
  out.seq = seq;
  out.timeUs = timeUs;
  return true;
}

/** Where the tokens go in a message of a given layout. */
export interface MessageLayout {
  /** Bytes before the first token (e.g. NICK's `<nick>: `). */
  readonly prefix: Uint8Array;
  /** Bytes after the padding (e.g. `\n` for line-based servers). */
  readonly suffix: Uint8Array;
  /** Total bytes of one message. */
  readonly size: number;
}

/** Offsets of the token copies in a message of this layout (one copy when two do not fit). */
export function tokenOffsets(layout: MessageLayout): number[] {
  const room = layout.size - layout.prefix.length - layout.suffix.length;
  if (room < TOKEN_BYTES) {
    throw new RangeError(
      `a message of ${layout.size} bytes has no room for a ${TOKEN_BYTES}-byte token after ${layout.prefix.length} bytes of prefix`,
    );
  }
  const first = layout.prefix.length;
  // The second copy ends the padded text, as far from the first as the message allows: a split
  // anywhere in between leaves one copy whole.
  return room >= 2 * TOKEN_BYTES ? [first, layout.size - layout.suffix.length - TOKEN_BYTES] : [first];
}

/** A message template: prefix, padding and suffix filled in, tokens left to {@link stampMessage}. */
export function messageTemplate(layout: MessageLayout): Uint8Array {
  tokenOffsets(layout); // validates the size
  const bytes = new Uint8Array(layout.size).fill(PAD_BYTE);
  bytes.set(layout.prefix, 0);
  bytes.set(layout.suffix, layout.size - layout.suffix.length);
  return bytes;
}

/**
 * A fresh message: a copy of `template` with the token written at every offset. A new buffer
 * each time, because a socket keeps a reference to what it was given until it is written.
 */
export function stampMessage(
  template: Uint8Array,
  offsets: readonly number[],
  token: Token,
  salt = 0,
): Buffer {
  const bytes = Buffer.allocUnsafe(template.length);
  bytes.set(template);
  for (const at of offsets) writeToken(bytes, at, token, salt);
  return bytes;
}

/** Convenience for tests and one-off callers: the bytes of one message. */
export function buildMessage(layout: MessageLayout, token: Token, salt = 0): Buffer {
  return stampMessage(messageTemplate(layout), tokenOffsets(layout), token, salt);
}
