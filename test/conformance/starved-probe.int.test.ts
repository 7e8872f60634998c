/**
 * The probe waits longer while the machine's CPUs are overloaded (PROBE_STARVED_EXTENSION_FACTOR
 * bounds it): a tilde server starved of CPU that announces a username late is still detected as
 * tilde, not reported as speaking neither dialect. The starving is real, as in
 * test/processes/starved-listen.int.test.ts: the server runs on CPU 0 with its session's scheduling
 * group at nice 10, beside one busy loop at nice 0 on the same CPU, and spends CPU time before it
 * answers.
 */
import { describe, expect, it } from 'vitest';
import { PROBE_ANSWER_WAIT_MS, PROBE_PROMPT_WAIT_MS, probeServer } from '../../conformance/probe.js';
import { cpuPressureStallMs, freePort, spawnTarget, type TargetHandle } from '../../src/processes/index.js';
import { CAN_STARVE, startCpuHog, starvedCommand } from '../support/stall.js';

/**
 * Scales the probe's waits: the answer wait becomes 2 s, under the starved answer (about 4.5 s on a
 * quiet machine), and the stretch's cap 10 s over it (a 1 s wait, capped at 5 s, was short of the
 * answer under CI's load).
 */
const SCALE = 2_000 / PROBE_ANSWER_WAIT_MS;
const TEST_TIMEOUT_MS = 60_000;
const starvable = CAN_STARVE && cpuPressureStallMs() !== undefined;

/** Accepts, reads a username, burns 0.3 s of CPU, then announces it as tilde does; stays connected. */
const tildeAfterWork = (port: number) => `
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", ${port})); s.listen()
c, _ = s.accept()
name = c.recv(64)
t = time.process_time()
while time.process_time() - t < 0.3: pass
c.sendall(b"SERVER~" + name + b" added to the chat")
time.sleep(60)
`;

describe.skipIf(!starvable)('a tilde server starved of CPU while the probe waits', () => {
  it(
    'is detected as tilde although its announcement came after the unstretched wait',
    async () => {
      const port = await freePort();
      let hog: TargetHandle | undefined;
      let server: TargetHandle | undefined;
      try {
        hog = await startCpuHog(TEST_TIMEOUT_MS / 4);
        server = await spawnTarget({
          command: starvedCommand(10, `-c '${tildeAfterWork(port)}'`),
          port,
          listenTimeoutMs: TEST_TIMEOUT_MS / 4,
        });
        const started = performance.now();
        const probe = await probeServer('127.0.0.1', port, { timeoutScale: SCALE });
        const took = performance.now() - started;
        await probe.release();
        expect(probe.detected.dialect).toBe('tilde');
        // The unstretched waits (prompt, then answer) alone would have ended in PROBE_NO_DIALECT.
        expect(took).toBeGreaterThan((PROBE_PROMPT_WAIT_MS + PROBE_ANSWER_WAIT_MS) * SCALE);
      } finally {
        await server?.stop();
        await hog?.stop();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
