/**
 * The hostile soak, small (issue 16): `chatkit serve` in its default mode, 200 members chatting
 * while members join and leave, one flooder floods and bad-byte clients of every kind (invalid
 * UTF-8, control bytes, a huge line, half-open and silent handshakes) do their worst. Nobody
 * well-behaved is closed or loses a message, nobody is evicted, the flood comes back whole. The
 * 10,000-member run is `npm run soak:hostile` (docs/hostile.md).
 */
import { describe, expect, it } from 'vitest';
import { BAD_BYTE_KINDS } from '../../src/bench/hostile.js';
import { runHostileSoak } from '../../src/bench/hostile-soak.js';
import { assertBuilt, CHATKIT } from '../support/cli.js';

const MEMBERS = 200;
const WAIT_MS = 60_000;

describe('chatkit serve under the hostile soak (small)', () => {
  it('200 members with churn, a flooder and bad-byte clients: all still joined, 0 lost, none evicted, the flood back whole', async () => {
    assertBuilt();
    const r = await runHostileSoak({
      serverCommand: [process.execPath, CHATKIT, 'serve'],
      dialect: 'nick',
      members: MEMBERS,
      senders: 50,
      rate: 5,
      durationMs: 6_000,
      flooders: 1,
      floodBytes: 4 * 1024 * 1024,
      badBytesPerKind: 1,
      hugeLineBytes: 64 * 1024,
      silentConnections: 100,
      churnPerSecond: 5,
      churnStayMs: 1_000,
      joinConcurrency: 64,
      waitMs: WAIT_MS,
    });
    expect(r.problems).toEqual([]);
    expect(r.members).toEqual({ wanted: MEMBERS, joined: MEMBERS, closedByServer: 0, stillJoined: MEMBERS });
    expect(r.deliveries.lost).toBe(0);
    expect(r.deliveries.seen).toBe(r.deliveries.expected);
    expect(r.deliveries.expected, 'deliveries expected').toBeGreaterThan(0);
    expect(r.evicted).toBe(0);
    // The flood: throttled and back whole. Which throttle acts first (the rate limit, logged as
    // FLOODING, or the room's backlog, not logged) depends on how fast the members read, so it is
    // not asserted here; test/reference-server/flow.int.test.ts pins the rate limit on its own.
    const [flood] = r.floods;
    expect(flood!.sent).toBe(4 * 1024 * 1024);
    expect(flood!.lost).toBe(0);
    expect(r.watcherReceived).toEqual([flood!.sent]);
    // The hostile peers did act: every kind connected, the silent ones were closed by the server.
    expect(r.badBytes.map((b) => b.kind)).toEqual([...BAD_BYTE_KINDS]);
    for (const b of r.badBytes) expect(b.connections, `${b.kind} connections`).toBeGreaterThan(0);
    expect(r.badBytes.find((b) => b.kind === 'silent')!.closedByServer, `silent closed by the server (hostile peers acted ${r.hostileMs} ms)`).toBeGreaterThan(0);
    // Churn ran at its planned rate in its own thread, and every churn newcomer joined, silent
    // handshakes notwithstanding.
    const churn = r.churn!;
    expect(churn.planned, `churn planned (hostile peers acted ${r.hostileMs} ms)`).toBeGreaterThan(0);
    expect(churn.attempted).toBe(churn.planned);
    expect(churn.missed).toBe(0);
    expect(churn.joined).toBe(churn.attempted);
    expect(churn.closedByServer).toBe(0);
    expect(churn.failures).toEqual({});
    // Descriptors back at their baseline once everyone left; the server ended cleanly.
    expect(r.server.descriptorsAtEnd).toBeLessThanOrEqual(r.server.descriptorsAtStart! + 8);
    expect(r.server.exitCode).toBe(0);
  }, 8 * WAIT_MS);
});
