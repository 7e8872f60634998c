/**
 * Who may take a slot: members are bounded by `maxClients`, connections still in their handshake by
 * `maxPending` in total and `maxPendingPerAddress` per peer address. Handshakes never count against
 * the members' limit, so silent connections cannot lock real newcomers out (ROBUST-HANDSHAKE-1).
 * When a handshake limit is reached the newcomer is still admitted, and a pending handshake makes
 * room:
 *
 * - past `maxPendingPerAddress`, the oldest of the newcomer's own address;
 * - past `maxPending`, the oldest of the address holding the MOST pending handshakes (the oldest
 *   overall among addresses that hold equally many).
 *
 * A real client answers the prompt at once, so it is pending alone (or nearly) from its address,
 * while whoever fills the handshake limits holds many from theirs. Evicting the oldest overall, as
 * this did before, let a burst of silent connections from other addresses push out a real newcomer
 * that was still on its way to answering (seen in the hostile soak's churn); now that takes
 * `maxPending` silent connections from as many different addresses at once. No sockets here: the
 * server acts on what this decides.
 *
 * @module
 */

/** The bounds {@link Admission} enforces. */
export interface AdmissionLimits {
  /** Most members at once. */
  readonly maxClients: number;
  /** Most connections in their handshake at once. */
  readonly maxPending: number;
  /** Most connections in their handshake from one address. */
  readonly maxPendingPerAddress: number;
}

/** What to do with a new connection: admit it, after closing `evict` (a pending handshake) if given. */
export type AdmitDecision<K> = { readonly admit: true; readonly evict: K | undefined } | { readonly admit: false };

/** Book-keeping of pending handshakes by address, in arrival order. */
export class Admission<K> {
  readonly #limits: AdmissionLimits;
  /** Every pending handshake with its address and arrival number, oldest first (a Map keeps insertion order). */
  readonly #pending = new Map<K, { readonly address: string; readonly seq: number }>();
  /** Pending handshakes by address, each set oldest first. */
  readonly #byAddress = new Map<string, Set<K>>();
  #seq = 0;

  /** Creates the book-keeping for these limits. */
  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Handshakes pending now. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Decides for a newcomer from `address`, given the number of members now. A full room refuses
   * (SERVER_FULL); full handshake limits evict a pending handshake instead (see the module's text).
   */
  decide(address: string, members: number): AdmitDecision<K> {
    if (members >= this.#limits.maxClients) return { admit: false };
    const mine = this.#byAddress.get(address);
    if (mine !== undefined && mine.size >= this.#limits.maxPendingPerAddress) {
      return { admit: true, evict: first(mine) };
    }
    if (this.#pending.size >= this.#limits.maxPending) return { admit: true, evict: this.#crowdedOldest() };
    return { admit: true, evict: undefined };
  }

  /**
   * The oldest pending handshake of the address that holds the most; ties go to the address whose
   * oldest came first. A scan of at most `maxPending` addresses, only when the limit is reached.
   */
  #crowdedOldest(): K | undefined {
    let best: { size: number; key: K; seq: number } | undefined;
    for (const keys of this.#byAddress.values()) {
      const key = first(keys)!;
      const seq = this.#pending.get(key)!.seq;
      if (best === undefined || keys.size > best.size || (keys.size === best.size && seq < best.seq)) {
        best = { size: keys.size, key, seq };
      }
    }
    return best?.key;
  }

  /** Records a handshake that started. */
  start(key: K, address: string): void {
    this.#pending.set(key, { address, seq: this.#seq++ });
    let mine = this.#byAddress.get(address);
    if (mine === undefined) this.#byAddress.set(address, (mine = new Set()));
    mine.add(key);
  }

  /** Records a handshake that ended (joined, refused, timed out or closed). Idempotent. */
  finish(key: K): void {
    const entry = this.#pending.get(key);
    if (entry === undefined) return;
    this.#pending.delete(key);
    const mine = this.#byAddress.get(entry.address);
    mine?.delete(key);
    if (mine?.size === 0) this.#byAddress.delete(entry.address);
  }
}

/** The first (oldest) element of an insertion-ordered set. */
function first<K>(set: Set<K>): K | undefined {
  return set.values().next().value;
}
