/**
 * The seed's tilde client against a server the test plays on loopback: tilde_client.py (the headless twin of
 * the tkinter client, same receive logic) for the ordinary session and one test per annex defect D-TC-n;
 * tilde_client_tk.py itself needs a display, so it is only compiled and compared with its twin.
 *
 * The client's stdin is driven like a person would: the username first, a message only once the join
 * announcement was shown (except where a defect is about not waiting). Its screen is its stdout.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../conformance/harness/connection.js';
import {
  freePort,
  pythonExecutable,
  spawnPythonClient,
  spawnTarget,
  type TargetHandle,
} from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { escapeBytes } from '../../src/codec/escape.js';
import {
  BUSY_DEADLINE_MS,
  CONNECT_DEADLINE_MS,
  expectPrintingBusyLoop,
  SHOWN_QUIET_MS,
  sleep,
  text,
  usage,
  useSeedClient,
} from './helpers.js';

/** What the client prints before any traffic: its HOST, then its two connection messages. */
const BANNER = '127.0.0.1\nSuccessfully connected to server\n[SERVER] Successfully connected to the server\n';

const HEADLESS = join(PYTHON_TARGETS_DIR, 'tilde_client.py');
const TK = join(PYTHON_TARGETS_DIR, 'tilde_client_tk.py');

