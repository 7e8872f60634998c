import { describe, expect, it } from 'vitest';
import { ClusterAddressError, resolveClusterOptions } from '../../src/reference-server/cluster/address.js';
import { decodeEnvelope, encodeBroadcast, encodeJoin } from '../../src/reference-server/cluster/envelope.js';
import { reconnectDelay } from '../../src/reference-server/cluster/redis-link.js';
import { CLUSTER_RECONNECT_BASE_MS, CLUSTER_RECONNECT_MAX_MS } from '../../src/limits.js';

describe('resolveClusterOptions', () => {
  it('reads host, port and database, with the room and lease defaults', () => {
    expect(resolveClusterOptions({ url: 'redis://10.0.0.5:6380/3' })).toEqual({
      host: '10.0.0.5',
      port: 6380,
      db: 3,
      room: 'main',
      leaseMs: 5000,
      heartbeatMs: 1000,
    });
    expect(resolveClusterOptions({ url: 'redis://localhost', room: 'lobby' })).toMatchObject({
      port: 6379,
      db: 0,
      room: 'lobby',
    });
  });

  it('beats three times per lease when the lease is short', () => {
    expect(resolveClusterOptions({ url: 'redis://h:1', leaseMs: 600 }).heartbeatMs).toBe(200);
  });

  it.each([
    ['http://h:1', {}],
    ['redis://user:pw@h:1', {}],
    ['redis://h:1/x', {}],
    ['not a url', {}],
    ['redis://h:1', { room: 'a b' }],
    ['redis://h:1', { leaseMs: 600, heartbeatMs: 300 }],
  ])('refuses %s %j with CLUSTER_BAD_URL', (url, extra) => {
    const error = (() => {
      try {
        resolveClusterOptions({ url, ...extra });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ClusterAddressError);
    expect((error as ClusterAddressError).code).toBe('CLUSTER_BAD_URL');
  });
});

describe('the channel envelope', () => {
  it('carries broadcast bytes unchanged, any byte included', () => {
    const bytes = Uint8Array.from([0, 0x42, 0x4a, 0xff, 10]);
    expect(decodeEnvelope(encodeBroadcast(bytes))).toEqual({ kind: 'broadcast', bytes: Buffer.from(bytes) });
  });

  it('carries a join notice with its node and connection id', () => {
    const decoded = decodeEnvelope(encodeJoin('host-12-abc', 4_000_000_000, Buffer.from('bob joined!')));
    expect(decoded).toEqual({ kind: 'join', node: 'host-12-abc', id: 4_000_000_000, bytes: Buffer.from('bob joined!') });
  });

  it('ignores what is not an envelope (another program on the channel)', () => {
    expect(decodeEnvelope(Buffer.from('hello'))).toBeUndefined();
    expect(decodeEnvelope(Buffer.from([0x4a, 5, 1]))).toBeUndefined();
    expect(decodeEnvelope(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('reconnectDelay', () => {
  it('doubles from the base up to the cap', () => {
    expect([1, 2, 3].map(reconnectDelay)).toEqual([1, 2, 4].map((k) => k * CLUSTER_RECONNECT_BASE_MS));
    expect(reconnectDelay(50)).toBe(CLUSTER_RECONNECT_MAX_MS);
  });
});
