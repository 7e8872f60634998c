/**
 * A model of one chat room as its connections see it: which connections are open, which are members
 * under which nickname (in join order), and the exact bytes each connection must have received so far.
 *
 * Pure data, no sockets: a property test runs it beside the real server (`fc.asyncModelRun`) and compares
 * every connection's reassembled stream with {@link RoomModel.expected} after each step. Streams, never
 * chunks: TCP may merge or split writes (FRAME-6).
 *
 * The wire templates are written out here from spec/PROTOCOL.md on purpose, rather than taken from
 * `src/codec/encode.ts`: the model is an oracle independent of the code it judges.
 */
import type { DialectName } from '../../src/codec/index.js';

const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
const concat = (parts: readonly Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));

/** What a server of one dialect puts on the wire, per the spec's templates (§4.2, §5.2). */
export interface WireFormat {
  /** Sent first on every connection: the NICK prompt (NICK-PROMPT-1); empty for tilde. */
  readonly greeting: Uint8Array;
  /** To every member, the newcomer included (NICK-JOIN-1, TILDE-JOIN-1). */
  joined(nick: string): Uint8Array;
  /** To the newcomer after its own `joined` (NICK-JOIN-2); empty for tilde. */
  readonly welcome: Uint8Array;
  /** To every remaining member (NICK-LEAVE-1, TILDE-LEAVE-2). */
  left(nick: string): Uint8Array;
  /** How a refusal starts; the reason after it is free text (NICK-NICK-3, TILDE-USER-3). */
  readonly refusedPrefix: Uint8Array;
  /** What every member receives when `nick` sends `payload` and the server reads it as one chunk. */
  relay(nick: string, payload: Uint8Array): Uint8Array;
  /** The bytes a chat client of this dialect writes for `text` (NICK-CHAT-1, TILDE-MSG-1). */
  chat(nick: string, text: string): Uint8Array;
  /** Told to every member by a graceful shutdown. */
  readonly shutdown: Uint8Array;
}

/** The wire format of `dialect`; `prompt` is the NICK prompt token (`NICK`, or `Hii` for seed 003). */
export function wireFormat(dialect: DialectName, prompt = 'NICK'): WireFormat {
  if (dialect === 'nick') {
    return {
      greeting: utf8(prompt),
      joined: (nick) => utf8(`${nick} joined!`),
      welcome: utf8('Connected to server!'),
      left: (nick) => utf8(`${nick} left!`),
      refusedPrefix: utf8('Refused: '),
      // NICK-RELAY-1: the chunk goes to every member byte for byte.
      relay: (_nick, payload) => payload,
      chat: (nick, text) => utf8(`${nick}: ${text}`),
      shutdown: utf8('Server shutting down!'),
    };
  }
  return {
    greeting: new Uint8Array(0),
    joined: (user) => utf8(`SERVER~${user} added to the chat`),
    welcome: new Uint8Array(0),
    left: (user) => utf8(`SERVER~${user} left the chat`),
    refusedPrefix: utf8('SERVER~Refused: '),
    // TILDE-RELAY-1: `<user>~<chunk>` in one write.
    relay: (user, payload) => concat([utf8(`${user}~`), payload]),
    chat: (_user, text) => utf8(text),
    shutdown: utf8('SERVER~Server shutting down'),
  };
}

/** Where a connection is in its life, as the server should see it (§4.1, §5.1). */
export type ClientState = 'pending' | 'member' | 'closed';

/** One connection in the model. */
export interface ModelClient {
  /** The slot it occupies (`c3`); a slot whose connection closed may connect again. */
  readonly label: string;
  /** Unique per connection: the label, then `c3#2`, `c3#3`... for later connections in the slot. */
  readonly key: string;
  state: ClientState;
  /** Its nickname or username once it is a member (kept after it leaves, for reports). */
  nick: string | undefined;
  /** Everything it must have received so far, in order. */
  readonly received: Uint8Array[];
}

/** The room as the spec says every connection must see it. */
export class RoomModel {
  /** The dialect's wire templates. */
  readonly wire: WireFormat;
  /** Every connection ever opened, by key, in opening order. */
  readonly #clients = new Map<string, ModelClient>();
  /** The latest connection of each slot, by label. */
  readonly #current = new Map<string, ModelClient>();
  /** Labels of the members, in join order (the order of the server's `members()`). */
  #memberOrder: string[] = [];
  /** Nicknames announced as left, in order. */
  readonly leaves: string[] = [];

