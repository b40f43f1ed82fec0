import { useCallback, useEffect, useRef, useState } from 'react';

/**
 * drawWaveform paints mirrored bars for peaks onto a 2D context; bars left
 * of `progress` (0..1) use the played colour. Returns the number of bars.
 */
export function drawWaveform(ctx, { width, height, peaks, progress = 0, color, playedColor }) {
  ctx.clearRect(0, 0, width, height);
  const n = peaks.length;
  if (n === 0 || width <= 0 || height <= 0) return 0;
  const slot = width / n;
  const bar = Math.max(1, slot * 0.62);
  const mid = height / 2;
  for (let i = 0; i < n; i++) {
    const h = Math.max(2, peaks[i] * (height - 4));
    ctx.fillStyle = (i + 0.5) / n <= progress ? playedColor : color;
    ctx.fillRect(i * slot + (slot - bar) / 2, mid - h / 2, bar, h);
  }
  return n;
}

/**
 * Waveform draws the clip's peaks on a canvas sized to its box, shows
 * playback progress, and seeks when clicked. The audio element keeps the
 * keyboard controls; the canvas is a picture of the sound for pointers.
 */
export function Waveform({ peaks, audioRef, color = '#b9a6e6', playedColor = '#5b21b6', label = 'Waveform of the clip' }) {
  const canvasRef = useRef(null);
  const [progress, setProgress] = useState(0);
  const [drawn, setDrawn] = useState(false);

  const paint = useCallback(() => {
    const canvas = canvasRef.current;
    if (!canvas || !peaks) return;
    const ctx = canvas.getContext?.('2d');
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 600;
    const height = canvas.clientHeight || 72;
    if (canvas.width !== Math.round(width * dpr)) canvas.width = Math.round(width * dpr);
    if (canvas.height !== Math.round(height * dpr)) canvas.height = Math.round(height * dpr);
    ctx.setTransform?.(dpr, 0, 0, dpr, 0, 0);
    const n = drawWaveform(ctx, { width, height, peaks, progress, color, playedColor });
    setDrawn(n > 0);
  }, [peaks, progress, color, playedColor]);

  useEffect(() => {
    paint();
    window.addEventListener('resize', paint);
    return () => window.removeEventListener('resize', paint);
  }, [paint]);

  useEffect(() => {
    const audio = audioRef?.current;
    if (!audio) return undefined;
    const on = () => setProgress(audio.duration > 0 ? audio.currentTime / audio.duration : 0);
    audio.addEventListener('timeupdate', on);
    audio.addEventListener('seeked', on);
    audio.addEventListener('ended', on);
    return () => {
      audio.removeEventListener('timeupdate', on);
      audio.removeEventListener('seeked', on);
      audio.removeEventListener('ended', on);
    };
  }, [audioRef]);

  const seek = (e) => {
    const audio = audioRef?.current;
    if (!audio || !(audio.duration > 0)) return;
    const r = e.currentTarget.getBoundingClientRect();
    audio.currentTime = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)) * audio.duration;
  };

  return (
    <canvas ref={canvasRef} className="waveform" role="img" aria-label={label}
      data-drawn={drawn ? 'true' : 'false'} data-bars={peaks?.length ?? 0} onClick={seek} />
  );
}
