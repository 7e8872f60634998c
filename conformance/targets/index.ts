/**
 * Where the transcribed seed scripts live (./python/, with their defects in its README).
 *
 * @module
 */
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/package-root.js';

/** Directory of the transcribed seed scripts. */
export const PYTHON_TARGETS_DIR = join(PACKAGE_ROOT, 'conformance/targets/python');
