/**
 * The vectors marked `legacy` describe what the seeds' scripts put on the wire. This runs each
 * named script on loopback through one ordinary session and checks that the vector's bytes really
 * are on its wire (in what the servers send, or in what the clients send), so the spec's vectors
 * cannot drift from the programs they were taken from.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Connection,
  type Listener,
  listen,
  openConnection,
} from '../../conformance/harness/connection.js';
import { pythonExecutable, spawnPythonServer, spawnTarget, type TargetHandle } from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { unescapeBytes } from '../../src/index.js';
import { loadVectors } from '../support/vectors.js';

const STEP_MS = 5_000;
const script = (name: string) => join(PYTHON_TARGETS_DIR, name);
const legacyRows = loadVectors()
  .map((r) => r.vector)
  .filter((v): v is typeof v & { legacy: string; bytes: string } => 'legacy' in v && v.legacy !== undefined);

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const contains = (haystack: Uint8Array, needle: Uint8Array) =>
  Buffer.from(haystack).indexOf(Buffer.from(needle)) !== -1;

/** An ordinary NICK session through a legacy server: what alice received. */
async function nickServerSession(name: string, prompt: string): Promise<Uint8Array> {
  const target: TargetHandle = await spawnPythonServer(script(name));
  cleanup.push(() => target.stop());
  const open = async (label: string) => {
    const conn = await openConnection({ host: '127.0.0.1', port: target.port!, label });
    cleanup.push(() => conn.close());
    return conn;
  };
  const joinAs = async (conn: Connection, nick: string) => {
    await conn.waitForText(prompt, { timeoutMs: STEP_MS });
    conn.send(nick);
    await conn.waitForText('Connected to server!', { timeoutMs: STEP_MS });
  };
  const alice = await open('alice');
  await joinAs(alice, 'alice');
  const bob = await open('bob');
  await joinAs(bob, 'bob');
  alice.send('alice: hello');
  await bob.waitForText('alice: hello', { timeoutMs: STEP_MS });
  // A reset, not a FIN: the seed server only notices a reset (D-NS-1).
  bob.reset();
  await alice.waitForText('bob left!', { timeoutMs: STEP_MS });
  return alice.stream();
}

async function tildeServerSession(): Promise<Uint8Array> {
  const target = await spawnPythonServer(script('tilde_server.py'));
  cleanup.push(() => target.stop());
  const alice = await openConnection({ host: '127.0.0.1', port: target.port!, label: 'alice' });
  cleanup.push(() => alice.close());
  alice.send('alice');
  await alice.waitForText('SERVER~alice added to the chat', { timeoutMs: STEP_MS });
  alice.send('hello');
  await alice.waitForText('alice~hello', { timeoutMs: STEP_MS });
  return alice.stream();
}

/** What a legacy client sends when a person types `alice` then `hello`. */
async function clientSession(name: string, dialect: 'nick' | 'tilde', prompt = 'NICK'): Promise<Uint8Array> {
  const listener: Listener = await listen();
  cleanup.push(() => listener.close());
  const client = await spawnTarget({
    command: [pythonExecutable(), script(name), '127.0.0.1', String(listener.port)],
  });
  cleanup.push(() => client.stop());
  client.writeStdin('alice\n');
  const conn = await listener.nextConnection();
  cleanup.push(() => conn.close());
  if (dialect === 'nick') {
    conn.send(prompt);
    await conn.waitForText('alice', { timeoutMs: STEP_MS });
    conn.send('alice joined!');
    conn.send('Connected to server!');
  } else {
    await conn.waitForText('alice', { timeoutMs: STEP_MS });
    conn.send('SERVER~alice added to the chat');
  }
  // Like a person, type only once the join shows on the client's screen.
  await client.waitForOutput('stdout', dialect === 'nick' ? 'Connected to server!' : 'added to the chat', {
    timeoutMs: STEP_MS,
  });
  client.writeStdin('hello\n');
  await conn.waitForText('hello', { after: 5, timeoutMs: STEP_MS });
  return conn.stream();
}

const sessions: Record<string, () => Promise<Uint8Array>> = {
  'nick_server.py': () => nickServerSession('nick_server.py', 'NICK'),
  'hii_server.py': () => nickServerSession('hii_server.py', 'Hii'),
  'tilde_server.py': () => tildeServerSession(),
  'nick_client.py': () => clientSession('nick_client.py', 'nick'),
  'tilde_client.py': () => clientSession('tilde_client.py', 'tilde'),
};

describe('vectors marked legacy are what the seeds put on the wire', () => {
  it('name only scripts this test knows how to run', () => {
    expect(legacyRows.length).toBeGreaterThan(5);
    for (const v of legacyRows) expect(Object.keys(sessions)).toContain(v.legacy);
  });

  for (const name of Object.keys(sessions)) {
    const rows = legacyRows.filter((v) => v.legacy === name);
    if (rows.length === 0) continue;
    it(`${name}: ${rows.map((v) => v.id).join(', ')}`, async () => {
      const wire = await sessions[name]!();
      for (const v of rows)
        expect(contains(wire, unescapeBytes(v.bytes)), `${v.id}: "${v.bytes}"`).toBe(true);
    });
  }
});
