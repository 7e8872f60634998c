/**
 * Every conformance case, in report order: one module per spec section and dialect.
 *
 * @module
 */
import type { ConformanceCase } from './harness/case.js';
import { NICK_CORE_CASES } from './nick/core.js';

/** The whole suite. */
export const ALL_CASES: readonly ConformanceCase[] = [...NICK_CORE_CASES];
