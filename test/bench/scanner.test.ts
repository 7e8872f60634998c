import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StreamScanner } from '../../src/bench/scanner.js';
import {
  buildMessage,
  formatToken,
  MAX_SENDERS,
  MAX_SEQUENCE,
  MAX_TIME_US,
  TOKEN_BYTES,
  type Token,
} from '../../src/bench/token.js';
import { splitAt } from '../support/arbitraries.js';

const RUNS = Number(process.env.CHATKIT_PROPERTY_RUNS ?? 200);
const latin1 = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));

/** Feeds `chunks` to a fresh scanner; returns what it found and its counters. */
function scan(chunks: readonly Uint8Array[], salt = 0) {
  const tokens: Token[] = [];
  const scanner = new StreamScanner((sender, seq, timeUs) => tokens.push({ sender, seq, timeUs }), salt);
  for (const chunk of chunks) scanner.push(chunk);
  return { tokens, damaged: scanner.damaged, pending: scanner.pendingBytes };
}

const token = fc.record({
  sender: fc.integer({ min: 0, max: MAX_SENDERS - 1 }),
  seq: fc.integer({ min: 0, max: MAX_SEQUENCE }),
  timeUs: fc.integer({ min: 0, max: MAX_TIME_US }),
});
/** Bytes between tokens: stray markers, separators and relay prefixes, but no digit of the token alphabet. */
const filler = fc
  .array(fc.constantFrom('#', '-', ' ', '~', 'x', 'z', '\n', 'SERVER~', 'bob~', '<announce> '), {
    maxLength: 6,
  })
  .map((parts) => parts.join(''));
const stream = fc
  .array(fc.tuple(filler, token), { maxLength: 12 })
  .chain((pairs) => fc.tuple(fc.constant(pairs), filler))
  .map(([pairs, tail]) => ({
    tokens: pairs.map(([, t]) => t),
    bytes: latin1(pairs.map(([f, t]) => f + formatToken(t)).join('') + tail),
  }));

describe('StreamScanner', () => {
  it('finds every token, in order, in a stream fed whole', () => {
    fc.assert(
      fc.property(stream, ({ tokens, bytes }) => {
        expect(scan([bytes]).tokens).toEqual(tokens);
      }),
      { numRuns: RUNS },
    );
  });

  it('finds the same tokens whatever the chunk boundaries: byte by byte and at random split points', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), ({ tokens, bytes }, cuts) => {
        const whole = scan([bytes]);
        const byteByByte = scan(Array.from(bytes, (b) => Uint8Array.of(b)));
        const split = scan(splitAt(bytes, cuts));
        expect(split).toEqual(whole);
        expect(byteByByte).toEqual(whole);
        expect(split.tokens).toEqual(tokens);
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps its own copy of a cut token: the caller may reuse the chunk memory (one receive buffer for all sockets)', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), ({ tokens, bytes }, cuts) => {
        const shared = Buffer.alloc(bytes.length + 1);
        const found: Token[] = [];
        const scanner = new StreamScanner((sender, seq, timeUs) => found.push({ sender, seq, timeUs }));
        for (const chunk of splitAt(bytes, cuts)) {
          shared.set(chunk);
          scanner.push(shared.subarray(0, chunk.length));
          shared.fill(0x23); // what the next read of another socket would leave there
        }
        expect(found).toEqual(tokens);
      }),
      { numRuns: RUNS },
    );
  });

  it('holds back at most the 15 bytes of a token cut by the last boundary', () => {
    const text = formatToken({ sender: 1, seq: 2, timeUs: 3 });
    for (let cut = 1; cut < TOKEN_BYTES; cut++) {
      const tokens: Token[] = [];
      const scanner = new StreamScanner((sender, seq, timeUs) => tokens.push({ sender, seq, timeUs }));
      scanner.push(latin1(`--${text.slice(0, cut)}`));
      expect(scanner.pendingBytes).toBe(cut);
      expect(tokens).toEqual([]);
      scanner.push(latin1(`${text.slice(cut)}--`));
      expect(scanner.pendingBytes).toBe(0);
      expect(tokens).toEqual([{ sender: 1, seq: 2, timeUs: 3 }]);
    }
  });

  it('never misreads a token that a relay prefix was inserted into, and counts it as damaged', () => {
    const text = formatToken({ sender: 42, seq: 4242, timeUs: 4_242_424 });
    for (const insert of ['bob~', '<user5> ', 'b1x2: ', 'SERVER~']) {
      for (let at = 1; at < TOKEN_BYTES; at++) {
        const result = scan([latin1(text.slice(0, at) + insert + text.slice(at))]);
        expect(result.tokens, `"${insert}" at ${at}`).toEqual([]);
        expect(result.damaged).toBe(1);
      }
    }
  });

  it('still finds a message whose text was cut anywhere by an insertion: one of its two copies is whole', () => {
    const t = { sender: 7, seq: 99, timeUs: 123_456 };
    const message = buildMessage({ prefix: latin1('bob: '), suffix: new Uint8Array(0), size: 64 }, t);
    for (let at = 0; at <= message.length; at++) {
      const damaged = Buffer.concat([message.subarray(0, at), latin1('alice~'), message.subarray(at)]);
      expect(scan([damaged]).tokens[0], `insertion at ${at}`).toEqual(t);
    }
  });

  it("ignores another run's tokens (a different salt)", () => {
    const bytes = latin1(formatToken({ sender: 1, seq: 1, timeUs: 1 }, 0x123));
    expect(scan([bytes], 0x123).tokens).toHaveLength(1);
    expect(scan([bytes], 0x124).tokens).toEqual([]);
  });
});

describe('StreamScanner and a message’s two token copies', () => {
  it('reports a message once although its token comes twice (the second copy is passed over), whole or split', () => {
    const token = formatToken({ sender: 3, seq: 9, timeUs: 12345 });
    const bytes = latin1(`x: ${token}--------${token}${formatToken({ sender: 4, seq: 1, timeUs: 7 })}`);
    const whole = scan([bytes]);
    expect(whole.tokens).toEqual([
      { sender: 3, seq: 9, timeUs: 12345 },
      { sender: 4, seq: 1, timeUs: 7 },
    ]);
    expect(whole.damaged).toBe(0);
    expect(scan(Array.from(bytes, (b) => Uint8Array.of(b)))).toEqual(whole);
  });

  it('still reports a message whose first copy is damaged, from its second', () => {
    const token = formatToken({ sender: 3, seq: 9, timeUs: 12345 });
    const damaged = `${token.slice(0, 8)}??${token.slice(10)}`;
    const found = scan([latin1(`x: ${damaged}--------${token}`)]);
    expect(found.tokens).toEqual([{ sender: 3, seq: 9, timeUs: 12345 }]);
    expect(found.damaged).toBe(1);
  });

  it('reports the next message of the same sender (another sequence number)', () => {
    const first = formatToken({ sender: 3, seq: 9, timeUs: 1 });
    const next = formatToken({ sender: 3, seq: 10, timeUs: 2 });
    expect(scan([latin1(`${first}-${first}-${next}-${next}`)]).tokens).toEqual([
      { sender: 3, seq: 9, timeUs: 1 },
      { sender: 3, seq: 10, timeUs: 2 },
    ]);
  });
});
