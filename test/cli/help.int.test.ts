/**
 * What a user of a mature CLI expects around the commands (oclif's kept plugins): `chatkit help
 * <cmd>` and `-h` print help, a mistyped command gets a suggestion, and shell completion works.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuilt, CHATKIT } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';

const RUN_TIMEOUT_MS = 20_000;
const home = tempDir('help');

/** Runs a command line to its end (bounded), with a private HOME and cache. */
function run(command: string, args: readonly string[], input = '') {
  assertBuilt();
  const result = spawnSync(command, args, {
    input,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    env: { ...process.env, NO_COLOR: '1', HOME: home, XDG_CACHE_HOME: join(home, 'cache') },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const chatkit = (...args: string[]) => run(process.execPath, [CHATKIT, ...args]);

describe('chatkit help, -h, typos and completion', () => {
  it('`chatkit help conform` prints the command help with its flags', () => {
    const { code, stdout } = chatkit('help', 'conform');
    expect(code).toBe(0);
    expect(stdout).toMatch(/USAGE\s+\$ chatkit conform/);
    expect(stdout).toContain('--spawn');
  });

  it('`chatkit -h` lists the commands, and `chatkit conform -h` the command help', () => {
    const root = chatkit('-h');
    expect(root.code).toBe(0);
    for (const command of ['serve', 'connect', 'conform', 'bench']) expect(root.stdout).toMatch(new RegExp(`^\\s+${command}\\s`, 'm'));
    const conform = chatkit('conform', '-h');
    expect(conform.code).toBe(0);
    expect(conform.stdout).toMatch(/USAGE\s+\$ chatkit conform/);
  });

  it('`chatkit confrom` suggests conform on a terminal, and exits 127 after "no"', () => {
    // plugin-not-found asks only on a TTY: `script` gives the command a real pseudo-terminal.
    const { code, stdout } = run('script', ['-qec', `${process.execPath} ${CHATKIT} confrom`, '/dev/null'], 'n\n');
    expect(stdout).toContain('confrom is not a chatkit command');
    expect(stdout).toContain('Did you mean conform?');
    expect(code).toBe(127);
  });

  it('`chatkit confrom` without a terminal says it is not a command and exits 127', () => {
    const { code, stderr } = chatkit('confrom');
    expect(stderr).toContain('confrom is not a chatkit command');
    expect(code).toBe(127);
  });

  it('`chatkit autocomplete bash` builds a bash completion that completes commands and flags', () => {
    const setup = chatkit('autocomplete', 'bash');
    expect(setup.code).toBe(0);
    const script = join(home, 'cache/chatkit/autocomplete/functions/bash/chatkit.bash');
    const complete = (words: string) =>
      run('bash', ['-c', `source ${script}; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); COMP_LINE="${words}"; _chatkit_autocomplete; echo "\${COMPREPLY[@]}"`]).stdout.trim();
    expect(complete('chatkit conf')).toBe('conform');
    expect(complete('chatkit conform --spa').split(' ')).toContain('--spawn');
  });
});
