/**
 * `npm run gen`: regenerates `src/codec/generated/` from `spec/dialects/*.yaml` and
 * `spec/dialects/extensions/*.yaml`.
 * `npm run gen -- --check` writes nothing and exits 1 when the committed files are stale.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RenderedFile, renderAll } from './gen/render.js';

/** The repository root, found from this file's place in it. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Reads the dialect files and renders what `src/codec/generated/` must hold. */
export function renderFromDisk(root = REPO_ROOT): RenderedFile[] {
  const dir = join(root, 'spec/dialects');
  const sources = new Map<string, string>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    sources.set(`spec/dialects/${name}`, readFileSync(join(dir, name), 'utf8'));
  }
  // Extension profiles (spec §14) extend a dialect: they live beside the dialects, one file each.
  const extDir = join(dir, 'extensions');
  for (const name of readdirSync(extDir).filter((n) => n.endsWith('.yaml'))) {
    sources.set(`spec/dialects/extensions/${name}`, readFileSync(join(extDir, name), 'utf8'));
  }
  return renderAll(sources);
}

function main(): void {
  const check = process.argv.includes('--check');
  const stale: string[] = [];
  for (const file of renderFromDisk()) {
    const path = join(REPO_ROOT, file.path);
    let current: string | undefined;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === file.text) continue;
    stale.push(file.path);
    if (!check) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.text);
    }
  }
  if (check && stale.length > 0) {
    console.error(`stale generated files (run npm run gen): ${stale.join(', ')}`);
    process.exit(1);
  }
  console.log(stale.length === 0 ? 'generated codecs are up to date' : `wrote ${stale.join(', ')}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
