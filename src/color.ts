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
