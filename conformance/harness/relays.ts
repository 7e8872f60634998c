/**
 * Tilde relays judged as a sequence (spec/PROTOCOL.md §3.7 item 9): a tilde server may read a
 * member's content in pieces of any size and relay each piece as `<user>~<piece>`, so what a member
 * sent arrives as one relay or several whose contents join to it.
 *
 * @module
 */
const encoder = new TextEncoder();

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from);
}

/** How a stream's relays from one user line up with the content that user sent. */
export interface RelayMatch {
  /** The content of each relay `<user>~<piece>` found, in order (only the bytes that match the content). */
  readonly pieces: readonly Uint8Array[];
  /** How many bytes of the content the pieces cover. */
  readonly matched: number;
  /** Stream offset just past the last matched piece. */
  readonly end: number;
}

/**
 * Finds, from `after` on, the relays `<user>~<piece>` whose pieces join to a prefix of `content`.
 * A piece ends at the next `<user>~` or where the stream stops matching the content, so bytes of
 * other people's messages between two relays are skipped (§3.7 item 8). `content` must not hold `~`.
 */
export function matchRelays(
  stream: Uint8Array,
  after: number,
  user: string,
  content: Uint8Array,
): RelayMatch {
  const prefix = encoder.encode(`${user}~`);
  const pieces: Uint8Array[] = [];
  let matched = 0;
  let pos = after;
  let end = after;
  while (matched < content.length) {
    const at = indexOf(stream, prefix, pos);
    if (at === -1) break;
    const start = at + prefix.length;
    const next = indexOf(stream, prefix, start);
    const limit = next === -1 ? stream.length : next;
    let k = 0;
    while (start + k < limit && matched + k < content.length && stream[start + k] === content[matched + k])
      k++;
    if (k > 0) {
      pieces.push(stream.subarray(start, start + k));
      matched += k;
      end = start + k;
    }
    pos = start;
  }
  return { pieces, matched, end };
}

