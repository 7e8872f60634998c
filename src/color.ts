/**
 * Whether to write ANSI colours, by the conventions terminal programs share: `FORCE_COLOR` (set
 * and not `0`) asks for colour even into a pipe, `NO_COLOR` (https://no-color.org, any non-empty
 * value) turns it off, and otherwise colour goes only to a terminal. Node 20's `util.styleText`
 * does not consult these (Node 22 does), so every writer of colour asks here.
 *
 * @module
 */

/**
 * Whether colour is wanted on `stream` (a `process.stdout`-like object, or `{ isTTY }`), given
 * the environment (default `process.env`).
 */
export function colorWanted(
  stream: { readonly isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '0' && force !== 'false') return true;
  const noColor = env.NO_COLOR;
  if (noColor !== undefined && noColor !== '') return false;
  return stream.isTTY === true;
}

/**
 * The SGR codes chatkit paints with. Every painted text ends in a full reset (`ESC[0m`), as
 * terminals have always understood; `util.styleText` closes each style with its own code instead,
 * which would change every coloured line the reports and the client write.
 */
const SGR = {
  bold: 1,
  dim: 2,
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  gray: 90,
} as const;

/** A style {@link painter} knows. */
export type Style = keyof typeof SGR;

/**
 * A function that paints text in a style when `color` is true and returns it unchanged otherwise
 * (decide `color` with {@link colorWanted}): plain output never holds an escape.
 */
export function painter(color: boolean): (style: Style, text: string) => string {
  return (style, text) => (color ? `\x1b[${SGR[style]}m${text}\x1b[0m` : text);
}

/** Returns the cursor to the start of the line and erases it: how a live status line is redrawn (TTY only). */
export const CLEAR_LINE = '\r\x1b[K';
