import { describe, expect, it } from 'vitest';
import cases from '../../../shared/textnorm/testdata/speakable.json';
import { cleanText, langOf, speakable } from './speakable.js';

// The one table of cases, read by the Go test of the rule too
// (shared/textnorm TestSpeakableIn).

describe('speakable', () => {
  it('reads the shared table', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map((c) => [c.why, c.text, c.lang, c.speakable]))('%s: %j in %j → %s', (why, text, lang, want) => {
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
