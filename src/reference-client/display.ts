/**
 * What a person sees of the reference client's events: one line per event, control characters
 * escaped so that a peer cannot drive the terminal, colours through chatkit's one painter
 * (`src/color.ts`) and only when asked.
 *
 * @module
 */
import type { NickMessage, TildeMessage } from '../codec/generated/index.js';
import { decodeLossy } from '../codec/text.js';
import { painter } from '../color.js';
import { EventOverflowError } from './errors.js';
import type { ClientEvent } from './events.js';

type Paint = ReturnType<typeof painter>;

/** Options of {@link formatForDisplay}. */
export interface DisplayOptions {
  /** Whether to use ANSI colours (only for a terminal, and never when `NO_COLOR` is set). */
  readonly color: boolean;
}

/**
 * Characters a peer could use to drive the terminal or to disguise text: C0 controls but TAB, DEL,
 * C1 controls, and the Unicode line separators and bidirectional overrides.
 */
const UNSAFE_FOR_TERMINAL =
  /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Makes received text safe to print: every control character except TAB is shown escaped (`\n`,
 * `\r`, `\x1b`, `\u{202e}`), so a peer cannot move the cursor, clear the screen or fake a line.
 */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE_FOR_TERMINAL, (ch) => {
    const code = ch.codePointAt(0)!;
    if (code === 0x0a) return '\\n';
    if (code === 0x0d) return '\\r';
    if (code < 0x80) return `\\x${code.toString(16).padStart(2, '0')}`;
    return `\\u{${code.toString(16)}}`;
  });
}

/** One trailing line terminator is framing, not text (line profile, LINE-1). */
function withoutTerminator(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  if (bytes[end - 1] === 0x0a) end--;
  if (bytes[end - 1] === 0x0d) end--;
  return bytes.subarray(0, end);
}

/** The text without one trailing LF or CRLF. */
function withoutLineEnd(text: string): string {
  return text.replace(/\r?\n$/, '');
}

function formatNick(message: NickMessage, paint: Paint): string | undefined {
  const safe = escapeForTerminal;
  switch (message.type) {
    case 'prompt':
      return undefined; // CLIENT-PROMPT-1: the prompt token is never shown.
    case 'chat':
      return `${paint('bold', safe(message.nick))}: ${safe(message.text)}`;
    case 'joined':
      return paint('yellow', `${safe(message.nick)} joined!`);
    case 'left':
      return paint('yellow', `${safe(message.nick)} left!`);
    case 'connected':
      return paint('yellow', 'Connected to server!');
    case 'refused':
      return paint('yellow', `Refused: ${safe(message.reason)}`);
    case 'raw':
      // An nc or telnet user's line ends in LF or CRLF: that is their Enter, not content to show.
      return safe(withoutLineEnd(message.body));
    case 'nickname':
      return safe(message.nick);
  }
}

function formatTilde(message: TildeMessage, paint: Paint): string | undefined {
  const safe = escapeForTerminal;
  const server = (text: string) => paint('yellow', `[SERVER] ${safe(text)}`);
  switch (message.type) {
    case 'relay':
      // TILDE-DISPLAY-1: split at the first `~` only; the content keeps any further `~`.
      return `[${paint('bold', safe(message.user))}] ${safe(withoutLineEnd(message.text))}`;
    case 'added':
      return server(`${message.user} added to the chat`);
    case 'left':
      return server(`${message.user} left the chat`);
    case 'refused':
      return server(`Refused: ${message.reason}`);
    case 'notice':
      return server(message.text);
    case 'username':
      return safe(message.user);
    case 'content':
      return safe(message.content);
  }
}

/**
 * The line a person sees for an event, without a line terminator, or `undefined` when nothing is
 * shown (the prompt, CLIENT-PROMPT-1; a close the user asked for).
 *
 * - NICK: as the legacy client prints it: `alice: hi`, `bob joined!`, `Connected to server!`.
 * - tilde: `[<user>] <content>`, split at the first `~` (TILDE-DISPLAY-1); server notices as `[SERVER] ...`.
 * - issues: the bytes decoded lossily (U+FFFD for what the dialect forbids, CLIENT-BYTES-1) after a
 *   marker `[!]`; a tilde frame with a `~` is still split there, one without is shown as it is.
 * - `closed`: `disconnected by server` on EOF (CLIENT-EOF-1).
 *
 * Control characters other than TAB are escaped ({@link escapeForTerminal}); colours only when
 * `color` is true.
 */
export function formatForDisplay(event: ClientEvent, options: DisplayOptions): string | undefined {
  const paint = painter(options.color);
  switch (event.kind) {
    case 'message':
      return event.dialect === 'nick' ? formatNick(event.message, paint) : formatTilde(event.message, paint);
    case 'issue': {
      const marker = paint('dim', '[!]');
      if (event.error instanceof EventOverflowError) return `${marker} ${event.error.message}`;
      const encoding = event.dialect === 'nick' ? 'ascii' : 'utf-8';
      const text = decodeLossy(withoutTerminator(event.bytes), encoding);
      const cut = event.dialect === 'tilde' ? text.indexOf('~') : -1;
      const shown =
        cut === -1
          ? escapeForTerminal(text)
          : `[${escapeForTerminal(text.slice(0, cut))}] ${escapeForTerminal(text.slice(cut + 1))}`;
      return `${marker} ${shown}`;
    }
    case 'closed':
      if (event.reason === 'eof') return 'disconnected by server';
      if (event.reason === 'reset') return 'disconnected by server (connection reset)';
      if (event.reason === 'error') {
        const code = (event.error as NodeJS.ErrnoException | undefined)?.code;
        return `disconnected (${escapeForTerminal(code ?? event.error?.message ?? 'socket error')})`;
      }
      return undefined;
  }
}
