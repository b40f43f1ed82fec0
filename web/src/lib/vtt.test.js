import { describe, expect, it } from 'vitest';
import { activeCue, parseVTT } from './vtt.js';
import { FORMATS, formatOf, preferredFormat } from './formats.js';

describe('parseVTT', () => {
  it('reads the cues Chorus writes', () => {
    const vtt = 'WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.234\nHello everyone!\n\n2\n00:00:01.234 --> 01:00:02.500\nTom &amp; Jerry &lt;3\nsecond line\n';
    expect(parseVTT(vtt)).toEqual([
      { start: 0, end: 1.234, text: 'Hello everyone!' },
      { start: 1.234, end: 3602.5, text: 'Tom & Jerry <3\nsecond line' },
    ]);
  });

  it('takes other WebVTT too and refuses what is not', () => {
    expect(parseVTT('WEBVTT - title\r\n\r\nNOTE hi\r\nthere\r\n\r\n00:01.500 --> 00:02.000 align:start\r\nok\r\n')).toEqual([{ start: 1.5, end: 2, text: 'ok' }]);
    expect(parseVTT('RIFF....')).toEqual([]);
    expect(parseVTT('')).toEqual([]);
  });
});

describe('activeCue', () => {
  const cues = [{ start: 0, end: 1, text: 'a' }, { start: 1, end: 2.5, text: 'b' }];
  it('finds the sentence being spoken', () => {
    expect([0, 0.99, 1, 2.49, 2.52, 3].map((t) => activeCue(cues, t))).toEqual([0, 0, 1, 1, 1, -1]);
    expect(activeCue([], 1)).toBe(-1);
  });
});

describe('formats', () => {
  it('asks for Opus only where the browser can play it', () => {
    const doc = (answer) => ({ createElement: () => ({ canPlayType: (t) => (t === 'audio/ogg; codecs=opus' ? answer : '') }) });
    expect(preferredFormat(doc('probably'))).toBe('opus');
    expect(preferredFormat(doc('maybe'))).toBe('opus');
    expect(preferredFormat(doc(''))).toBe('wav');
    expect(preferredFormat({ createElement: () => { throw new Error('no DOM'); } })).toBe('wav');
    expect(preferredFormat(undefined)).toBe('wav');
  });

  it('describes every format', () => {
    expect(Object.keys(FORMATS).sort()).toEqual(['mp3', 'opus', 'wav']);
    expect(formatOf('opus').ext).toBe('.opus');
    expect(formatOf('flac')).toBe(FORMATS.wav);
  });
});
