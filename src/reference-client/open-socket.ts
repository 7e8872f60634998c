/**
 * Opening the reference client's TCP connection, bounded in time, with Nagle off.
 *
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net';
import { ClientError } from './errors.js';

/** Opens the TCP connection with Nagle off (FRAME-3); bounded by `timeoutMs`. */
export function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ClientError('CONNECT_TIMEOUT', `no connection to ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const failed = (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new ClientError('CONNECT_FAILED', `cannot connect to ${host}:${port}: ${error.code ?? error.message}`, {
          cause: error,
        }),
      );
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', failed);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
