/**
 * Free loopback ports for the servers chatkit starts: any port the OS picks, or one in a range the
 * user names (`--port-range LO-HI`) for programs that refuse some ports (e.g. below 49152). A port
 * is free only "a moment ago": ./spawn.ts's `spawnOnFreePort` tries again when it was taken meanwhile.
 *
 * @module
 */
import { createServer } from 'node:net';
import { ChatkitError } from '../errors.js';

/** A port that was free a moment ago on 127.0.0.1 (bind to port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** A range of TCP ports, both ends included. */
export interface PortRange {
  readonly low: number;
  readonly high: number;
}

/** Random picks tried in a range before it counts as full. */
export const PORT_RANGE_TRIES = 64;

/** A `--port-range` that is not `LO-HI` within 1–65535, or one where no port is free. */
export class PortRangeError extends ChatkitError {
  declare readonly code: 'PORT_RANGE_INVALID' | 'PORT_RANGE_FULL';
  constructor(code: 'PORT_RANGE_INVALID' | 'PORT_RANGE_FULL', message: string) {
    super(code, message);
    this.name = 'PortRangeError';
  }
}

/** Parses `LO-HI` (e.g. `49152-65535`). */
export function parsePortRange(text: string): PortRange {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text.trim());
  const low = Number(m?.[1]);
  const high = Number(m?.[2]);
  if (!m || low < 1 || high > 65_535 || low > high) {
    throw new PortRangeError('PORT_RANGE_INVALID', `expected LO-HI with 1 <= LO <= HI <= 65535, got "${text}"`);
  }
  return { low, high };
}

function tryBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port that was free a moment ago: any (the OS picks), or a random one in `range`. */
export async function freePortIn(range?: PortRange): Promise<number> {
  if (range === undefined) return freePort();
  const size = range.high - range.low + 1;
  for (let i = 0; i < Math.min(PORT_RANGE_TRIES, size * 2); i++) {
    const port = range.low + Math.floor(Math.random() * size);
    if (await tryBind(port)) return port;
  }
  throw new PortRangeError('PORT_RANGE_FULL', `no free port found in ${range.low}-${range.high}`);
}
