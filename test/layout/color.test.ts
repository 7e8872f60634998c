import { describe, expect, it } from 'vitest';
import { colorWanted, painter } from '../../src/color.js';

describe('colorWanted', () => {
  it('colours a terminal and not a pipe by default', () => {
    expect(colorWanted({ isTTY: true }, {})).toBe(true);
    expect(colorWanted({ isTTY: false }, {})).toBe(false);
    expect(colorWanted({}, {})).toBe(false);
  });

  it('NO_COLOR (any non-empty value) turns colour off on a terminal; empty does not', () => {
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
  });

  it('FORCE_COLOR colours a pipe too, and wins over NO_COLOR; FORCE_COLOR=0 does not force', () => {
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true);
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '0' })).toBe(false);
  });
});

describe('painter', () => {
  it('paints with one SGR code and a full reset when colour is on, and returns plain text otherwise', () => {
    expect(painter(true)('bold', 'bob')).toBe('\x1b[1mbob\x1b[0m');
    expect(painter(true)('yellow', 'bob joined!')).toBe('\x1b[33mbob joined!\x1b[0m');
    expect(painter(false)('bold', 'bob')).toBe('bob');
  });
});
