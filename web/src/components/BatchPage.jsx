import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { useChorus } from '../context.jsx';
import { ApiError, isTerminal, newRequestId } from '../lib/api.js';
import { formatOf } from '../lib/formats.js';
import { accentFor } from '../lib/identity.js';
import { formatWait } from '../lib/allowance.js';
import { lineProblems, listRows, parseLines, rangeOf, rejectionFor, rowCount, withoutRows } from '../lib/batchLines.js';
import { useDraft } from '../lib/draft.js';
import { languageWarning } from '../lib/language.js';
import { fieldOf, friendlyMessage } from '../lib/messages.js';
import { downloadName, limitConcurrency } from '../lib/download.js';
import { fromJob, isExpired, refreshEntry } from '../lib/recent.js';
import { formatDuration } from '../lib/wav.js';
import { MAX_SPEED, MIN_SPEED } from './Composer.jsx';
import { PageTitle } from './pages.jsx';
import { Waveform } from './Waveform.jsx';
import { useClip } from './useClip.js';

/**
 * MAX_ITEMS is the API's default batch size, used only when its profiles
 * answer does not tell the deployment's (limits.max_batch_items).
 */
export const MAX_ITEMS = 100;

/** LINE_HEIGHT_PX is the height of one line in the batch box and its gutter (they must agree). */
export const LINE_HEIGHT_PX = 26;
const BOX_PAD_PX = 10;

/**
 * stripes paints the bad lines of the box: a background that scrolls with
 * the text (background-attachment: local), one tinted band per bad line.
 */
