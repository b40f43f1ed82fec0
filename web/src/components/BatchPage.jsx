import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { useChorus } from '../context.jsx';
import { ApiError, isTerminal, newRequestId } from '../lib/api.js';
import { formatOf } from '../lib/formats.js';
import { accentFor } from '../lib/identity.js';
import { countChars, fieldOf, friendlyMessage } from '../lib/messages.js';
import { downloadName, limitConcurrency } from '../lib/download.js';
import { fromJob, isExpired, refreshEntry } from '../lib/recent.js';
import { speakable } from '../lib/speakable.js';
import { formatDuration } from '../lib/wav.js';
import { MAX_SPEED, MIN_SPEED } from './Composer.jsx';
import { PageTitle } from './pages.jsx';
import { Waveform } from './Waveform.jsx';
import { useClip } from './useClip.js';

/** splitLines keeps the non-blank lines, trimmed. */
export function splitLines(text) {
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

/** lineNumbers says "Line 3" or "Lines 2, 5, 7…" (the first five). */
function lineNumbers(nums) {
  return `Line${nums.length > 1 ? 's' : ''} ${nums.slice(0, 5).join(', ')}${nums.length > 5 ? '…' : ''}`;
}

/** unspeakableLines returns the numbers (from 1) of the lines a voice of language lang cannot say. */
export function unspeakableLines(lines, lang = '') {
  return lines.map((l, i) => (speakable(l, lang) ? 0 : i + 1)).filter(Boolean);
}

/** unspeakableMessage explains which lines have nothing to say. */
export function unspeakableMessage(nums, memberName = '') {
  return `${lineNumbers(nums)} ${nums.length > 1 ? 'have' : 'has'} nothing ${memberName || 'the member'} can say: add some words or numbers. Emoji, punctuation and invisible characters alone can't be spoken.`;
}

/**
 * checkBatch returns a friendly error for the lines, or ''. lang is the
 * voice's language; maxItems the API's batch limit (null: unknown, the API
 * decides).
 */
export function checkBatch(lines, maxTextChars, { lang = '', memberName = '', maxItems = null } = {}) {
  if (lines.length === 0) return friendlyMessage({ code: 'no_items' });
  if (maxItems !== null && lines.length > maxItems) return friendlyMessage({ code: 'too_many_items' }, { maxItems });
  const long = lines.map((l, i) => (countChars(l) > maxTextChars ? i + 1 : 0)).filter(Boolean);
  if (long.length > 0) {
    return `${lineNumbers(long)} ${long.length > 1 ? 'are' : 'is'} too long. Keep each line to ${maxTextChars.toLocaleString('en')} characters or fewer.`;
  }
  const mute = unspeakableLines(lines, lang);
  if (mute.length > 0) return unspeakableMessage(mute, memberName);
  return '';
}

const STATUS_WORDS = { queued: 'In line', running: 'Recording', succeeded: 'Ready', failed: 'Failed' };

/** AUDIO_AT_ONCE bounds how many clips of a batch download at the same time. */
const AUDIO_AT_ONCE = 4;
const NULL_BODY = new Set([204, 205, 304]);

/**
 * audioClient is client with a fetchRaw that runs at most n downloads at
 * once; each resolves only when its body is in, so the bound holds for
 * whole downloads, not just their headers.
 */
export function audioClient(client, n = AUDIO_AT_ONCE) {
  const fetchWhole = limitConcurrency(async (url, init) => {
    const res = await client.fetchRaw(url, init);
    const body = await res.arrayBuffer();
    return new Response(NULL_BODY.has(res.status) ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }, n);
  return { ...client, fetchRaw: fetchWhole };
}

/**
 * BatchClip is one finished line. Its WAV is fetched and decoded once, as
 * soon as the job succeeds, so the row shows the waveform and duration
 * before anyone plays it; playback and the download then come from a blob
 * URL, which is same-origin: the browser honours `download` (the signed
 * URL is cross-origin, where it is ignored) and nothing depends on the
 * signed URL staying valid. When the bytes cannot be read (a bucket
 * without CORS) useClip falls back to the signed URL: it is refreshed
 * through status before playing or saving when it has expired or is about
 * to, and saving opens it in a new tab, as the browser's own name applies.
 */
function BatchClip({ entry, line, client, onRefreshed }) {
  const clip = useClip(entry, client, { onRefreshed });
  const audioRef = useRef(null);
  const [fresh, setFresh] = useState(null);
  const retried = useRef(false);
  const c = accentFor(entry.memberId);
  const duration = clip.duration || entry.durationSeconds;
  const direct = clip.phase === 'ready' && Boolean(clip.direct);
  const current = fresh || clip.entry || entry;
  const src = direct ? current.audioUrl : clip.src;
  const name = downloadName({ memberName: entry.memberName || entry.memberId, text: entry.text }, formatOf(entry.format).ext.slice(1));

  async function refreshed(force = false) {
    if (!force && !isExpired(current)) return current.audioUrl;
    const next = await refreshEntry(current, client);
    setFresh(next);
    onRefreshed?.(next);
    return next.audioUrl;
  }
  async function play(e) {
    if (!direct || !isExpired(current)) return;
    const audio = e.currentTarget;
    audio.pause();
    try {
      audio.src = await refreshed();
      await audio.play();
    } catch {
      // the player shows that it cannot play
    }
  }
  async function rejected(e) {
    // A signed URL can be refused before its stated expiry: refresh it once.
    if (!direct || retried.current) return;
    retried.current = true;
    const audio = e.currentTarget;
    try {
      audio.src = await refreshed(true);
    } catch {
      // stays as it is
    }
  }
  async function save(e) {
    if (!direct || !isExpired(current)) return; // the blob (or a valid URL) as it is
    e.preventDefault();
    try {
      window.open(await refreshed(), '_blank', 'noopener');
    } catch {
      // nothing to open
    }
  }

  const durationLabel = (
    <span className="duration small" data-testid="batch-duration">
      <span className="visually-hidden">Duration: </span>{formatDuration(duration)}
    </span>
  );
  if (clip.phase === 'error') {
    const final = clip.error?.code === 'job_not_found' || clip.error?.code === 'audio_expired';
    return (
      <span className="batch-play">
        <span className="field-error batch-error">{friendlyMessage(clip.error)}</span>
        {final ? null : <button type="button" className="btn btn-quiet" onClick={clip.retry}>Try again<span className="visually-hidden"> line {line}</span></button>}
      </span>
    );
  }
  if (clip.phase !== 'ready') {
    return (
      <span className="batch-play">
        <span className="muted small batch-loading">Loading the clip…</span>
        {durationLabel}
      </span>
    );
  }
  return (
    <span className="batch-play" data-direct={direct ? 'true' : undefined}>
      {clip.peaks ? (
        <Waveform peaks={clip.peaks} audioRef={audioRef} color={`hsl(${c.hue} 45% 78%)`} playedColor={c.accent}
          label={`Waveform of line ${line}, ${formatDuration(duration)}`} />
      ) : null}
      <audio ref={audioRef} controls preload="metadata" src={src} aria-label={`Play line ${line}`} onPlay={play} onError={rejected} />
      {durationLabel}
      <a href={src} download={name} className="btn btn-quiet" data-testid="batch-download" onClick={save}
        {...(direct ? { target: '_blank', rel: 'noopener' } : {})}>
        Download {formatOf(entry.format).label}<span className="visually-hidden"> line {line}</span>
      </a>
    </span>
  );
}

/** BatchPage: paste several lines, one job per line, watch them complete. */
export function BatchPage({ memberId: initialMemberId }) {
  const { client, limits, format, members, memberById, addResult, updateResult } = useChorus();
  const clipClient = useMemo(() => audioClient(client), [client]);
  const ids = useId();
  const [memberId, setMemberId] = useState(initialMemberId || '');
  const [text, setText] = useState('');
  const [speed, setSpeed] = useState(1);
  const [error, setError] = useState({ field: '', message: '' });
  const [rows, setRows] = useState([]);
  const [phase, setPhase] = useState('edit');
  const abortRef = useRef(null);
  const textRef = useRef(null);

  useEffect(() => () => abortRef.current?.abort(), []);
  useEffect(() => {
    if (!memberId && members.list.length > 0) setMemberId(members.list[0].id);
  }, [memberId, members.list]);

  const member = memberById(memberId);
  const lines = splitLines(text);
  const accent = accentFor(memberId || 'chorus');
  // Lines the voice cannot say are pointed out as they are typed; send stays off.
  const mute = unspeakableLines(lines, member?.voice?.language);

  async function submit(e) {
    e.preventDefault();
    if (phase === 'running') return;
    const local = !member ? friendlyMessage({ code: 'member_not_found' })
      : checkBatch(lines, limits.maxTextChars, { lang: member.voice?.language, memberName: member.name, maxItems: limits.maxBatchItems });
    if (local) {
      setError({ field: member ? 'text' : 'member_id', message: local });
      textRef.current?.focus();
      return;
    }
    setError({ field: '', message: '' });
    abortRef.current?.abort();
    const ac = new AbortController();
    abortRef.current = ac;
    setPhase('running');
    const items = lines.map((l) => ({ memberId, text: l, speed, format, requestId: newRequestId() }));
    try {
      const res = await client.batch(items, { signal: ac.signal });
      if (!Array.isArray(res.jobs) || res.jobs.length !== items.length) {
        throw new ApiError({ code: 'bad_response', message: 'batch answer does not list one job per line' });
      }
      let current = res.jobs.map((j, i) => ({ job_id: j.job_id, status: 'queued', text: items[i].text, member_id: memberId }));
      setRows(current);
      const saved = new Set();
      const merge = (b) => {
        const byId = new Map((b.jobs || []).map((j) => [j.job_id, j]));
        current = current.map((r) => ({ ...r, ...(byId.get(r.job_id) || {}) }));
        for (const r of current) {
          if (r.status === 'succeeded' && !saved.has(r.job_id)) {
            saved.add(r.job_id);
            addResult(fromJob(r, member));
          }
        }
        setRows(current);
      };
      await client.pollBatch(res.batch_id, { signal: ac.signal, onUpdate: merge });
      setPhase('done');
    } catch (err) {
      if (ac.signal.aborted) return;
      setPhase('edit');
      const { field, line } = fieldOf(err);
      const msg = friendlyMessage(err, { maxTextChars: limits.maxTextChars, maxItems: limits.maxBatchItems, memberName: member?.name });
      setError({ field, message: line >= 0 ? `Line ${line + 1}: ${msg}` : msg });
    }
  }

  const done = rows.filter((r) => isTerminal(r.status)).length;
  const busy = phase === 'running';
  const errId = `${ids}-error`;

  return (
    <div style={{ '--accent': accent.accent, '--accent-strong': accent.strong, '--accent-soft': accent.soft }}>
      <PageTitle>Batch</PageTitle>
      <p className="lede">Paste several lines. Each line becomes its own clip.</p>
      <form className="card form" onSubmit={submit} noValidate aria-busy={busy}>
        <div className="field">
          <label htmlFor={`${ids}-member`}>Member</label>
          <select id={`${ids}-member`} value={memberId} disabled={busy || members.phase !== 'ready'}
            onChange={(e) => setMemberId(e.target.value)}
            aria-invalid={error.field === 'member_id' ? 'true' : undefined}
            aria-describedby={error.field === 'member_id' ? errId : undefined}>
            {members.phase !== 'ready' ? <option value="">Loading members…</option> : null}
            {members.list.map((m) => (
              <option key={m.id} value={m.id}>{m.name}{m.group ? ` · ${m.group}` : ''}{m.voice?.demo ? ' (demo voice)' : ''}</option>
            ))}
          </select>
          {error.field === 'member_id' ? <p className="field-error" id={errId} role="alert">{error.message}</p> : null}
        </div>
        <div className="field">
          <label htmlFor={`${ids}-text`}>Lines, one clip per line</label>
          <textarea id={`${ids}-text`} ref={textRef} rows={7} value={text} disabled={busy}
            placeholder={'Good morning!\n오늘도 화이팅!\nSee you at the concert 🎤'}
            onChange={(e) => { setText(e.target.value); if (error.field === 'text') setError({ field: '', message: '' }); }}
            aria-invalid={error.field === 'text' || mute.length > 0 ? 'true' : undefined}
            aria-describedby={`${ids}-count${error.field === 'text' ? ` ${errId}` : mute.length > 0 ? ` ${ids}-mute` : ''}`} />
          <div className="field-foot">
            <span id={`${ids}-count`} className={`count${limits.maxBatchItems !== null && lines.length > limits.maxBatchItems ? ' count-over' : ''}`}>
              {lines.length} line{lines.length === 1 ? '' : 's'} · {limits.maxBatchItems !== null ? `up to ${limits.maxBatchItems}, ` : ''}{limits.maxTextChars.toLocaleString('en')} characters each
            </span>
          </div>
          {error.field === 'text' ? <p className="field-error" id={errId} role="alert">{error.message}</p> : null}
          {mute.length > 0 && error.field !== 'text' ? (
            <p className="field-error" id={`${ids}-mute`} role="status" data-testid="unspeakable">{unspeakableMessage(mute, member?.name)}</p>
          ) : null}
        </div>
        <div className="field">
          <label htmlFor={`${ids}-speed`}>Speed <output htmlFor={`${ids}-speed`} className="speed-value">{speed.toFixed(1)}×</output></label>
          <div className="speed-row">
            <span aria-hidden="true" className="muted small">Slower</span>
            <input id={`${ids}-speed`} type="range" min={MIN_SPEED} max={MAX_SPEED} step={0.1} value={speed}
              disabled={busy} onChange={(e) => setSpeed(Number(e.target.value))} aria-valuetext={`${speed.toFixed(1)} times`} />
            <span aria-hidden="true" className="muted small">Faster</span>
          </div>
          {error.field === 'speed' ? <p className="field-error" role="alert">{error.message}</p> : null}
        </div>
        {error.field === 'form' ? <p className="field-error form-error" role="alert">{error.message}</p> : null}
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy || mute.length > 0}>
            {busy ? 'Working…' : lines.length === 0 ? 'Make clips' : `Make ${lines.length} clip${lines.length === 1 ? '' : 's'}`}
          </button>
        </div>
      </form>

      {rows.length > 0 ? (
        <section className="card batch-results" aria-labelledby={`${ids}-results`}>
          <h2 id={`${ids}-results`} className="small-title">Clips</h2>
          <p role="status" aria-live="polite" className="batch-summary">
            {done} of {rows.length} done{done === rows.length ? ' 🎉' : '…'}
          </p>
          <progress max={rows.length} value={done} aria-label="Clips done" />
          <ol className="batch-list">
            {rows.map((r, i) => (
              <li key={r.job_id} className={`batch-row status-${r.status}`} data-testid="batch-row" data-status={r.status}>
                <span className="batch-num" aria-hidden="true">{i + 1}</span>
                <span className="batch-text">{r.text}</span>
                <span className={`chip chip-${r.status}`}>{STATUS_WORDS[r.status] || r.status}</span>
                {r.status === 'succeeded' && r.audio_url ? (
                  <BatchClip entry={fromJob(r, memberById(r.member_id))} line={i + 1} client={clipClient} onRefreshed={updateResult} />
                ) : null}
                {r.status === 'failed' || (r.status === 'succeeded' && r.error) ? (
                  <span className="field-error batch-error">{friendlyMessage(r.error || { code: 'job_failed' })}</span>
                ) : null}
              </li>
            ))}
          </ol>
        </section>
      ) : null}
    </div>
  );
}
