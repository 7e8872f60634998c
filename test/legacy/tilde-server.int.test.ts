/**
 * The seed's tilde server (tilde_server.py) on loopback: the ordinary session it gets right, then one test
 * per annex defect D-TS-n that makes the defect happen.
 *
 * Every check reads reassembled streams, every send that depends on a previous effect waits for it, every
 * "nothing happens" is a bounded quiet window, and thread deaths are observed in the server's tracebacks.
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Connection, openConnection } from '../../conformance/harness/connection.js';
import {
  listeningPorts,
  pollUntil,
  pythonExecutable,
  spawnTarget,
  type TargetHandle,
  TcpState,
  tcpSockets,
  threadsAllWaitingForInput,
  threadsBlockedInSend,
} from '../../src/processes/index.js';
import { PYTHON_TARGETS_DIR } from '../../conformance/targets/index.js';
import { escapeBytes } from '../../src/codec/escape.js';
import {
  expectPrintingBusyLoop,
  FLOOD_DEADLINE_MS,
  SHOWN_QUIET_MS,
  stallOn,
  text,
  useSeedServer,
} from './helpers.js';

/** The tilde server's recv size: longer writes are cut here. */
const TILDE_RECV_BYTES = 2048;
/** How a stalled member floods (D-TS-9, D-TS-10): one write, and how many are queued per round. */
const FLOOD = { byte: 0x7a, writeBytes: 2_000, writesPerRound: 32 } as const;

const SCRIPT = join(PYTHON_TARGETS_DIR, 'tilde_server.py');
const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;

