import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRequirements } from '../../conformance/harness/requirements.js';
import { ERROR_CODES } from '../../src/errors.js';
import { messageTable } from '../../src/index.js';
import { loadVectors } from '../support/vectors.js';

const ROOT = join(import.meta.dirname, '../..');
const specReadme = readFileSync(join(ROOT, 'spec/README.md'), 'utf8');

describe('spec/README.md', () => {
  it('lists exactly the error codes of src/errors.ts, with the same sentences', () => {
    const rows = [...specReadme.matchAll(/^\| `([A-Z0-9_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual(ERROR_CODES);
  });
});

describe('spec/PROTOCOL.md', () => {
  const requirements = readRequirements(join(ROOT, 'spec/PROTOCOL.md'));

  it('defines every requirement once, with a level and a text', () => {
    expect(requirements.length).toBeGreaterThan(40);
    const ids = requirements.map((r) => r.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    for (const r of requirements) expect(r.text.length).toBeGreaterThan(20);
  });

  it('defines every requirement the dialect files, the vectors and the source cite', () => {
    const known = new Set(requirements.map((r) => r.id));
    const cited = new Set<string>();
    for (const dialect of ['nick', 'tilde'] as const)
      for (const m of messageTable(dialect)) cited.add(m.requirement);
    const yamls = [
      ...readdirSync(join(ROOT, 'spec/dialects')).filter((n) => n.endsWith('.yaml')),
      ...readdirSync(join(ROOT, 'spec/dialects/extensions')).map((n) => `extensions/${n}`),
    ];
    for (const name of yamls) {
      const yaml = readFileSync(join(ROOT, 'spec/dialects', name), 'utf8');
      for (const m of yaml.matchAll(/requirement: ([A-Z0-9-]+)/g)) cited.add(m[1]!);
    }
    for (const { vector } of loadVectors()) cited.add(vector.requirement);
    expect([...cited].filter((id) => !known.has(id)).sort()).toEqual([]);
  });
});

describe('spec/PROTOCOL.md Annex A', () => {
  const protocol = readFileSync(join(ROOT, 'spec/PROTOCOL.md'), 'utf8');
  const annex = protocol.slice(protocol.indexOf('## Annex A'), protocol.indexOf('## Annex B'));
  const defects = [...annex.matchAll(/^\| (D-[A-Z]{2}-\d+) \| ([^|]+) \|/gm)].map((m) => ({
    id: m[1]!,
    breaks: m[2]!.split(',').map((s) => s.trim()),
  }));
  const testTitles = (dir: string) =>
    readdirSync(join(ROOT, dir))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join(ROOT, dir, f), 'utf8'))
      .join('\n');

  it('lists each defect once, citing requirements the spec defines', () => {
    const known = new Set(readRequirements(join(ROOT, 'spec/PROTOCOL.md')).map((r) => r.id));
    expect(defects.length).toBeGreaterThan(20);
    expect(new Set(defects.map((d) => d.id)).size).toBe(defects.length);
    for (const d of defects) for (const id of d.breaks) expect(known, `${d.id} cites ${id}`).toContain(id);
  });

  it('has a test on the real script, named with its ID, for every defect (test/legacy)', () => {
    const titles = testTitles('test/legacy');
    const missing = defects
      .filter((d) => !new RegExp(`it\\(\\s*['"\`]${d.id}:`).test(titles))
      .map((d) => d.id);
    expect(missing).toEqual([]);
  });

  /**
   * Whether `source` has a test titled with `id`: `it('D-XX-N: ...')`, or a table test
   * `it.each(...)('D-XX-N: ...')`; a requirement may stand between the ID and the colon
   * (`D-TS-7 (TILDE-RELAY-3): ...`).
   */
  const namesTest = (source: string, id: string) =>
    new RegExp(`(?:\\bit|\\))\\(\\s*['"\`]${id}(?: \\([A-Z0-9-]+\\))?:`).test(source);

  /** The defects with one of `prefixes` that no test in `dir` is named with. */
  const unnamed = (dir: string, prefixes: readonly string[]) => {
    const titles = testTitles(dir);
    const ids = defects.map((d) => d.id).filter((id) => prefixes.some((p) => id.startsWith(p)));
    expect(ids.length).toBeGreaterThan(10);
    return ids.filter((id) => !namesTest(titles, id));
  };

  it('has a test showing the reference server does not have it, named with its ID, for every D-NS and D-TS defect (test/reference-server)', () => {
    expect(unnamed('test/reference-server', ['D-NS-', 'D-TS-'])).toEqual([]);
  });

  it('has a test showing the reference client does not have it, named with its ID, for every D-NC and D-TC defect (test/reference-client)', () => {
    expect(unnamed('test/reference-client', ['D-NC-', 'D-TC-'])).toEqual([]);
  });
});
