/**
 * Fuzzing the reference client over a real socket (FRAME-4, CLIENT-BYTES-1, CLIENT-EOF-1): a scripted
 * server completes the handshake, then sends well-formed messages of the dialect interleaved with
 * garbage (invalid UTF-8, non-ASCII, no `~`, huge chunks), written paced, merged into one write, or
 * split at random points, and ends with a FIN or a reset. Whatever it sends, the client must:
 *
 * - never throw (no uncaught exception, no unhandled rejection) and end with exactly one `closed`;
 * - account for every byte: the message and issue bytes, concatenated, are what the server sent
 *   (after a FIN), or a prefix of it (after a reset, which may discard data in flight);
 * - decode every well-formed message whose bytes arrived alone as exactly that message (the decoder
 *   classifies a frame from its bytes only, so this holds whatever chunking TCP chose);
 * - keep memory bounded (the decoder's held bytes and the event queue) and end in bounded time.
 *
 * Runs: `CHATKIT_PROPERTY_RUNS` (default 100).
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/codec/decoder.js';
import type { AnyMessage, DialectName } from '../../src/codec/dialect.js';
import { encode } from '../../src/codec/encode.js';
import { concatBytes } from '../../src/codec/text.js';
import { type ClientEvent, connect } from '../../src/reference-client/client.js';
import { splitAt, validMessage } from '../support/arbitraries.js';
import { isPrefix } from '../support/wait.js';
import {
  accountedBytes,
  collect,
  nickServerHandshake,
  scriptedServer,
  sentBy,
  tildeServerHandshake,
  useCleanup,
  WAIT_MS,
} from './helpers.js';

useCleanup();

const RUNS = Number(process.env.CHATKIT_PROPERTY_RUNS ?? 100);
/** Per-run budget on a loaded machine; the test's own timeout scales with the number of runs. */
const PER_RUN_BUDGET_MS = 600;
/** Longest pause the scripted server makes between two writes. */
const MAX_WRITE_DELAY_MS = 5;
/** Largest garbage chunk: many frames at once, past both dialects' receive sizes. */
const HUGE_CHUNK_MAX_BYTES = 20_000;

/** Server-to-client messages a member can receive in session. */
const SESSION_TYPES: Record<DialectName, readonly string[]> = {
  nick: ['chat', 'joined', 'left', 'connected', 'raw'],
  tilde: ['added', 'left', 'refused', 'notice', 'relay'],
};

type Piece = { readonly bytes: Uint8Array; readonly message?: AnyMessage };

/**
 * A well-formed message with its bytes, kept only when a fresh session decoder reads those bytes back
 * as that very message (some valid messages read as a type the spec's priority puts first, e.g. a
 * raw `a: b` is chat).
 */
function wellFormed(dialect: DialectName): fc.Arbitrary<Piece> {
  return fc
    .oneof(...SESSION_TYPES[dialect].map((type) => validMessage(dialect, type)))
    .map((message) => {
      try {
        return { message, bytes: encode(dialect, message as never) };
      } catch {
        return undefined; // valid fields can still make a too-long message
      }
    })
    .filter((piece): piece is Required<Piece> => {
      if (piece === undefined) return false;
      const decoder = createDecoder({
        dialect,
        direction: 'toClient',
        ...(dialect === 'nick' ? { initialState: 'session' as const } : {}),
      });
      const events = decoder.push(piece.bytes);
      return (
        events.length === 1 &&
        events[0]?.kind === 'message' &&
        isDeepStrictEqual(events[0].message, piece.message)
      );
    });
}

const asciiWithoutTilde = fc
  .string({
    unit: fc
      .integer({ min: 0x20, max: 0x7e })
      .filter((c) => c !== 0x7e)
      .map((c) => String.fromCharCode(c)),
    minLength: 1,
    maxLength: 60,
  })
  .map((s) => new TextEncoder().encode(s));

const garbage: fc.Arbitrary<Piece> = fc
  .oneof(
    fc.uint8Array({ minLength: 1, maxLength: 80 }),
    fc.constantFrom(
      Uint8Array.of(0xff),
      Uint8Array.of(0x61, 0x7e, 0xc3), // ends inside a character
      Uint8Array.of(0xed, 0xa0, 0x80), // a surrogate
      Uint8Array.of(0xc0, 0xaf), // overlong
      Uint8Array.of(0x63, 0x61, 0x66, 0xc3, 0xa9), // `café`: non-ASCII for NICK
    ),
    asciiWithoutTilde,
    fc.integer({ min: 1_025, max: HUGE_CHUNK_MAX_BYTES }).map((n) => new Uint8Array(n).fill(0x78)),
    fc.uint8Array({ minLength: 2_000, maxLength: 6_000 }),
  )
  .map((bytes) => ({ bytes }));

