import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/codec/text.js';
import {
  type AnyMessage,
  createDecoder,
  type DecodeEvent,
  type DecoderOptions,
  type DialectName,
  ERROR_CODES,
  encode,
  maxBufferedBytes,
  messageTable,
} from '../../src/index.js';
import { splitAt, validMessage } from '../support/arbitraries.js';

const DIALECTS: DialectName[] = ['nick', 'tilde'];
const RUNS = Number(process.env.CHATKIT_PROPERTY_RUNS ?? 200);

/** The decoder options under which a message of this definition is received. */
function receiverFor(
  dialect: DialectName,
  type: string,
  framing: 'chunk' | 'line',
): DecoderOptions<DialectName> {
  const def = messageTable(dialect).find((d) => d.type === type)!;
  return {
    dialect,
    direction: def.direction === 'toServer' ? 'toServer' : 'toClient',
    framing,
    initialState: def.states[0]!,
  };
}

const summarise = (events: DecodeEvent<AnyMessage>[]) =>
  events.map((e) => (e.kind === 'message' ? e.message : { code: e.error.code, offset: e.error.offset }));

describe('encode → decode', () => {
  for (const dialect of DIALECTS) {
    for (const framing of ['chunk', 'line'] as const) {
      it(`${dialect}/${framing}: every valid message decodes to itself or to a message the spec's priority puts first`, () => {
        const priority = messageTable(dialect).map((d) => d.type);
        fc.assert(
          fc.property(validMessage(dialect), (message) => {
            let bytes: Uint8Array;
            try {
              bytes = encode(dialect, message as never, { framing });
            } catch (error) {
              // Valid fields can still make a too-long message, or (line profile) carry an LF.
              expect(['MESSAGE_TOO_LONG', 'TEXT_FORBIDDEN_CHAR']).toContain((error as { code: string }).code);
              return;
            }
            // A client expects the prompt token it was configured with.
            const prompt = message.type === 'prompt' ? { prompt: message.token } : {};
            const events = createDecoder({ ...receiverFor(dialect, message.type, framing), ...prompt }).push(
              bytes,
            );
            expect(events).toHaveLength(1);
            const [event] = events;
            if (event?.kind !== 'message') throw new Error(`decoded to ${event?.error.code}`);
            expect(event.bytes).toEqual(bytes);
            if (event.message.type === message.type) expect(event.message).toEqual(message);
            else expect(priority.indexOf(event.message.type)).toBeLessThan(priority.indexOf(message.type));
            expect(encode(dialect, event.message as never, { framing })).toEqual(bytes);
          }),
          { numRuns: RUNS },
        );
      });
    }
  }
});

const anyOptions: fc.Arbitrary<DecoderOptions<DialectName>> = fc.record({
  dialect: fc.constantFrom<DialectName>('nick', 'tilde'),
  direction: fc.constantFrom('toClient' as const, 'toServer' as const),
  framing: fc.constantFrom('chunk' as const, 'line' as const),
  initialState: fc.constantFrom('handshake' as const, 'joining' as const, 'session' as const),
  maxFrameBytes: fc.constantFrom(4, 16, 1024, 2015, 2048),
});
const byteChunks = fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 12 });
const textyChunks = fc.array(
  fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.constantFrom(
      ...['NICK', 'alice: hi', '\n', '~', 'SERVER~x', '\xc3', '\r\n'].map((s) => Buffer.from(s, 'latin1')),
    ),
  ),
  { maxLength: 40 },
);

