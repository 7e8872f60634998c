#!/usr/bin/env node
// The chatkit command. Commands are compiled to dist/ by `npm run build` (run on `npm install`).
import { setFlagsFromString } from 'node:v8';

// `chatkit serve`: V8's young generation keeps its initial size (1 MB a semi-space) instead of
// growing to 16 MB while the CLI loads and under a join storm, and the pages it grew to are never
// handed back. Measured with `npm run bench:memory` (bench/analysis.md): 10,000 idle members cost
// about 10 MB less RSS, and 1000 members at full speed the same CPU per delivery. Set before
// anything is loaded; V8 reads the factor each time the young generation would grow.
const SERVE_SEMI_SPACE_GROWTH_FACTOR = 1;
if (process.argv[2] === 'serve') setFlagsFromString(`--semi-space-growth-factor=${SERVE_SEMI_SPACE_GROWTH_FACTOR}`);

const { execute } = await import('@oclif/core');
await execute({ dir: import.meta.url });
