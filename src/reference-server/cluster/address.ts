/**
 * What `--cluster redis://HOST:PORT[/DB] --room NAME` names, checked before anything connects.
 *
 * @module
 */
import { ChatkitError } from '../../errors.js';
import { CLUSTER_HEARTBEAT_MS, CLUSTER_NODE_LEASE_MS } from '../../limits.js';

/** Room name when `--room` is not given. */
export const DEFAULT_CLUSTER_ROOM = 'main';

/** Options of a clustered room. */
export interface ClusterOptions {
  /** `redis://HOST:PORT[/DB]`. */
  readonly url: string;
  /** Every node naming the same Redis, database, dialect and room is one room. */
  readonly room?: string;
  /** A node silent this long is dead (its members are announced as left). */
  readonly leaseMs?: number;
  /** How often a node renews its lease; at most a third of the lease (default: 1 s, or a third of a shorter lease). */
  readonly heartbeatMs?: number;
}

/** {@link ClusterOptions} checked, with defaults. */
export interface ResolvedClusterOptions {
  /** Redis host (default 127.0.0.1). */
  readonly host: string;
  /** Redis port (default 6379). */
  readonly port: number;
  /** Redis database number (default 0). */
  readonly db: number;
  /** The room's name (default {@link DEFAULT_CLUSTER_ROOM}). */
  readonly room: string;
  /** Node lease, ms. */
  readonly leaseMs: number;
  /** Heartbeat period, ms. */
  readonly heartbeatMs: number;
}

/** Thrown for a `--cluster` address or room that cannot be used. */
export class ClusterAddressError extends ChatkitError {
  /** Creates the error. */
  constructor(detail: string) {
    super('CLUSTER_BAD_URL', detail);
    this.name = 'ClusterAddressError';
  }
}

/** Checks a cluster address and fills in defaults. */
export function resolveClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ClusterAddressError(`not a URL: ${options.url} (want redis://HOST:PORT[/DB])`);
  }
  if (url.protocol !== 'redis:') throw new ClusterAddressError(`want redis://, got ${url.protocol}//`);
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    throw new ClusterAddressError('credentials, queries and fragments are not supported');
  const dbText = url.pathname.replace(/^\//, '');
  if (!/^\d{0,2}$/.test(dbText)) throw new ClusterAddressError(`database must be a number, got ${dbText}`);
  const room = options.room ?? DEFAULT_CLUSTER_ROOM;
  if (!/^[\w.-]{1,64}$/.test(room))
    throw new ClusterAddressError('room must be 1 to 64 letters, digits, "_", "." or "-"');
  const leaseMs = options.leaseMs ?? CLUSTER_NODE_LEASE_MS;
  // A lease spans at least three heartbeats, so one late heartbeat does not kill a node.
  const heartbeatMs = options.heartbeatMs ?? Math.min(CLUSTER_HEARTBEAT_MS, Math.floor(leaseMs / 3));
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 10)
    throw new ClusterAddressError('heartbeat must be an integer >= 10 ms');
  if (!Number.isInteger(leaseMs) || leaseMs < 3 * heartbeatMs)
    throw new ClusterAddressError(`node lease must be an integer >= 3 heartbeats (${3 * heartbeatMs} ms)`);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: url.port === '' ? 6379 : Number(url.port),
    db: dbText === '' ? 0 : Number(dbText),
    room,
    leaseMs,
    heartbeatMs,
  };
}
