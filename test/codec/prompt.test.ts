import { describe, expect, it } from 'vitest';
import { isPromptToken, withoutLineEnd } from '../../src/codec/index.js';

describe('the prompt token rule', () => {
  it('strips exactly one trailing line end, nothing else', () => {
    expect(withoutLineEnd('NICK\n')).toBe('NICK');
    expect(withoutLineEnd('NICK\r\n')).toBe('NICK');
    expect(withoutLineEnd('NICK')).toBe('NICK');
    expect(withoutLineEnd('NICK\n\n')).toBe('NICK\n');
    expect(withoutLineEnd('NI\nCK')).toBe('NI\nCK');
    expect(withoutLineEnd('NICK\r')).toBe('NICK\r');
  });

  it('a token with its line end stripped is a prompt; with it kept, it is not', () => {
    expect(isPromptToken(withoutLineEnd('Hii\r\n'))).toBe(true);
    expect(isPromptToken('Hii\r\n')).toBe(false);
  });
});
