/**
 * The Python shim on its own (conformance/handed-in/python/sitecustomize.py): real python3 processes
 * with the environment chatkit gives a program run as handed in, checking what the shim maps and what
 * it leaves alone. The whole route (conform --spawn/--client) is test/cli/handed-in.int.test.ts.
 */
import { spawnSync } from 'node:child_process';
import {readFileSync, writeFileSync} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  clientLaunchMode,
  isPythonCommand,
  PYTHON_SHIM_DIR,
  SHIM_ENV,
  serverLaunchMode,
} from '../../conformance/handed-in/launch.js';
import { freePort, pythonExecutable } from '../../src/processes/index.js';
import { tempDir } from '../support/temp-dir.js';

const PYTHON_TIMEOUT_MS = 20_000;

/** Runs `code` in python3 with the shim for `role`, mapping onto `port`; returns stdout and the note lines. */
function runShimmed(code: string, role: 'server' | 'client', port: number, extra: Record<string, string> = {}) {
  const dir = tempDir('shim');
  const note = join(dir, 'note.txt');
  const result = spawnSync(pythonExecutable(), ['-c', code], {
    encoding: 'utf8',
    timeout: PYTHON_TIMEOUT_MS,
    env: {
      ...process.env,
      PYTHONPATH: [PYTHON_SHIM_DIR, ...(extra.PYTHONPATH ? [extra.PYTHONPATH] : [])].join(':'),
      [SHIM_ENV.ROLE]: role,
      [SHIM_ENV.HOST]: '127.0.0.1',
      [SHIM_ENV.PORT]: String(port),
      [SHIM_ENV.NOTE]: note,
    },
  });
  let lines: string[] = [];
  try {
    lines = readFileSync(note, 'utf8').split('\n').filter(Boolean);
  } catch {
    // No mapping made: no note.
  }
  return { stdout: result.stdout, stderr: result.stderr, status: result.status, lines };
}

describe('the Python shim', () => {
  it('maps socketserver.ThreadingTCPServer(("localhost", 55555)) with SO_REUSEADDR, and leaves UDP alone', async () => {
    const port = await freePort();
    const udp = await freePort();
    const run = runShimmed(
      `import socket, socketserver
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
s = S(("localhost", 55555), socketserver.BaseRequestHandler)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", ${udp}))
print(s.server_address[1], u.getsockname()[1])`,
      'server',
      port,
    );
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(`${port} ${udp}`);
    expect(run.lines).toEqual([`bind localhost:55555 -> 127.0.0.1:${port}`]);
  });

  it("maps a server's own connect to its hard-coded port (waking its accept loop) and a client's connect_ex", async () => {
    const port = await freePort();
    const server = runShimmed(
      `import socket
s = socket.create_server(("", 55555))
c = socket.create_connection(("127.0.0.1", 55555))
conn, _ = s.accept()
print("woke", c.getpeername()[1])`,
      'server',
      port,
    );
    expect(server.stderr).toBe('');
    expect(server.stdout.trim()).toBe(`woke ${port}`);
    const client = runShimmed(
      `import socket
c = socket.socket()
print(c.connect_ex(("10.255.255.1", 55555)) == 0 or "refused")`,
      'client',
      port,
    );
    // Nothing listens on the mapped port, so connect_ex reports a refusal instead of hanging on 10.255.255.1.
    expect(client.stdout.trim()).toBe('refused');
    expect(client.lines).toEqual([`connect 10.255.255.1:55555 -> 127.0.0.1:${port}`]);
  });

  it('keeps the user PYTHONPATH after it and runs the sitecustomize it hides', async () => {
    const port = await freePort();
    const user = tempDir('shim-user');
    writeFileSync(join(user, 'sitecustomize.py'), 'import builtins\nbuiltins.USER_SITE_RAN = True\n');
    writeFileSync(join(user, 'helper_mod.py'), 'VALUE = 42\n');
    const run = runShimmed('import helper_mod; print(helper_mod.VALUE, USER_SITE_RAN)', 'server', port, {
      PYTHONPATH: user,
    });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('42 True');
  });
});

describe('which commands run as handed in', () => {
  it('recognises Python programs by interpreter or .py file', () => {
    for (const command of ['python3 server.py', '/usr/bin/python3.11 -u s.py', 'py chat.py', 'cd a && python server.py', './server.py', 'uv run "my server.py"']) {
      expect(isPythonCommand(command), command).toBe(true);
    }
    for (const command of ['./server', 'node server.js', 'sh run.sh', 'java -jar chat.jar', 'pythonic-server']) {
      expect(isPythonCommand(command), command).toBe(false);
    }
  });

  it('chooses the template, the shim or /proc', () => {
    expect(serverLaunchMode('python3 s.py 127.0.0.1 {port}')).toBe('template');
    expect(serverLaunchMode('python3 s.py')).toBe('python-shim');
    expect(serverLaunchMode('./server')).toBe('proc-port');
    expect(clientLaunchMode('./client {host} {port}')).toBe('template');
    expect(clientLaunchMode('python3 client.py')).toBe('python-shim');
    expect(clientLaunchMode('./client')).toBeUndefined();
  });
});
