/**
 * The one rule of what a NICK prompt token may be (spec §4.2): 1 to {@link PROMPT_TOKEN_MAX_BYTES}
 * bytes of printable ASCII without spaces. The rule itself is the generated `token` field of
 * `spec/dialects/nick.yaml`, so the spec is its one source; the server checks its `--prompt` with
 * it, the client's `auto`, the judge's probe, declarations and variant files recognise a prompt
 * with it, and every message that states the rule uses {@link PROMPT_TOKEN_RULE}.
 *
 * @module
 */
import { PROMPT_TOKEN_MAX_BYTES } from '../limits.js';
import { nickTokenCheck } from './generated/tables.js';

/** The rule in words, for error messages: `1 to 32 printable ASCII bytes without spaces`. */
export const PROMPT_TOKEN_RULE = `1 to ${PROMPT_TOKEN_MAX_BYTES} printable ASCII bytes without spaces`;

/** Whether `token` can be a NICK prompt: {@link PROMPT_TOKEN_RULE}. */
export function isPromptToken(token: string): boolean {
  return typeof token === 'string' && nickTokenCheck(token) === undefined;
}

/**
 * `first` (what a server sent on connecting) without one trailing line end (`\n` or `\r\n`), which
 * is no part of a prompt token: under the line profile the prompt is `NICK\n` (§8). The judge's
 * probe strips it under either profile, so that a raw server that prompts with `NICK\n` is judged
 * as NICK and fails the prompt case on its own requirement; the client strips it only under the
 * line profile, because under the raw one it does not guess what a server meant.
 */
export function withoutLineEnd(first: string): string {
  return first.replace(/\r?\n$/, '');
}
