/**
 * The room: who is a member, under which nickname, and fan-out to them. No sockets here: a member
 * is anything that can take bytes, so the room can be tested and reasoned about on its own.
 *
 * @module
 */

/** A member as the room sees it. */
export interface RoomMember {
  /** Unique per connection. */
  readonly id: number;
  /** Nickname (NICK) or username (tilde). */
  readonly nick: string;
  /** Takes one message; must not throw and must not call back into the room synchronously. */
  deliver(bytes: Uint8Array): void;
}

/** Members by id and by nickname, in join order. */
export class Room<M extends RoomMember = RoomMember> {
  readonly #byId = new Map<number, M>();
  readonly #byNick = new Map<string, M>();

  /** How many members there are. */
  get size(): number {
    return this.#byId.size;
  }

  /** Whether a member uses this nickname (same bytes: NICK-NICK-4, TILDE-USER-3). */
  hasNick(nick: string): boolean {
    return this.#byNick.has(nick);
  }

  /** The member with this id, if any. */
  get(id: number): M | undefined {
    return this.#byId.get(id);
  }

  /** Adds a member; false (and nothing changes) when its nickname is taken. */
  add(member: M): boolean {
    if (this.#byNick.has(member.nick) || this.#byId.has(member.id)) return false;
    this.#byId.set(member.id, member);
    this.#byNick.set(member.nick, member);
    return true;
  }

  /** Removes a member; returns it, or undefined if it was not one (so a leave is announced once). */
  remove(id: number): M | undefined {
    const member = this.#byId.get(id);
    if (member === undefined) return undefined;
    this.#byId.delete(id);
    this.#byNick.delete(member.nick);
    return member;
  }

  /** Gives member `id` the nickname `nick` (CMD-NICK-1); false when it is taken or `id` is no member. */
  rename(id: number, nick: string): boolean {
    const member = this.#byId.get(id);
    if (member === undefined || (this.#byNick.has(nick) && this.#byNick.get(nick) !== member)) return false;
    this.#byNick.delete(member.nick);
    this.#byNick.set(nick, member);
    return true;
  }

  /** Gives the same bytes to every member (encoded once, shared). Returns how many got them. */
  broadcast(bytes: Uint8Array): number {
    let count = 0;
    for (const member of this.#byId.values()) {
      member.deliver(bytes);
      count++;
    }
    return count;
  }

  /** Members in join order. */
  members(): IterableIterator<M> {
    return this.#byId.values();
  }
}
