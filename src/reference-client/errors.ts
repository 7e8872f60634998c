/**
 * The reference client's errors: one for a connection or handshake that failed or a client used
 * after its end, one for events dropped to keep memory bounded. Both carry a stable `code`.
 *
 * @module
 */
import { ChatkitError, type ErrorCode } from '../errors.js';

/** A connection or handshake failure, or misuse of a closed client. Match on `code`. */
export class ClientError extends ChatkitError {
  /** `CLIENT_REFUSED`: the reason the server gave (`Refused: <reason>`), as text. */
  readonly reason: string | undefined;
  /** Bytes that explain the failure, e.g. the first bytes when `auto` could not detect the dialect. */
  readonly bytes: Uint8Array;

  /** Creates the error; `message` is for people, `code` is the contract. */
  constructor(
    code: ErrorCode,
    message: string,
    details: { reason?: string; bytes?: Uint8Array; cause?: unknown } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ClientError';
    this.reason = details.reason;
    this.bytes = details.bytes ?? new Uint8Array(0);
  }
}

/** Reported (as an `issue` event) when unread events were dropped to keep memory bounded. */
export class EventOverflowError extends ChatkitError {
  /** How many events were dropped. */
  readonly dropped: number;
  /** How many received bytes those events carried. */
  readonly droppedBytes: number;

  /** Creates the error for `dropped` events carrying `droppedBytes` bytes. */
  constructor(dropped: number, droppedBytes: number) {
    super(
      'CLIENT_EVENT_OVERFLOW',
      `${dropped} events (${droppedBytes} bytes) were dropped because nobody read them in time`,
    );
    this.name = 'EventOverflowError';
    this.dropped = dropped;
    this.droppedBytes = droppedBytes;
  }
}