describe('the decoder on arbitrary bytes', () => {
  it('never throws, returns only messages or coded issues, and holds bounded memory', () => {
    fc.assert(
      fc.property(anyOptions, fc.oneof(byteChunks, textyChunks), (options, chunks) => {
        const decoder = createDecoder(options);
        const bound = maxBufferedBytes(options);
        const events: DecodeEvent<AnyMessage>[] = [];
        for (const chunk of chunks) {
          events.push(...decoder.push(chunk));
          expect(decoder.bufferedBytes).toBeLessThanOrEqual(bound);
        }
        events.push(...decoder.end());
        expect(decoder.bufferedBytes).toBe(0);
        for (const e of events) {
          if (e.kind === 'issue') expect(Object.keys(ERROR_CODES)).toContain(e.error.code);
          else expect(typeof e.message.type).toBe('string');
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('chunk framing loses no byte: the events hold exactly the stream, whatever the cuts', () => {
    fc.assert(
      fc.property(anyOptions, fc.oneof(byteChunks, textyChunks), (options, chunks) => {
        const decoder = createDecoder({ ...options, framing: 'chunk' });
        const events = chunks.flatMap((c) => decoder.push(c));
        events.push(...decoder.end());
        const seen = concatBytes(events.map((e) => (e.kind === 'message' ? e.bytes : e.error.bytes)));
        expect(seen).toEqual(concatBytes(chunks));
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('stream-level meaning does not depend on chunk boundaries', () => {
  it('line profile: any byte stream decodes the same however it is cut', () => {
    fc.assert(
      fc.property(
        anyOptions,
        fc.oneof(byteChunks, textyChunks),
        fc.array(fc.nat(), { maxLength: 20 }),
        (options, chunks, cuts) => {
          const lineOptions = { ...options, framing: 'line' as const };
          const stream = concatBytes(chunks);
          const whole = createDecoder(lineOptions);
          const expected = summarise([...whole.push(stream), ...whole.end()]);
          const split = createDecoder(lineOptions);
          const parts = splitAt(stream, cuts);
          const actual = summarise([...parts.flatMap((p) => split.push(p)), ...split.end()]);
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('line profile: a session of valid messages decodes to the same messages whole, byte by byte and at random cuts', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<DialectName>('nick', 'tilde'),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.context(),
        (dialect, cuts, ctx) => {
          const def = dialect === 'nick' ? 'chat' : 'relay';
          const messages = fc.sample(validMessage(dialect, def), { numRuns: 8, seed: cuts.length });
          const lines = messages.flatMap((m) => {
            try {
              return [encode(dialect, m as never, { framing: 'line' })];
            } catch {
              return [];
            }
          });
          const stream = concatBytes(lines);
          ctx.log(`stream of ${stream.length} bytes in ${lines.length} lines`);
          const options = receiverFor(dialect, def, 'line');
          const decodeAll = (parts: Uint8Array[]) => {
            const d = createDecoder(options);
            return summarise([...parts.flatMap((p) => d.push(p)), ...d.end()]);
          };
          const expected = decodeAll([stream]);
          expect(expected).toHaveLength(lines.length);
          expect(decodeAll(splitAt(stream, cuts))).toEqual(expected);
          expect(decodeAll([...stream].map((b) => Uint8Array.of(b)))).toEqual(expected);
        },
      ),
      { numRuns: RUNS / 4 },
    );
  });

  it('chunk framing, tilde: well-formed UTF-8 cut anywhere never yields INVALID_UTF8 and never splits a character', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (text, cuts) => {
          const stream = new TextEncoder().encode(`bob~${text}`);
          const decoder = createDecoder({ dialect: 'tilde', direction: 'toClient' });
          const events = [...splitAt(stream, cuts).flatMap((p) => decoder.push(p)), ...decoder.end()];
          for (const e of events) {
            if (e.kind === 'issue') expect(e.error.code).not.toMatch(/UTF8/);
            else expect(new TextDecoder('utf-8', { fatal: true }).decode(e.bytes)).toBeTypeOf('string');
          }
          expect(concatBytes(events.map((e) => (e.kind === 'message' ? e.bytes : e.error.bytes)))).toEqual(
            stream,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('chunk framing, NICK: the prompt is recognised however TCP cuts it', () => {
    fc.assert(
      fc.property(fc.constantFrom('NICK', 'Hii'), fc.array(fc.nat(), { maxLength: 4 }), (prompt, cuts) => {
        const decoder = createDecoder({ dialect: 'nick', direction: 'toClient', prompt });
        const events = splitAt(new TextEncoder().encode(prompt), cuts).flatMap((p) => decoder.push(p));
        expect(summarise(events)).toEqual([{ type: 'prompt', token: prompt }]);
        expect(decoder.state).toBe('joining');
      }),
      { numRuns: RUNS / 4 },
    );
  });
});
