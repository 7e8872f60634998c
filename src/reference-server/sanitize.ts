/**
 * `--sanitize`: relayed content loses the bytes that drive or deceive a line-based display.
 * Relaying unchanged stays the default, because it is the legacy wire (NICK-RELAY-1); with the
 * policy on, every C0 control byte (NUL, ESC, CR, LF, …), DEL and C1 control inside a relayed message becomes
 * {@link SANITIZE_REPLACEMENT}, except one line ending at its very end (LF or CRLF), which ends the
 * message and cannot start a forged line. The length is unchanged, so every wire limit still holds.
 *
 * @module
 */

/** What a control byte is replaced with: `?`, one byte, valid in both dialects. */
export const SANITIZE_REPLACEMENT = 0x3f;

const isControl = (b: number) => b < 0x20 || b === 0x7f;

/** The bytes with every control byte but a final LF or CRLF replaced; the input itself when clean. */
export function sanitizeRelay(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end -= end > 1 && bytes[end - 2] === 0x0d ? 2 : 1;
  let out: Uint8Array | undefined;
  for (let i = 0; i < end; i++) {
    // A C1 control (U+0080..U+009F, e.g. CSI U+009B) is 0xC2 0x80..0x9F in UTF-8: both bytes go.
    const c1 = bytes[i] === 0xc2 && i + 1 < end && bytes[i + 1]! >= 0x80 && bytes[i + 1]! <= 0x9f;
    if (!c1 && !isControl(bytes[i]!)) continue;
    out ??= Uint8Array.from(bytes);
    out[i] = SANITIZE_REPLACEMENT;
    if (c1) out[++i] = SANITIZE_REPLACEMENT;
  }
  return out ?? bytes;
}
