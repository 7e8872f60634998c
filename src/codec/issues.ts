/**
 * Turns zod validation failures into chatkit's own coded errors. The generated schemas attach
 * `{ code, requirement }` to every check, so the mapping is a lookup, not a reading of English text.
 *
 * @module
 */
import type { z } from 'zod';
import { CodecError, ERROR_CODES, type ErrorCode } from '../errors.js';
import type { MessageIssue } from './check.js';

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The code and requirement of the first issue of a zod error. */
export function codeOfZodError(
  error: z.ZodError,
  fallbackRequirement: string,
): { code: ErrorCode; requirement: string } {
  const issue = error.issues[0];
  if (issue?.code === 'custom') {
    const params = (issue as { params?: { code?: unknown; requirement?: unknown } }).params;
    if (isErrorCode(params?.code)) {
      const requirement = typeof params.requirement === 'string' ? params.requirement : fallbackRequirement;
      return { code: params.code, requirement };
    }
  }
  if (issue?.code === 'invalid_union' && issue.path[0] === 'type') {
    return { code: 'UNKNOWN_MESSAGE_TYPE', requirement: fallbackRequirement };
  }
  return { code: 'INVALID_MESSAGE', requirement: fallbackRequirement };
}

/** A {@link CodecError} for a zod failure, with the field path in the message. */
export function codecErrorFromZod(
  error: z.ZodError,
  context: { fallbackRequirement: string; offset?: number; bytes?: Uint8Array },
): CodecError {
  const { code, requirement } = codeOfZodError(error, context.fallbackRequirement);
  const path = error.issues[0]?.path.join('.') || 'message';
  return new CodecError(code, `${path}: ${ERROR_CODES[code]} (${requirement})`, {
    requirement,
    ...(context.offset === undefined ? {} : { offset: context.offset }),
    ...(context.bytes === undefined ? {} : { bytes: context.bytes }),
  });
}

/** The code and requirement of a failed generated check (src/codec/check.ts), as {@link codeOfZodError} maps zod's. */
export function codeOfCheck(issue: MessageIssue, fallbackRequirement: string): { code: ErrorCode; requirement: string } {
  if (issue.code !== undefined) return { code: issue.code, requirement: issue.requirement ?? fallbackRequirement };
  return { code: 'INVALID_MESSAGE', requirement: fallbackRequirement };
}

/** A {@link CodecError} for a failed generated check, worded as {@link codecErrorFromZod} words zod's. */
export function codecErrorFromCheck(
  issue: MessageIssue,
  context: { fallbackRequirement: string; offset?: number; bytes?: Uint8Array },
): CodecError {
  const { code, requirement } = codeOfCheck(issue, context.fallbackRequirement);
  const path = issue.path.join('.') || 'message';
  return new CodecError(code, `${path}: ${ERROR_CODES[code]} (${requirement})`, {
    requirement,
    ...(context.offset === undefined ? {} : { offset: context.offset }),
    ...(context.bytes === undefined ? {} : { bytes: context.bytes }),
  });
}
