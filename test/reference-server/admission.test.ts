/**
 * Who makes room when the handshake limits are reached (src/reference-server/admission.ts,
 * ROBUST-HANDSHAKE-1): never a member's slot, and never a lone newcomer while some address holds
 * more pending handshakes than it.
 */
import { describe, expect, it } from 'vitest';
import { Admission } from '../../src/reference-server/admission.js';

/** Starts handshakes named `${address}#${i}` and returns their names. */
function pend(a: Admission<string>, address: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const key = `${address}#${i}`;
    a.start(key, address);
    return key;
  });
}

describe('admission of newcomers', () => {
  it('admits without eviction below every limit, and refuses only when the members fill maxClients', () => {
    const a = new Admission<string>({ maxClients: 2, maxPending: 3, maxPendingPerAddress: 3 });
    pend(a, 'x', 2);
    expect(a.decide('y', 1)).toEqual({ admit: true, evict: undefined });
    expect(a.decide('y', 2)).toEqual({ admit: false });
  });

  it("past the per-address limit, the newcomer's own address gives up its oldest", () => {
    const a = new Admission<string>({ maxClients: 10, maxPending: 100, maxPendingPerAddress: 2 });
    pend(a, 'lone', 1);
    const [oldest] = pend(a, 'crowd', 2);
    expect(a.decide('crowd', 0)).toEqual({ admit: true, evict: oldest });
    expect(a.decide('lone', 0)).toEqual({ admit: true, evict: undefined });
  });

  it('past maxPending, the address holding the most handshakes gives up its oldest, not an older lone newcomer', () => {
    const a = new Admission<string>({ maxClients: 10, maxPending: 8, maxPendingPerAddress: 4 });
    pend(a, 'newcomer', 1); // the oldest pending of all
    pend(a, 'silent-a', 3);
    const [crowdOldest] = pend(a, 'silent-b', 4);
    expect(a.pending).toBe(8);
    expect(a.decide('silent-c', 0)).toEqual({ admit: true, evict: crowdOldest });
    expect(a.decide('newcomer', 0)).toEqual({ admit: true, evict: crowdOldest });
  });

  it('among addresses holding equally many, the oldest handshake overall makes room', () => {
    const a = new Admission<string>({ maxClients: 10, maxPending: 4, maxPendingPerAddress: 4 });
    const [b0] = pend(a, 'b', 2);
    pend(a, 'c', 2);
    expect(a.decide('d', 0)).toEqual({ admit: true, evict: b0 });
  });

  it('a finished handshake frees its place (finishing twice changes nothing)', () => {
    const a = new Admission<string>({ maxClients: 10, maxPending: 2, maxPendingPerAddress: 2 });
    const [x0, x1] = pend(a, 'x', 2);
    expect(a.decide('x', 0)).toEqual({ admit: true, evict: x0 });
    a.finish(x0!);
    a.finish(x0!);
    expect(a.pending).toBe(1);
    expect(a.decide('x', 0)).toEqual({ admit: true, evict: undefined });
    a.finish(x1!);
    expect(a.pending).toBe(0);
  });
});
