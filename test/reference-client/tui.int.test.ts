/**
 * The terminal program (runTerminalClient) with in-memory streams against a scripted server: scripted
 * mode (stdin not a TTY) as pipes and the conformance checker use it (§7), and TTY mode's prompt.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Connection } from '../../conformance/harness/connection.js';
import { freePort } from '../../src/processes/index.js';
import { PACE_ECHO_TIMEOUT_MS } from '../../src/reference-client/tui.js';
import {
  exitWithin,
  nickServerHandshake,
  onCleanup,
  QUIET_MS,
  runTerminal,
  scriptedServer,
  type TerminalOverrides,
  tildeServerHandshake,
  useCleanup,
  WAIT_MS,
} from './helpers.js';

useCleanup();

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** Starts the program against `port`; the input is ended after the test if it is still open. */
function terminal(port: number, options: TerminalOverrides = {}) {
  const input = new PassThrough();
  onCleanup(() => input.end());
  return runTerminal(port, input, options);
}

const lines = (content: string) => content.split('\n').filter((line) => line !== '');

describe('scripted mode (stdin is not a TTY)', () => {
  it('sends each line as one message, paced by its echo, and exits 0 at the end of input (NICK)', async () => {
    const server = await scriptedServer();
    const run = terminal(server.port);
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await nickServerHandshake(peer, 'alice');
    const joinedAt = peer.stream().length;
    run.input.write('one\ntwo\n');
    run.input.end();
    await peer.waitForText('alice: one', { timeoutMs: WAIT_MS, after: joinedAt });
    // Pacing: the second line waits for the relay of the first, so the two cannot merge at the server.
    expect(text(await peer.quiet(QUIET_MS))).toBe('');
    peer.send('alice: one');
    await peer.waitForText('alice: two', { timeoutMs: WAIT_MS, after: joinedAt });
    expect(peer.chunks().slice(1).map(text)).toEqual(['alice: one', 'alice: two']);
    peer.send('alice: two');
    expect(await exitWithin(run.exit)).toBe(0);
    expect(await peer.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
    // One plain line per incoming message; never the prompt (CLIENT-PROMPT-1).
    expect(lines(run.output.text())).toEqual([
      'alice joined!',
      'Connected to server!',
      'alice: one',
      'alice: two',
    ]);
    expect(run.errorOutput.text()).toBe('');
  });

  it('paces tilde content by its relay `<user>~<text>`, and reports an empty line instead of sending it', async () => {
    const server = await scriptedServer();
    const run = terminal(server.port, { dialect: 'tilde' });
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await tildeServerHandshake(peer, 'alice');
    run.input.write('hi ~ there\n\ncafé\n');
    run.input.end();
    await peer.waitForText('hi ~ there', { timeoutMs: WAIT_MS });
    expect(text(await peer.quiet(QUIET_MS))).toBe('');
    peer.send('alice~hi ~ there');
    await peer.waitForText('café', { timeoutMs: WAIT_MS });
    peer.send('alice~café');
    expect(await exitWithin(run.exit)).toBe(0);
    expect(peer.chunks().map(text)).toEqual(['alice', 'hi ~ there', 'café']);
    expect(lines(run.output.text())).toEqual([
      '[SERVER] alice added to the chat',
      '[alice] hi ~ there',
      '[alice] café',
    ]);
    // CLIENT-INPUT-1: one clear line, then it goes on.
    expect(lines(run.errorOutput.text())).toEqual([
      'invalid input (CONTENT_EMPTY): an empty message cannot be sent; not sent',
    ]);
  });

  it('reports a line NICK cannot carry (non-ASCII) and goes on with the next (CLIENT-INPUT-1)', async () => {
    const server = await scriptedServer();
    const run = terminal(server.port);
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await nickServerHandshake(peer, 'alice');
    run.input.write('café\nok\n');
    run.input.end();
    await peer.waitForText('alice: ok', { timeoutMs: WAIT_MS });
    peer.send('alice: ok');
    expect(await exitWithin(run.exit)).toBe(0);
    expect(text(peer.stream())).toBe('alicealice: ok');
    expect(run.errorOutput.text()).toBe(
      'invalid input (TEXT_FORBIDDEN_CHAR): the NICK dialect carries only printable ASCII and TAB; not sent\n',
    );
  });

  it('sends lines that read like control words (`closed`, `interrupt`) as ordinary messages', async () => {
    const server = await scriptedServer();
    const run = terminal(server.port);
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await nickServerHandshake(peer, 'alice');
    run.input.write('closed\ninterrupt\n');
    run.input.end();
    await peer.waitForText('alice: closed', { timeoutMs: WAIT_MS });
    peer.send('alice: closed');
    await peer.waitForText('alice: interrupt', { timeoutMs: WAIT_MS });
    peer.send('alice: interrupt');
    expect(await exitWithin(run.exit)).toBe(0);
  });

  it('sends the next line after the echo bound when no echo comes, and still exits', async () => {
    const server = await scriptedServer();
    const echoTimeoutMs = 300;
    const run = terminal(server.port, { echoTimeoutMs });
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await nickServerHandshake(peer, 'alice');
    run.input.write('one\ntwo\n');
    run.input.end();
    const first = await peer.waitForText('alice: one', { timeoutMs: WAIT_MS });
    const started = performance.now();
    await peer.waitForText('alice: two', { timeoutMs: WAIT_MS, after: first });
    expect(performance.now() - started).toBeGreaterThanOrEqual(echoTimeoutMs - 50);
    expect(await exitWithin(run.exit)).toBe(0);
  });

  it('prints `disconnected by server` and exits 0 when the server closes, input still open (CLIENT-EOF-1)', async () => {
    const server = await scriptedServer();
    const run = terminal(server.port);
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await nickServerHandshake(peer, 'alice');
    peer.send('bob: bye');
    await run.output.waitFor('bob: bye');
    peer.end();
    expect(await exitWithin(run.exit)).toBe(0);
    expect(lines(run.output.text()).slice(-2)).toEqual(['bob: bye', 'disconnected by server']);
  });

  it('shows undecodable bytes with U+FFFD and keeps running (CLIENT-BYTES-1)', async () => {
    const server = await scriptedServer();
    const run = terminal(server.port);
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await nickServerHandshake(peer, 'alice');
    peer.send(Uint8Array.from([...Buffer.from('bob: caf'), 0xc3, 0xa9]));
    await run.output.waitFor('bob: caf');
    peer.send('bob: \x1b[2Jstill here');
    await run.output.waitFor('still here');
    run.input.end();
    expect(await exitWithin(run.exit)).toBe(0);
    expect(lines(run.output.text()).slice(2)).toEqual([
      '[!] bob: caf\ufffd\ufffd',
      'bob: \\x1b[2Jstill here',
    ]);
  });

  it('writes no colours when stdin is not a TTY, even if colours are asked for', async () => {
    const server = await scriptedServer();
    const run = terminal(server.port, { color: true });
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await nickServerHandshake(peer, 'alice');
    run.input.end();
    expect(await exitWithin(run.exit)).toBe(0);
    expect(run.output.text()).not.toContain('\x1b');
  });

  it('writes colours into a pipe when FORCE_COLOR asks for them', async () => {
    const server = await scriptedServer();
    const run = terminal(server.port, { color: true, env: { FORCE_COLOR: '1' } });
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    await nickServerHandshake(peer, 'alice');
    peer.send('bob: hi');
    await run.output.waitFor('hi');
    run.input.end();
    expect(await exitWithin(run.exit)).toBe(0);
    expect(run.output.text()).toContain('\x1b[1mbob\x1b[0m: hi');
  });

  it('exits 1 with `error CLIENT_REFUSED: <reason>` on stderr when refused', async () => {
    const server = await scriptedServer();
    const run = terminal(server.port);
    const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
    peer.send('NICK');
    await peer.waitForText('alice', { timeoutMs: WAIT_MS });
    peer.send('Refused: nickname in use');
    expect(await exitWithin(run.exit)).toBe(1);
    expect(run.errorOutput.text()).toBe('error CLIENT_REFUSED: nickname in use\n');
    expect(run.output.text()).toBe('');
  });

  it('exits 1 with `error CONNECT_FAILED: ...` when nothing listens', async () => {
    const run = terminal(await freePort());
    expect(await exitWithin(run.exit)).toBe(1);
    expect(run.errorOutput.text()).toMatch(/^error CONNECT_FAILED: .+\n$/);
  });

  it('exits 1 with the codec’s code for an invalid nickname, before connecting', async () => {
    const server = await scriptedServer();
    const run = terminal(server.port, { nick: 'bad:nick' });
    expect(await exitWithin(run.exit)).toBe(1);
    expect(run.errorOutput.text()).toMatch(/^error NICKNAME_FORBIDDEN_CHAR: /);
    await expect(server.nextConnection({ timeoutMs: QUIET_MS })).rejects.toMatchObject({
      code: 'ACCEPT_TIMEOUT',
    });
  });
});

describe('TTY mode', () => {
  async function ttySession(options: TerminalOverrides = {}) {
    const server = await scriptedServer();
    const run = terminal(server.port, { isTTY: true, ...options });
    const peer: Connection = await server.nextConnection({ timeoutMs: WAIT_MS });
    await nickServerHandshake(peer, 'alice');
    await run.output.waitFor('alice> ');
    return { ...run, peer };
  }

  it('prints an incoming message above the line being typed, then redraws the prompt and the partial input', async () => {
    const { input, output, peer, exit } = await ttySession();
    input.write('hel');
    await output.waitFor('hel');
    const before = output.text().length;
    peer.send('bob: yo');
    await output.waitFor('bob: yo');
    await output.waitFor('alice> hel');
    const redraw = output.text().slice(before);
    // Clear the line, go to column 0, print, then the prompt with the partial input again.
    expect(redraw.indexOf('\x1b[2K')).toBeLessThan(redraw.indexOf('bob: yo\n'));
    expect(redraw.lastIndexOf('alice> hel')).toBeGreaterThan(redraw.indexOf('bob: yo\n'));
    input.write('lo\r');
    await peer.waitForText('alice: hello', { timeoutMs: WAIT_MS });
    peer.send('alice: hello');
    await output.waitFor('alice: hello\n');
    input.write('/quit\r');
    expect(await exitWithin(exit)).toBe(0);
    expect(await peer.waitForClose({ timeoutMs: WAIT_MS })).toBe('eof');
  });

  it('lists commands on /help, refuses unknown ones, sends `//x` as `/x`, and quits on /quit', async () => {
    const { input, output, peer, exit } = await ttySession();
    input.write('/help\r');
    await output.waitFor('/quit');
    input.write('/nope\r');
    await output.waitFor('unknown command /nope');
    input.write('//me waves\r');
    await peer.waitForText('alice: /me waves', { timeoutMs: WAIT_MS });
    peer.send('alice: /me waves');
    input.write('café\r');
    await output.waitFor('invalid input (TEXT_FORBIDDEN_CHAR)');
    input.write('unanswered\r');
    await peer.waitForText('alice: unanswered', { timeoutMs: WAIT_MS });
    // The server never echoes `unanswered`: /quit must not wait behind the pacing bound.
    const quitAt = performance.now();
    input.write('/quit\r');
    expect(await exitWithin(exit)).toBe(0);
    expect(performance.now() - quitAt).toBeLessThan(PACE_ECHO_TIMEOUT_MS);
    expect(text(peer.stream())).toBe('alicealice: /me wavesalice: unanswered');
  });

  it('prints `disconnected by server` and exits 0 when the server closes (CLIENT-EOF-1)', async () => {
    const { output, peer, exit } = await ttySession();
    peer.end();
    expect(await exitWithin(exit)).toBe(0);
    expect(output.text()).toContain('disconnected by server\n');
  });

  it('uses colours on a TTY, and none when NO_COLOR is set', async () => {
    const coloured = await ttySession({ color: true });
    coloured.peer.send('bob: hi');
    await coloured.output.waitFor('hi');
    expect(coloured.output.text()).toContain('\x1b[1mbob\x1b[0m: hi');
    coloured.input.write('/quit\r');
    expect(await exitWithin(coloured.exit)).toBe(0);

    const plain = await ttySession({ color: true, env: { NO_COLOR: '1' } });
    plain.peer.send('bob: hi');
    await plain.output.waitFor('bob: hi');
    expect(plain.output.text()).not.toContain('\x1b[1m');
    plain.input.write('/quit\r');
    expect(await exitWithin(plain.exit)).toBe(0);
  });
});
