import { describe, expect, it } from 'vitest';
import { type ClusterRun, clusterRows, lostCell, renderClusterSection } from '../../bench/cluster.js';

const run = (nodes: number, deliveries: number, extra: Partial<ClusterRun> = {}): ClusterRun => ({
  nodes,
  members: 1000,
  deliveries,
  expected: 10_000_000,
  lost: 10_000_000 - deliveries,
  membersLost: 0,
  endedBy: deliveries === 10_000_000 ? 'complete' : 'drain-quiet',
  crossNode: 0,
  perSecond: 500_000,
  p50Ms: 100,
  p99Ms: 900,
  serverCpuMs: 10_000,
  redisCpuMs: nodes === 1 ? 0 : 300,
  wallMs: 30_000,
  backgroundPercent: 10,
  loadAverage: [3, 4],
  events: {},
  ...extra,
});

describe('the cluster section of docs/BENCHMARKS.md', () => {
  it('shows a loss of one run in three although the median run lost nothing', () => {
    const runs = [run(2, 10_000_000), run(2, 9_976_000, { events: { CLUSTER_REDIS_SLOW: 2 } }), run(2, 10_000_000)];
    const [row] = clusterRows(runs);
    expect(row!.median.lost).toBe(0);
    expect(lostCell(row!)).toBe('**24,000 (0.24 %)** in 1 of 3 runs');
    const section = renderClusterSection({ generatedAt: 'now', command: 'npm run bench', runs });
    const line = section.split('\n').find((l) => l.startsWith('| 1000 | 2 nodes + Redis'));
    expect(line).toContain('| **24,000 (0.24 %)** in 1 of 3 runs |');
    expect(line).toContain('`CLUSTER_REDIS_SLOW` ×2');
    expect(section).toContain('load average was between 3.0 and 4.0');
  });

  it('says 0 for rows that lost nothing, and names members the servers closed', () => {
    const [clean, closed] = clusterRows([run(1, 10_000_000), run(3, 10_000_000, { membersLost: 2 })]);
    expect(lostCell(clean!)).toBe('0');
    expect(lostCell(closed!)).toBe('0, 2 members closed');
  });

  it('reads results written before the lost counts were recorded (lost = expected - seen)', () => {
    const { lost: _lost, ...old } = run(3, 9_167_584);
    const [row] = clusterRows([old]);
    expect(row!.worstLost).toEqual({ lost: 832_416, expected: 10_000_000 });
  });
});
