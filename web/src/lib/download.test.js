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
