import { describe, expect, it } from 'vitest';
import {
  buildMessage,
  formatToken,
  MAX_SENDERS,
  MAX_SEQUENCE,
  MAX_TIME_US,
  parseTokenAt,
  TOKEN_BYTES,
  type TokenSlot,
  tokenOffsets,
} from '../../src/bench/token.js';

const latin1 = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));
const none = new Uint8Array(0);

describe('measurement tokens', () => {
  it.each([
    { sender: 0, seq: 0, timeUs: 0 },
    { sender: MAX_SENDERS - 1, seq: MAX_SEQUENCE, timeUs: MAX_TIME_US },
    { sender: 99, seq: 12_345, timeUs: 987_654_321 },
  ])('round-trips %j through its 16 bytes', (token) => {
    const text = formatToken(token);
    expect(text).toHaveLength(TOKEN_BYTES);
    const out: TokenSlot = { sender: -1, seq: -1, timeUs: -1 };
    expect(parseTokenAt(latin1(text), 0, out)).toBe(true);
    expect(out).toEqual(token);
  });

  it('is printable ASCII without a space, "~" or a second "#", so every dialect relays it unchanged', () => {
    const text = formatToken({ sender: 262_143, seq: 16_777_215, timeUs: 68_719_476_735 });
    expect(text).toMatch(/^#[\x30-\x6f]{15}$/);
  });

  it.each([
    ['sender', { sender: MAX_SENDERS, seq: 0, timeUs: 0 }],
    ['seq', { sender: 0, seq: MAX_SEQUENCE + 1, timeUs: 0 }],
    ['timeUs', { sender: 0, seq: 0, timeUs: MAX_TIME_US + 1 }],
    ['sender', { sender: -1, seq: 0, timeUs: 0 }],
  ])('refuses a %s one past its range', (_field, token) => {
    expect(() => formatToken(token)).toThrow(RangeError);
  });

  it('rejects a token with one digit changed (the check)', () => {
    const text = formatToken({ sender: 5, seq: 6, timeUs: 7 });
    const out: TokenSlot = { sender: 0, seq: 0, timeUs: 0 };
    for (let i = 1; i < TOKEN_BYTES; i++) {
      const bytes = latin1(text);
      bytes[i] = bytes[i] === 0x30 ? 0x31 : 0x30;
      expect(parseTokenAt(bytes, 0, out), `digit ${i}`).toBe(false);
    }
  });

  it('puts two copies in a message when they fit, one otherwise, and refuses a message too small for one', () => {
    const layout = (size: number) => ({ prefix: latin1('alice: '), suffix: none, size });
    expect(tokenOffsets(layout(64))).toEqual([7, 48]);
    expect(tokenOffsets(layout(7 + 2 * TOKEN_BYTES))).toEqual([7, 7 + TOKEN_BYTES]);
    expect(tokenOffsets(layout(7 + 2 * TOKEN_BYTES - 1))).toEqual([7]);
    expect(() => tokenOffsets(layout(7 + TOKEN_BYTES - 1))).toThrow(RangeError);
  });

  it('builds a message of exactly the requested size: prefix, tokens, padding, suffix', () => {
    const message = buildMessage(
      { prefix: latin1('bob: '), suffix: latin1('\n'), size: 48 },
      { sender: 1, seq: 2, timeUs: 3 },
    );
    const token = formatToken({ sender: 1, seq: 2, timeUs: 3 });
    expect(message.toString('latin1')).toBe(`bob: ${token}${'-'.repeat(48 - 5 - 32 - 1)}${token}\n`);
  });
});
