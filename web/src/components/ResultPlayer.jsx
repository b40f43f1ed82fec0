import { useEffect, useRef, useState } from 'react';
import { useChorus } from '../context.jsx';
import { ApiError, newRequestId } from '../lib/api.js';
import { FORMATS, formatOf } from '../lib/formats.js';
import { accentFor } from '../lib/identity.js';
import { downloadName } from '../lib/download.js';
import { friendlyMessage } from '../lib/messages.js';
import { activeCue } from '../lib/vtt.js';
import { reveal } from '../lib/motion.js';
import { formatDuration } from '../lib/wav.js';
import { Waveform } from './Waveform.jsx';
import { useClip } from './useClip.js';

/** fileName names a clip's download as the batch page does: "Mina - Hello there.opus" (downloadName). */
export function fileName(entry) {
  return downloadName({ memberName: entry.memberName || entry.memberId, text: entry.text }, formatOf(entry.format).ext.slice(1));
}

/** download saves bytes under a file name, as the download link would. */
function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * OtherFormats offers the clip in the formats it was not made in: the same
 * member, text and speed asked for again in that format (an earlier
 * identical request is answered from the cache at once), then saved.
 */
function OtherFormats({ entry }) {
  const { client, config, ledger } = useChorus();
  const [busy, setBusy] = useState('');
  const [error, setError] = useState('');
  const acRef = useRef(null);
  useEffect(() => () => acRef.current?.abort(), []);
  const others = Object.values(FORMATS).filter((f) => f.id !== formatOf(entry.format).id);

  async function get(format) {
    acRef.current?.abort();
    const ac = new AbortController();
    acRef.current = ac;
    setBusy(format.id);
    setError('');
    try {
      const queued = await client.synthesize({ memberId: entry.memberId, text: entry.text, speed: entry.speed, format: format.id,
        requestId: newRequestId() }, { signal: ac.signal });
      ledger.spend(1);
      const job = await client.pollJob(queued.job_id, { signal: ac.signal, waitSeconds: config.statusWaitSeconds, deadlineMs: config.jobDeadlineSeconds * 1000 });
      if (job.status !== 'succeeded' || !job.audio_url) {
        throw new ApiError({ code: job.error?.code || 'job_failed', message: job.error?.message || '' });
      }
      let res = null;
      try {
        res = await client.fetchRaw(job.audio_url, { signal: ac.signal });
      } catch (err) {
        if (ac.signal.aborted) throw err;
      }
      if (res?.ok) {
        download(new Blob([await res.arrayBuffer()], { type: format.type }), fileName({ ...entry, format: format.id }));
      } else {
        window.open(job.audio_url, '_blank', 'noopener'); // unreadable here (no CORS): let the browser fetch it
      }
    } catch (err) {
      if (!ac.signal.aborted) setError(friendlyMessage(err, { deadlineSeconds: config.jobDeadlineSeconds, blame: err?.code === 'rate_limited' ? ledger.blame() : null }));
    } finally {
      if (!ac.signal.aborted) setBusy('');
    }
  }

  return (
    <div className="other-formats" role="group" aria-label="Download in another format">
      <span className="muted small">Also as</span>
      {others.map((f) => (
        <button key={f.id} type="button" className="btn btn-quiet" disabled={busy !== ''} onClick={() => get(f)}
          aria-label={`Download as ${f.label}`}>
          {busy === f.id ? `Preparing ${f.label}…` : f.label}
        </button>
      ))}
      {error ? <p className="field-error" role="alert">{error}</p> : null}
    </div>
  );
}

/**
 * ResultPlayer plays one finished clip: an audio player, the waveform drawn
 * from the audio, the text with the sentence being spoken highlighted (from
 * the clip's captions), the duration and downloads in every format.
 */
