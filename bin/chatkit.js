#!/usr/bin/env node
// The chatkit command. Commands are compiled to dist/ by `npm run build` (run on `npm install`).
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
