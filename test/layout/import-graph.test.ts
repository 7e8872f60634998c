/**
 * The code's import graph has no circle: a module never imports, directly or through others, a
 * module that imports it (type-only imports included, since they tie the modules' meanings just
 * as much). The graph is read with TypeScript's own pre-processor, every relative import of every
 * source file under src/, conformance/, cli/, bench/ and scripts/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/package-root.js';

const ROOTS = ['src', 'conformance', 'cli', 'bench', 'scripts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every module's relative imports, as repository paths. */
export function importGraph(root: string = PACKAGE_ROOT): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of ROOTS.flatMap((r) => sourceFiles(join(root, r)))) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, false);
    const targets = importedFiles
      .map((f) => f.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => relative(root, resolve(dirname(file), name.replace(/\.js$/, '.ts'))));
    graph.set(relative(root, file), targets);
  }
  return graph;
}

/** The circles of a graph (each one found once), as lists of modules. */
export function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (state.get(node) === undefined) visit(node);
  return found;
}

describe('import graph', () => {
  it('finds a circle when there is one (the check can fail)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(circles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('reads the real imports of the harness', () => {
    const graph = importGraph();
    expect(graph.get('conformance/harness/runner.ts')).toContain('conformance/harness/case.ts');
  });

  it('has no import circle in src/, conformance/, cli/, bench/ and scripts/', () => {
    expect(circles(importGraph()).map((c) => c.join(' -> '))).toEqual([]);
  });
});

/** Everything `start` imports, directly or through others. */
function reachable(graph: ReadonlyMap<string, readonly string[]>, start: string): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    for (const next of graph.get(queue.shift()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

describe('layers', () => {
  it('finds what a module reaches through others (the check can fail)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
    ]);
    expect([...reachable(graph, 'a.ts')]).toEqual(['b.ts', 'c.ts']);
  });

  it('src/ never imports the suite, the CLI or the benchmarks', () => {
    const graph = importGraph();
    const upward = [...graph].flatMap(([from, to]) =>
      from.startsWith('src/') ? to.filter((t) => /^(conformance|cli|bench|grade|scripts)\//.test(t)).map((t) => `${from} -> ${t}`) : [],
    );
    expect(upward).toEqual([]);
  });

  it('chatkit bench does not depend on the conformance suite (process control lives in src/processes/)', () => {
    const suite = [...reachable(importGraph(), 'cli/commands/bench.ts')].filter((m) => m.startsWith('conformance/'));
    expect(suite).toEqual([]);
  });
});
