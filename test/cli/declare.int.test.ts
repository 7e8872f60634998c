/**
 * `chatkit conform --declare FILE` (spec §9.1.1) as a subprocess: the declared dialect narrows what
 * runs, an invalid declaration is a usage error with its code, a declared side must match how the
 * target is given, and the fields the suite cannot use are named on stderr (a long handshake timeout
 * leaves out the cases that would fail it).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CASES } from '../../conformance/cases.js';
import { type ChatServer, startServer } from '../../src/reference-server/server.js';
import { assertBuilt, runChatkit } from '../support/cli.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('declare-cli');
let nickServer: ChatServer;
beforeAll(async () => {
  assertBuilt();
  nickServer = await startServer({ dialect: 'nick', port: 0 });
});
afterAll(async () => {
  await nickServer.close();
});

describe('chatkit conform --declare', { timeout: 60_000 }, () => {
  it('takes the dialect from the declaration (--list shows only that dialect)', async () => {
    const path = join(dir, 'tilde.yaml');
    writeFileSync(path, 'declaration: 1\ndialect: tilde\n');
    const { code, stdout, stderr } = await runChatkit(['conform', '--list', '--json', '--declare', path]);
    expect(code, stderr).toBe(0);
    const doc = JSON.parse(stdout) as { cases: { dialect: string }[] };
    expect(doc.cases.length).toBeGreaterThan(0);
    expect(new Set(doc.cases.map((c) => c.dialect))).toEqual(new Set(['tilde']));
    expect(doc.cases.length).toBeLessThan(ALL_CASES.length);
  });

  it('refuses an invalid declaration with DECLARATION_INVALID, exit 2', async () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ declaration: 1, dialect: 'tilde', prompt: 'NICK' }));
    const { code, stderr } = await runChatkit(['conform', '--target', '127.0.0.1:1', '--declare', path]);
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/DECLARATION_INVALID.*prompt/);
  });

  it('refuses a declared side that contradicts how the target is given, exit 2', async () => {
    const client = join(dir, 'client.yaml');
    writeFileSync(client, 'declaration: 1\ndialect: nick\nside: client\n');
    const asServer = await runChatkit(['conform', '--target', `127.0.0.1:${nickServer.port}`, '--declare', client]);
    expect(asServer.code, asServer.stderr).toBe(2);
    expect(asServer.stderr).toMatch(/DECLARATION_INVALID.*--client/);
    const server = join(dir, 'server.yaml');
    writeFileSync(server, 'declaration: 1\ndialect: nick\n');
    const asClient = await runChatkit(['conform', '--client', 'true {host} {port}', '--declare', server]);
    expect(asClient.code, asClient.stderr).toBe(2);
    expect(asClient.stderr).toMatch(/DECLARATION_INVALID.*side: server/);
  });

  it('names every declared field it cannot judge, and leaves out the handshake-timeout case a long timeout would fail', async () => {
    const path = join(dir, 'long-timeout.yaml');
    writeFileSync(
      path,
      'declaration: 1\ndialect: nick\noptional: [NICK-RELAY-3]\nhandshakeTimeoutMs: 60000\n',
    );
    const { code, stderr } = await runChatkit([
      'conform',
      '--target',
      `127.0.0.1:${nickServer.port}`,
      '--declare',
      path,
      '--only',
      'nick.robust.handshake-timeout',
    ]);
    // The only case asked for is left out: nothing could be judged (exit 3), and it says why.
    expect(code, stderr).toBe(3);
    expect(stderr).toContain('minus --exclude nick.robust.handshake-timeout');
    expect(stderr).toMatch(/--declare: handshakeTimeoutMs 60000 .*nick\.robust\.handshake-timeout left out/);
    expect(stderr).toMatch(/--declare: optional NICK-RELAY-3 is declared, but no case .* judges it/);
  });
});
