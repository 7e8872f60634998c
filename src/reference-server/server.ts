/**
 * The reference server on `node:net`: the socket layer around the room, the decoder and the
 * dialect adapter. Everything that can go wrong with one connection (bad bytes, a stalled reader,
 * an unfinished handshake, a reset) ends that connection with a logged, coded reason and nothing
 * else: the room and every other member go on.
 *
 * @module
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AnyMessage } from '../codec/index.js';
import { createDecoder, type DecodeEvent, type Decoder } from '../codec/decoder.js';
import { ChatkitError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { SERVER_CLOSE_LINGER_MS, SERVER_EVICT_LINGER_MS, SERVER_STALL_MS, SERVER_SWEEP_MAX_INTERVAL_MS } from '../limits.js';
import { type DialectAdapter, dialectAdapter } from './adapters.js';
import { Admission } from './admission.js';
import { descriptorLimit, descriptorsExhausted } from './descriptors.js';
import {
  ADMIN_NICK,
  answers,
  BanList,
  DEFAULT_ROOM,
  type ExtensionSettings,
  type MemberCommand,
  memberCommand,
  passwordOf,
} from './extensions.js';
import type { RoomLink, RoomSink } from './link.js';
import type { LogEntry, LogEvent } from './log.js';
import { type LimitedLogger, limitLogRate } from './log-limit.js';
import { nameRefusal } from './names-policy.js';
import { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from './options.js';
import { FlowControl, type MemberFlow } from './flow.js';
import { Fanout, Outbox } from './outbox.js';
import { Room, type RoomMember } from './room.js';
import { sanitizeRelay } from './sanitize.js';

/** Why a member left or a connection ended. */
export type LeaveReason = 'eof' | 'reset' | 'error' | 'shutdown' | 'quit' | ErrorCode;

/** Events of a running server, for embedding and tests. */
export interface ServerEvents {
  /** A connection was accepted. */
  connect: [{ id: number; peer: string }];
  /** A connection became a member. */
  join: [{ id: number; peer: string; nick: string }];
  /** A member left (announced to the others). */
  leave: [{ id: number; peer: string; nick: string; reason: LeaveReason }];
  /** A connection was closed before it became a member. */
  reject: [{ id: number; peer: string; code: ErrorCode | 'eof' | 'reset' | 'error' | 'shutdown' }];
  /** A member's frame was relayed to this many members. */
  relay: [{ id: number; nick: string; bytes: number; recipients: number }];
  /** A member's frame was not relayed. */
  drop: [{ id: number; nick: string; code: ErrorCode }];
}

/** A running reference server. */
export interface ChatServer {
  /** The port it listens on (the real one when started with port 0). */
  readonly port: number;
  /** The address it listens on. */
  readonly host: string;
  /** The options in force, defaults filled in. */
  readonly options: ResolvedServerOptions;
  /** Subscribe to {@link ServerEvents}. */
  on<K extends keyof ServerEvents>(event: K, listener: (...args: ServerEvents[K]) => void): this;
  /** Subscribe once. */
  once<K extends keyof ServerEvents>(event: K, listener: (...args: ServerEvents[K]) => void): this;
  /** Nicknames of the members, in join order. */
  members(): string[];
  /** Connections open now (members and handshakes). */
  connectionCount(): number;
  /**
   * Graceful shutdown: stop accepting, tell every member, let queued output go out (bounded by
   * `shutdownGraceMs`), close every socket. Idempotent.
   */
  close(): Promise<void>;
}

/** Thrown by {@link startServer} when it cannot listen. */
export class ServerListenError extends ChatkitError {
  /** Creates the error with the system error as its cause. */
  constructor(host: string, port: number, cause: unknown) {
    const why = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
    super('SERVER_LISTEN_FAILED', `cannot listen on ${host}:${port} (${why})`, { cause });
    this.name = 'ServerListenError';
  }
}

/**
 * `claiming`: a linked server waits for the room-wide nickname claim (input is held meanwhile).
 * `password`: the admin profile asked for the password (`PASS`, ADMIN-PASS-1) and waits for it.
 */
