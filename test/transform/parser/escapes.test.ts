import { describe, expect, it } from 'vitest';
import { decodeAlbEscapes } from '../../../transform/parser/escapes.ts';

describe('decodeAlbEscapes', () => {
  it.each([
    ['plain text', 'plain text'],
    ['\\x22Mozilla/5.0\\x22', '"Mozilla/5.0"'],
    ['..\\x5C..\\x5Cwindows', '..\\..\\windows'],
    ['\\xEC\\x97\\x90\\xEC\\x84\\x9C', '에서'],
    ['\\xF0\\x9F\\x98\\x80!', '😀!'],
    ['\\x00000022quoted\\x00000022', '"quoted"'],
    ['\\x5Cx41', '\\x41'],                      // an escaped backslash followed by text is not a second escape
    ['tab\\x09x', 'tab\tx'],
    ['lower \\xc3\\xa9', 'lower é'],
  ])('%s -> %s', (input, output) => {
    expect(decodeAlbEscapes(input)).toBe(output);
  });

  it.each([
    ['\\xFF', '\\xFF'],                          // never valid in UTF-8
    ['a\\xC3b', 'a\\xC3b'],                      // truncated sequence
    ['\\xC0\\xAF', '\\xC0\\xAF'],                // overlong
    ['\\xED\\xA0\\x80', '\\xED\\xA0\\x80'],      // surrogate
    ['\\xE9\\x22', '\\xE9"'],                    // invalid byte, then a valid one
  ])('keeps bytes that are not valid UTF-8 as escapes: %s', (input, output) => {
    expect(decodeAlbEscapes(input)).toBe(output);
  });

  it.each(['\\', '\\x', '\\x4', '\\xZZ', 'end\\', '\\n'])('leaves a backslash that starts no escape alone: %s', (input) => {
    expect(decodeAlbEscapes(input)).toBe(input);
  });

  it('returns the same string when there is nothing to decode', () => {
    const text = 'GET http://example.com/ HTTP/1.1';
    expect(decodeAlbEscapes(text)).toBe(text);
  });
});
