/**
 * What the reference client reports to its reader, in stream order: messages and coded issues
 * carrying the received bytes, then one `closed`.
 *
 * @module
 */
import type { DialectName } from '../codec/dialect.js';
import type { NickMessage, TildeMessage } from '../codec/generated/index.js';
import type { CodecError } from '../errors.js';
import type { EventOverflowError } from './errors.js';

/** How a connection ended: the server's FIN, a reset, our own {@link ChatClient.close}, or another socket error. */
export type CloseReason = 'eof' | 'reset' | 'local' | 'error';

/**
 * What a {@link ChatClient} reports, in stream order. Every byte received after the connection
 * opened is in exactly one `message` or `issue` (`bytes`), so the concatenation of those `bytes` is the
 * received stream (chunk framing; the line profile discards over-long lines, LINE-2). `closed` is
 * always the last event and comes exactly once.
 */
export type ClientEvent =
  | {
      readonly kind: 'message';
      readonly dialect: 'nick';
      readonly message: NickMessage;
      readonly bytes: Uint8Array;
    }
  | {
      readonly kind: 'message';
      readonly dialect: 'tilde';
      readonly message: TildeMessage;
      readonly bytes: Uint8Array;
    }
  | {
      readonly kind: 'issue';
      readonly dialect: DialectName;
      /** A decoding issue (bytes the dialect forbids, a frame no message matches), or an overflow of the event queue. */
      readonly error: CodecError | EventOverflowError;
      /** The bytes of the issue (empty for an overflow, whose bytes were dropped and are counted instead). */
      readonly bytes: Uint8Array;
    }
  | { readonly kind: 'closed'; readonly reason: CloseReason; readonly error?: Error };