type Phase = 'handshake' | 'password' | 'claiming' | 'member' | 'closed';

/** The connection of an accepted socket, for the listeners every socket shares. */
const CONNECTION = Symbol('connection');
type AcceptedSocket = Socket & { [CONNECTION]?: Connection };

class Connection implements RoomMember {
  phase: Phase = 'handshake';
  nick = '';
  /** Admitted with the admin password (ADMIN-KICK-1: only it may kick and ban). */
  isAdmin = false;
  /** Its room under the rooms profile (ROOM-1); every member is in the default room otherwise. */
  room = DEFAULT_ROOM;
  lastInputAt: number;
  readonly deadline: number;
  readonly outbox: Outbox;
  readonly decoder: Decoder<AnyMessage>;
  /** Input decoded while the nickname claim is pending (the socket is paused meanwhile); made on first use. */
  held: DecodeEvent<AnyMessage>[] | undefined;
  /** Input flow control: rate and room backlog (see `flow.ts`). */
  readonly flow: MemberFlow;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    readonly peer: string,
    options: ResolvedServerOptions,
    fanout: Fanout | undefined,
    onOverflow: (socket: Socket) => void,
    flow: FlowControl,
  ) {
    const now = Date.now();
    this.lastInputAt = now;
    this.deadline = now + options.handshakeTimeoutMs;
    this.flow = flow.member(socket, this);
    this.outbox = new Outbox(socket, options.maxQueueBytes, onOverflow, fanout, this.flow);
    this.decoder = createDecoder({
      dialect: options.dialect,
      direction: 'toServer',
      framing: options.framing,
      maxFrameBytes: options.maxMessageBytes,
    });
  }

  /** How the logs name it: its nickname once it has one. */
  get label(): string {
    return this.nick || this.peer;
  }

  deliver(bytes: Uint8Array): void {
    this.outbox.send(bytes);
  }

  /** A method, not a field read, so checks after calls that may close the connection are not narrowed away. */
  isClosed(): boolean {
    return this.phase === 'closed';
  }
}

class ReferenceServer extends EventEmitter implements ChatServer {
  readonly options: ResolvedServerOptions;
  readonly #adapter: DialectAdapter;
  readonly #server: Server;
  readonly #room = new Room<Connection>();
  /** Shared output of every member (`writeBatching: 'turn'`); without it, the room writes to each. */
  readonly #fanout: Fanout | undefined;
  /** Input backpressure and rate limits (issue: a flooder must never evict the room). */
  readonly #flow: FlowControl;
  readonly #connections = new Map<number, Connection>();
  /** Every accepted socket until it closes, ended or not: shutdown must not wait on a half-open one. */
  readonly #sockets = new Set<Socket>();
  readonly #admission: Admission<Connection>;
  /** Sockets we ended, with the time past which they are destroyed if the peer keeps its side open. */
  readonly #lingering = new Map<Socket, number>();
  readonly #logger: LimitedLogger | undefined;
  /** Set while accept() fails for want of descriptors, so that it is logged once per episode. */
  #starved = false;
  readonly #descriptorLimit = descriptorLimit();
  #nextId = 1;
  #sweep: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  /** The extension profiles that are on (spec §14; all off by default, EXT-1). */
  readonly #ext: ExtensionSettings;
  /** The admin profile's ban list (ADMIN-BAN-1), when the profile is on. */
  readonly #bans: BanList | undefined;
  /** Rooms in order of creation, `lobby` first (ROOM-LIST-1). */
  readonly #roomOrder = new Set<string>([DEFAULT_ROOM]);

