/**
 * Finds measurement tokens in one connection's byte stream, whatever the chunk boundaries: the
 * stream is scanned incrementally as chunks arrive, and a token cut by a chunk boundary (even
 * into 1-byte pieces) is found once its last byte arrives. A pure state machine: no sockets, no
 * clock; the caller says what to do with each token.
 *
 * Cost: the search for the marker is `Uint8Array.prototype.indexOf` (native), so bytes outside
 * tokens (padding, prefixes, join announcements) cost almost nothing; each candidate costs at most
 * 15 byte reads. At most 15 bytes are carried from one chunk to the next.
 *
 * @module
 */
import { parseTokenAt, TOKEN_BYTES, TOKEN_MARK, tokenIdAt, type TokenSlot } from './token.js';

/** Receives every whole token found, in stream order. */
export type TokenHandler = (sender: number, seq: number, timeUs: number) => void;

/** An incremental token scanner for one stream. */
export class StreamScanner {
  /** The start of a token cut by the last chunk boundary: `#` and fewer than 16 bytes, no other `#`. */
  #tail: Uint8Array = new Uint8Array(0);
  readonly #slot: TokenSlot = { sender: 0, seq: 0, timeUs: 0 };
  readonly #onToken: TokenHandler;
  readonly #salt: number;
  /** Markers that did not start a whole, valid token (damaged by a split or an insertion). */
  damaged = 0;
  /** Tokens found. */
  found = 0;
  /** Sender and sequence of the last whole token ({@link tokenIdAt}), -1 before the first. */
  #lastId = -1;

  /** A scanner that calls `onToken` for each token of the run whose salt is `salt`. */
  constructor(onToken: TokenHandler, salt = 0) {
    this.#onToken = onToken;
    this.#salt = salt;
  }

  /**
   * Scans the next chunk of the stream. The chunk is not kept (the caller may reuse its memory
   * once this returns), only up to 15 bytes of it are copied.
   */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    let bytes = chunk;
    if (this.#tail.length > 0) {
      const need = TOKEN_BYTES - this.#tail.length;
      if (chunk.length < need) {
        // Still short of a whole token: scan tail + chunk as one small buffer (it may hold a `#`
        // that ends the pending candidate, and the next candidate becomes the tail).
        bytes = concat(this.#tail, chunk);
        this.#tail = new Uint8Array(0);
      } else {
        const candidate = concat(this.#tail, chunk.subarray(0, need));
        this.#tail = new Uint8Array(0);
        this.#tryAt(candidate, 0);
        // Markers inside the first `need` bytes belong to this chunk and are scanned below.
      }
    }
    this.#scan(bytes);
  }

  /** Bytes held back (the start of a token cut by the last boundary); for tests. */
  get pendingBytes(): number {
    return this.#tail.length;
  }

  #scan(bytes: Uint8Array): void {
    const end = bytes.length;
    let at = bytes.indexOf(TOKEN_MARK);
    while (at !== -1) {
      if (at + TOKEN_BYTES > end) {
        const next = bytes.indexOf(TOKEN_MARK, at + 1);
        if (next !== -1) {
          // A later marker within 16 bytes: this candidate can never be whole.
          this.damaged++;
          at = next;
          continue;
        }
        // A copy (`Buffer#slice` would be a view): the caller reuses the chunk's memory.
        this.#tail = new Uint8Array(bytes.subarray(at));
        return;
      }
      at = bytes.indexOf(TOKEN_MARK, this.#tryAt(bytes, at) ? at + TOKEN_BYTES : at + 1);
    }
  }

  #tryAt(bytes: Uint8Array, at: number): boolean {
    // A message carries its token twice: the copy of the token just found is passed over on its
    // sender and sequence digits alone (half the tokens, without the parse, check and handler).
    const id = tokenIdAt(bytes, at);
    if (id !== -1 && id === this.#lastId) return true;
    const slot = this.#slot;
    if (parseTokenAt(bytes, at, slot, this.#salt)) {
      this.#lastId = id;
      this.found++;
      this.#onToken(slot.sender, slot.seq, slot.timeUs);
      return true;
    }
    this.damaged++;
    return false;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
