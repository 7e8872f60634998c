/**
 * The schema of a dialect definition file (`spec/dialects/*.yaml`), checked with zod before
 * anything is generated from it, so a typo in the spec fails `npm run gen` with a clear path.
 */
import { z } from 'zod';
import { ERROR_CODES } from '../../src/errors.js';

const errorCode = z.enum(
  Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]],
);
const requirementId = z.string().regex(/^[A-Z]+(-[A-Z0-9]+)+$/, 'a requirement ID such as NICK-JOIN-1');
const state = z.enum(['handshake', 'joining', 'session']);

const check = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('minBytes'), value: z.number().int().min(0), code: errorCode }),
  z.strictObject({ kind: z.literal('maxBytes'), value: z.number().int().min(1), code: errorCode }),
  z.strictObject({ kind: z.literal('pattern'), value: z.string(), code: errorCode }),
  z.strictObject({ kind: z.literal('notIn'), value: z.array(z.string()).min(1), code: errorCode }),
]);

/** One field: where messages hold variable text, with the checks its value must pass. */
export const fieldDefinition = z.strictObject({
  description: z.string(),
  requirement: requirementId,
  checks: z.array(check),
});

/** One message of a dialect: its template on the wire and where it may arrive. */
export const messageDefinition = z.strictObject({
  type: z.string().regex(/^[a-z]+$/),
  direction: z.enum(['toClient', 'toServer', 'both']),
  states: z.array(state).min(1),
  next: state.optional(),
  template: z.string().min(1),
  requirement: requirementId,
  description: z.string(),
});

/** A whole dialect file. */
export const dialectFile = z.strictObject({
  dialect: z.enum(['nick', 'tilde']),
  title: z.string(),
  section: z.string(),
  encoding: z.enum(['ascii', 'utf-8']),
  defaults: z.strictObject({
    host: z.string(),
    port: z.number().int().min(1).max(65535),
    prompt: z.string().optional(),
  }),
  variants: z.array(
    z.strictObject({
      name: z.string(),
      description: z.string(),
      port: z.number().int().min(1).max(65535),
      prompt: z.string(),
    }),
  ),
  limits: z.strictObject({
    recvBytes: z.number().int().positive(),
    messageMaxBytes: z.number().int().positive(),
    nicknameMaxBytes: z.number().int().positive(),
    contentMaxBytes: z.number().int().positive().optional(),
  }),
  fields: z.record(z.string().regex(/^[a-z]+$/), fieldDefinition),
  messages: z.array(messageDefinition).min(1),
});

/** A parsed, checked dialect file. */
export type DialectFile = z.infer<typeof dialectFile>;
