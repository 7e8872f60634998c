/**
 * `--fuzz`: random sessions against a correct server find nothing; against a server that never
 * announces leaves they find the defect and shrink it to a short session with a replayable seed.
 */
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describeCommand, fuzzCaseResult, runFuzz, sessionArbitrary } from '../../conformance/fuzz/fuzz.js';
import { startServer } from '../../src/index.js';
import fc from 'fast-check';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Short bounds: the broken server's missing leave is waited out on every shrink step. */
const FAST = { stepMs: 600, quietMs: 100 };

/** A NICK server that is right in everything but leaves: it never announces one (like D-NS-1). */
async function forgetfulServer(): Promise<number> {
  const members = new Map<Socket, string>();
  const server = createServer({ noDelay: true }, (socket) => {
    socket.write('NICK');
    socket.on('error', () => members.delete(socket));
    socket.on('close', () => members.delete(socket));
    socket.on('data', (chunk) => {
      const nick = members.get(socket);
      if (nick === undefined) {
        const name = chunk.toString('ascii');
        members.set(socket, name);
        for (const m of members.keys()) m.write(`${name} joined!`);
        socket.write('Connected to server!');
      } else for (const m of members.keys()) m.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => {
    for (const m of members.keys()) m.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

describe('conform --fuzz', () => {
  it('generates sessions whose commands read as a transcript', () => {
    const [session] = fc.sample(sessionArbitrary('tilde'), { numRuns: 1, seed: 1 });
    expect(session!.length).toBeGreaterThan(0);
    for (const c of session!) expect(describeCommand(c)).toMatch(/^(join|say|leave)\(c\d/);
  });

  for (const dialect of ['nick', 'tilde'] as const) {
    it(`finds nothing wrong with the reference server (${dialect})`, async () => {
      const server = await startServer({ dialect, port: 0 });
      cleanup.push(() => server.close());
      const outcome = await runFuzz({
        dialect,
        runs: 25,
        target: { open: async () => ({ host: '127.0.0.1', port: server.port, close: async () => {} }) },
      });
      expect(outcome.failure).toBeUndefined();
      expect(fuzzCaseResult(outcome, { dialect, durationMs: 1, rerun: 'x' }).verdict).toBe('pass');
    });
  }

  it('catches a server that never announces leaves, shrunk to a short session, with its seed', async () => {
    const port = await forgetfulServer();
    const outcome = await runFuzz({
      dialect: 'nick',
      runs: 200,
      seed: 12345,
      timing: FAST,
      target: { open: async () => ({ host: '127.0.0.1', port, close: async () => {} }) },
    });
    expect(outcome.failure?.details.requirement).toBe('NICK-LEAVE-1');
    // Shrunk: two joins and a leave are enough to show it.
    expect(outcome.failure!.commands.length).toBeLessThanOrEqual(4);
    expect(outcome.failure!.commands.some((c) => c.startsWith('leave('))).toBe(true);
    const result = fuzzCaseResult(outcome, { dialect: 'nick', durationMs: 1, rerun: 'chatkit conform --fuzz 200 --seed 12345' });
    expect(result.verdict).toBe('fail');
    expect(result.failure?.message).toContain('seed 12345');
    expect(result.transcript.length).toBeGreaterThan(0);
  }, 120_000);
});
