/**
 * Interop on the wire with the seeds' servers (conformance/targets/python): two reference clients
 * join each legacy server and chat; each sees the other's messages. The legacy servers relay what
 * they receive (NICK unchanged, tilde as `<user>~<content>`), so this checks that the client's
 * handshake, writes and decoding fit what real legacy peers do.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnPythonServer } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { type ClientDialect, connect, formatForDisplay } from '../../src/reference-client/client.js';
import { track, trackTarget, useCleanup, WAIT_MS, waitForText } from './helpers.js';

useCleanup();

const CASES: ReadonlyArray<{
  script: string;
  dialect: ClientDialect;
  prompt?: string;
  expected: { dialect: 'nick' | 'tilde'; prompt: string | undefined };
}> = [
  { script: 'nick_server.py', dialect: 'nick', expected: { dialect: 'nick', prompt: 'NICK' } },
  { script: 'nick_server.py', dialect: 'auto', expected: { dialect: 'nick', prompt: 'NICK' } },
  { script: 'hii_server.py', dialect: 'nick', prompt: 'Hii', expected: { dialect: 'nick', prompt: 'Hii' } },
  { script: 'hii_server.py', dialect: 'auto', expected: { dialect: 'nick', prompt: 'Hii' } },
  { script: 'tilde_server.py', dialect: 'tilde', expected: { dialect: 'tilde', prompt: undefined } },
  { script: 'tilde_server.py', dialect: 'auto', expected: { dialect: 'tilde', prompt: undefined } },
];

describe.each(CASES)('$script with dialect $dialect', ({ script, dialect, prompt, expected }) => {
  it('lets two reference clients join and chat; each sees the other’s messages', async () => {
    const server = trackTarget(await spawnPythonServer(join(PYTHON_TARGETS_DIR, script)));
    const options = {
      host: '127.0.0.1',
      port: server.port!,
      dialect,
      ...(prompt === undefined ? {} : { prompt }),
    };
    const alice = track(await connect({ ...options, nick: 'alice' }));
    expect([alice.dialect, alice.prompt]).toEqual([expected.dialect, expected.prompt]);
    const bob = track(await connect({ ...options, nick: 'bob' }));
    const nick = expected.dialect === 'nick';

    // NICK-JOIN-1 / TILDE-JOIN-1: the earlier member sees the newcomer join.
    await waitForText(alice, nick ? 'bob joined!' : 'SERVER~bob added to the chat');

    // Paced: each message is awaited at both members before the next is written (FRAME-5).
    const fromAlice = nick ? 'alice: hi bob, a:b ~ c' : 'alice~hi bøb, a~b ~ c';
    alice.send(nick ? 'hi bob, a:b ~ c' : 'hi bøb, a~b ~ c');
    await Promise.all([waitForText(alice, fromAlice), waitForText(bob, fromAlice)]);
    const fromBob = nick ? 'bob: hello alice' : 'bob~hello alice';
    bob.send('hello alice');
    await Promise.all([waitForText(alice, fromBob), waitForText(bob, fromBob)]);

    // What bob's user reads for alice's message: the legacy print format, or `[user] content`.
    const event = await bob.waitFor(
      (e) => e.kind === 'message' && Buffer.from(e.bytes).toString('utf8') === fromAlice,
      WAIT_MS,
    );
    expect(formatForDisplay(event, { color: false })).toBe(
      nick ? 'alice: hi bob, a:b ~ c' : '[alice] hi bøb, a~b ~ c',
    );
  });
});
