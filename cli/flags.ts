/**
 * Flags and argument parsers shared by chatkit's commands, so every command spells the same
 * option the same way and rejects the same mistakes with the same one-line error.
 *
 * @module
 */
import { Args, Flags } from '@oclif/core';

/** Exit code for a usage error (bad flag, bad address); documented in the README. */
export const EXIT_USAGE = 2;

/** `HOST:PORT` (IPv6 as `[::1]:PORT`), parsed; throws a one-line error otherwise. */
export function parseAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port < 1 || port > 65_535) {
    throw new Error(`expected HOST:PORT (e.g. 127.0.0.1:55555), got "${text}"`);
  }
  return { host: (m[1] ?? m[2])!, port };
}

/** The positional `HOST:PORT` argument. */
export const addressArg = Args.custom<{ host: string; port: number }>({
  parse: async (input) => parseAddress(input),
});

/** `--dialect`. */
export const dialectFlag = Flags.option({
  options: ['nick', 'tilde'] as const,
  description: 'wire dialect: nick (NICK prompt, ASCII) or tilde (username first, UTF-8)',
});

/** `--prompt`. */
export const promptFlag = Flags.string({
  description: 'NICK prompt token (seed 003 uses Hii)',
});

/** `--framing`. */
export const framingFlag = Flags.option({
  options: ['chunk', 'line'] as const,
  default: 'chunk' as const,
  description: 'chunk: the legacy wire (one write = one message); line: the optional LF-terminated profile',
})();

/** A non-negative integer flag with a unit in its help. */
export const intFlag = (description: string, min = 0) => Flags.integer({ description, min });
