/**
 * A room over Redis pub/sub: every node publishes what its room broadcasts on one channel and
 * subscribes to it, so every node sees every broadcast in the one order Redis published them
 * (per-sender order included). Nicknames are claimed with SET NX under a lease that the node's
 * heartbeat renews; a node whose lease ends is reaped by exactly one survivor, which announces its
 * members as left. While Redis is away the node's own members keep chatting among themselves and
 * the node counts what it could not share; when Redis is back it claims its members' nicknames
 * again and logs what was lost. This module loads ioredis: import it only for a clustered server.
 *
 * @module
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import {
  CLUSTER_COMMAND_TIMEOUT_MS,
  CLUSTER_RECONNECT_BASE_MS,
  CLUSTER_RECONNECT_MAX_MS,
} from '../../limits.js';
import { ChatkitError } from '../../errors.js';
import type { ClaimResult, RoomLink, RoomSink } from '../link.js';
import type { ResolvedClusterOptions } from './address.js';
import { decodeEnvelope, encodeBroadcast, encodeJoin } from './envelope.js';
import { CLAIM_LUA, HEARTBEAT_LUA, REAP_LUA, RELEASE_LUA } from './scripts.js';

/** A node's set of nicknames outlives its lease by this factor, so a survivor can still read it. */
const NODE_SET_TTL_LEASES = 3;

/** Pause before the `times`-th reconnect attempt: doubling from the base, capped. */
export function reconnectDelay(times: number): number {
  return Math.min(CLUSTER_RECONNECT_MAX_MS, CLUSTER_RECONNECT_BASE_MS * 2 ** Math.max(0, times - 1));
}

/** What a node could not share while Redis was away. */
interface Outage {
  readonly since: number;
  unshared: number;
  refusedJoins: number;
}

/** Commands that outlived the command timeout on a live connection: late, not lost. */
interface SlowSpell {
  readonly since: number;
  late: number;
}

/** Which of the node's two connections to Redis. */
type Connection = 'publisher' | 'subscriber';

