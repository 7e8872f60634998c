// `node --import ./record-loads.mjs …`: records every module the program loads (see load-hooks.mjs).
import { register } from 'node:module';

register('./load-hooks.mjs', import.meta.url);
