/**
 * The nicknames (usernames) and text tokens a case run uses: unique per run, and drawn from the
 * dialect's whole valid alphabet (mixed case, every allowed punctuation, in tilde non-ASCII letters),
 * so that a server that lowercases, strips or mangles names is caught by the cases that look for
 * them. Their shape derives from the case id (stable verdicts), their unique suffix from the run's
 * seed and the attempt, so a rerun with the same `--seed` reproduces the same names (the report
 * prints the seed).
 *
 * @module
 */
import { createHash, randomInt } from 'node:crypto';
import type { DialectName } from '../../src/codec/index.js';
import { NICKNAME_MAX_BYTES } from '../../src/limits.js';

/**
 * Punctuation valid in a nickname of both dialects (NICK-NICK-3: 0x21–0x7E but `:`; TILDE-USER-2:
 * no `~`), without the backslash and quotes, whose escaped forms would make reports hard to read.
 */
const PUNCTUATION = "!#$%&()*+,-./;<=>?@[]^_`{|}";
/** Letters outside ASCII for tilde usernames (two UTF-8 bytes each). */
const NON_ASCII_LETTERS = 'éßøñçüÅŽ';
/** Bytes of a name's base kept (the rest is the unique suffix and decoration). */
const BASE_MAX_CHARS = 16;
/** Characters of a plain name's base kept: with `_`, six hex digits and a counter, well under 32 bytes. */
const PLAIN_BASE_MAX_CHARS = 20;

/** A fresh seed for a run that was given none. */
export function newRunSeed(): number {
  return randomInt(0, 2 ** 31 - 1);
}

/** A small deterministic PRNG (mulberry32) seeded from a string. */
function prngOf(key: string): () => number {
  let state = createHash('sha256').update(key).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Names for one case run. */
export class NameSource {
  readonly #shape: () => number;
  readonly #dialect: DialectName;
  readonly #suffix: string;
  readonly #plain: boolean;
  #counter = 0;

  /**
   * Names for the run `seed`, case `caseId`, attempt `attempt`, in `dialect`. Their shape (case
   * pattern, punctuation, letters) depends on the case alone, so a case meets the same characters
   * in every run and its verdict on a target never flips with the seed; the unique suffix comes
   * from the seed and the attempt.
   */
  constructor(options: {
    seed: number;
    caseId: string;
    attempt?: number;
    dialect: DialectName;
    /**
     * `plain`: nicknames `<base>_<suffix><n>`, valid in both dialects and typed as is by a client
     * program (client cases judge what a person types, not a server's handling of odd names).
     */
    style?: 'whole-alphabet' | 'plain';
  }) {
    this.#shape = prngOf(`shape:${options.caseId}`);
    this.#dialect = options.dialect;
    this.#plain = options.style === 'plain';
    this.#suffix = Math.floor(prngOf(`${options.seed}:${options.caseId}:${options.attempt ?? 1}`)() * 0xffffff)
      .toString(16)
      .padStart(6, '0');
  }

  #pick(from: string): string {
    const chars = [...from];
    return chars[Math.floor(this.#shape() * chars.length)]!;
  }

  /**
   * A nickname unique to this case run, valid in its dialect: the base in mixed case, a punctuation
   * mark, the run's suffix and a counter (tilde: a non-ASCII letter too); at most 32 bytes. In
   * the `plain` style: `<base>_<suffix><n>`.
   */
  nick(base: string): string {
    if (this.#plain) return `${base.slice(0, PLAIN_BASE_MAX_CHARS)}_${this.#suffix}${(this.#counter++).toString(36)}`;
    const mixed = [...base.slice(0, BASE_MAX_CHARS)]
      .map((ch, i) => (i === 0 || this.#shape() < 0.5 ? ch.toUpperCase() : ch.toLowerCase()))
      .join('');
    const letter = this.#dialect === 'tilde' ? this.#pick(NON_ASCII_LETTERS) : '';
    const name = `${mixed}${letter}${this.#pick(PUNCTUATION)}${this.#suffix}${(this.#counter++).toString(36)}`;
    // Never over the limit, whatever the base: cut the base, never the unique tail.
    const over = Buffer.byteLength(name) - NICKNAME_MAX_BYTES;
    return over > 0 ? name.slice(over) : name;
  }

  /** A text token unique to this case run, for messages the case looks for. */
  token(base = 'msg'): string {
    return `${base}-${this.#suffix}${(this.#counter++).toString(36)}`;
  }
}
