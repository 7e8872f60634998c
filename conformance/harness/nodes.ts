/**
 * Judging several servers as one room (`chatkit conform --target A --target B …`, a cluster):
 * a case's i-th connection goes to the i-th address, round-robin, so that every case that has
 * two members has them on two nodes.
 *
 * @module
 */

/** One server of the room. */
export interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

/** Returns a picker whose n-th call gives the n-th address, round-robin (the first call the first). */
export function roundRobin(addresses: readonly NodeAddress[]): () => NodeAddress {
  if (addresses.length === 0) throw new RangeError('roundRobin: no address');
  let next = 0;
  return () => addresses[next++ % addresses.length]!;
}
