/**
 * Runs the built `chatkit` command as a subprocess, in its own process group, so tests see exactly
 * what a user sees (stdout, stderr, exit code) and can always end it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnTarget, type TargetHandle } from '../../src/processes/index.js';

export const REPO = join(import.meta.dirname, '../..');
export const CHATKIT = join(REPO, 'bin/chatkit.js');

/** Fails fast, with the fix, when the CLI was never built (`npm test` builds before it runs vitest). */
export function assertBuilt(): void {
  if (!existsSync(join(REPO, 'dist/cli/commands/serve.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the CLI tests');
  }
}

/** Starts `chatkit ...args`; the caller stops it in a finally/afterEach. */
export function startChatkit(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<TargetHandle> {
  assertBuilt();
  return spawnTarget({ command: [process.execPath, CHATKIT, ...args], env: { NO_COLOR: '1', ...env } });
}

/** Runs `chatkit ...args` to its end (bounded) and returns what it printed and its exit code. */
export async function runChatkit(
  args: readonly string[],
  opts: { timeoutMs?: number; stdin?: string; env?: Record<string, string> } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const target = await startChatkit(args, opts.env);
  try {
    if (opts.stdin !== undefined) {
      target.writeStdin(opts.stdin);
      target.endStdin();
    }
    const timeoutMs = opts.timeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      target.exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (exit === undefined) throw new Error(`chatkit ${args.join(' ')} did not end within ${timeoutMs} ms`);
    // 'exit' can come before the last output is read from the pipes (a loaded machine).
    await target.outputSettled();
    return { code: exit.code, stdout: target.stdout(), stderr: target.stderr() };
  } finally {
    await target.stop();
  }
}
