/**
 * `npm run soak:hostile [-- --members N ...]`: the hostile soak (src/bench/hostile-soak.ts) against
 * `chatkit serve` in its default mode: by default 10,000 well-behaved members, churn, three
 * flooders and bad-byte clients of every kind. Prints the figures, writes them as JSON with
 * `--json FILE`, and exits 1 when a well-behaved member was closed or lost a message, someone was
 * evicted, a flood did not come back whole, or churn fell short of its plan or was refused. `--help`
 * lists the knobs; smaller runs take seconds.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BAD_BYTE_KINDS } from '../src/bench/hostile.js';
import { type HostileSoakResult, runHostileSoak } from '../src/bench/hostile-soak.js';
import { openFileLimit } from '../src/processes/index.js';
import { PACKAGE_ROOT } from '../src/package-root.js';

const USAGE = `npm run soak:hostile -- [options]
  --members N        well-behaved members (default 10000)
  --senders N        of them, how many chat (default 100)
  --rate R           messages per second per sender (default 1)
  --duration-ms MS   how long they chat while the hostile peers act (default 60000)
  --flooders N       flooders, at most 3 (default 3)
  --flood-bytes N    bytes each flooder floods as fast as it can (default 262144)
  --bad N            bad-byte clients of each kind: ${BAD_BYTE_KINDS.join(', ')} (default 2)
  --huge-line N      bytes of one huge line (default 65536)
  --silent N         silent connections a silent client holds open (default 200)
  --churn N          joins a second (in a thread of their own), each member leaving again after
                     about --stay-ms; the soak fails when fewer than planned were attempted (default 5)
  --stay-ms MS       (default 3000)
  --dialect D        nick or tilde (default nick)
  --json FILE        also write the figures as JSON`;

function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      members: { type: 'string', default: '10000' },
      senders: { type: 'string', default: '100' },
      rate: { type: 'string', default: '1' },
      'duration-ms': { type: 'string', default: '60000' },
      flooders: { type: 'string', default: '3' },
      'flood-bytes': { type: 'string', default: '262144' },
      bad: { type: 'string', default: '2' },
      'huge-line': { type: 'string', default: '65536' },
      silent: { type: 'string', default: '200' },
      churn: { type: 'string', default: '5' },
      'stay-ms': { type: 'string', default: '3000' },
      dialect: { type: 'string', default: 'nick' },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return Promise.resolve();
  }
  const int = (name: keyof typeof values) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number >= 0\n${USAGE}`);
    return n;
  };
  const dialect = values.dialect;
  if (dialect !== 'nick' && dialect !== 'tilde') throw new Error(`--dialect must be nick or tilde\n${USAGE}`);
  const members = int('members');
  const limit = openFileLimit();
  // Node raises its soft limit to the hard one; the server (a child) does the same. Both need one
  // descriptor per connection.
  if (limit !== undefined && limit.hard < members + 1_000) {
    console.warn(
      `warning: the open-file hard limit is ${limit.hard}, below the ${members + 1_000} descriptors this soak needs: raise it (ulimit -Hn, as root) or use fewer --members`,
    );
  }
  return runHostileSoak({
    serverCommand: [process.execPath, join(PACKAGE_ROOT, 'bin/chatkit.js'), 'serve', '--max-clients', String(members + 1_000)],
    dialect,
    members,
    senders: int('senders'),
    rate: int('rate'),
    durationMs: int('duration-ms'),
    flooders: Math.min(3, int('flooders')),
    floodBytes: int('flood-bytes'),
    badBytesPerKind: int('bad'),
    hugeLineBytes: int('huge-line'),
    silentConnections: int('silent'),
    churnPerSecond: int('churn'),
    churnStayMs: int('stay-ms'),
    joinConcurrency: 64,
    waitMs: 120_000,
    progress: (line) => console.log(line),
  }).then((result) => {
    console.log(summary(result));
    if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
    if (result.problems.length > 0) process.exitCode = 1;
  });
}

const mb = (n: number | null) => (n === null ? '?' : `${(n / 2 ** 20).toFixed(1)} MB`);

/** The figures for people. */
export function summary(r: HostileSoakResult): string {
  const lines = [
    `hostile soak: ${r.problems.length === 0 ? 'PASSED' : 'FAILED'} in ${(r.durationMs / 1000).toFixed(1)} s (${r.options.dialect}, default write mode)`,
    `members: ${r.members.joined}/${r.members.wanted} joined, ${r.members.stillJoined} still joined at the end, ${r.members.closedByServer} closed by the server; evicted (SLOW_CONSUMER): ${r.evicted}`,
    `deliveries: ${r.deliveries.seen}/${r.deliveries.expected} seen, ${r.deliveries.lost} lost (${r.options.senders} senders × ${r.options.rate} msg/s for ${r.options.durationMs / 1000} s; latency p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms; ended by ${r.endedBy})`,
    ...r.floods.map(
      (f) =>
        `flooder ${f.byte}: ${f.sent} bytes written in ${(f.writeMs / 1000).toFixed(1)} s, ${f.received} back to itself (${f.lost} lost), whole flood through the room in ${f.completeMs === null ? '?' : `${(f.completeMs / 1000).toFixed(1)} s`} (${f.bytesPerSecond === null ? '?' : `${Math.round(f.bytesPerSecond / 1024)} KiB/s`})`,
    ),
    `hostile peers acted for ${(r.hostileMs / 1000).toFixed(1)} s; FLOODING episodes logged: ${r.floodingEpisodes}`,
    ...r.badBytes.map(
      (b) => `bad-byte ${b.kind}: ${b.connections} connections, ${b.joined} joined, ${b.closedByServer} closed by the server, ${b.bytes} bad bytes`,
    ),
    r.churn === null
      ? 'churn: none'
      : `churn: ${r.churn.planned} joins planned (${r.options.churnPerSecond}/s), ${r.churn.attempted} attempted (${r.churn.missed} missed, at most ${r.churn.maxLagMs} ms late), ${r.churn.joined} completed (join ${r.churn.joinMs === null ? '?' : `p50 ${r.churn.joinMs.p50} ms, max ${r.churn.joinMs.max} ms`}), ${r.churn.left} left on their own, ${r.churn.closedByServer} closed by the server, failures ${JSON.stringify(r.churn.failures)}`,
    `server: peak RSS ${mb(r.server.rssPeakBytes)}, descriptors ${r.server.descriptorsAtStart ?? '?'} at start, ${r.server.descriptorsPeak ?? '?'} peak, ${r.server.descriptorsAtEnd ?? '?'} once everyone left; CPU ${r.server.cpuMs ?? '?'} ms; exit ${r.server.exitCode ?? '?'} on SIGTERM`,
    `server log codes: ${JSON.stringify(r.server.logCodes)}`,
    ...r.warnings.map((w) => `warning: ${w}`),
    ...r.problems.map((p) => `PROBLEM: ${p}`),
  ];
  return lines.join('\n');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 2;
});
