/**
 * Several servers as one room (a cluster, `--target A --target B …` of `chatkit conform` and
 * `chatkit bench`): the i-th connection goes to the i-th address, round-robin, so that any two
 * consecutive members are on two nodes.
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