describe('tilde_server.py (tilde server)', () => {
  const seed = useSeedServer(SCRIPT, 'tilde_server.py');
  const { connect } = seed;
  // The current test's server, under the name the tests use.
  let server: TargetHandle;
  beforeEach(() => {
    server = seed.server;
  });

  /**
   * Sends `user` as the first write and waits until it and every member in `others` saw the join, and until
   * the join's client_handler thread has ended (every thread waits in recv or accept). Its broadcast loop may still be running after the last
   * member we know of got the announcement, and would then reach the next newcomer too (D-TS-9).
   */
  async function join_(user: string, others: Connection[] = [], label = user): Promise<Connection> {
    const announcement = `SERVER~${user} added to the chat`;
    const before = others.map((o) => o.stream().length);
    const peer = await connect(label);
    peer.send(user);
    await peer.waitForText(announcement);
    await Promise.all(others.map((o, i) => o.waitForText(announcement, { after: before[i]! })));
    // client_handler starts the listener thread, then returns; only then are all threads back in recv/accept.
    await pollUntil(() => threadsAllWaitingForInput(server.pid), { what: 'the server to settle' });
    return peer;
  }

  /** Resolves once the server printed `line` again and again and burnt CPU: a busy loop. */
  async function expectLoopPrinting(line: string): Promise<void> {
    await expectPrintingBusyLoop(server, `"${line}"`);
    expect(count(server.stdout(), `${line}\n`)).toBeGreaterThan(100);
  }

  describe('an ordinary session', () => {
    it('waits silently for the username (the client speaks first)', async () => {
      const peer = await connect('alice');
      expect(escapeBytes(await peer.quiet(SHOWN_QUIET_MS))).toBe('');
    });

    it('announces joins to everyone and relays `<user>~<content>` to every member including the sender', async () => {
      const alice = await join_('alice');
      const bob = await join_('bob', [alice]);
      alice.send('hello');
      await Promise.all([alice.waitForText('alice~hello'), bob.waitForText('alice~hello')]);
      bob.send('h~\u00e9');
      await Promise.all([alice.waitForText('bob~h~\u00e9'), bob.waitForText('bob~h~\u00e9')]);

      expect(text(alice)).toBe(
        'SERVER~alice added to the chatSERVER~bob added to the chatalice~hellobob~h~\\xc3\\xa9',
      );
      expect(text(bob)).toBe('SERVER~bob added to the chatalice~hellobob~h~\\xc3\\xa9');
      expect(server.stdout()).toContain(`Running the server on 127.0.0.1 ${server.port}\n`);
    });
  });

  describe('defects', () => {
    it('D-TS-1: a member that closes is never removed and its listener busy-loops printing "... is empty"', async () => {
      const alice = await join_('alice');
      const bob = await join_('bob', [alice]);
      bob.end();
      await expectLoopPrinting('The message send from client bob is empty');
      // No leave, and bob is still relayed to (he keeps reading after his FIN).
      expect(escapeBytes(await alice.quiet(SHOWN_QUIET_MS))).toBe('');
      alice.send('still there?');
      await bob.waitForText('alice~still there?');
    });

    it('D-TS-2: a connection that closes before its username busy-loops printing "Client username is empty"', async () => {
      const ghost = await connect('ghost');
      ghost.close();
      await expectLoopPrinting('Client username is empty');
    });

    it("D-TS-3: a dead member kills the listener of every later sender, and members after it miss the sender's message", async () => {
      const alice = await join_('alice');
      const bob = await join_('bob', [alice]);
      const carol = await join_('carol', [alice, bob]);
      // active_clients = [alice, bob, carol]
      bob.reset();
      await server.waitForOutput('stderr', 'ConnectionResetError', {
        what: "bob's listener to die (D-TS-4)",
      });

      const aliceBefore = alice.stream().length;
      const carolBefore = carol.stream().length;
      alice.send('one');
      // sendall() reaches alice, then raises at bob inside alice's listener thread: carol never gets it.
      await alice.waitForText('alice~one');
      await server.waitForOutput('stderr', (err) => count(err, 'BrokenPipeError') >= 1);
      expect(escapeBytes(await carol.quiet(SHOWN_QUIET_MS))).toBe('');

      // alice's listener is dead: she is muted, though still listed and still receiving.
      alice.send('two');
      expect(escapeBytes(await alice.quiet(SHOWN_QUIET_MS))).toBe('');
      carol.send('hi');
      await alice.waitForText('carol~hi');
      await server.waitForOutput('stderr', (err) => count(err, 'BrokenPipeError') >= 2);
      expect(escapeBytes(await carol.quiet(SHOWN_QUIET_MS))).toBe('');

      expect(escapeBytes(alice.stream().subarray(aliceBefore))).toBe('alice~onecarol~hi');
      expect(escapeBytes(carol.stream().subarray(carolBefore))).toBe('');
    });

    it('D-TS-4: nobody is told when a member leaves', async () => {
      const alice = await join_('alice');
      const bob = await join_('bob', [alice]);
      bob.reset();
      await server.waitForOutput('stderr', 'ConnectionResetError');
      expect(escapeBytes(await alice.quiet(SHOWN_QUIET_MS))).toBe('');
      expect(text(alice)).toBe('SERVER~alice added to the chatSERVER~bob added to the chat');
    });

    it("D-TS-5: invalid UTF-8 kills the sender's listener: the sender is muted forever but stays listed", async () => {
      const alice = await join_('alice');
      const bob = await join_('bob', [alice]);
      alice.send(new Uint8Array([0xff]));
      await server.waitForOutput('stderr', 'UnicodeDecodeError');
      alice.send('after');
      expect(escapeBytes(await bob.quiet(SHOWN_QUIET_MS))).toBe('');
      bob.send('hi');
      await alice.waitForText('bob~hi');
    });

    it('D-TS-5: a character split across two writes mutes the sender too', async () => {
      const alice = await join_('alice');
      const bob = await join_('bob', [alice]);
      alice.send(new Uint8Array([0x63, 0x61, 0x66, 0xc3]));
      await server.waitForOutput('stderr', "can't decode byte 0xc3 in position 3: unexpected end of data");
      alice.send(new Uint8Array([0xa9]));
      expect(escapeBytes(await bob.quiet(SHOWN_QUIET_MS))).toBe('');
      expect(text(bob)).toBe('SERVER~bob added to the chat');
    });

    it('D-TS-5: a username that is not valid UTF-8 leaves its connection hanging, neither admitted nor closed, until the next accept', async () => {
      const alice = await join_('alice');
      const mallory = await connect('mallory');
      mallory.send(new Uint8Array([0x63, 0x61, 0x66, 0xc3]));
      await server.waitForOutput('stderr', 'UnicodeDecodeError');
      expect(escapeBytes(await mallory.quiet(SHOWN_QUIET_MS))).toBe('');
      expect(mallory.closed).toBe(false);
      expect(text(alice)).toBe('SERVER~alice added to the chat');
      // Not forever: at the next accept CPython drops the dead thread's socket and closes it.
      const bob = await join_('bob', [alice]);
      expect(await mallory.waitForClose()).toBe('eof');
      expect(text(bob)).toBe('SERVER~bob added to the chat');
    });

    it('D-TS-6: any username is admitted: `~`, SERVER, control characters, over-long, duplicates', async () => {
      const alice = await join_('alice');
      const bad = ['b~x', 'SERVER', 'ctl\x01', 'nl\n', 'x'.repeat(100), 'alice'];
      for (const user of bad) await join_(user, [alice], JSON.stringify(user));
      for (const user of bad) {
        expect(text(alice)).toContain(escapeBytes(Buffer.from(`SERVER~${user} added to the chat`)));
      }
    });

    it('D-TS-6: a member named SERVER can forge announcements', async () => {
      const alice = await join_('alice');
      const forger = await join_('SERVER', [alice]);
      const before = alice.stream().length;
      forger.send('mallory added to the chat');
      await alice.waitForText('SERVER~mallory added to the chat', { after: before });
      expect(escapeBytes(alice.stream().subarray(before))).toBe('SERVER~mallory added to the chat');
    });

    it('D-TS-7: a write over 2048 bytes is relayed as two messages, each with the prefix', async () => {
      const alice = await join_('alice');
      const bob = await join_('bob', [alice]);
      const before = alice.stream().length;
      bob.send('y'.repeat(3000));
      const expected = `bob~${'y'.repeat(TILDE_RECV_BYTES)}bob~${'y'.repeat(3000 - TILDE_RECV_BYTES)}`;
      await alice.waitFor((s) => s.length >= before + expected.length, { what: 'both pieces' });
      expect(escapeBytes(alice.stream().subarray(before))).toBe(expected);
    });

    it('D-TS-7: a write over 2048 bytes cut inside a character mutes the sender (D-TS-5)', async () => {
      const alice = await join_('alice');
      const bob = await join_('bob', [alice]);
      bob.send(`${'x'.repeat(TILDE_RECV_BYTES - 1)}\u00e9`);
      await server.waitForOutput('stderr', "can't decode byte 0xc3 in position 2047");
      expect(escapeBytes(await alice.quiet(SHOWN_QUIET_MS))).toBe('');
      bob.send('after');
      expect(escapeBytes(await alice.quiet(SHOWN_QUIET_MS))).toBe('');
    });

    it('D-TS-9: a join announcement in progress reaches a member who joined after it', async () => {
      const zed = await join_('zed');
      await stallOn(server, zed, FLOOD);
      // alice's client_handler appends her, then blocks broadcasting her announcement at zed (first in the list).
      const alice = await connect('alice');
      alice.send('alice');
      await pollUntil(() => threadsBlockedInSend(server.pid) >= 2, {
        timeoutMs: FLOOD_DEADLINE_MS,
        what: "alice's client_handler to block in sendall()",
      });
      const bob = await connect('bob');
      bob.send('bob');
      await pollUntil(() => threadsBlockedInSend(server.pid) >= 3, {
        timeoutMs: FLOOD_DEADLINE_MS,
        what: "bob's client_handler to block in sendall()",
      });
      zed.resumeReading();
      // The interrupted loops go on over the grown list: bob gets alice's announcement, made before he came.
      await bob.waitForText('SERVER~bob added to the chat', { timeoutMs: FLOOD_DEADLINE_MS });
      await bob.waitForText('SERVER~alice added to the chat', { timeoutMs: FLOOD_DEADLINE_MS });
      await alice.waitForText('SERVER~alice added to the chat', { timeoutMs: FLOOD_DEADLINE_MS });
    });

    it('D-TS-10: a member that stops reading stalls every sender; members listed after it get nothing more', async () => {
      const alice = await join_('alice');
      const zed = await join_('zed', [alice]);
      const bob = await join_('bob', [alice, zed]);
      // active_clients = [alice, zed, bob]; zed's own listener ends up blocked in sendall() to zed.
      await stallOn(server, zed, FLOOD);
      const bobMark = bob.stream().length;
      alice.send('after-stall');
      await pollUntil(() => threadsBlockedInSend(server.pid) >= 2, {
        timeoutMs: FLOOD_DEADLINE_MS,
        what: "alice's listener to block in sendall() at zed",
      });
      await alice.waitForText('alice~after-stall', { timeoutMs: FLOOD_DEADLINE_MS });
      bob.send('bob-too');
      await pollUntil(() => threadsBlockedInSend(server.pid) >= 3, {
        timeoutMs: FLOOD_DEADLINE_MS,
        what: "bob's listener to block in sendall() at zed",
      });
      // alice is listed before zed and hears bob; bob, listed after zed, hears nobody, not even himself.
      await alice.waitForText('bob~bob-too', { timeoutMs: FLOOD_DEADLINE_MS });
      await bob.quiet(SHOWN_QUIET_MS);
      const heard = Buffer.from(bob.stream().subarray(bobMark)).toString('latin1');
      expect(heard).not.toContain('alice~after-stall');
      expect(heard).not.toContain('bob~bob-too');
      // Nothing closes zed; once it reads again, the stalled loops go on.
      zed.resumeReading();
      await bob.waitForText('alice~after-stall', { after: bobMark, timeoutMs: FLOOD_DEADLINE_MS });
      await bob.waitForText('bob~bob-too', { after: bobMark, timeoutMs: FLOOD_DEADLINE_MS });
    });
  });
});