export function ResultPlayer({ entry, autoFocus = false, headingLevel = 2 }) {
  const { client, updateResult } = useChorus();
  const clip = useClip(entry, client, { onRefreshed: updateResult });
  const audioRef = useRef(null);
  const [active, setActive] = useState(-1);
  const c = accentFor(entry.memberId);
  const H = `h${headingLevel}`;
  // One duration for every label: the decoded audio's, else the status's.
  const duration = clip.duration || entry.durationSeconds;
  const cues = clip.phase === 'ready' && clip.cues ? clip.cues : [];
  const format = formatOf(entry.format);
  const follow = (e) => setActive(activeCue(cues, e.currentTarget.currentTime));
  // A new result (autoFocus) takes focus once and scrolls into view: when
  // it appears and again when the clip has loaded and the player is full size.
  const sectionRef = useRef(null);
  const titleRef = useRef(null);
  const settled = clip.phase === 'ready' || clip.phase === 'error';
  useEffect(() => {
    if (autoFocus) titleRef.current?.focus({ preventScroll: true });
  }, [autoFocus]);
  useEffect(() => {
    if (autoFocus) reveal(sectionRef.current);
  }, [autoFocus, settled]);

  return (
    <section ref={sectionRef} className="result" aria-label={`Clip of ${entry.memberName || 'the member'}`}
      style={{ '--accent': c.accent, '--accent-soft': c.soft }} data-testid="result">
      <H className="result-title" tabIndex={autoFocus ? -1 : undefined} ref={titleRef}>
        {entry.memberName ? `${entry.memberName} says` : 'Your clip'}
        {entry.demo ? <span className="badge badge-demo">Demo voice</span> : null}
      </H>
      <blockquote className="result-text" data-testid="result-text">
        {cues.length > 0
          ? cues.map((cue, i) => (
            <span key={i}>
              {i > 0 ? ' ' : null}
              <span className={`cue${i === active ? ' cue-active' : ''}`} data-testid="cue"
                aria-current={i === active ? 'true' : undefined}>{cue.text}</span>
            </span>
          ))
          : entry.text}
      </blockquote>

      {clip.phase === 'loading' || clip.phase === 'idle' ? (
        <p className="muted" role="status">Loading the clip…</p>
      ) : null}

      {clip.phase === 'error' ? (
        <div className="notice notice-error" role="alert">
          <p>{friendlyMessage(clip.error)}</p>
          {clip.error?.code !== 'job_not_found' && clip.error?.code !== 'audio_expired' ? (
            <button type="button" className="btn btn-quiet" onClick={clip.retry}>Try again</button>
          ) : null}
        </div>
      ) : null}

      {clip.phase === 'ready' ? (
        <>
          {clip.peaks ? (
            <Waveform peaks={clip.peaks} audioRef={audioRef} color={`hsl(${c.hue} 45% 78%)`}
              playedColor={c.accent} label={`Waveform of ${entry.memberName || 'the'} clip, ${formatDuration(duration)}`} />
          ) : (
            <p className="muted small">The waveform is not available for this clip.</p>
          )}
          <audio ref={audioRef} className="player" controls preload="auto" src={clip.src}
            onTimeUpdate={follow} onSeeked={follow} onEnded={() => setActive(-1)}
            aria-label={`Play ${entry.memberName || 'the'} clip`} />
          <div className="result-meta">
            <span className="duration" data-testid="duration">
              <span className="visually-hidden">Duration: </span>{formatDuration(duration)}
            </span>
            {entry.speed && entry.speed !== 1 ? <span className="muted">{entry.speed.toFixed(1)}× speed</span> : null}
            <a className="btn btn-secondary" href={clip.src} download={fileName(entry)}>
              <svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18"><path fill="currentColor" d="M12 3a1 1 0 0 1 1 1v9.59l3.3-3.3a1 1 0 1 1 1.4 1.42l-5 5a1 1 0 0 1-1.4 0l-5-5a1 1 0 1 1 1.4-1.42L11 13.6V4a1 1 0 0 1 1-1Zm-8 15a1 1 0 0 1 1 1v1h14v-1a1 1 0 1 1 2 0v2a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1v-2a1 1 0 0 1 1-1Z" /></svg>
              Download {format.label}
            </a>
            <OtherFormats entry={entry} />
          </div>
        </>
      ) : null}
    </section>
  );
}
