import { describe, expect, it } from 'vitest';
import { WavError, encodeWav, formatDuration, parseWav, peaks } from './wav.js';

function withChunkBefore(buf, id, body) {
  // Insert a chunk (e.g. LIST) between fmt and data, as some writers do.
  const src = new Uint8Array(buf);
  const pad = body.length % 2;
  const out = new Uint8Array(src.length + 8 + body.length + pad);
  out.set(src.subarray(0, 36), 0);
  const v = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[36 + i] = id.charCodeAt(i);
  v.setUint32(40, body.length, true);
  out.set(body, 44);
  out.set(src.subarray(36), 44 + body.length + pad);
  v.setUint32(4, out.length - 8, true);
  return out.buffer;
}

describe('wav', () => {
  it('round-trips 16-bit PCM mono', () => {
    const s = Float32Array.from([0, 0.5, -0.5, 1, -1]);
    const w = parseWav(encodeWav(s, 22050));
    expect(w.sampleRate).toBe(22050);
    expect(w.channels).toBe(1);
    expect(w.samples).toHaveLength(5);
    expect(w.samples[1]).toBeCloseTo(0.5, 3);
    expect(w.samples[4]).toBe(-1);
    expect(w.durationSeconds).toBeCloseTo(5 / 22050, 9);
  });

  it('skips other chunks, padded to even sizes', () => {
    const buf = withChunkBefore(encodeWav(new Float32Array(100), 16000), 'LIST', new Uint8Array([1, 2, 3]));
    expect(parseWav(buf).samples).toHaveLength(100);
  });

  it('tolerates a streamed data size larger than the file', () => {
    const buf = encodeWav(new Float32Array(10).fill(0.25), 8000);
    new DataView(buf).setUint32(40, 0xffffffff, true);
    expect(parseWav(buf).samples).toHaveLength(10);
  });

  it('reads the first channel of stereo', () => {
    const buf = encodeWav(Float32Array.from([0.5, -0.5, 0.25, -0.25]), 8000);
    const v = new DataView(buf);
    v.setUint16(22, 2, true);
    const w = parseWav(buf);
    expect(w.channels).toBe(2);
    expect(Array.from(w.samples, (x) => Math.round(x * 100) / 100)).toEqual([0.5, 0.25]);
  });

  it('refuses what it cannot read', () => {
    expect(() => parseWav(new ArrayBuffer(4))).toThrow(WavError);
    const notWave = encodeWav(new Float32Array(4), 8000);
    new DataView(notWave).setUint8(8, 'X'.charCodeAt(0));
    expect(() => parseWav(notWave)).toThrow(/RIFF/);
    const float = encodeWav(new Float32Array(4), 8000);
    new DataView(float).setUint16(20, 3, true);
    expect(() => parseWav(float)).toThrow(/16-bit PCM/);
    const noData = encodeWav(new Float32Array(0), 8000).slice(0, 36);
    expect(() => parseWav(noData)).toThrow(/no data/);
  });

  it('reduces samples to peaks in [0, 1]', () => {
    const s = new Float32Array(1000);
    s[10] = -0.9;
    s[990] = 0.3;
    const p = peaks(s, 10);
    expect(p).toHaveLength(10);
    expect(p[0]).toBeCloseTo(0.9, 5);
    expect(p[9]).toBeCloseTo(0.3, 5);
    expect(p[5]).toBe(0);
    expect(peaks(new Float32Array(3), 8)).toHaveLength(8);
  });

  it('formats durations', () => {
    expect(formatDuration(2.44)).toBe('0:02.4');
    expect(formatDuration(2.4)).toBe('0:02.4');
    expect(formatDuration(0.5)).toBe('0:00.5');
    expect(formatDuration(0)).toBe('0:00.0');
    expect(formatDuration(12.99)).toBe('0:12.9');
    expect(formatDuration(59.96)).toBe('0:59.9'); // a player shows 0:59, not 1:00
    expect(formatDuration(65.7)).toBe('1:05');
    expect(formatDuration(119.7)).toBe('1:59');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(NaN)).toBe('');
    expect(formatDuration(-1)).toBe('');
  });
});
