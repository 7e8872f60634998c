/**
 * The generated zod-free checks (src/codec/check.ts) give the generated zod schemas' verdicts:
 * the same success and data, and on failure the same code, requirement and field path as the
 * schema's first issue, for every message of every dialect and extension profile.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import * as generated from '../../src/codec/generated/index.js';
import { codecErrorFromCheck, codecErrorFromZod } from '../../src/codec/issues.js';

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

interface Row {
  readonly type: string;
  readonly fields: readonly string[];
  readonly requirement: string;
  readonly check: (m: unknown) => { success: boolean; data?: unknown; issue?: unknown };
}

const tables: [string, readonly Row[]][] = [
  ...Object.entries(generated.DIALECTS).map(([name, d]) => [name, d.messages] as [string, readonly Row[]]),
  ...Object.entries(generated.EXTENSIONS).map(([name, x]) => [name, x.messages] as [string, readonly Row[]]),
];

const schemaOf = (table: string, type: string): z.ZodType =>
  (generated as unknown as Record<string, z.ZodType>)[`${pascal(table)}${pascal(type)}Schema`]!;

/** Strings near every check's edges: empty, long, separators, controls, non-ASCII. */
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', ':', '~', '\t', '\n', '\r', '\x00', '\x7f', 'é', '🌍', '#', '/'), maxLength: 40 }),
  fc.constantFrom('', 'a', 'x'.repeat(32), 'x'.repeat(33), 'admin', 'general', '#general', 'NICK', 'Hii'),
);
const value = fc.oneof({ weight: 8, arbitrary: text }, { weight: 1, arbitrary: fc.constantFrom(undefined, null, 1, {}, []) });

describe('the generated checks agree with the generated zod schemas', () => {
  for (const [table, rows] of tables) {
    for (const row of rows) {
      it(`${table} ${row.type}`, () => {
        const schema = schemaOf(table, row.type);
        expect(schema).toBeDefined();
        const message = fc.record({
          type: fc.oneof({ weight: 6, arbitrary: fc.constant(row.type) }, { weight: 1, arbitrary: value }),
          fields: fc.tuple(...row.fields.map(() => fc.option(value, { nil: undefined, freq: 10 }))),
          extra: fc.option(fc.constantFrom('extra', 'nick', 'text', 'type', '__proto__x'), { freq: 5 }),
        }).map(({ type, fields, extra }) => {
          const m: Record<string, unknown> = { type };
          row.fields.forEach((f, i) => {
            if (fields[i] !== undefined) m[f] = fields[i];
          });
          if (extra !== null && !(extra in m)) m[extra] = 'x';
          return m;
        });
        const anything = fc.oneof({ weight: 20, arbitrary: message }, { weight: 1, arbitrary: fc.constantFrom(null, 'chat', 1, []) });
        fc.assert(
          fc.property(anything, (m) => {
            const byZod = schema.safeParse(m);
            const byCheck = row.check(m);
            expect(byCheck.success).toBe(byZod.success);
            if (byZod.success) {
              expect(byCheck.data).toStrictEqual(byZod.data);
              expect(Object.keys(byCheck.data as object)).toEqual(Object.keys(byZod.data as object));
            } else {
              const zodError = codecErrorFromZod(byZod.error, { fallbackRequirement: row.requirement });
              const checkError = codecErrorFromCheck(byCheck.issue as never, { fallbackRequirement: row.requirement });
              expect([checkError.code, checkError.requirement, checkError.message]).toEqual([
                zodError.code,
                zodError.requirement,
                zodError.message,
              ]);
            }
          }),
          { numRuns: 400 },
        );
      });
    }
  }
});
