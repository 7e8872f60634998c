/**
 * One member's outbound queue. While the socket keeps up, every message is its own `write()`
 * (FRAME-2: legacy clients then see one message per `recv()`). Once `write()` returns false, later
 * messages wait here and go out together in one write on `drain` (FRAME-7: the kernel would merge
 * them anyway). Queued bytes are bounded; past the bound the member is a slow reader and
 * `onOverflow` closes it (ROBUST-SLOW-1), so it never delays anyone else.
 *
 * @module
 */
import type { Socket } from 'node:net';

/** A bounded, batching writer for one socket. */
export class Outbox {
  readonly #socket: Socket;
  readonly #maxBytes: number;
  readonly #onOverflow: () => void;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #closed = false;

  /** Wraps `socket`; `onOverflow` is called once when more than `maxBytes` wait. */
  constructor(socket: Socket, maxBytes: number, onOverflow: () => void) {
    this.#socket = socket;
    this.#maxBytes = maxBytes;
    this.#onOverflow = onOverflow;
    socket.on('drain', () => this.#flush());
  }

  /** Bytes waiting, in this queue and in the socket's own buffer. */
  get pendingBytes(): number {
    return this.#queuedBytes + this.#socket.writableLength;
  }

  /** Queues or writes one message. Shared byte arrays are fine: they are never modified. */
  send(bytes: Uint8Array): void {
    if (this.#closed) return;
    if (this.#queue.length === 0 && !this.#socket.writableNeedDrain) {
      this.#socket.write(bytes);
    } else {
      this.#queue.push(bytes);
      this.#queuedBytes += bytes.length;
    }
    if (this.pendingBytes > this.#maxBytes) {
      this.#closed = true;
      this.#queue = [];
      this.#queuedBytes = 0;
      this.#onOverflow();
    }
  }

  /** Sends what is queued, then half-closes (FIN) once it is written. */
  end(last?: Uint8Array): void {
    if (this.#closed) return;
    if (last) this.send(last);
    this.#closed = true;
    this.#flush(true);
    this.#socket.end();
  }

  /** Drops whatever is queued; nothing more is sent. */
  discard(): void {
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
  }

  #flush(force = false): void {
    if (this.#queue.length === 0 || (this.#closed && !force)) return;
    const batch = this.#queue.length === 1 ? this.#queue[0]! : Buffer.concat(this.#queue);
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#socket.write(batch);
  }
}
