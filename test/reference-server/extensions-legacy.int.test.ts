/**
 * EXT-2 on real programs: the seeds' NICK clients (nick_client.py, hii_client.py), which know nothing
 * of the extension profiles, chat through a reference server with every extension on (admin,
 * commands, rooms) exactly as through one without, and the whole `core` suite still passes.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ALL_CASES } from '../../conformance/cases.js';
import { runCases } from '../../conformance/harness/runner.js';
import { selectCases } from '../../conformance/harness/select.js';
import { spawnPythonClient, type TargetHandle } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { PACKAGE_ROOT } from '../../src/package-root.js';
import { assertBuilt } from '../support/cli.js';
import { Session, WAIT_MS } from './helpers.js';

// The reference server is spawned as `chatkit serve` from dist/: it must be built.
beforeAll(() => assertBuilt());

const ALL_ON = { adminPassword: 's3cret', commands: true, rooms: true } as const;
const session = new Session();
let clients: TargetHandle[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  clients = [];
  await session.close();
});

describe.each([
  { script: 'nick_client.py', prompt: 'NICK' },
  { script: 'hii_client.py', prompt: 'Hii' },
])('the seed client $script through a server with every extension on', ({ script, prompt }) => {
  it('joins, chats both ways and sees a leave, as without the extensions', async () => {
    const server = await session.server({ dialect: 'nick', prompt, ...ALL_ON });
    const start = async (nick: string) => {
      const client = await spawnPythonClient(join(PYTHON_TARGETS_DIR, script), { port: server.port });
      clients.push(client);
      client.writeStdin(`${nick}\n`);
      await client.waitForOutput('stdout', 'Connected to server!\n', { timeoutMs: WAIT_MS });
      return client;
    };
    const alice = await start('alice');
    const bob = await start('bob');
    await alice.waitForOutput('stdout', 'bob joined!\n', { timeoutMs: WAIT_MS });
    alice.writeStdin('hello from alice\n');
    await bob.waitForOutput('stdout', 'alice: hello from alice\n', { timeoutMs: WAIT_MS });
    bob.writeStdin('KICK is just a word here\n');
    await alice.waitForOutput('stdout', 'bob: KICK is just a word here\n', { timeoutMs: WAIT_MS });
    await bob.stop();
    await alice.waitForOutput('stdout', 'bob left!\n', { timeoutMs: WAIT_MS });
    // What alice saw, in order; TCP may merge two messages into one printed line, so no newlines are assumed.
    const seen = alice.stdout();
    const order = ['alice joined!', 'Connected to server!', 'bob joined!', 'alice: hello from alice', 'bob: KICK is just a word here', 'bob left!'];
    const at = order.map((m) => seen.indexOf(m));
    expect(at.every((x, i) => x !== -1 && (i === 0 || x > at[i - 1]!)), seen).toBe(true);
  });
});

describe('the core suite against a reference server with every extension on', () => {
  it('passes every case (EXT-2)', async () => {
    const cli = join(PACKAGE_ROOT, 'bin/chatkit.js');
    const results = await runCases(selectCases(ALL_CASES, { dialect: 'nick', kind: 'server', profiles: ['core'] }), {
      target: {
        kind: 'spawn',
        command: `'${process.execPath}' '${cli}' serve --port {port} --admin-password s3cret --commands --rooms`,
      },
      dialect: 'nick',
      jobs: 2,
    });
    expect(results.length).toBeGreaterThan(8);
    const bad = results.filter((r) => r.verdict !== 'pass').map((r) => `${r.id}: ${r.verdict} ${r.failure?.message ?? r.error ?? ''}`);
    expect(bad).toEqual([]);
  }, 180_000);
});
