import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../lib/api.js';
import { fetchAudio, freshEntry } from '../lib/recent.js';
import { parseWav, peaks as toPeaks } from '../lib/wav.js';

const BARS = 160;

/**
 * useClip loads a result's WAV (refreshing an expired signed URL through
 * status), decodes it for the waveform and serves it from a blob URL, so
 * playback and download keep working after the signed URL expires. When the
 * bytes cannot be read (a bucket without CORS), it falls back to playing
 * the signed URL directly, without a waveform.
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
        const { entry: used, bytes } = await fetchAudio(start, client, { signal: ac.signal });
        if (used !== start) refreshedRef.current?.(used);
        objectUrl = URL.createObjectURL(new Blob([bytes], { type: 'audio/wav' }));
        let wave = null;
        let duration = used.durationSeconds;
        try {
          const w = parseWav(bytes);
          wave = toPeaks(w.samples, BARS);
          duration = w.durationSeconds;
        } catch {
          wave = null; // plays anyway; the browser may know the format
        }
        if (!ac.signal.aborted) setState({ phase: 'ready', src: objectUrl, peaks: wave, duration, entry: used });
      } catch (err) {
        if (ac.signal.aborted) return;
        if (err instanceof ApiError && err.code === 'audio_unavailable' && err.status === 0) {
          // The bytes were unreadable here (CORS, offline cache); the
          // <audio> element may still play the signed URL itself.
          try {
            const used = await freshEntry(start, client, { signal: ac.signal });
            if (used !== start) refreshedRef.current?.(used);
            if (!ac.signal.aborted) setState({ phase: 'ready', src: used.audioUrl, peaks: null, duration: used.durationSeconds, entry: used, direct: true });
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
