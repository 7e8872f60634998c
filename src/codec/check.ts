/**
 * The generated message checks without zod at run time. The generated zod schemas stay the
 * definition of a message and of its types (`z.infer`), and the library exports them; the codec
 * itself validates with plain checks generated from the same spec rows (`npm run gen`), so that
 * a process that only decodes and encodes (`chatkit serve`) does not load zod: about 12 MB of RSS
 * (bench/analysis.md). test/codec/check.test.ts holds them to the schemas' verdicts: the same
 * success, the same data, the same first issue (code, requirement, path).
 *
 * @module
 */
import type { ErrorCode } from '../errors.js';

/** A failed field check: the code and requirement the spec gives it. */
export interface FieldIssue {
  readonly code: ErrorCode;
  readonly requirement: string;
}

/** The checks of one field, in the spec's order: the first one failed, or undefined. */
export type FieldCheck = (value: string) => FieldIssue | undefined;

/**
 * The first issue of a message, as zod's first issue would report it: `code` and `requirement`
 * for a failed field check (zod's `custom` issue with its params), none for a structural fault
 * (not an object, a wrong `type`, a field that is no string, a key the message does not have).
 */
export interface MessageIssue {
  readonly code?: ErrorCode;
  readonly requirement?: string;
  /** The field at fault, as zod's issue path: empty for the message itself. */
  readonly path: readonly string[];
}

/** What a message check returns: zod's `safeParse` shape without zod. */
export type CheckResult =
  | { readonly success: true; readonly data: Record<string, string> }
  | { readonly success: false; readonly issue: MessageIssue };

/** Checks one message of the generated tables. */
export type MessageCheck = (message: unknown) => CheckResult;

const MESSAGE: readonly string[] = [];

/**
 * The check of a message with discriminant `type` and `fields` (in template order), as
 * `z.strictObject({ type: z.literal(type), ...fields })` checks it: keys in shape order, the first
 * issue wins; unknown keys are reported after every known key.
 */
export function messageCheck(type: string, fields: readonly (readonly [string, FieldCheck])[]): MessageCheck {
  const known = new Set(['type', ...fields.map(([name]) => name)]);
  return (message) => {
    if (typeof message !== 'object' || message === null || Array.isArray(message))
      return { success: false, issue: { path: MESSAGE } };
    const record = message as Record<string, unknown>;
    if (record.type !== type) return { success: false, issue: { path: ['type'] } };
    const data: Record<string, string> = { type };
    for (const [name, check] of fields) {
      const value = record[name];
      if (typeof value !== 'string') return { success: false, issue: { path: [name] } };
      const failed = check(value);
      if (failed !== undefined)
        return { success: false, issue: { code: failed.code, requirement: failed.requirement, path: [name] } };
      data[name] = value;
    }
    for (const key of Object.keys(record)) if (!known.has(key)) return { success: false, issue: { path: MESSAGE } };
    return { success: true, data };
  };
}
