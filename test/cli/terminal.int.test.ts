/**
 * `chatkit connect` in a real terminal: tmux runs it, `send-keys` types, `capture-pane` reads the
 * screen. The other user is the seeds' own Python NICK client, and both talk through
 * `chatkit serve`, all as separate processes on loopback.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil, pythonExecutable, spawnTarget, type TargetHandle } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { CHATKIT, startChatkit } from '../support/cli.js';

const STEP_MS = 10_000;
const TMUX_TIMEOUT_MS = 5_000;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8', timeout: TMUX_TIMEOUT_MS });
}

/** A detached tmux session running `command`, killed after the test. */
function terminal(command: string): {
  screen(): string;
  type(keys: string, enter?: boolean): void;
  name: string;
} {
  const name = `chatkit-test-${randomBytes(4).toString('hex')}`;
  tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '20', command);
  cleanup.push(() => {
    try {
      tmux('kill-session', '-t', name);
    } catch {
      // The program already ended and took the session with it.
    }
  });
  return {
    name,
    screen: () => tmux('capture-pane', '-p', '-t', name),
    type: (keys, enter = false) => {
      tmux('send-keys', '-t', name, '-l', keys);
      if (enter) tmux('send-keys', '-t', name, 'Enter');
    },
  };
}

async function servePort(args: string[] = []): Promise<number> {
  const server = await startChatkit(['serve', '--port', '0', ...args]);
  cleanup.push(() => server.stop());
  let port = 0;
  await server.waitForOutput(
    'stdout',
    (out) => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) port = Number(m[1]);
      return m !== null;
    },
    { timeoutMs: STEP_MS },
  );
  return port;
}

const screenShows = (term: { screen(): string }, text: string, what: string) =>
  pollUntil(() => term.screen().includes(text), { timeoutMs: STEP_MS, what });

describe('chatkit connect in a real terminal', () => {
  it('needs tmux and nc (Debian: apt-get install tmux netcat-openbsd; .ci/run installs them)', () => {
    expect(() => tmux('-V')).not.toThrow();
    expect(() => execFileSync('nc', ['-h'], { stdio: 'ignore', timeout: TMUX_TIMEOUT_MS })).not.toThrow();
  });

  it("chats with the seeds' Python client through chatkit serve, keeping the line being typed intact", async () => {
    const port = await servePort();
    const alice = terminal(`${process.execPath} ${CHATKIT} connect 127.0.0.1:${port} --nick alice`);
    await screenShows(alice, 'Connected to server!', 'alice joined in the terminal');

    const bob: TargetHandle = await spawnTarget({
      command: [pythonExecutable(), join(PYTHON_TARGETS_DIR, 'nick_client.py'), '127.0.0.1', String(port)],
    });
    cleanup.push(() => bob.stop());
    bob.writeStdin('bob\n');
    await bob.waitForOutput('stdout', 'Connected to server!', { timeoutMs: STEP_MS });
    await screenShows(alice, 'bob joined!', "bob's join on alice's screen");

    // alice is half-way through a line when bob's message arrives.
    alice.type('half a thou');
    await screenShows(alice, 'half a thou', 'the partial input');
    bob.writeStdin('hi alice\n');
    await screenShows(alice, 'bob: hi alice', "bob's message on alice's screen");
    const lines = alice.screen().split('\n');
    const incoming = lines.findIndex((l) => l.includes('bob: hi alice'));
    const typing = lines.findIndex((l) => l.includes('half a thou'));
    expect(incoming).toBeGreaterThanOrEqual(0);
    expect(typing).toBeGreaterThan(incoming); // printed above the line being typed
    expect(lines[typing]).toMatch(/half a thou\s*$/); // and the typed text is untouched

    alice.type('ght', true);
    await bob.waitForOutput('stdout', 'alice: half a thought', { timeoutMs: STEP_MS });

    // A third user with nothing but nc: its nickname line and its messages end in LF.
    const carol = terminal(`nc 127.0.0.1 ${port}`);
    await screenShows(carol, 'NICK', 'the prompt in the nc terminal');
    carol.type('carol', true);
    await screenShows(alice, 'carol joined!', "carol's join on alice's screen");
    carol.type('carol: hey, nc here', true);
    await screenShows(alice, 'carol: hey, nc here', "carol's message on alice's screen");
    await bob.waitForOutput('stdout', 'carol: hey, nc here', { timeoutMs: STEP_MS });
    expect(alice.screen()).not.toContain('hey, nc here\\n'); // the Enter is not shown as text

    alice.type('/quit', true);
    await bob.waitForOutput('stdout', 'alice left!', { timeoutMs: STEP_MS });
    await screenShows(carol, 'alice left!', "alice's leave in the nc terminal");
  });

  it('the admin of a server with every extension: /help lists them, /users and /kick act (spec §14)', async () => {
    const port = await servePort(['--admin-password', 's3cret', '--commands', '--rooms']);
    const admin = terminal(
      `${process.execPath} ${CHATKIT} connect 127.0.0.1:${port} --nick admin --admin-password s3cret --extensions commands,rooms`,
    );
    await screenShows(admin, 'Connected to server!', 'the admin joined with its password');
    const bob: TargetHandle = await spawnTarget({
      command: [pythonExecutable(), join(PYTHON_TARGETS_DIR, 'nick_client.py'), '127.0.0.1', String(port)],
    });
    cleanup.push(() => bob.stop());
    bob.writeStdin('bob\n');
    await screenShows(admin, 'bob joined!', "bob's join on the admin's screen");
    admin.type('/help', true);
    await screenShows(admin, '/rooms', 'the rooms commands in /help');
    expect(admin.screen()).toMatch(/\/kick[\s\S]*\/users[\s\S]*\/join/);
    expect(admin.screen()).not.toContain('PASS');
    admin.type('/users', true);
    await screenShows(admin, 'Users: admin, bob', 'the answer to /users');
    admin.type('/kick bob', true);
    await screenShows(admin, 'bob was kicked by an admin!', 'the kick notice');
    await bob.waitForOutput('stdout', 'You were kicked by an admin!', { timeoutMs: STEP_MS });
  });

  it('a tilde room: chatkit connect and the headless seed tilde client', async () => {
    const port = await servePort(['--dialect', 'tilde']);
    const zoe = terminal(
      `${process.execPath} ${CHATKIT} connect 127.0.0.1:${port} --dialect tilde --nick zoë`,
    );
    await screenShows(zoe, '[SERVER] zoë added to the chat', 'zoë joined in the terminal');

    const bob = await spawnTarget({
      command: [pythonExecutable(), join(PYTHON_TARGETS_DIR, 'tilde_client.py'), '127.0.0.1', String(port)],
    });
    cleanup.push(() => bob.stop());
    bob.writeStdin('bob\n');
    await bob.waitForOutput('stdout', '[SERVER] bob added to the chat', { timeoutMs: STEP_MS });
    await screenShows(zoe, '[SERVER] bob added to the chat', "bob's join on zoë's screen");

    bob.writeStdin('salut ~ zoë\n');
    await screenShows(zoe, '[bob] salut ~ zoë', "bob's message, split at the first ~ only");
    zoe.type('ça va, bob?', true);
    await bob.waitForOutput('stdout', '[zoë] ça va, bob?', { timeoutMs: STEP_MS });
    zoe.type('/quit', true);
    await bob.waitForOutput('stdout', '[SERVER] zoë left the chat', { timeoutMs: STEP_MS });
  });
});
