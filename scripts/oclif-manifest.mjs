/**
 * Writes oclif.manifest.json after the build (`npm run build`). With it, `chatkit <command>` loads
 * only that command's module instead of every command to read their flags: `chatkit serve`
 * starts faster and holds less memory for as long as it serves.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Plugin } from '@oclif/core';

const root = fileURLToPath(new URL('..', import.meta.url));
const plugin = new Plugin({ root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true });
await plugin.load();
writeFileSync(join(root, 'oclif.manifest.json'), `${JSON.stringify(plugin.manifest, null, 2)}\n`);
