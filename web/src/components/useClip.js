import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../lib/api.js';
import { formatOf } from '../lib/formats.js';
import { fetchCaptions, fetchClip, freshEntry } from '../lib/recent.js';
import { parseWav, peaks as toPeaks } from '../lib/wav.js';

const BARS = 160;

/**
 * decodeSamples returns the first channel of compressed audio (Opus, MP3)
 * as decoded by the browser, or null where it cannot (no Web Audio).
 */
async function decodeSamples(bytes) {
  const Ctx = globalThis.OfflineAudioContext || globalThis.webkitOfflineAudioContext;
  if (!Ctx) return null;
  try {
    const ctx = new Ctx(1, 1, 48000);
    const buf = await ctx.decodeAudioData(bytes.slice(0));
    return { samples: buf.getChannelData(0), durationSeconds: buf.duration };
  } catch {
    return null;
  }
}

/**
 * useClip loads a result's audio and its captions in parallel (refreshing an
 * expired signed URL through status first), decodes the audio for the waveform (WAV here,
 * Opus and MP3 through Web Audio) and serves it from a blob URL, so
 * playback and download keep working after the signed URL expires. When
 * the bytes cannot be read (a bucket without CORS), it falls back to
 * playing the signed URL directly, without a waveform. Captions that
 * cannot be read only cost the sentence highlighting (cues: []).
 */
export function useClip(entry, client, { onRefreshed, enabled = true } = {}) {
  const [state, setState] = useState({ phase: 'idle' });
  const [reload, setReload] = useState(0);
  const entryRef = useRef(entry);
  entryRef.current = entry;
  const refreshedRef = useRef(onRefreshed);
  refreshedRef.current = onRefreshed;

  useEffect(() => {
    if (!enabled) return undefined;
    const ac = new AbortController();
    let objectUrl = '';
    const start = entryRef.current;
    setState({ phase: 'loading' });
    (async () => {
      try {
        const { entry: used, bytes, cues } = await fetchClip(start, client, { signal: ac.signal });
        if (used !== start) refreshedRef.current?.(used);
        objectUrl = URL.createObjectURL(new Blob([bytes], { type: formatOf(used.format).type }));
        let wave = null;
        let duration = used.durationSeconds;
        let decoded = null;
        try {
          decoded = parseWav(bytes);
        } catch {
          decoded = await decodeSamples(bytes); // Opus, MP3: the browser decodes them
        }
        if (decoded) {
          wave = toPeaks(decoded.samples, BARS);
          duration = decoded.durationSeconds;
        }
        if (!ac.signal.aborted) setState({ phase: 'ready', src: objectUrl, peaks: wave, duration, cues, entry: used });
      } catch (err) {
        if (ac.signal.aborted) return;
        if (err instanceof ApiError && err.code === 'audio_unavailable' && err.status === 0) {
          // The bytes were unreadable here (CORS, offline cache); the
          // <audio> element may still play the signed URL itself.
          try {
            const used = await freshEntry(start, client, { signal: ac.signal });
            if (used !== start) refreshedRef.current?.(used);
            const cues = await fetchCaptions(used, client, { signal: ac.signal });
            if (!ac.signal.aborted) setState({ phase: 'ready', src: used.audioUrl, peaks: null, duration: used.durationSeconds, cues, entry: used, direct: true });
            return;
          } catch (err2) {
            if (ac.signal.aborted) return;
            setState({ phase: 'error', error: err2 });
            return;
          }
        }
        setState({ phase: 'error', error: err });
      }
    })();
    return () => {
      ac.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [client, entry.jobId, reload, enabled]);

  return { ...state, retry: () => setReload((r) => r + 1) };
}
