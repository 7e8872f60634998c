/**
 * Where chatkit's own files are (the spec, the Python targets), whether it runs from its sources
 * (tsx, vitest) or from `dist/`: the nearest folder above this module whose package.json is
 * chatkit's.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** chatkit's name on the npm registry (`chatkit` itself belongs to an unrelated package). */
export const PACKAGE_NAME = '@chatkit-dev/cli';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME) return dir;
      } catch {
        // Not a readable manifest: keep walking up.
      }
    }
    if (dirname(dir) === dir) throw new Error(`chatkit's package.json not found above ${from}`);
  }
}

/** The folder holding chatkit's package.json. */
export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
