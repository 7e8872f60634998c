import { describe, expect, it } from 'vitest';
import { type AnyMessage, createDecoder, type DecodeEvent, encode, unescapeBytes } from '../../src/index.js';
import { loadVectors } from '../support/vectors.js';

const rows = loadVectors();

/** Decoder events reduced to what vectors state: messages, or codes with offsets. */
function summarise(events: DecodeEvent<AnyMessage>[]) {
  return events.map((e) =>
    e.kind === 'message' ? { message: e.message } : { error: e.error.code, offset: e.error.offset },
  );
}

describe('spec/vectors', () => {
  it('holds at least 40 vectors with unique ids, across both dialects, valid and invalid', () => {
    const ids = rows.map((r) => r.vector.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(40);
    for (const dialect of ['nick', 'tilde']) {
      const mine = rows.filter((r) => r.vector.dialect === dialect).map((r) => r.vector);
      expect(mine.some((v) => 'message' in v && 'bytes' in v)).toBe(true);
      expect(mine.some((v) => 'error' in v || 'encodeError' in v)).toBe(true);
    }
  });

  for (const { file, vector: v } of rows) {
    describe(`${file} ${v.id} (${v.requirement})`, () => {
      const options = {
        dialect: v.dialect,
        direction: 'direction' in v ? v.direction : ('toServer' as const),
        framing: v.framing ?? ('chunk' as const),
        ...('state' in v && v.state ? { initialState: v.state } : {}),
        ...('prompt' in v && v.prompt ? { prompt: v.prompt } : {}),
      };
      if ('bytes' in v && 'message' in v) {
        const bytes = unescapeBytes(v.bytes);
        it('decodes to the stated message, keeping its bytes', () => {
          const events = createDecoder(options).push(bytes);
          expect(summarise(events)).toEqual([{ message: v.message }]);
          expect(events[0]?.kind === 'message' && events[0].bytes).toEqual(bytes);
        });
        if (v.roundtrip) {
          it('encodes the message back to the same bytes', () => {
            expect(encode(v.dialect, v.message as never, { framing: options.framing })).toEqual(bytes);
          });
        }
      } else if ('bytes' in v && 'error' in v) {
        it(`decodes to the issue ${v.error}`, () => {
          const [event, ...more] = createDecoder(options).push(unescapeBytes(v.bytes));
          expect(more).toEqual([]);
          expect(event?.kind).toBe('issue');
          if (event?.kind !== 'issue') return;
          expect(event.error.code).toBe(v.error);
          if (v.offset !== undefined) expect(event.error.offset).toBe(v.offset);
          expect(event.error.bytes.length).toBeGreaterThan(0);
        });
      } else if ('chunks' in v) {
        it('decodes the chunks, pushed in order, to the stated events', () => {
          const decoder = createDecoder(options);
          const events = v.chunks.flatMap((c) => decoder.push(unescapeBytes(c)));
          if (v.end) events.push(...decoder.end());
          const expected = v.events.map((e) =>
            'message' in e ? e : { error: e.error, offset: e.offset ?? expect.any(Number) },
          );
          expect(summarise(events)).toEqual(expected);
        });
      } else if ('encodeError' in v) {
        it(`refuses to encode it with ${v.encodeError}`, () => {
          expect(() => encode(v.dialect, v.message as never, { framing: v.framing ?? 'chunk' })).toThrow(
            expect.objectContaining({ code: v.encodeError }),
          );
        });
      }
    });
  }
});
