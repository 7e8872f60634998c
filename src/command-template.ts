/**
 * The command templates users give `--spawn`, `--client` and `bench --spawn`: a shell command in
 * which chatkit fills in the address the program must use.
 *
 * @module
 */

/**
 * Replaces `{port}` (and `{host}`, when a host is given) in a command template. Used for every
 * spawned server and client program, so the placeholders mean the same everywhere.
 */
export function fillSpawnCommand(command: string, port: number, host?: string): string {
  const filled = host === undefined ? command : command.replaceAll('{host}', host);
  return filled.replaceAll('{port}', String(port));
}