function stripes(rows) {
  if (rows.length === 0) return undefined;
  const tint = 'rgb(180 35 24 / 12%)';
  const stops = rows.flatMap((r) => {
    const top = BOX_PAD_PX + (r - 1) * LINE_HEIGHT_PX;
    return [`transparent ${top}px`, `${tint} ${top}px`, `${tint} ${top + LINE_HEIGHT_PX}px`, `transparent ${top + LINE_HEIGHT_PX}px`];
  });
  return `linear-gradient(to bottom, transparent 0, ${stops.join(', ')}, transparent 100%)`;
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

/**
 * CostNote says what a batch costs against the fan's allowance before it
 * is sent (the API counts one clip per line) and offers a size that does
 * not lock them out.
 */
function CostNote({ quote, id, onSendSafe, busy }) {
  if (!quote.limited || quote.cost === 0) return null;
  const n = quote.cost;
  const clips = (k) => `${k.toLocaleString('en')} clip${k === 1 ? '' : 's'}`;
  let words;
  if (!quote.admitted) {
    words = `You can send ${n === 1 ? 'this clip' : `these ${clips(n)}`} in about ${formatWait(quote.waitBefore)}: your recent clips used your allowance.`;
  } else if (quote.waitAfter === 0) {
    words = `Each line is one clip of your allowance. After ${n === 1 ? 'this clip' : `these ${clips(n)}`} you can go on making clips right away.`;
  } else {
    words = `${n === 1 ? 'This clip uses' : `These ${clips(n)} use`} up your allowance: after sending, you'll wait about ${formatWait(quote.waitAfter)} before your next clip.`
      + (quote.safeSize > 0 ? ` Send ${quote.safeSize} or fewer to keep going without a wait.` : '');
  }
  return (
    <div className="cost-note" id={id} data-testid="batch-cost">
      <p>{words}</p>
      {quote.admitted && quote.waitAfter > 0 && quote.safeSize > 0 ? (
        <button type="button" className="btn btn-secondary" onClick={onSendSafe} aria-disabled={busy ? 'true' : undefined}>
          Make the first {quote.safeSize} now
        </button>
      ) : null}
    </div>
  );
}

/**
 * BatchPage: paste several lines, one job per line, watch them complete.
 * Lines are numbered as in the box; a line the API would refuse is marked
 * in place (its number, a tinted band, and a list with "Go to line") and
 * the valid lines can still be sent. The page says what the batch costs
 * against the fan's allowance first. What is typed, and the batch being
 * made, survive leaving the page and reloading.
 */
export function BatchPage({ memberId: initialMemberId }) {
  const { client, config, limits, format, ledger, members, memberById, addResult, updateResult } = useChorus();
  const maxItems = limits.maxBatchItems ?? MAX_ITEMS;
  const clipClient = useMemo(() => audioClient(client), [client]);
  const ids = useId();
  const [draft, setDraft] = useDraft('batch', { memberId: initialMemberId || '', text: '', speed: 1, batchId: '', sent: [] });
  const { memberId, text, speed } = draft;
  const [error, setError] = useState({ field: '', message: '' });
  const [rows, setRows] = useState([]);
  const [phase, setPhase] = useState('edit');
  const [rejected, setRejected] = useState([]);
  const [notice, setNotice] = useState('');
  const [stalled, setStalled] = useState(false);
  const [, tick] = useState(0);
  const abortRef = useRef(null);
  const textRef = useRef(null);
  const gutterRef = useRef(null);
  const problemsRef = useRef(null);
  // After a refusal, focus goes to the list of problems once it shows.
  const focusProblems = useRef(false);
  useEffect(() => {
    if (focusProblems.current && problemsRef.current) {
      focusProblems.current = false;
      problemsRef.current.focus();
    }
  });

  useEffect(() => () => abortRef.current?.abort(), []);
  useEffect(() => {
    if (initialMemberId) setDraft({ memberId: initialMemberId });
  }, [initialMemberId, setDraft]);
  useEffect(() => {
    if (!memberId && members.list.length > 0) setDraft({ memberId: members.list[0].id });
  }, [memberId, members.list, setDraft]);
  // The allowance refills with time: look again every few seconds while the page shows a cost.
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 5000);
    return () => clearInterval(t);
  }, []);

  const member = memberById(memberId);
  const lines = parseLines(text);
  const ctx = { maxTextChars: limits.maxTextChars, lang: member?.voice?.language, memberName: member?.name };
  const problems = lineProblems(lines, ctx, rejected);
  const badRows = [...problems.keys()];
  const valid = lines.filter((l) => !problems.has(l.row));
  const tooMany = valid.length > maxItems;
  const quote = ledger.quote(Math.min(valid.length, maxItems));
  const busy = phase === 'running';
  const foreign = languageWarning(valid.map((l) => l.text).join('\n'), member?.voice?.language, member?.name);

  // Poll a batch (just sent, or resumed after a reload) until every line has ended.
  async function follow(batchId, sent, forMember, ac) {
    let current = sent.map((x) => ({ job_id: x.job_id, status: 'queued', text: x.text, row: x.row, member_id: forMember?.id || memberId }));
    setRows(current);
    const saved = new Set();
    const merge = (b) => {
      const byId = new Map((b.jobs || []).map((j) => [j.job_id, j]));
      current = current.map((r) => ({ ...r, ...(byId.get(r.job_id) || {}) }));
      for (const r of current) {
        if (r.status === 'succeeded' && !saved.has(r.job_id)) {
          saved.add(r.job_id);
          addResult(fromJob(r, forMember || memberById(r.member_id)));
        }
      }
      setRows(current);
    };
    // The deployment's deadline bounds a wait without progress: while
    // clips keep finishing the page keeps waiting; when none has for that
    // long it says so, keeps the batch, and offers to check again.
    const finished = () => current.filter((r) => isTerminal(r.status)).length;
    for (;;) {
      const before = finished();
      try {
        await client.pollBatch(batchId, { signal: ac.signal, onUpdate: merge, deadlineMs: config.jobDeadlineSeconds * 1000 });
        break;
      } catch (err) {
        if (err?.code !== 'job_timeout' || finished() === before) throw err;
      }
    }
    setDraft({ batchId: '', sent: [] });
    setPhase('done');
  }

  // A batch given up on (or one that stalled) is checked on again.
  function resume() {
    if (!draft.batchId || !Array.isArray(draft.sent) || draft.sent.length === 0) return;
    abortRef.current?.abort();
    const ac = new AbortController();
    abortRef.current = ac;
    setError({ field: '', message: '' });
    setStalled(false);
    setPhase('running');
    follow(draft.batchId, draft.sent, null, ac).catch((err) => failed(err, ac));
  }

  function failed(err, ac) {
    if (ac.signal.aborted) return;
    setPhase('edit');
    if (err?.code === 'job_timeout') {
      setStalled(true); // the batch stays in the draft: "Check again" resumes it
      return;
    }
    setDraft({ batchId: '', sent: [] });
    setError({ field: 'form', message: friendlyMessage(err) });
  }

  // A batch on its way when the page was left or reloaded: show it again.
  useEffect(() => {
    resume();
    // Only on arrival.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  function goToLine(row) {
    const box = textRef.current;
    if (!box) return;
    box.focus();
    const [a, b] = rangeOf(text, row);
    box.setSelectionRange(a, b);
    box.scrollTop = Math.max(0, (row - 3) * LINE_HEIGHT_PX);
    syncGutter();
  }
  function syncGutter() {
    if (gutterRef.current && textRef.current) gutterRef.current.scrollTop = textRef.current.scrollTop;
  }

  async function send(limit = Infinity) {
    if (busy) return;
    setNotice('');
    if (!member) {
      setError({ field: 'member_id', message: friendlyMessage({ code: 'member_not_found' }) });
      return;
    }
    if (valid.length === 0) {
      setError({ field: 'text', message: lines.length === 0 ? friendlyMessage({ code: 'no_items' })
        : `Nothing to send: ${listRows(badRows)} ${badRows.length === 1 ? 'needs' : 'need'} fixing first.` });
      textRef.current?.focus();
      return;
    }
    setError({ field: '', message: '' });
    abortRef.current?.abort();
    const ac = new AbortController();
    abortRef.current = ac;
    const chosen = valid.slice(0, Math.min(limit, maxItems));
    const items = chosen.map((l) => ({ memberId, text: l.text, speed, format, requestId: newRequestId() }));
    setPhase('running');
    try {
      const res = await client.batch(items, { signal: ac.signal });
      if (!Array.isArray(res.jobs) || res.jobs.length !== items.length) {
        throw new ApiError({ code: 'bad_response', message: 'batch answer does not list one job per line' });
      }
      ledger.spend(items.length, { batch: true });
      const sent = res.jobs.map((j, i) => ({ job_id: j.job_id, text: chosen[i].text, row: chosen[i].row }));
      const partial = chosen.length < lines.length;
      // Lines sent leave the box when some stay behind (skipped or for later); a whole batch stays as typed.
      if (partial) {
        const left = lines.length - chosen.length;
        setDraft({ text: withoutRows(text, chosen.map((l) => l.row)), batchId: res.batch_id, sent });
        setRejected([]);
        setNotice(`Sent ${chosen.length} line${chosen.length === 1 ? '' : 's'}; the other ${left} ${left === 1 ? 'is' : 'are'} still in the box.`);
      } else {
        setDraft({ batchId: res.batch_id, sent });
      }
      await follow(res.batch_id, sent, member, ac);
    } catch (err) {
      if (ac.signal.aborted) return;
      if (err?.code === 'job_timeout') {
        failed(err, ac);
        return;
      }
      setPhase('edit');
      setDraft({ batchId: '', sent: [] });
      if (err instanceof ApiError && err.code === 'rate_limited') ledger.refused(items.length, err.retryAfter);
      const msgCtx = { maxTextChars: limits.maxTextChars, maxItems, memberName: member?.name, blame: err?.code === 'rate_limited' ? ledger.blame() : null };
      const line = rejectionFor(err, chosen, msgCtx);
      if (line) {
        setRejected((r) => [...r.filter((x) => x.row !== line.row), line]);
        setError({ field: 'text', message: `Chorus refused line ${line.row}: ${line.message}. The other lines can still be sent.` });
        focusProblems.current = true;
        return;
      }
      const { field } = fieldOf(err);
      setError({ field: field === 'text' || field === 'member_id' || field === 'speed' ? field : 'form', message: friendlyMessage(err, msgCtx) });
    }
  }

  function submit(e) {
    e.preventDefault();
    send();
  }

  const done = rows.filter((r) => isTerminal(r.status)).length;
  const errId = `${ids}-error`;
  const sendCount = Math.min(valid.length, maxItems);
  const describedBy = [`${ids}-count`, badRows.length ? `${ids}-problems` : '', foreign ? `${ids}-language` : '', error.field === 'text' ? errId : '', quote.limited && sendCount ? `${ids}-cost` : '']
    .filter(Boolean).join(' ');
  const accent = accentFor(memberId || 'chorus');
  const total = rowCount(text);

  return (
    <div style={{ '--accent': accent.accent, '--accent-strong': accent.strong, '--accent-soft': accent.soft }}>
      <PageTitle>Batch</PageTitle>
      <p className="lede">Paste several lines. Each line becomes its own clip.</p>
      <form className="card form" onSubmit={submit} noValidate aria-busy={busy}>
        <div className="field">
          <label htmlFor={`${ids}-member`}>Member</label>
          <select id={`${ids}-member`} value={memberId} disabled={busy || members.phase !== 'ready'}
            onChange={(e) => { setDraft({ memberId: e.target.value }); setRejected([]); }}
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
          <div className="lines-editor">
            <div className="lines-gutter" ref={gutterRef} aria-hidden="true" data-testid="line-numbers">
              {Array.from({ length: total }, (_, i) => (
                <span key={i} className={problems.has(i + 1) ? 'line-bad' : undefined}>{i + 1}</span>
              ))}
            </div>
            <textarea id={`${ids}-text`} ref={textRef} rows={7} value={text} readOnly={busy} wrap="off" spellCheck="true"
              placeholder={'Good morning!\n오늘도 화이팅!\nSee you at the concert 🎤'}
              style={{ backgroundImage: stripes(badRows), lineHeight: `${LINE_HEIGHT_PX}px` }}
              onScroll={syncGutter}
              onChange={(e) => { setDraft({ text: e.target.value }); setNotice(''); if (error.field === 'text') setError({ field: '', message: '' }); }}
              aria-invalid={error.field === 'text' || badRows.length > 0 ? 'true' : undefined}
              aria-describedby={describedBy} />
          </div>
          <div className="field-foot">
            <span id={`${ids}-count`} className={`count${tooMany ? ' count-over' : ''}`}>
              {lines.length} line{lines.length === 1 ? '' : 's'} · up to {maxItems} per batch{tooMany ? ` (the rest stay in the box for the next one)` : ''}, {limits.maxTextChars.toLocaleString('en')} characters each
            </span>
          </div>
          {badRows.length > 0 ? (
            <div className="line-problems" id={`${ids}-problems`} tabIndex={-1} ref={problemsRef} data-testid="line-problems">
              <p className="line-problems-title" role="status">
                {badRows.length === 1 ? 'Line' : 'Lines'} {badRows.join(', ')} can't be sent as {badRows.length === 1 ? 'it is' : 'they are'}
                {valid.length > 0 ? `; the other ${valid.length} can.` : '.'}
              </p>
              <ul>
                {badRows.slice(0, 20).map((r) => (
                  <li key={r} data-testid="line-problem">
                    <span><strong>Line {r}:</strong> {problems.get(r).message}</span>
                    <button type="button" className="btn btn-quiet btn-small" onClick={() => goToLine(r)}>Go to line {r}</button>
                  </li>
                ))}
              </ul>
              {badRows.length > 20 ? <p className="muted small">…and {badRows.length - 20} more.</p> : null}
            </div>
          ) : null}
          {foreign ? <p className="hint hint-warn" id={`${ids}-language`} role="status" data-testid="language-warning">{foreign}</p> : null}
          {error.field === 'text' ? <p className="field-error" id={errId} role="alert">{error.message}</p> : null}
          {notice ? <p className="notice notice-info" role="status">{notice}</p> : null}
        </div>
        <div className="field">
          <label htmlFor={`${ids}-speed`}>Speed <output htmlFor={`${ids}-speed`} className="speed-value">{speed.toFixed(1)}×</output></label>
          <div className="speed-row">
            <span aria-hidden="true" className="muted small">Slower</span>
            <input id={`${ids}-speed`} type="range" min={MIN_SPEED} max={MAX_SPEED} step={0.1} value={speed}
              onChange={(e) => setDraft({ speed: Number(e.target.value) })} aria-valuetext={`${speed.toFixed(1)} times`} />
            <span aria-hidden="true" className="muted small">Faster</span>
          </div>
          {error.field === 'speed' ? <p className="field-error" role="alert">{error.message}</p> : null}
        </div>
        <CostNote quote={quote} id={`${ids}-cost`} busy={busy} onSendSafe={() => send(quote.safeSize)} />
        {error.field === 'form' ? <p className="field-error form-error" role="alert">{error.message}</p> : null}
        <div className="actions">
          <button type="submit" className="btn btn-primary" aria-disabled={busy || sendCount === 0 ? 'true' : undefined}>
            {busy ? 'Working…' : sendCount === 0 ? 'Make clips' : tooMany ? `Make the first ${maxItems} clips`
              : `Make ${sendCount} clip${sendCount === 1 ? '' : 's'}${badRows.length ? `, skipping ${listRows(badRows)}` : ''}`}
          </button>
        </div>
      </form>

      {rows.length > 0 ? (
        <section className="card batch-results" aria-labelledby={`${ids}-results`}>
          <h2 id={`${ids}-results`} className="small-title">Clips</h2>
          <p role="status" aria-live="polite" className="batch-summary">
            {done} of {rows.length} done{done === rows.length ? ' 🎉' : '…'}
          </p>
          {stalled ? (
            <div className="notice notice-warn" role="alert" data-testid="batch-stalled">
              <p>{`No clip of this batch has finished in over ${formatWait(config.jobDeadlineSeconds)}: Chorus may be very busy or short of voices right now. The clips that finish are kept in Recent.`}</p>
              <button type="button" className="btn btn-secondary" onClick={resume}>Check again</button>
            </div>
          ) : null}
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
