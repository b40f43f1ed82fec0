import { describe, expect, it } from 'vitest';
import { cleanText, langOf, speakable } from './speakable.js';

describe('speakable', () => {
  // The first rows are shared/textnorm TestSpeakableIn; the others were
  // checked against textnorm.SpeakableIn too.
  it.each([
    ['\u200b\u200b', 'en-us', false],
    ['\ufeff\u00ad \u200b', 'ko', false],
    ['?!...', 'en-us', false],
    ['🎤🎶', 'en-us', false],
    ['&', 'en-us', true],
    ['&', 'xx', false],
    ['Hello', 'xx', true],
    ['안녕', 'en-us', true],
    ['4', 'ko', true],
    ['&', 'ko', true],
    ['&', 'EN_us', true],
    ['&', '', false],
    ['_@_', 'en', true],
    ['_ @ _', 'en-us', true],
    ['_\n@_', 'en', true],
    ['_@_', 'ko', false],
    ['# % $ ° @ _', 'en', false],
    ['\u200d\u0301', 'en', false],
    ['½ Ⅻ ²', 'xx', true],
    ['!Hi', '', true],
    ['', 'en', false],
    ['   \n\t', 'en', false],
  ])('%j in %j → %s', (text, lang, want) => {
    expect(speakable(text, lang)).toBe(want);
  });

  it('cleans and reads languages as the server does', () => {
    expect(cleanText(' a\u200b\u00adb \n\t c\u0007 ')).toBe('ab c');
    expect(cleanText('e\u0301')).toBe('é');
    expect(langOf('en-US')).toBe('en');
    expect(langOf('ko_KR')).toBe('ko');
    expect(langOf(undefined)).toBe('');
  });
});
