/**
 * The one rule of what a NICK prompt token may be (spec §4.2): 1 to {@link PROMPT_TOKEN_MAX_BYTES}
 * bytes of printable ASCII without spaces. The server checks its `--prompt` with it, the client's
 * `auto` and the judge's probe recognise a prompt with it.
 *
 * @module
 */
import { PROMPT_TOKEN_MAX_BYTES } from '../limits.js';

const PROMPT_TOKEN = new RegExp(`^[\\x21-\\x7e]{1,${PROMPT_TOKEN_MAX_BYTES}}$`);

/** Whether `token` can be a NICK prompt: 1–32 bytes of printable ASCII without spaces. */
export function isPromptToken(token: string): boolean {
  return PROMPT_TOKEN.test(token);
}
