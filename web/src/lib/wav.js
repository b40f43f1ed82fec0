// Reading the WAVs Chorus makes (16-bit PCM, usually mono) in the browser,
// so the result can show a waveform drawn from the real samples.

/** WavError says the bytes are not a WAV this app can read. */
export class WavError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WavError';
  }
}

function tag(view, off) {
  return String.fromCharCode(view.getUint8(off), view.getUint8(off + 1), view.getUint8(off + 2), view.getUint8(off + 3));
}

/**
 * parseWav reads a RIFF/WAVE buffer of 16-bit PCM and returns the first
 * channel as floats in [-1, 1]. It walks chunks (LIST and friends may come
 * before data) and tolerates a data size larger than the file (streamed
 * writers put 0xFFFFFFFF there).
 */
export function parseWav(buffer) {
  const view = new DataView(buffer);
  if (view.byteLength < 12 || tag(view, 0) !== 'RIFF' || tag(view, 8) !== 'WAVE') {
    throw new WavError('not a RIFF/WAVE file');
  }
  let fmt = null;
  let off = 12;
  while (off + 8 <= view.byteLength) {
    const id = tag(view, off);
    const size = view.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > view.byteLength) throw new WavError('fmt chunk too short');
      let format = view.getUint16(body, true);
      if (format === 0xfffe && size >= 26) format = view.getUint16(body + 24, true); // WAVE_FORMAT_EXTENSIBLE sub-format
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bitsPerSample: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!fmt) throw new WavError('data chunk before fmt chunk');
      if (fmt.format !== 1 || fmt.bitsPerSample !== 16) {
        throw new WavError(`unsupported WAV encoding (format ${fmt.format}, ${fmt.bitsPerSample} bits); want 16-bit PCM`);
      }
      if (fmt.channels < 1 || fmt.sampleRate < 1) throw new WavError('WAV has no channels or no sample rate');
      const bytes = Math.min(size, view.byteLength - body);
      const frame = 2 * fmt.channels;
      const frames = Math.floor(bytes / frame);
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) samples[i] = view.getInt16(body + i * frame, true) / 32768;
      return {
        sampleRate: fmt.sampleRate,
        channels: fmt.channels,
        samples,
        durationSeconds: frames / fmt.sampleRate,
      };
    }
    off = body + size + (size % 2); // chunks are padded to even sizes
  }
  throw new WavError(fmt ? 'WAV has no data chunk' : 'WAV has no fmt chunk');
}

/**
 * peaks reduces samples to `buckets` values in [0, 1]: the loudest absolute
 * sample of each slice, so short clicks stay visible when zoomed out.
 */
export function peaks(samples, buckets) {
  const n = Math.max(1, Math.floor(buckets));
  const out = new Float32Array(n);
  if (samples.length === 0) return out;
  for (let b = 0; b < n; b++) {
    const start = Math.floor((b * samples.length) / n);
    const end = Math.max(start + 1, Math.floor(((b + 1) * samples.length) / n));
    let m = 0;
    for (let i = start; i < end && i < samples.length; i++) {
      const a = Math.abs(samples[i]);
      if (a > m) m = a;
    }
    out[b] = Math.min(1, m);
  }
  return out;
}

/**
 * encodeWav writes mono 16-bit PCM; tests and the mock server use it to
 * make real WAVs.
 */
export function encodeWav(samples, sampleRate) {
  const buf = new ArrayBuffer(44 + samples.length * 2);
  const v = new DataView(buf);
  const w = (off, s) => { for (let i = 0; i < 4; i++) v.setUint8(off + i, s.charCodeAt(i)); };
  w(0, 'RIFF'); v.setUint32(4, 36 + samples.length * 2, true); w(8, 'WAVE');
  w(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, sampleRate, true); v.setUint32(28, sampleRate * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  w(36, 'data'); v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    v.setInt16(44 + i * 2, Math.round(s < 0 ? s * 32768 : s * 32767), true);
  }
  return buf;
}

/**
 * formatDuration shows seconds on the clock audio players use (m:ss, whole
 * seconds counted down, not rounded up), with tenths under a minute:
 * "0:02.4" where a player shows 0:02, "1:05" for 65.7 s. Every duration
 * label uses it, so labels and the player's time agree.
 */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 60) {
    const tenths = Math.floor(seconds * 10 + 1e-6); // 2.4 stored as 2.39999… is still 2.4
    return `0:${String(Math.floor(tenths / 10)).padStart(2, '0')}.${tenths % 10}`;
  }
  const total = Math.floor(seconds + 1e-6);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
