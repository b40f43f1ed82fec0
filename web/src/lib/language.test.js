import { describe, expect, it } from 'vitest';
import { languageMismatch, languageWarning } from './language.js';

describe('language warning', () => {
  it('warns when most letters are in a script the voice does not read', () => {
    expect(languageMismatch('안녕하세요, 오늘 날씨가 좋네요', 'en-us')).toEqual({ voice: 'English', script: 'Korean (Hangul)' });
    expect(languageWarning('안녕하세요!', 'en-us', 'Aria')).toBe("Aria's voice speaks English, but this text is mostly Korean (Hangul): those parts may come out garbled or silent.");
    expect(languageMismatch('Good morning everyone', 'ko')).toEqual({ voice: 'Korean', script: 'Latin letters' });
    expect(languageMismatch('Привет всем', 'en_US')).toMatchObject({ script: 'Cyrillic' });
  });

  it('stays quiet when the text fits, is mixed in the voice\'s favour, or the language is unknown', () => {
    expect(languageWarning('Hello everyone! 💜', 'en-us')).toBe('');
    expect(languageWarning('사랑해요 fighting', 'ko')).toBe(''); // more Hangul than Latin
    expect(languageWarning('안녕 Thank you so much', 'en')).toBe('');
    expect(languageWarning('漢字', 'ko')).toBe(''); // Korean voices read Hanja
    expect(languageWarning('안녕하세요', '')).toBe('');
    expect(languageWarning('안녕하세요', 'xx')).toBe('');
    expect(languageWarning('a 가', 'en')).toBe(''); // one foreign letter is no pattern
    expect(languageWarning('123 !!', 'en')).toBe('');
  });
});
