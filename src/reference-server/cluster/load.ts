/**
 * The door to the clustered room that costs nothing until it is used: the Redis client and the
 * link load only when {@link openClusterLink} is called (`chatkit serve --cluster`).
 *
 * @module
 */
import type { DialectName } from '../../codec/index.js';
import type { RoomLink } from '../link.js';
import { type ClusterOptions, resolveClusterOptions } from './address.js';

/**
 * Checks the options, loads the Redis client and returns a link for
 * the server option `link`; it connects when the server starts.
 *
 * @example
 * ```ts
 * const link = await openClusterLink({ url: 'redis://127.0.0.1:6379', room: 'demo' }, 'nick');
 * const server = await startServer({ dialect: 'nick', port: 0, link });
 * ```
 * @throws {@link ClusterAddressError} for an address or room that cannot be used.
 */
export async function openClusterLink(options: ClusterOptions, dialect: DialectName): Promise<RoomLink> {
  const resolved = resolveClusterOptions(options);
  const { RedisRoomLink } = await import('./redis-link.js');
  return new RedisRoomLink(resolved, dialect);
}
