/**
 * Loads `spec/vectors/*.json` (format: spec/README.md, "Vectors") and checks each file's shape
 * with zod, so a malformed row fails loudly instead of testing nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../src/errors.js';

const errorCode = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);
const base = {
  id: z.string().regex(/^[a-z]+(\.[a-z0-9-]+)+$/),
  requirement: z.string().regex(/^[A-Z]+(-[A-Z0-9]+)+$/),
  dialect: z.enum(['nick', 'tilde']),
  framing: z.enum(['chunk', 'line']).optional(),
  note: z.string().optional(),
};
const decodeBase = {
  ...base,
  direction: z.enum(['toClient', 'toServer']),
  state: z.enum(['handshake', 'joining', 'session']).optional(),
  prompt: z.string().optional(),
};
const message = z.looseObject({ type: z.string() });

/** A frame that decodes to one message (and, with `roundtrip`, encodes back to the same bytes). */
export const messageVector = z.strictObject({
  ...decodeBase,
  bytes: z.string(),
  message,
  roundtrip: z.boolean(),
  legacy: z.string().optional(),
});
/** A frame that decodes to one coded issue. */
export const errorVector = z.strictObject({
  ...decodeBase,
  bytes: z.string(),
  error: errorCode,
  offset: z.number().int().min(0).optional(),
  legacy: z.string().optional(),
});
/** Several chunks pushed in order (and optionally the end of the stream) with every event expected. */
export const streamVector = z.strictObject({
  ...decodeBase,
  chunks: z.array(z.string()).min(1),
  end: z.boolean().optional(),
  events: z.array(
    z.union([
      z.strictObject({ message }),
      z.strictObject({ error: errorCode, offset: z.number().int().min(0).optional() }),
    ]),
  ),
});
/** A message object the encoder must refuse with a code. */
export const encodeErrorVector = z.strictObject({ ...base, message, encodeError: errorCode });

export const vector = z.union([messageVector, errorVector, streamVector, encodeErrorVector]);
export type Vector = z.infer<typeof vector>;

export const VECTOR_DIR = join(import.meta.dirname, '../../spec/vectors');

/** Every vector of every file, with the file it came from. */
export function loadVectors(): { file: string; vector: Vector }[] {
  const out: { file: string; vector: Vector }[] = [];
  for (const file of readdirSync(VECTOR_DIR).filter((f) => f.endsWith('.json'))) {
    const doc = z
      .strictObject({ description: z.string(), format: z.string(), vectors: z.array(vector) })
      .parse(JSON.parse(readFileSync(join(VECTOR_DIR, file), 'utf8')));
    for (const v of doc.vectors) out.push({ file, vector: v });
  }
  return out;
}