describe('tilde_server.py when its port is taken', () => {
  let blocker: Server | undefined;
  let target: TargetHandle | undefined;
  const peers: Connection[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.close();
    await target?.stop();
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
  });

  it('D-TS-8: restarted at once on its port after a member was connected, the server listens elsewhere', async () => {
    const first = await spawnTarget({ command: [pythonExecutable(), SCRIPT, '127.0.0.1', '0'] });
    target = first;
    await pollUntil(() => listeningPorts(first.pid).length > 0, { what: 'the first server to listen' });
    const [port] = listeningPorts(first.pid);
    const alice = await openConnection({ port: port!, label: 'alice' });
    peers.push(alice);
    alice.send('alice');
    await alice.waitForText('SERVER~alice added to the chat');
    // The server closes first: its side of alice's connection keeps the port (FIN_WAIT_2, TIME_WAIT).
    await first.stop();
    alice.close();
    // No SO_REUSEADDR: bind() fails, the failure is only printed, and listen() picks another port.
    target = await spawnTarget({ command: [pythonExecutable(), SCRIPT, '127.0.0.1', String(port)] });
    await target.waitForOutput('stdout', `Unable to bind to host 127.0.0.1 and port ${port}\n`);
    const pid = target.pid;
    await pollUntil(() => listeningPorts(pid).length > 0, { what: 'the fallback listener' });
    expect(listeningPorts(pid)).not.toContain(port);
    expect(target.exitStatus()).toBeUndefined();
  });

  it('D-TS-8: a failed bind is only printed: the server listens on a random port on all interfaces', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    // No `port`: spawnTarget would wait for a listener of this target on `port`, which never comes.
    target = await spawnTarget({ command: [pythonExecutable(), SCRIPT, '127.0.0.1', String(port)] });
    await target.waitForOutput('stdout', `Unable to bind to host 127.0.0.1 and port ${port}\n`);
    const pid = target.pid;
    await pollUntil(() => listeningPorts(pid).length > 0, { what: 'the fallback listener' });
    const [fallback] = listeningPorts(pid);
    expect(fallback).not.toBe(port);
    const row = tcpSockets().find((s) => s.state === TcpState.LISTEN && s.localPort === fallback);
    expect(row?.localAddress).toBe('0.0.0.0');
    expect(target.exitStatus()).toBeUndefined();

    const alice = await openConnection({ port: fallback!, label: 'alice' });
    peers.push(alice);
    alice.send('alice');
    await alice.waitForText('SERVER~alice added to the chat');
  });
});
