/**
 * Summaries of a V8 CPU profile (`node --cpu-prof`): where the time went, by function (self time)
 * and by the chatkit code that led there (inclusive time), for the benchmark report.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One line of a summary. */
export interface ProfileEntry {
  name: string;
  ms: number;
  percent: number;
}

/** The summary of one profile. */
export interface ProfileSummary {
  totalMs: number;
  /** Time spent in each function itself (V8 builtins and native calls like `writeBuffer` included). */
  self: ProfileEntry[];
  /** Time spent in each of chatkit's own functions and everything it called. */
  inclusive: ProfileEntry[];
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  if (url === '') return name;
  const dist = url.indexOf('/dist/');
  const where = dist >= 0 ? url.slice(dist + 6) : url.replace(/^file:\/\/.*\/node_modules\//, '');
  return `${name} (${where}:${lineNumber + 1})`;
}

/** Summarises a `.cpuprofile` file: the `top` heaviest entries of each kind. */
export function summariseProfile(path: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const timeOf = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    timeOf.set(id, (timeOf.get(id) ?? 0) + dt);
    total += dt;
  });
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of timeOf) {
    const node = byId.get(id)!;
    const name = label(node);
    if (name.startsWith('(idle)')) continue;
    self.set(name, (self.get(name) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (!n.callFrame.url.includes('/dist/src/')) continue;
      const key = label(n);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const busy =
    total - (timeOf.get(profile.nodes.find((n) => n.callFrame.functionName === '(idle)')?.id ?? -1) ?? 0);
  const entries = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({
        name,
        ms: Math.round(us / 1000),
        percent: Math.round((1000 * us) / busy) / 10,
      }));
  return { totalMs: Math.round(busy / 1000), self: entries(self), inclusive: entries(inclusive) };
}