const scenario = fc.record({
  dialect: fc.constantFrom<DialectName>('nick', 'tilde'),
  // Paced writes are where messages can arrive alone, so they get half the runs.
  write: fc.constantFrom('paced', 'paced', 'merged', 'split'),
  delays: fc.array(fc.integer({ min: 0, max: MAX_WRITE_DELAY_MS }), { minLength: 1, maxLength: 16 }),
  cuts: fc.array(fc.nat(), { maxLength: 10 }),
  end: fc.constantFrom('fin', 'reset'),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));


describe('the client under arbitrary server bytes', () => {
  it(
    'never throws, accounts for every byte, decodes messages that arrived alone, stays bounded, ends',
    async () => {
      const server = await scriptedServer('fuzz-server');
      const failures: unknown[] = [];
      const onFailure = (error: unknown) => failures.push(error);
      process.on('uncaughtException', onFailure);
      process.on('unhandledRejection', onFailure);
      try {
        await fc.assert(
          fc.asyncProperty(
            scenario.chain((s) =>
              fc
                .array(fc.oneof(wellFormed(s.dialect), garbage), { maxLength: 12 })
                .map((pieces) => ({ ...s, pieces })),
            ),
            async ({ dialect, pieces, write, delays, cuts, end }) => {
              const pending = connect({ host: '127.0.0.1', port: server.port, dialect, nick: 'alice' });
              const peer = await server.nextConnection({ timeoutMs: WAIT_MS });
              try {
                if (dialect === 'nick') await nickServerHandshake(peer, 'alice');
                else await tildeServerHandshake(peer, 'alice');
                const client = await pending;
                const collected = collect(client, WAIT_MS);
                const handshakeBytes = sentBy(peer).length;

                const payload = concatBytes(pieces.map((p) => p.bytes));
                const writes =
                  write === 'paced'
                    ? pieces.map((p) => p.bytes)
                    : write === 'merged'
                      ? [payload]
                      : splitAt(payload, cuts);
                for (const [i, bytes] of writes.entries()) {
                  if (bytes.length === 0) continue; // an empty write sends nothing
                  const delay = delays[i % delays.length]!;
                  if (delay > 0) await sleep(delay);
                  peer.send(bytes);
                }
                await peer.flushed({ timeoutMs: WAIT_MS });
                if (end === 'fin') peer.end();
                else peer.reset();

                const events = await collected;
                const sent = sentBy(peer);
                const received = accountedBytes(events);

                // Exactly one `closed`, last, with the reason the server caused. A reset can read as EOF:
                // libuv reports POLLHUP after a partial read as EOF without the read() that would return
                // ECONNRESET, so a Node client cannot always tell a reset from a FIN.
                const closes = events.filter((e) => e.kind === 'closed');
                expect(closes).toHaveLength(1);
                expect(events.at(-1)?.kind).toBe('closed');
                expect(end === 'fin' ? ['eof'] : ['reset', 'eof']).toContain(closes[0]?.reason);

                // Every byte accounted for (a reset may discard what was still in flight).
                if (end === 'fin') expect(Buffer.from(received).equals(Buffer.from(sent))).toBe(true);
                else expect(isPrefix(received, sent)).toBe(true);
                expect(
                  events.some((e) => e.kind === 'issue' && e.error.code === 'CLIENT_EVENT_OVERFLOW'),
                ).toBe(false);

                // A well-formed message whose bytes arrived as one frame decodes to that message.
                const frames = new Map<string, ClientEvent>();
                let at = 0;
                for (const event of events) {
                  if (event.kind === 'closed') continue;
                  frames.set(`${at}:${at + event.bytes.length}`, event);
                  at += event.bytes.length;
                }
                let offset = handshakeBytes;
                for (const piece of pieces) {
                  const frame = frames.get(`${offset}:${offset + piece.bytes.length}`);
                  if (piece.message !== undefined && frame !== undefined) {
                    expect(frame).toMatchObject({ kind: 'message', message: piece.message });
                  }
                  offset += piece.bytes.length;
                }

                // Bounded memory.
                const stats = client.stats();
                expect(stats.peakBufferedBytes).toBeLessThanOrEqual(stats.maxBufferedBytes);
                expect(stats.peakQueuedEvents).toBeLessThanOrEqual(stats.maxQueuedEvents);
                expect(failures).toEqual([]);
              } finally {
                peer.close();
                await pending.then((c) => c.close()).catch(() => undefined);
              }
            },
          ),
          { numRuns: RUNS },
        );
      } finally {
        process.off('uncaughtException', onFailure);
        process.off('unhandledRejection', onFailure);
      }
      expect(failures).toEqual([]);
    },
    Math.max(30_000, RUNS * PER_RUN_BUDGET_MS),
  );
});
