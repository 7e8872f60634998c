/**
 * Starting one of this folder's worker threads from its module name. Compiled (`dist/`), the entry
 * is plain JavaScript; run from the TypeScript sources (scripts under tsx, the tests under vitest),
 * a worker on Node 20 does not inherit the parent's loader, so it loads the entry through tsx's
 * `tsImport` (tsx is a dev dependency, as running from sources is).
 *
 * @module
 */
import { Worker } from 'node:worker_threads';

/** Starts `./<name>.js` (or `.ts` from sources) next to this file as a worker with `workerData`. */
export function startThread(name: string, workerData: unknown): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(`./${name}${fromSources ? '.ts' : '.js'}`, import.meta.url);
  if (!fromSources) return new Worker(entry, { workerData });
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}))`;
  return new Worker(code, { eval: true, workerData });
}
