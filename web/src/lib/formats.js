// The audio formats the API makes (docs/openapi.yaml, AudioFormat), and
// which one this browser should ask for.

export const FORMATS = Object.freeze({
  opus: Object.freeze({ id: 'opus', label: 'Opus', ext: '.opus', type: 'audio/ogg; codecs=opus' }),
  mp3: Object.freeze({ id: 'mp3', label: 'MP3', ext: '.mp3', type: 'audio/mpeg' }),
  wav: Object.freeze({ id: 'wav', label: 'WAV', ext: '.wav', type: 'audio/wav' }),
});

/** formatOf returns a known format's description (WAV for anything else: what the API defaults to). */
export function formatOf(id) {
  return FORMATS[id] || FORMATS.wav;
}

/**
 * preferredFormat is what to ask for: Opus (a tenth of the WAV's size) where
 * the browser says it can play Ogg Opus, else WAV, which every browser plays.
 */
export function preferredFormat(doc = globalThis.document) {
  try {
    const answer = doc?.createElement('audio')?.canPlayType?.(FORMATS.opus.type) || '';
    return answer === 'probably' || answer === 'maybe' ? 'opus' : 'wav';
  } catch {
    return 'wav';
  }
}