/** The {@link RoomLink} of `chatkit serve --cluster`. */
export class RedisRoomLink implements RoomLink {
  /** This node's id in the room (host, pid, random): the owner recorded on its nickname claims. */
  readonly node = `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly #options: ResolvedClusterOptions;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #pub: Redis;
  readonly #sub: Redis;
  /** Nicknames this node holds for its members. */
  readonly #nicks = new Set<string>();
  /** Join notices published and not yet back: let in locally if Redis goes away meanwhile. */
  readonly #pendingJoins = new Map<number, Uint8Array>();
  #sink: RoomSink | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #outage: Outage | undefined;
  #slow: SlowSpell | undefined;
  /** A restore in progress (from a `ready` event or a heartbeat): one at a time. */
  #restoring = false;
  #closing: Promise<void> | undefined;

  /** Creates the link; nothing connects before {@link start}. */
  constructor(options: ResolvedClusterOptions, dialect: string) {
    this.#options = options;
    this.#prefix = `chatkit:${dialect}:${options.room}:`;
    this.#channel = `${this.#prefix}room`;
    const common = {
      host: options.host,
      port: options.port,
      db: options.db,
      lazyConnect: true,
      commandTimeout: CLUSTER_COMMAND_TIMEOUT_MS,
      retryStrategy: reconnectDelay,
    };
    // No offline queue and no retries: a command while Redis is away fails at once and is
    // counted as lost, rather than delivered late and out of order after the outage.
    this.#pub = new Redis({
      ...common,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectionName: `chatkit-${this.node}`,
    });
    this.#sub = new Redis({ ...common, connectionName: `chatkit-${this.node}-sub` });
  }

  async start(sink: RoomSink): Promise<void> {
    this.#sink = sink;
    for (const client of [this.#pub, this.#sub]) client.on('error', () => undefined); // reported via close/ready
    try {
      await Promise.all([this.#pub.connect(), this.#sub.connect()]);
      await this.#sub.subscribe(this.#channel);
    } catch (cause) {
      this.#pub.disconnect();
      this.#sub.disconnect();
      const where = `${this.#options.host}:${this.#options.port}`;
      throw new ChatkitError('CLUSTER_UNAVAILABLE', `cannot reach Redis at ${where}`, { cause });
    }
    this.#sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.#onMessage(message));
    this.#pub.on('close', () => this.#down('publisher'));
    this.#sub.on('close', () => this.#down('subscriber'));
    for (const client of [this.#pub, this.#sub]) client.on('ready', () => void this.#maybeRestored());
    await this.#beat();
    this.#heartbeat = setInterval(() => void this.#beat(), this.#options.heartbeatMs);
    this.#heartbeat.unref();
    sink.log({
      level: 'info',
      event: 'cluster',
      detail: `node=${this.node} room=${this.#options.room} redis=${this.#options.host}:${this.#options.port}/${this.#options.db} lease=${this.#options.leaseMs}ms`,
    });
  }

  async claim(nick: string): Promise<ClaimResult> {
    if (this.#outage !== undefined) {
      this.#outage.refusedJoins++;
      return 'CLUSTER_UNAVAILABLE';
    }
    try {
      const won = await this.#pub.eval(
        CLAIM_LUA,
        2,
        this.#nickKey(nick),
        this.#nodeKey(this.node),
        this.node,
        nick,
        this.#options.leaseMs,
        this.#nodeSetTtl(),
      );
      if (won !== 1) return 'NICKNAME_IN_USE';
      this.#nicks.add(nick);
      return true;
    } catch {
      return 'CLUSTER_UNAVAILABLE';
    }
  }

  release(nick: string, notice?: Uint8Array): void {
    this.#nicks.delete(nick);
    const keys = [this.#nickKey(nick), this.#nodeKey(this.node)];
    const publish = notice === undefined ? [] : [this.#channel, encodeBroadcast(notice)];
    const local = () => {
      if (notice !== undefined) this.#sink?.deliver(notice);
    };
    // While Redis is away the claim lapses with its lease (and a restore resyncs the node's set).
    this.#command(() => this.#pub.eval(RELEASE_LUA, 2, ...keys, this.node, nick, ...publish), local);
  }

  publish(bytes: Uint8Array): void {
    const message = encodeBroadcast(bytes);
    this.#command(() => this.#pub.publish(this.#channel, message), () => this.#sink?.deliver(bytes));
  }

  publishJoin(id: number, bytes: Uint8Array): void {
    this.#pendingJoins.set(id, bytes);
    const message = encodeJoin(this.node, id, bytes);
    this.#command(() => this.#pub.publish(this.#channel, message), () => this.#letIn(id));
  }

  close(): Promise<void> {
    this.#closing ??= this.#leave();
    return this.#closing;
  }

  /** Sends a command that broadcasts, or when Redis is away runs `local` and counts it as unshared. */
  #command(send: () => Promise<unknown>, local: () => void): void {
    if (this.#outage !== undefined || this.#pub.status !== 'ready') {
      this.#down('publisher');
      this.#outage!.unshared++;
      local();
      return;
    }
    send().catch((error: unknown) => {
      if (error instanceof ReplyError) {
        // Redis answered and refused it: nobody else has it; local members still get it.
        this.#sink?.log({
          level: 'error',
          event: 'cluster',
          code: 'CLUSTER_REDIS_REFUSED',
          detail: `node=${this.node} reply=${JSON.stringify((error as Error).message.slice(0, 120))}`,
        });
        local();
      } else if (this.#pub.status === 'ready' && this.#outage === undefined) {
        // The command timeout passed on a live connection (a busy Redis, or this process starved
        // of CPU): the command is still on the wire, Redis runs it, and the subscription brings it
        // back to every node, this one included. Delivering it here too would duplicate it, and
        // calling Redis lost would cut this node off for good (no `ready` follows a live socket).
        this.#late();
      } else {
        // Lost in flight when Redis went away: the others never saw it; local members still get it.
        this.#down('publisher');
        this.#outage!.unshared++;
        local();
      }
    });
  }

  /** Counts a late command; the first of a spell is logged at once, the spell's total when it ends. */
  #late(): void {
    if (this.#slow !== undefined) {
      this.#slow.late++;
      return;
    }
    this.#slow = { since: Date.now(), late: 1 };
    this.#sink?.log({
      level: 'warn',
      event: 'cluster',
      code: 'CLUSTER_REDIS_SLOW',
      detail: `node=${this.node} no reply within ${CLUSTER_COMMAND_TIMEOUT_MS} ms on a live connection; not a lost connection: commands stay on their way`,
    });
  }

  /** Ends a slow spell (a heartbeat got its reply) and logs its total. */
  #prompt(): void {
    const spell = this.#slow;
    if (spell === undefined) return;
    this.#slow = undefined;
    this.#sink?.log({
      level: 'info',
      event: 'cluster',
      code: 'CLUSTER_REDIS_SLOW',
      detail: `node=${this.node} replies are back after ${Date.now() - spell.since}ms late=${spell.late} lost=0`,
    });
  }

  #letIn(id: number): void {
    const bytes = this.#pendingJoins.get(id);
    if (bytes === undefined) return;
    this.#pendingJoins.delete(id);
    this.#sink?.joined(id, bytes);
  }

  #onMessage(message: Buffer): void {
    const envelope = decodeEnvelope(message);
    if (envelope === undefined || this.#sink === undefined) return;
    if (envelope.kind === 'broadcast') this.#sink.deliver(envelope.bytes);
    else if (envelope.node === this.node && this.#pendingJoins.has(envelope.id)) this.#letIn(envelope.id);
    else this.#sink.deliver(envelope.bytes);
  }

  #down(which: Connection): void {
    if (which === 'subscriber' && this.#closing === undefined) void this.#subscriberDropped();
    if (this.#outage !== undefined || this.#closing !== undefined) return;
    this.#outage = { since: Date.now(), unshared: 0, refusedJoins: 0 };
    this.#slow = undefined;
    this.#sink?.log({
      level: 'error',
      event: 'cluster',
      code: 'CLUSTER_REDIS_LOST',
      detail: `node=${this.node} connection=${which} reconnecting with backoff (${CLUSTER_RECONNECT_BASE_MS}..${CLUSTER_RECONNECT_MAX_MS} ms); members here keep chatting among themselves`,
    });
    // Newcomers whose notice was on its way would otherwise wait for it forever.
    for (const id of [...this.#pendingJoins.keys()]) this.#letIn(id);
  }

  /**
   * The subscriber's connection closed. If Redis still answers on the other one, Redis closed
   * only the subscriber: most likely its output buffer for this client passed
   * `client-output-buffer-limit pubsub` (this node read its channel too slowly), see docs/cluster.md.
   */
  async #subscriberDropped(): Promise<void> {
    if (this.#pub.status !== 'ready') return;
    try {
      await this.#pub.ping();
    } catch {
      return; // Redis itself is away: CLUSTER_REDIS_LOST says so
    }
    this.#sink?.log({
      level: 'error',
      event: 'cluster',
      code: 'CLUSTER_SUBSCRIBER_DROPPED',
      detail: `node=${this.node} Redis closed this node's subscription while answering its commands (client-output-buffer-limit pubsub? see docs/cluster.md); resubscribing`,
    });
  }

  async #maybeRestored(): Promise<void> {
    const outage = this.#outage;
    if (outage === undefined || this.#closing !== undefined || this.#restoring) return;
    if (this.#pub.status !== 'ready' || this.#sub.status !== 'ready') return;
    this.#restoring = true;
    try {
      await this.#restore(outage);
    } finally {
      this.#restoring = false;
    }
  }

  async #restore(outage: Outage): Promise<void> {
    this.#outage = undefined;
    // Redis may have restarted empty (no persistence): claim our members' nicknames again.
    const conflicts: string[] = [];
    try {
      await this.#pub.del(this.#nodeKey(this.node));
      for (const nick of this.#nicks) {
        const won = await this.#pub.eval(
          CLAIM_LUA,
          2,
          this.#nickKey(nick),
          this.#nodeKey(this.node),
          this.node,
          nick,
          this.#options.leaseMs,
          this.#nodeSetTtl(),
        );
        if (won !== 1) {
          const owner = await this.#pub.get(this.#nickKey(nick));
          if (owner !== this.node) conflicts.push(nick);
        }
      }
      await this.#beat();
    } catch {
      // A reply that did not come (a timeout) leaves both connections up: no `ready` event will
      // follow, so the next heartbeat tries again.
      this.#outage ??= outage;
      return;
    }
    this.#sink?.log({
      level: 'warn',
      event: 'cluster',
      code: 'CLUSTER_REDIS_RESTORED',
      detail: `node=${this.node} away=${Date.now() - outage.since}ms unshared=${outage.unshared} refused_joins=${outage.refusedJoins} nicks_reclaimed=${this.#nicks.size - conflicts.length}; broadcasts of other nodes while away are lost`,
    });
    for (const nick of conflicts) {
      this.#sink?.log({ level: 'warn', event: 'cluster', code: 'CLUSTER_NICK_CONFLICT', nick });
    }
  }

  async #beat(): Promise<void> {
    if (this.#closing !== undefined) return;
    if (this.#outage !== undefined) return this.#maybeRestored();
    let dead: string[];
    try {
      const keys = [this.#nodesKey(), this.#nodeKey(this.node), ...[...this.#nicks].map((n) => this.#nickKey(n))];
      dead = (await this.#pub.eval(
        HEARTBEAT_LUA,
        keys.length,
        ...keys,
        this.node,
        this.#options.leaseMs,
        this.#nodeSetTtl(),
      )) as string[];
    } catch {
      return; // the close/ready events report an outage; a timeout counts as late (#command)
    }
    this.#prompt();
    for (const node of dead) {
      if (node !== this.node) await this.#reap(node);
    }
  }

  async #reap(node: string): Promise<void> {
    let nicks: string[];
    try {
      nicks = (await this.#pub.eval(REAP_LUA, 1, this.#nodeKey(node), node, this.#nickPrefix())) as string[];
    } catch {
      return;
    }
    for (const nick of nicks) this.publish(this.#sink!.leftNotice(nick));
    this.#sink?.log({
      level: 'warn',
      event: 'cluster',
      code: 'CLUSTER_NODE_DEAD',
      detail: `node=${node} members_left=${nicks.length}`,
    });
  }

  async #leave(): Promise<void> {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#sub.disconnect();
    if (this.#pub.status === 'ready') {
      // Leave no lease behind: the others need not wait for it to end.
      await this.#pub.zrem(this.#nodesKey(), this.node).catch(() => undefined);
      await this.#pub.quit().catch(() => undefined);
    }
    this.#pub.disconnect();
  }

  #nodesKey(): string {
    return `${this.#prefix}nodes`;
  }

  #nodeKey(node: string): string {
    return `${this.#prefix}node:${node}`;
  }

  #nickPrefix(): string {
    return `${this.#prefix}nick:`;
  }

  #nickKey(nick: string): string {
    return `${this.#nickPrefix()}${nick}`;
  }

  #nodeSetTtl(): number {
    return NODE_SET_TTL_LEASES * this.#options.leaseMs;
  }
}