describe('tilde_client.py (headless twin of the tkinter tilde client)', () => {
  const seed = useSeedClient(HEADLESS, 'tilde_client.py');
  const { start } = seed;

  /** Starts as `user` and plays the server's join announcement. */
  async function joined(user: string): Promise<{ client: TargetHandle; server: Connection }> {
    const started = await start(`${user}\n`);
    await started.server.waitForText(user);
    started.server.send(`SERVER~${user} added to the chat`);
    await started.client.waitForOutput('stdout', `[SERVER] ${user} added to the chat\n`);
    return started;
  }

  /** Sends one message, as one write, and waits until the client printed `shown`. */
  async function show(message: string | Uint8Array, shown: string): Promise<void> {
    seed.server.send(message);
    await seed.client.waitForOutput('stdout', `${shown}\n`);
  }

  describe('an ordinary session', () => {
    it('sends the username first, shows `[user] content`, and sends each line as one message', async () => {
      const { client, server } = await joined('alice');
      client.writeStdin('hello\n');
      await server.waitForText('hello');
      await show('alice~hello', '[alice] hello');
      await show('bob~h\u00e9', '[bob] h\u00e9');
      // An empty line is refused locally (CLIENT-INPUT-1) and nothing is sent.
      client.writeStdin('\n');
      await client.waitForOutput('stdout', 'Message cannot be empty\n');
      expect(escapeBytes(await server.quiet(SHOWN_QUIET_MS))).toBe('');

      expect(text(server)).toBe('alicehello');
      expect(client.stdout()).toBe(
        `${BANNER}[SERVER] alice added to the chat\n[alice] hello\n[bob] h\u00e9\nMessage cannot be empty\n`,
      );
    });
  });

  describe('defects', () => {
    it('D-TC-1: content containing `~` is cut at its first `~`', async () => {
      const { client } = await joined('alice');
      await show('bob~a~b~c', '[bob] a');
      expect(client.stdout()).not.toContain('a~b');
    });

    it('D-TC-2: a message without `~` kills the listening thread: nothing more is shown', async () => {
      const { client, server } = await joined('alice');
      server.send('no separator');
      await client.waitForOutput('stderr', 'IndexError: list index out of range');
      server.send('bob~later');
      await sleep(SHOWN_QUIET_MS);
      expect(client.stdout()).not.toContain('later');
    });

    it('D-TC-3: when the server closes, the client shows "Message recevied from client is empty" forever', async () => {
      const { client, server } = await joined('alice');
      const since = usage(client);
      server.end();
      await expectPrintingBusyLoop(client, 'error text', since);
      expect(client.stdout().split('Message recevied from client is empty\n').length).toBeGreaterThan(100);
    });

    it('D-TC-4: two relays merged into one chunk show as one: `a~hi` + `b~yo` -> `[a] hib`', async () => {
      const { client } = await joined('alice');
      // One write stands for what TCP does when the server's two writes arrive in one recv() (FRAME-5).
      await show('a~hib~yo', '[a] hib');
      expect(client.stdout()).not.toContain('[b]');
    });

    it('D-TC-5: invalid UTF-8 from the server kills the listening thread', async () => {
      const { client, server } = await joined('alice');
      server.send(new Uint8Array([...Buffer.from('bob~caf'), 0xff]));
      await client.waitForOutput('stderr', 'UnicodeDecodeError');
      server.send('bob~later');
      await sleep(SHOWN_QUIET_MS);
      expect(client.stdout()).not.toContain('later');
    });

    it('D-TC-6: an empty username is refused on screen, yet the listener runs and the next line goes out as the username', async () => {
      const { client, server } = await start('\n');
      await client.waitForOutput('stdout', 'Username cannot be empty\n');
      expect(escapeBytes(await server.quiet(SHOWN_QUIET_MS))).toBe('');
      await show('SERVER~bob added to the chat', '[SERVER] bob added to the chat');
      client.writeStdin('hello\n');
      await server.waitForText('hello');
      expect(text(server)).toBe('hello');
    });

    it('D-TC-7: a message is sent without waiting for the join announcement, so it can merge with the username', async () => {
      // A person who types ahead (or a script) has the line ready at once.
      const { client, server } = await start('alice\nhello\n');
      await server.waitForText('alicehello');
      // The test never announced the join: the client did not wait for it (TILDE-MSG-1).
      expect(text(server)).toBe('alicehello');
      expect(client.stdout()).toBe(BANNER);
    });

    it('D-TC-8: when stdin ends the client neither exits nor closes its connection', async () => {
      const { client, server } = await joined('alice');
      client.endStdin();
      expect(escapeBytes(await server.quiet(SHOWN_QUIET_MS))).toBe('');
      expect(server.closed).toBe(false);
      expect(client.exitStatus()).toBeUndefined();
      await show('bob~hi', '[bob] hi');
    });

    it('D-TC-9: a refused connect prints its error on stdout (the display channel), then exits 1 with a traceback', async () => {
      const port = await freePort();
      const client = await spawnPythonClient(HEADLESS, { port });
      try {
        client.writeStdin('alice\n');
        const deadline = sleep(CONNECT_DEADLINE_MS).then(() => 'still running' as const);
        expect(await Promise.race([client.exited.then((e) => e.code), deadline])).toBe(1);
        expect(client.stdout()).toContain(`Unable to connect to server 127.0.0.1 ${port}\n`);
        expect(client.stderr()).toContain('Traceback');
      } finally {
        await client.stop();
      }
    });
  });
});

describe('tilde_client_tk.py (the tkinter client of seed 002)', () => {
  it('compiles (it needs a display to run)', async () => {
    const compiler = await spawnTarget({
      command: [
        pythonExecutable(),
        '-c',
        'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")',
        TK,
      ],
    });
    try {
      const exit = await Promise.race([compiler.exited, sleep(BUSY_DEADLINE_MS).then(() => undefined)]);
      expect(compiler.stderr()).toBe('');
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      await compiler.stop();
    }
  });

  it('has the same receive logic as tilde_client.py, line for line', () => {
    const receiveLoop = (path: string) => {
      const source = readFileSync(path, 'utf8');
      const start = source.indexOf('def listen_for_messages_from_server(client):');
      return source.slice(start, source.indexOf('#Main', start));
    };
    const tk = receiveLoop(TK);
    expect(tk).toContain("content = message.split('~')[1]");
    expect(receiveLoop(HEADLESS)).toBe(tk);
  });
});