  constructor(options: ResolvedServerOptions) {
    super();
    this.options = options;
    this.#ext = options;
    this.#bans =
      options.adminPassword === undefined
        ? undefined
        : new BanList(options.banFile, (error) => this.#log('error', 'error', { detail: `ban file: ${String(error)}` }));
    this.#adapter = dialectAdapter(options.dialect, options);
    this.#fanout =
      options.writeBatching === 'turn' ? new Fanout(() => this.#flow.turnEnded()) : undefined;
    this.#flow = new FlowControl(
      options.maxRate,
      options.maxQueueBytes,
      ({ member, reason }) => this.#log('warn', 'flood', { nick: member.label(), code: 'FLOODING', reason }),
      () => this.#fanout?.pendingBytes ?? 0,
    );
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#admission = new Admission(options);
    this.#logger = options.logger && limitLogRate(options.logger);
    this.#server.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EMFILE' && error.code !== 'ENFILE') {
        this.#log('error', 'error', { detail: String(error) });
      } else {
        this.#starve(error.code);
      }
    });
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : this.options.port;
  }

  get host(): string {
    return this.options.host;
  }

  async listen(): Promise<void> {
    const { host, port } = this.options;
    await this.options.link?.start(this.#sink());
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(new ServerListenError(host, port, error));
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    const timeouts = [this.options.handshakeTimeoutMs, this.options.idleTimeoutMs, SERVER_CLOSE_LINGER_MS].filter(
      (t) => t > 0,
    );
    const interval = Math.max(10, Math.min(SERVER_SWEEP_MAX_INTERVAL_MS, ...timeouts.map((t) => t / 4)));
    // One shared sweep for every timeout: no timer per connection.
    this.#sweep = setInterval(() => this.#sweepTimeouts(), interval);
    this.#sweep.unref();
    this.#log('info', 'listening', { detail: `${host}:${this.port} dialect=${this.options.dialect}` });
  }

  members(): string[] {
    return [...this.#room.members()].map((m) => m.nick);
  }

  connectionCount(): number {
    return this.#connections.size;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /**
   * The listeners of every accepted socket, made once per server: a closure per socket and event
   * would cost each idle member about half a kilobyte (issue 11). They find the connection through
   * the socket (`CONNECTION`); a refused socket has none.
   */
  readonly #listeners = (() => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the listeners get the socket as `this`
    const server = this;
    return {
      close(this: AcceptedSocket): void {
        server.#sockets.delete(this);
        server.#lingering.delete(this);
        const conn = this[CONNECTION];
        if (conn !== undefined) server.#end(conn, 'error', false);
      },
      data(this: AcceptedSocket, chunk: Buffer): void {
        server.#onData(this[CONNECTION]!, chunk);
      },
      end(this: AcceptedSocket): void {
        server.#end(this[CONNECTION]!, 'eof', false);
      },
      error(this: AcceptedSocket, error: NodeJS.ErrnoException): void {
        server.#end(this[CONNECTION]!, error.code === 'ECONNRESET' ? 'reset' : 'error', false);
      },
      overflow(socket: AcceptedSocket): void {
        const conn = socket[CONNECTION]!;
        // Closing from inside a broadcast would announce the leave in the middle of it.
        setImmediate(() =>
          server.#evictSlow(
            conn,
            `did not read its messages while others did: more than ${server.options.maxQueueBytes} bytes waited for it`,
          ),
        );
      },
    };
  })();

  #accept(socket: AcceptedSocket): void {
    this.#sockets.add(socket);
    socket.once('close', this.#listeners.close);
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    const admission = this.#admission.decide(socket.remoteAddress ?? '?', this.#room.size);
    if (!admission.admit) {
      this.#log('warn', 'reject', { peer, code: 'SERVER_FULL', reason: ERROR_CODES.SERVER_FULL });
      socket.on('error', () => undefined);
      socket.end(this.#adapter.refusal(refusalReason('SERVER_FULL')));
      this.#linger(socket);
      return;
    }
    if (admission.evict !== undefined) this.#refuse(admission.evict, 'HANDSHAKE_EVICTED');
    const id = this.#nextId++;
    const conn = new Connection(id, socket, peer, this.options, this.#fanout, this.#listeners.overflow, this.#flow);
    socket[CONNECTION] = conn;
    this.#connections.set(id, conn);
    this.#admission.start(conn, socket.remoteAddress ?? '?');
    socket.setNoDelay(true);
    socket.on('data', this.#listeners.data);
    socket.on('end', this.#listeners.end);
    socket.on('error', this.#listeners.error);
    this.emit('connect', { id, peer });
    this.#log('info', 'connect', { peer });
    if (this.#adapter.greeting !== undefined) conn.outbox.send(this.#adapter.greeting);
  }

  /** What the link calls back: room broadcasts from every process, in the room's one order. */
  #sink(): RoomSink {
    return {
      deliver: (bytes) => this.#deliverLocal(bytes),
      joined: (id, bytes) => this.#onJoinedEcho(id, bytes),
      leftNotice: (nick) => this.#adapter.left(nick),
      log: (entry) => this.options.logger?.({ time: new Date().toISOString(), ...entry }),
    };
  }

  #onData(conn: Connection, chunk: Buffer): void {
    if (conn.phase === 'closed') return;
    conn.lastInputAt = Date.now();
    // Chunk framing: one recv is one message, so the pieces of an oversize chunk share the first
    // piece's verdict (NICK-RELAY-3 judges the whole chunk, not only its first 1 KB).
    let verdict: 'relayed' | 'dropped' | undefined;
    let messages = 0;
    for (const event of conn.decoder.push(chunk)) {
      if (conn.isClosed()) return;
      messages++;
      if (conn.phase === 'claiming') (conn.held ??= []).push(event);
      else if (conn.phase === 'handshake') this.#onHandshake(conn, event);
      else if (conn.phase === 'password') this.#onPassword(conn, event);
      else if (verdict === 'dropped') continue;
      else verdict = this.#onMemberEvent(conn, event, verdict === 'relayed') ? 'relayed' : 'dropped';
      if (this.options.framing !== 'chunk') verdict = undefined;
    }
    if (!conn.isClosed()) conn.flow.input(chunk.length, messages);
  }

  /**
   * Closes a member that does not read while others do (SLOW_CONSUMER, ROBUST-SLOW-1): what
   * waited for it is dropped, it is told why (if its socket still takes bytes), and its socket is
   * destroyed after a short linger. `why` is the log's reason, in words.
   */
  #evictSlow(conn: Connection, why: string): void {
    if (conn.isClosed()) return;
    const socket = conn.socket;
    conn.outbox.discard();
    if (socket.writable) socket.end(this.#adapter.refusal(`${why} (SLOW_CONSUMER)`));
    setTimeout(() => socket.destroy(), SERVER_EVICT_LINGER_MS).unref();
    this.#end(conn, 'SLOW_CONSUMER', false, why);
  }

  #onHandshake(conn: Connection, event: DecodeEvent<AnyMessage>): void {
    if (event.kind === 'issue') {
      this.#refuse(conn, event.error.code);
      return;
    }
    const nick = this.#adapter.nickOf(event.message);
    if (nick === undefined) {
      this.#refuse(conn, 'UNEXPECTED_MESSAGE');
      return;
    }
    conn.nick = nick;
    const unsafe = this.options.dialect === 'tilde' ? nameRefusal(nick) : undefined;
    if (unsafe !== undefined) {
      this.#refuse(conn, unsafe);
      return;
    }
    // Handshakes do not hold member slots, so the room may have filled while this one was pending.
    if (this.#room.size >= this.options.maxClients) {
      this.#refuse(conn, 'SERVER_FULL');
      return;
    }
    if (this.options.link !== undefined) {
      void this.#claimAndJoin(conn, this.options.link);
      return;
    }
    // ADMIN-BAN-1: a banned nickname is told `BAN` and closed, before any password (the tutorial's order).
    if (this.#bans?.has(nick)) {
      this.#refuseWith(conn, answers.banned(), 'NICKNAME_BANNED');
      return;
    }
    // ADMIN-PASS-1: the nickname `admin` is asked for the password; nothing is announced before it.
    if (this.#ext.adminPassword !== undefined && nick === ADMIN_NICK) {
      conn.phase = 'password';
      conn.deliver(answers.pass());
      return;
    }
    this.#admit(conn);
  }

  /** ADMIN-PASS-2: the right password admits the connection as the admin; anything else is `REFUSE` and a close. */
  #onPassword(conn: Connection, event: DecodeEvent<AnyMessage>): void {
    if (event.kind === 'message' && passwordOf(event.bytes) === this.#ext.adminPassword) {
      conn.isAdmin = true;
      this.#admit(conn);
    } else {
      this.#refuseWith(conn, answers.refuse(), 'ADMIN_PASSWORD_WRONG');
    }
  }

  /** Makes an accepted connection a member: `<nick> joined!` to its room, then its welcome (NICK-JOIN-1, -2). */
  #admit(conn: Connection): void {
    const nick = conn.nick;
    if (!this.#room.add(conn)) {
      this.#refuse(conn, 'NICKNAME_IN_USE');
      return;
    }
    conn.phase = 'member';
    this.#admission.finish(conn);
    conn.outbox.subscribe();
    this.#toRoom(conn.room, this.#adapter.joined(nick));
    const welcome = this.#adapter.welcome(nick);
    if (welcome !== undefined) conn.deliver(welcome);
    this.emit('join', { id: conn.id, peer: conn.peer, nick });
    this.#log('info', 'join', { peer: conn.peer, nick });
  }

  /**
   * Linked join: claim the nickname room-wide, then publish the join notice. The newcomer enters
   * the local room when its own notice comes back ({@link #onJoinedEcho}), so it sees exactly what
   * the room broadcast after its join, its join notice first, as with one server.
   */
  async #claimAndJoin(conn: Connection, link: RoomLink): Promise<void> {
    conn.phase = 'claiming';
    conn.socket.pause();
    const claim = await link.claim(conn.nick);
    if (conn.isClosed()) {
      if (claim === true) link.release(conn.nick);
      return;
    }
    if (claim !== true) {
      this.#refuse(conn, claim);
      return;
    }
    conn.phase = 'member';
    this.#admission.finish(conn);
    link.publishJoin(conn.id, this.#adapter.joined(conn.nick));
    const held = conn.held ?? [];
    conn.held = undefined;
    for (const event of held) {
      if (conn.isClosed()) return;
      this.#onMemberEvent(conn, event, false);
    }
    if (!conn.isClosed()) conn.socket.resume();
  }

  #onJoinedEcho(id: number, bytes: Uint8Array): void {
    const conn = this.#connections.get(id);
    const entering = conn !== undefined && conn.phase === 'member' && this.#room.add(conn);
    if (entering) conn.outbox.subscribe();
    this.#deliverLocal(bytes);
    if (!entering) return; // it left before its notice came back: its leave notice follows
    const welcome = this.#adapter.welcome(conn.nick);
    if (welcome !== undefined) conn.deliver(welcome);
    this.emit('join', { id: conn.id, peer: conn.peer, nick: conn.nick });
    this.#log('info', 'join', { peer: conn.peer, nick: conn.nick });
  }

  /** Relays or drops one event; true if it was relayed. `continued`: a later piece of a relayed chunk. */
  #onMemberEvent(conn: Connection, event: DecodeEvent<AnyMessage>, continued: boolean): boolean {
    if (event.kind === 'issue') {
      const code = event.error.code;
      if (code === 'NICK_NON_ASCII' || code === 'INVALID_UTF8') {
        // NICK-RELAY-2 / TILDE-RELAY-2: never relayed; the sender is closed, announced as a leave.
        this.#end(conn, code, true);
      } else {
        this.#drop(conn, code, ERROR_CODES[code]);
      }
      return false;
    }
    if (!continued) {
      const command = memberCommand(this.#ext, conn.nick, event.bytes);
      if (command !== undefined) {
        this.#onCommand(conn, command);
        return true;
      }
    }
    const decision = this.#adapter.relay(conn.nick, event.message, event.bytes, continued);
    if ('drop' in decision) {
      this.#drop(conn, decision.drop, decision.reason);
      return false;
    }
    const bytes = this.options.sanitize ? sanitizeRelay(decision.bytes) : decision.bytes;
    // ROOM-RELAY-1: within the sender's room (the whole server when the rooms profile is off).
    const recipients = this.#toRoom(conn.room, bytes);
    this.emit('relay', { id: conn.id, nick: conn.nick, bytes: bytes.length, recipients });
    return true;
  }

  /** Executes an extension command (spec §14); none of them is relayed. */
  #onCommand(conn: Connection, command: MemberCommand): void {
    this.#log('info', 'command', { peer: conn.peer, nick: conn.nick, detail: command.type });
    const find = (nick: string) => [...this.#room.members()].find((m) => m.nick === nick);
    switch (command.type) {
      case 'kick':
      case 'ban': {
        // ADMIN-CMD-1: only the admin; anyone else is told, and nothing happens.
        if (!conn.isAdmin) {
          conn.deliver(answers.commandRefused());
          return;
        }
        if (command.type === 'ban') this.#bans?.add(command.nick);
        const target = find(command.nick);
        if (target !== undefined) this.#kick(target);
        return;
      }
      case 'users':
        conn.deliver(answers.userList([...this.#room.members()].map((m) => m.nick)));
        return;
      case 'msg': {
        const target = find(command.nick);
        if (target === undefined) {
          conn.deliver(answers.noSuchUser(command.nick));
          return;
        }
        const bytes = answers.private(conn.nick, target.nick, command.text);
        target.deliver(bytes);
        if (target !== conn) conn.deliver(bytes);
        return;
      }
      case 'quit':
        this.#end(conn, 'quit', false); // CMD-QUIT-1: announced as any leave
        return;
      case 'rename':
        this.#rename(conn, command.nick);
        return;
      case 'badRename':
        conn.deliver(answers.renameRefused('not a valid nickname'));
        return;
      case 'join':
        this.#move(conn, command.room);
        return;
      case 'badJoin':
        conn.deliver(answers.badRoom(command.name));
        return;
      case 'rooms': {
        const counts = new Map<string, number>([...this.#roomOrder].map((r) => [r, 0]));
        for (const m of this.#room.members()) counts.set(m.room, (counts.get(m.room) ?? 0) + 1);
        conn.deliver(answers.roomList([...counts].filter(([r, n]) => r === DEFAULT_ROOM || n > 0)));
        return;
      }
    }
  }

  /** ADMIN-KICK-1: `You were kicked by an admin!` to the member, a close, and the kick notice in place of its leave. */
  #kick(target: Connection): void {
    target.outbox.end(answers.kicked());
    this.#end(target, 'ADMIN_KICKED', false, 'kicked by the admin', answers.kickNotice(target.nick));
  }

  /** CMD-NICK-1: a valid, free nickname renames the member, announced to every member; else a refusal. */
  #rename(conn: Connection, nick: string): void {
    const refusal =
      this.#room.hasNick(nick) && nick !== conn.nick
        ? 'nickname in use'
        : this.#ext.adminPassword !== undefined && nick === ADMIN_NICK
          ? 'nickname reserved for the admin'
          : this.#bans?.has(nick)
            ? 'nickname banned'
            : undefined;
    if (refusal !== undefined) {
      conn.deliver(answers.renameRefused(refusal));
      return;
    }
    const old = conn.nick;
    this.#room.rename(conn.id, nick);
    conn.nick = nick;
    this.#toAll(answers.renamed(old, nick));
  }

  /** ROOM-JOIN-1: leaves the old room (told to its members) and enters the new one (told to all of them, the mover too). */
  #move(conn: Connection, room: string): void {
    const old = conn.room;
    if (old === room) {
      conn.deliver(answers.roomJoined(conn.nick, room));
      return;
    }
    conn.room = room;
    this.#roomOrder.add(room);
    this.#toRoom(old, answers.roomLeft(conn.nick, old));
    this.#toRoom(room, answers.roomJoined(conn.nick, room));
  }

  /** To every member of `room` under the rooms profile; to every member of the server otherwise. */
  #toRoom(room: string, bytes: Uint8Array): number {
    if (!this.#ext.rooms) return this.#broadcast(bytes);
    let count = 0;
    for (const m of this.#room.members()) {
      if (m.room !== room) continue;
      m.deliver(bytes);
      count++;
    }
    return count;
  }

  /** To every member of the server, whatever its room. */
  #toAll(bytes: Uint8Array): number {
    if (!this.#ext.rooms) return this.#broadcast(bytes);
    let count = 0;
    for (const m of this.#room.members()) {
      m.deliver(bytes);
      count++;
    }
    return count;
  }

  /**
   * The same bytes to every member of the room: through the link when the room spans processes
   * (returns the local member count), else straight to the local members.
   */
  #broadcast(bytes: Uint8Array): number {
    if (this.options.link === undefined) return this.#deliverLocal(bytes);
    this.options.link.publish(bytes);
    return this.#room.size;
  }

  /** The same bytes to every local member, encoded once (through the fan-out, or written to each). */
  #deliverLocal(bytes: Uint8Array): number {
    return this.#fanout === undefined ? this.#room.broadcast(bytes) : this.#fanout.broadcast(bytes);
  }

  #drop(conn: Connection, code: ErrorCode, reason: string): void {
    this.emit('drop', { id: conn.id, nick: conn.nick, code });
    this.#log('warn', 'drop', { peer: conn.peer, nick: conn.nick, code, reason });
  }

  #refuse(conn: Connection, code: ErrorCode): void {
    this.#refuseWith(conn, this.#adapter.refusal(refusalReason(code)), code);
  }

  /** Sends `last` and closes a connection that never became a member (never announced, NICK-LEAVE-2). */
  #refuseWith(conn: Connection, last: Uint8Array, code: ErrorCode): void {
    conn.outbox.end(last);
    this.#end(conn, code, false);
  }

  /** Logs running out of descriptors once per episode; the sweep logs its end. */
  #starve(why: string | undefined): void {
    if (this.#starved) return;
    this.#starved = true;
    this.#log('error', 'error', {
      code: 'SERVER_NO_DESCRIPTORS',
      reason: ERROR_CODES.SERVER_NO_DESCRIPTORS,
      detail: `${why ?? 'EMFILE'} limit=${this.#descriptorLimit ?? '?'}`,
    });
  }

  /** A socket we ended is destroyed after a bounded linger, even if its peer never closes (ROBUST-BAD-1). */
  #linger(socket: Socket): void {
    if (!socket.destroyed) this.#lingering.set(socket, Date.now() + SERVER_CLOSE_LINGER_MS);
  }

  /**
   * Ends a connection once: a member is removed and announced (NICK-LEAVE-1, TILDE-LEAVE-2); a
   * connection still in its handshake is never announced (NICK-LEAVE-2). `destroy` drops the
   * socket at once (bad input, a stalled reader); otherwise it is half-closed after its output.
   */
  #end(conn: Connection, reason: LeaveReason, destroy: boolean, why?: string, leaveNotice?: Uint8Array): void {
    if (conn.phase === 'closed') return;
    const wasMember = conn.phase === 'member';
    conn.phase = 'closed';
    conn.flow.close();
    this.#connections.delete(conn.id);
    this.#admission.finish(conn);
    if (destroy) {
      conn.outbox.discard();
      conn.socket.destroy();
    } else if (!conn.socket.destroyed) {
      conn.outbox.end();
      this.#linger(conn.socket);
    } else {
      conn.outbox.discard(); // reset or error: nothing can be sent, and it takes no more broadcasts
    }
    const code = reason in ERROR_CODES ? (reason as ErrorCode) : undefined;
    const link = this.options.link;
    const inRoom = wasMember && this.#room.remove(conn.id) !== undefined;
    // Linked, its join notice is out as soon as it is a member, even before it comes back.
    if (inRoom || (wasMember && link !== undefined)) {
      // A kick's notice takes the place of `<nick> left!` (ADMIN-KICK-1).
      const notice = leaveNotice ?? this.#adapter.left(conn.nick);
      // Linked, the leave notice goes out with the release, atomically: whoever saw it may take the
      // nickname at once. Even on shutdown: the other nodes' members are still there.
      if (link !== undefined) link.release(conn.nick, notice);
      else if (reason !== 'shutdown') this.#toRoom(conn.room, notice);
      this.emit('leave', { id: conn.id, peer: conn.peer, nick: conn.nick, reason });
      this.#log(code ? 'warn' : 'info', 'leave', {
        peer: conn.peer,
        nick: conn.nick,
        reason: why ?? reason,
        ...(code ? { code } : {}),
      });
    } else {
      this.emit('reject', { id: conn.id, peer: conn.peer, code: reason });
      this.#log(code ? 'warn' : 'info', 'reject', {
        peer: conn.peer,
        reason: code ? ERROR_CODES[code] : `${reason} before the handshake`,
        ...(code ? { code } : {}),
      });
    }
  }

  #sweepTimeouts(): void {
    const now = Date.now();
    const idle = this.options.idleTimeoutMs;
    for (const conn of this.#connections.values()) {
      if ((conn.phase === 'handshake' || conn.phase === 'password') && now >= conn.deadline)
        this.#refuse(conn, 'HANDSHAKE_TIMEOUT');
      else if (conn.phase === 'member' && idle > 0 && now - conn.lastInputAt >= idle) {
        conn.outbox.end();
        this.#end(conn, 'IDLE_TIMEOUT', false);
      }
    }
    for (const member of this.#flow.sweep(performance.now())) {
      const conn = [...this.#connections.values()].find((c) => c.flow === member);
      if (conn !== undefined) {
        this.#evictSlow(conn, `did not read for ${SERVER_STALL_MS / 1000} s while others did`);
      }
    }
    // libuv closes what it cannot accept without telling us: watch the count ourselves.
    if (descriptorsExhausted(this.#descriptorLimit)) this.#starve('EMFILE');
    else if (this.#starved) {
      this.#starved = false;
      this.#log('info', 'recovered', { detail: 'descriptors free again: accepting' });
    }
    for (const [socket, deadline] of this.#lingering) {
      if (now >= deadline) {
        this.#lingering.delete(socket);
        socket.destroy();
      }
    }
  }

  async #shutdown(): Promise<void> {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#flow.stop();
    this.#log('info', 'shutdown', { detail: `members=${this.#room.size}` });
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    const flushed = [...this.#connections.values()].map((conn) => {
      // Our output is in the kernel once the socket finished; the peer need not close its side.
      const done = new Promise<void>((resolve) => {
        if (conn.socket.writableFinished || conn.socket.destroyed) resolve();
        else {
          conn.socket.once('finish', () => resolve());
          conn.socket.once('close', () => resolve());
        }
      });
      if (conn.phase === 'member') conn.outbox.end(this.#adapter.shutdown);
      this.#end(conn, 'shutdown', false);
      return done;
    });
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.shutdownGraceMs);
    });
    await Promise.race([Promise.all(flushed), grace]);
    clearTimeout(timer);
    // What is still open (half-closed peers, readers that never took their output) is cut off now.
    for (const socket of this.#sockets) socket.destroy();
    await stopped;
    await this.options.link?.close();
    this.#logger?.flush();
    this.#log('info', 'closed', {});
  }

  #log(level: LogEntry['level'], event: LogEvent, fields: Omit<LogEntry, 'time' | 'level' | 'event'>): void {
    this.#logger?.log({ time: new Date().toISOString(), level, event, ...fields });
  }
}

/** The reason a refusal carries: the code's sentence and the code, e.g. `… (SERVER_FULL)`. */
function refusalReason(code: ErrorCode): string {
  return `${ERROR_CODES[code].replace(/\.$/, '')} (${code})`;
}

/**
 * Starts a reference server and resolves once it listens.
 *
 * @example
 * ```ts
 * const server = await startServer({ dialect: 'nick', port: 0 });
 * console.log(`listening on ${server.port}`);
 * await server.close();
 * ```
 * @throws {@link ServerOptionError} for an option out of range; {@link ServerListenError} when it cannot listen.
 */
export async function startServer(options: ServerOptions): Promise<ChatServer> {
  const resolved = resolveServerOptions(options);
  const server = new ReferenceServer(resolved);
  try {
    await server.listen();
  } catch (error) {
    await resolved.link?.close();
    throw error;
  }
  return server;
}