  constructor(
    readonly dialect: DialectName,
    prompt = 'NICK',
  ) {
    this.wire = wireFormat(dialect, prompt);
  }

  /** The latest connection in slot `label`, if it was ever opened. */
  client(label: string): ModelClient | undefined {
    return this.#current.get(label);
  }

  /** Whether slot `label` has no open connection (never opened, or closed). */
  isFree(label: string): boolean {
    const client = this.#current.get(label);
    return client === undefined || client.state === 'closed';
  }

  /** Every connection ever opened, in opening order. */
  clients(): ModelClient[] {
    return [...this.#clients.values()];
  }

  /** The members, in join order. */
  members(): ModelClient[] {
    return this.#memberOrder.map((label) => this.#current.get(label)!);
  }

  /** The members' nicknames, in join order. */
  memberNicks(): string[] {
    return this.members().map((m) => m.nick!);
  }

  /** Connections the server should hold open: members and unfinished handshakes. */
  openCount(): number {
    return this.clients().filter((c) => c.state !== 'closed').length;
  }

  /** Whether a member uses this nickname (same bytes: NICK-NICK-4, TILDE-USER-3). */
  nickInUse(nick: string): boolean {
    return this.members().some((m) => m.nick === nick);
  }

  /** The exact bytes the connection with this key must have received so far. */
  expected(key: string): Uint8Array {
    const client = this.#clients.get(key);
    if (client === undefined) throw new Error(`model: no connection ${key}`);
    return concat(client.received);
  }

  /** A new connection in a free slot: it gets the prompt at once (NICK), or nothing (tilde). Returns it. */
  connect(label: string): ModelClient {
    if (!this.isFree(label)) throw new Error(`model: ${label} is still open`);
    const generation = this.clients().filter((c) => c.label === label).length + 1;
    const key = generation === 1 ? label : `${label}#${generation}`;
    const received = this.wire.greeting.length > 0 ? [this.wire.greeting] : [];
    const client: ModelClient = { label, key, state: 'pending', nick: undefined, received };
    this.#clients.set(key, client);
    this.#current.set(label, client);
    return client;
  }

  /** `label`'s nickname is accepted: everyone hears of it, then the newcomer is welcomed. */
  join(label: string, nick: string): void {
    const client = this.#get(label, 'pending');
    if (this.nickInUse(nick)) throw new Error(`model: ${nick} is in use`);
    client.state = 'member';
    client.nick = nick;
    this.#memberOrder.push(label);
    this.#toMembers(this.wire.joined(nick));
    if (this.wire.welcome.length > 0) client.received.push(this.wire.welcome);
  }

  /** `label`'s handshake is refused: it got `refusal` (prefix and reason) and was closed; nobody else hears. */
  refuse(label: string, refusal: Uint8Array): void {
    const client = this.#get(label, 'pending');
    client.state = 'closed';
    client.received.push(refusal);
  }

  /** Member `label` sent `payload`, read by the server as one chunk: every member gets the relay. */
  relay(label: string, payload: Uint8Array): void {
    const client = this.#get(label, 'member');
    this.#toMembers(this.wire.relay(client.nick!, payload));
  }

  /**
   * `label`'s connection ended. A member is removed and announced to the others (NICK-LEAVE-1,
   * TILDE-LEAVE-2); a connection still in its handshake is not announced (NICK-LEAVE-2).
   */
  leave(label: string): void {
    const client = this.#get(label);
    if (client.state === 'closed') throw new Error(`model: ${label} is already closed`);
    const wasMember = client.state === 'member';
    client.state = 'closed';
    if (!wasMember) return;
    this.#memberOrder = this.#memberOrder.filter((l) => l !== label);
    this.leaves.push(client.nick!);
    this.#toMembers(this.wire.left(client.nick!));
  }

  #toMembers(bytes: Uint8Array): void {
    for (const member of this.members()) member.received.push(bytes);
  }

  #get(label: string, state?: ClientState): ModelClient {
    const client = this.#current.get(label);
    if (client === undefined) throw new Error(`model: no connection ${label}`);
    if (state !== undefined && client.state !== state)
      throw new Error(`model: ${label} is ${client.state}, not ${state}`);
    return client;
  }
}
