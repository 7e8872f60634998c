/**
 * Usernames that cannot deceive (tilde, beyond TILDE-USER-3): the server's notices are `SERVER~…`, so a
 * member whose name merely LOOKS like `SERVER` could forge them. A name is compared by its
 * skeleton: NFKC (fullwidth and other compatibility forms fold to ASCII), default-ignorable code
 * points removed (zero-width spaces and joiners, bidi controls, soft hyphen), white space removed,
 * case folded, and the few look-alike letters of the reserved word mapped to it. Names holding a
 * bidirectional control are refused outright: they reorder what a terminal shows around them.
 *
 * Why a hand-kept table rather than a confusables library: we protect one word of six ASCII
 * letters, the npm confusables packages are unmaintained snapshots of Unicode's confusables.txt,
 * and the letters that matter (S, E, R, V) have few look-alikes; this table holds those from
 * confusables.txt (Unicode 15.1) that NFKC does not already fold.
 *
 * @module
 */
import type { ErrorCode } from '../errors.js';

/** The names no member may take or imitate: the tilde server's own notices use them. */
export const RESERVED_NAMES: readonly string[] = ['SERVER'];

const BIDI_CONTROL = /\p{Bidi_Control}/u;
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{White_Space}]/gu;

/** Look-alikes of S, E, R, V (lower case, after folding) that survive NFKC, from Unicode's confusables.txt. */
const LOOK_ALIKES: ReadonlyMap<string, string> = new Map([
  ['\u{455}', 's'], // ѕ
  ['\u{a731}', 's'], // ꜱ
  ['\u{282}', 's'], // ʂ
  ['\u{abaa}', 's'], // ꮪ
  ['\u{10448}', 's'], // 𐑈
  ['\u{a4e2}', 's'], // ꓢ
  ['\u{435}', 'e'], // е
  ['\u{3b5}', 'e'], // ε
  ['\u{4bd}', 'e'], // ҽ
  ['\u{ab32}', 'e'], // ꬲ
  ['\u{a4f0}', 'e'], // ꓰ
  ['\u{2d39}', 'e'], // ⴹ
  ['\u{212e}', 'e'], // ℮
  ['\u{25b}', 'e'], // ɛ
  ['\u{433}', 'r'], // г
  ['\u{ab47}', 'r'], // ꭇ
  ['\u{ab48}', 'r'], // ꭈ
  ['\u{1d26}', 'r'], // ᴦ
  ['\u{2c85}', 'r'], // ⲅ
  ['\u{a4e3}', 'r'], // ꓣ
  ['\u{280}', 'r'], // ʀ
  ['\u{ab81}', 'r'], // ꮁ
  ['\u{1587}', 'r'], // ᖇ
  ['\u{3bd}', 'v'], // ν
  ['\u{475}', 'v'], // ѵ
  ['\u{1d20}', 'v'], // ᴠ
  ['\u{aba9}', 'v'], // ꮩ
  ['\u{a4e6}', 'v'], // ꓦ
  ['\u{2d38}', 'v'], // ⴸ
  ['\u{667}', 'v'], // ٧
  ['\u{6f7}', 'v'], // ۷
]);

/** The form two names are compared in: equal skeletons look alike. */
export function nameSkeleton(name: string): string {
  const folded = name.normalize('NFKC').replace(INVISIBLE, '').toUpperCase().toLowerCase();
  return [...folded].map((c) => LOOK_ALIKES.get(c) ?? c).join('');
}

const RESERVED_SKELETONS = new Set(RESERVED_NAMES.map(nameSkeleton));

/**
 * Why a username must be refused, or undefined if it may join: `NICKNAME_FORBIDDEN_CHAR` for a
 * bidirectional control, `NICKNAME_RESERVED` for a name that looks like a reserved one.
 */
export function nameRefusal(name: string): ErrorCode | undefined {
  if (BIDI_CONTROL.test(name)) return 'NICKNAME_FORBIDDEN_CHAR';
  if (RESERVED_SKELETONS.has(nameSkeleton(name))) return 'NICKNAME_RESERVED';
  return undefined;
}
