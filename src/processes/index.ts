/**
 * Process control in one place: starting programs as process groups on free ports and ending them with
 * every descendant (./spawn.ts, ./ports.ts), launching Python (./python.ts), and the one reader of
 * `/proc` (./proc.ts). The conformance harness, `chatkit bench`, the benchmarks, the scripts and the
 * tests' helpers all import from here; nothing here knows about the suite.
 *
 * @module
 */
export * from './ports.js';
export * from './file-limit.js';
export * from './proc.js';
export * from './python.js';
export * from './spawn.js';
