import { describe, expect, it } from 'vitest';
import { downloadName, limitConcurrency, safePart, startOf } from './download.js';

describe('downloadName', () => {
  it('is the member and the start of the text', () => {
    expect(downloadName({ memberName: 'Aria', text: 'Hello everyone!' })).toBe('Aria - Hello everyone.wav');
    expect(downloadName({ memberName: '서연', text: '오늘도 화이팅! 🎤' })).toBe('서연 - 오늘도 화이팅! 🎤.wav');
    expect(downloadName({ memberName: 'Jun', text: 'See you' }, 'mp3')).toBe('Jun - See you.mp3');
  });

  it('cuts long text at a word boundary', () => {
    const n = downloadName({ memberName: 'Aria', text: 'Thank you all so much for coming to the concert tonight, we love you' });
    expect(n).toBe('Aria - Thank you all so much for coming to the.wav');
    expect(startOf('x'.repeat(60))).toHaveLength(40);
  });

  it('removes what file systems refuse or hide', () => {
    expect(downloadName({ memberName: 'A/B', text: 'what? "yes" <no> a:b | c*d \\ e\n\tf' })).toBe('A B - what yes no a b c d e f.wav');
    expect(downloadName({ memberName: 'Mina', text: '\u202egnp.exe\u200b hi' })).toBe('Mina - gnp.exe hi.wav');
    expect(downloadName({ memberName: 'Mina', text: '...hidden' })).toBe('Mina - hidden.wav');
    expect(downloadName({ memberName: 'Mina', text: 'trailing dots...' })).toBe('Mina - trailing dots.wav');
    expect(downloadName({ memberName: 'CON', text: '' })).toBe('CON clip.wav');
    expect(downloadName({ text: '!!!' })).toBe('Chorus.wav');
    expect(safePart('a\u0000b\u007fc')).toBe('a b c');
  });

  it('keeps Korean whole: NFC, cut between syllables (Hana\'s sample)', () => {
    const jamo = /[\u1100-\u11ff\u3130-\u318f]/u;
    const hana = downloadName({ memberName: 'Hana', text: '안녕하세요. 오늘 날씨가 정말 좋네요!' }, 'opus');
    expect(hana).toBe('Hana - 안녕하세요. 오늘 날씨가 정말 좋네요.opus');
    // Decomposed input (as macOS file names and some keyboards give it) comes out composed.
    const nfd = downloadName({ memberName: '하나'.normalize('NFD'), text: '오늘 날씨가 정말 좋네요'.normalize('NFD') });
    expect(nfd).toBe('하나 - 오늘 날씨가 정말 좋네요.wav');
    expect(nfd).not.toMatch(jamo);
    // Long Korean without spaces: 40 whole syllables.
    const long = downloadName({ memberName: 'Hana', text: '정말'.repeat(30) });
    expect(long).toBe(`Hana - ${'정말'.repeat(20)}.wav`);
    expect(long).not.toMatch(jamo);
    expect(long.normalize('NFC')).toBe(long);
    // Where the byte limit cuts, it cuts between syllables too.
    const bytes = downloadName({ memberName: '가'.repeat(40), text: '나'.repeat(40) });
    expect(new TextEncoder().encode(bytes).length).toBeLessThanOrEqual(200);
    expect(bytes).toMatch(/^가{40} - 나+\.wav$/u);
  });

  it('never splits an emoji or a letter from its accents', () => {
    const family = '👩‍👩‍👧';
    const n = downloadName({ memberName: 'Mina', text: `${'a'.repeat(39)}${family}${family}` });
    expect(n).toBe(`Mina - ${'a'.repeat(39)}${family}.wav`);
    expect(startOf('e\u0301'.repeat(45))).toBe('\u00e9'.repeat(40));
  });

  it('stays under 200 bytes of UTF-8', () => {
    const n = downloadName({ memberName: '🎤'.repeat(60), text: '😀'.repeat(60) });
    expect(new TextEncoder().encode(n).length).toBeLessThanOrEqual(200);
    expect(n.endsWith('.wav')).toBe(true);
    expect(n).toMatch(/ - (😀)+\.wav$/u);
  });
});

describe('limitConcurrency', () => {
  it('runs at most n at once, in order, passing results and errors through', async () => {
    let running = 0;
    let peak = 0;
    const order = [];
    const slow = limitConcurrency(async (i) => {
      running++;
      peak = Math.max(peak, running);
      order.push(i);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      if (i === 3) throw new Error('three');
      return i * 2;
    }, 2);
    const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map((i) => slow(i)));
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results.map((r) => r.value ?? r.reason.message)).toEqual([0, 2, 4, 'three', 8, 10]);
  });
});
