/**
 * The seeds' NICK clients (nick_client.py, and hii_client.py: same code, prompt `Hii`) against a server the
 * test plays on loopback: the ordinary session, then one test per annex defect D-NC-n.
 *
 * The client's stdin is driven like a person would: the nickname first, and a chat line only once the
 * handshake was observed (except where a defect is about not waiting). Server-side checks read the
 * reassembled stream; the client's screen is its stdout.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../conformance/harness/connection.js';
import { type TargetHandle } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { escapeBytes } from '../../src/codec/escape.js';
import {
  expectPrintingBusyLoop,
  SHOWN_QUIET_MS,
  text,
  usage,
  useSeedClient,
} from './helpers.js';

/** The client's nickname prompt (seed 004), printed without a newline because stdin is not a terminal. */
const INPUT_PROMPT = '\x1b[32m \tChoose your Nickname : \x1b[0m';

const TARGETS = [
  { script: 'nick_client.py', prompt: 'NICK' },
  { script: 'hii_client.py', prompt: 'Hii' },
] as const;

describe.each(TARGETS)('$script (NICK client, prompt "$prompt")', ({ script, prompt }) => {
  const { start } = useSeedClient(join(PYTHON_TARGETS_DIR, script), script);

  /** Plays a legacy server's handshake for `nick`: prompt, then the two announcements, each paced. */
  async function handshake(client: TargetHandle, server: Connection, nick: string): Promise<void> {
    server.send(prompt);
    await server.waitForText(nick);
    server.send(`${nick} joined!`);
    await client.waitForOutput('stdout', `${nick} joined!\n`);
    server.send('Connected to server!');
    await client.waitForOutput('stdout', 'Connected to server!\n');
  }

  describe('an ordinary session', () => {
    it('answers the prompt with the nickname, prints what it receives, and sends `<nick>: <line>`', async () => {
      const { client, server } = await start('alice\n');
      await handshake(client, server, 'alice');
      expect(text(server)).toBe('alice');

      client.writeStdin('hello\n');
      await server.waitForText('alice: hello');
      server.send('bob: hi');
      await client.waitForOutput('stdout', 'bob: hi\n');

      expect(text(server)).toBe('alicealice: hello');
      // CLIENT-PROMPT-1: the prompt token is answered, not shown.
      expect(client.stdout()).toBe(`${INPUT_PROMPT}alice joined!\nConnected to server!\nbob: hi\n`);
    });
  });

  describe('defects', () => {
    it('D-NC-1: when the server closes, the client prints empty lines forever (busy loop)', async () => {
      const { client, server } = await start('alice\n');
      await handshake(client, server, 'alice');
      const since = usage(client);
      server.end();
      await expectPrintingBusyLoop(client, 'output', since);
      expect(client.stdout().slice(-1000)).toBe('\n'.repeat(1000));
      // It never closes its side either (after our FIN, we still see no FIN from it).
      expect(escapeBytes(await server.quiet(SHOWN_QUIET_MS))).toBe('');
      expect(server.closed).toBe(false);
    });

    it('D-NC-2: a non-ASCII byte from the server makes the client print "An error occured!" and disconnect', async () => {
      const { client, server } = await start('alice\n');
      await handshake(client, server, 'alice');
      server.send(new Uint8Array([...Buffer.from('bob: h'), 0xc3, 0xa9]));
      expect(await server.waitForClose()).toBe('eof');
      await client.waitForOutput('stdout', 'An error occured!\n');
      expect(client.stdout()).not.toContain('bob: h');
    });

    it('D-NC-3: a chat line is sent before the handshake, so a server takes it for the nickname', async () => {
      // A person who types ahead (or a script) has the line ready before the prompt arrives.
      const { client, server } = await start('alice\nhello\n');
      await server.waitForText('alice: hello');
      // The test never sent the prompt: the write thread did not wait for it.
      expect(text(server)).toBe('alice: hello');
      server.send(prompt);
      await server.waitForText('alice', { after: 'alice: hello'.length });
      expect(text(server)).toBe('alice: helloalice');
      expect(client.stdout()).toBe(INPUT_PROMPT);
    });

    it('D-NC-4: an empty nickname is "sent" as an empty write: nothing reaches the server, the handshake hangs', async () => {
      const { client, server } = await start('\n');
      server.send(prompt);
      expect(escapeBytes(await server.quiet(SHOWN_QUIET_MS))).toBe('');
      // The next line goes out as `: <line>`, which a legacy server would take as the nickname.
      client.writeStdin('hi\n');
      await server.waitForText(': hi');
      expect(text(server)).toBe(': hi');
    });

    it('D-NC-5: a non-ASCII input line kills the write thread silently: later lines are never sent', async () => {
      const { client, server } = await start('alice\n');
      await handshake(client, server, 'alice');
      client.writeStdin('h\u00e9llo\n');
      await client.waitForOutput('stderr', 'UnicodeEncodeError');
      client.writeStdin('plain\n');
      expect(escapeBytes(await server.quiet(SHOWN_QUIET_MS))).toBe('');
      expect(text(server)).toBe('alice');
      // Receiving still works: only the sending half died.
      server.send('bob: hi');
      await client.waitForOutput('stdout', 'bob: hi\n');
    });

    it('D-NC-7: a member who sends the bare prompt token makes the client send its nickname again', async () => {
      const { client, server } = await start('alice\n');
      await handshake(client, server, 'alice');
      // As relayed from a member who typed the token: a chunk of its own after the handshake.
      server.send(prompt);
      await server.waitForText('alice', { after: 'alice'.length });
      expect(text(server)).toBe('alicealice');
      expect(client.stdout()).not.toContain(`${prompt}\n`);
    });

    it('D-NC-8: when stdin ends the client neither exits nor closes its connection', async () => {
      const { client, server } = await start('alice\n');
      await handshake(client, server, 'alice');
      client.endStdin();
      expect(escapeBytes(await server.quiet(SHOWN_QUIET_MS))).toBe('');
      expect(server.closed).toBe(false);
      expect(client.exitStatus()).toBeUndefined();
      // The reader thread still works.
      server.send('bob: hi');
      await client.waitForOutput('stdout', 'bob: hi\n');
    });

    it('D-NC-6: a non-ASCII nickname makes the client print "An error occured!" and disconnect at the prompt', async () => {
      const { client, server } = await start('zo\u00eb\n');
      server.send(prompt);
      expect(await server.waitForClose()).toBe('eof');
      await client.waitForOutput('stdout', 'An error occured!\n');
      expect(text(server)).toBe('');
    });
  });
});
