/**
 * Who may take a slot: members are bounded by `maxClients`, connections still in their handshake by
 * `maxPending` in total and `maxPendingPerAddress` per peer address. Handshakes never count against
 * the members' limit, so silent connections cannot lock real newcomers out (ROBUST-HANDSHAKE-1):
 * when the handshake limits are reached, the newcomer is admitted and the OLDEST pending handshake
 * (of that address, or overall) makes room, because a real client answers the prompt at once and
 * a silent one has had its chance. No sockets here: the server acts on what this decides.
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
  /** Every pending handshake, oldest first (a Map keeps insertion order). */
  readonly #pending = new Map<K, string>();
  readonly #byAddress = new Map<string, Set<K>>();

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
   * (SERVER_FULL); full handshake limits evict the oldest pending handshake instead.
   */
  decide(address: string, members: number): AdmitDecision<K> {
    if (members >= this.#limits.maxClients) return { admit: false };
    const mine = this.#byAddress.get(address);
    if (mine !== undefined && mine.size >= this.#limits.maxPendingPerAddress) {
      return { admit: true, evict: mine.values().next().value };
    }
    if (this.#pending.size >= this.#limits.maxPending) {
      return { admit: true, evict: this.#pending.keys().next().value };
    }
    return { admit: true, evict: undefined };
  }

  /** Records a handshake that started. */
  start(key: K, address: string): void {
    this.#pending.set(key, address);
    let mine = this.#byAddress.get(address);
    if (mine === undefined) this.#byAddress.set(address, (mine = new Set()));
    mine.add(key);
  }

  /** Records a handshake that ended (joined, refused, timed out or closed). Idempotent. */
  finish(key: K): void {
    const address = this.#pending.get(key);
    if (address === undefined) return;
    this.#pending.delete(key);
    const mine = this.#byAddress.get(address);
    mine?.delete(key);
    if (mine?.size === 0) this.#byAddress.delete(address);
  }
}
