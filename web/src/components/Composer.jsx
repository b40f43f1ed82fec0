import { useEffect, useId, useRef, useState } from 'react';
import { useChorus } from '../context.jsx';
import { ApiError, newRequestId } from '../lib/api.js';
import { useDraft } from '../lib/draft.js';
import { accentFor } from '../lib/identity.js';
import { languageWarning } from '../lib/language.js';
import { countChars, fieldOf, friendlyMessage } from '../lib/messages.js';
import { isPending, pendingEntry } from '../lib/recent.js';
import { href } from '../lib/router.js';
import { speakable } from '../lib/speakable.js';
import { JobProgress } from './JobProgress.jsx';
import { ResultPlayer } from './ResultPlayer.jsx';

export const MIN_SPEED = 0.5;
export const MAX_SPEED = 2.0;

/** checkLocally finds the errors the server would report, before sending (lang: the voice's language). */
export function checkLocally({ memberId, text, speed, maxTextChars, lang = '' }) {
  if (!memberId) return new ApiError({ code: 'member_not_found', field: 'member_id' });
  if (text.trim() === '') return new ApiError({ code: 'text_required', field: 'text' });
  if (countChars(text) > maxTextChars) return new ApiError({ code: 'text_too_long', field: 'text' });
  if (!speakable(text, lang)) return new ApiError({ code: 'text_unspeakable', field: 'text' });
  if (!(speed >= MIN_SPEED && speed <= MAX_SPEED)) return new ApiError({ code: 'speed_out_of_range', field: 'speed' });
  return null;
}

/**
 * Composer: pick a member (unless fixed), type text, choose speed, submit.
 * The clip goes to Recent at once (pending) and the app's tracker resolves
 * it there; the composer shows its progress and then the player, and what
 * the fan typed (and the clip they wait for) is a draft that survives
 * leaving the page and reloading. prefill ({text}) replaces the text
 * whenever a new object is passed.
 */
export function Composer({ member: fixedMember = null, initialMemberId = '', prefill = null }) {
  const { client, config, limits, format, ledger, now, members, memberById, recent, addResult, checkAgain } = useChorus();
  const ids = useId();
  const [draft, setDraft] = useDraft(fixedMember ? `member:${fixedMember.id}` : 'compose',
    { memberId: fixedMember?.id || initialMemberId, text: '', speed: 1, jobId: '' });
  const { text, speed, jobId } = draft;
  const memberId = fixedMember?.id || draft.memberId;
  const [errors, setErrors] = useState({});
  const [sending, setSending] = useState(false);
  const abortRef = useRef(null);
  const textRef = useRef(null);
  const speedRef = useRef(null);
  const memberRef = useRef(null);
  const formErrorRef = useRef(null);
  const submitRef = useRef(null);
  // A result takes focus only when the fan watched it being made here.
  const sawWaiting = useRef('');

  // Leaving the page does not abort a request on its way: the clip it
  // makes still reaches Recent (the context outlives this page).
  useEffect(() => {
    if (!fixedMember && !draft.memberId && members.list.length > 0) setDraft({ memberId: initialMemberId || members.list[0].id });
  }, [fixedMember, draft.memberId, members.list, initialMemberId, setDraft]);
  useEffect(() => {
    if (initialMemberId && !fixedMember) setDraft({ memberId: initialMemberId });
  }, [initialMemberId, fixedMember, setDraft]);
  useEffect(() => {
    if (prefill) {
      setDraft({ text: prefill.text });
      setErrors({});
      textRef.current?.focus();
    }
  }, [prefill, setDraft]);

  const member = fixedMember || memberById(memberId) || null;
  const max = limits.maxTextChars;
  const chars = countChars(text);
  const over = chars > max;
  // Text the voice cannot say is refused as it is typed: send stays off.
  const unspeakable = text.trim() !== '' && !speakable(text, member?.voice?.language);
  // Text in a language the voice does not speak is sent all the same, with a word of warning.
  const foreign = unspeakable ? '' : languageWarning(text, member?.voice?.language, member?.name);
  const accent = accentFor(memberId || 'chorus');
  const ctx = { maxTextChars: max, memberName: member?.name, deadlineSeconds: config.jobDeadlineSeconds };
  // The clip this composer made last, as Recent has it now.
  const clip = jobId ? recent.find((e) => e.jobId === jobId) || null : null;
  const waiting = Boolean(clip && isPending(clip) && !clip.stalled);

  function showError(err) {
    const { field } = fieldOf(err);
    setErrors({ [field]: friendlyMessage(err, { ...ctx, blame: err?.code === 'rate_limited' ? ledger.blame() : null }) });
    const target = { text: textRef, speed: speedRef, member_id: memberRef, form: formErrorRef }[field];
    queueMicrotask(() => target?.current?.focus());
  }

  // A clip that failed is explained where the fan is.
  const failed = clip?.status === 'failed' ? clip : null;
  useEffect(() => {
    if (failed && sawWaiting.current === failed.jobId) showError({ code: failed.error?.code || 'job_failed', message: failed.error?.message || '', field: '' });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [failed?.jobId]);

  async function submit(e) {
    e.preventDefault();
    if (sending || waiting) return;
    const local = checkLocally({ memberId, text, speed, maxTextChars: max, lang: member?.voice?.language });
    if (local) {
      showError(local);
      return;
    }
    setErrors({});
    abortRef.current?.abort();
    const ac = new AbortController();
    abortRef.current = ac;
    setSending(true);
    try {
      const queued = await client.synthesize({ memberId, text, speed, format, requestId: newRequestId() }, { signal: ac.signal });
      ledger.spend(1);
      addResult(pendingEntry({ jobId: queued.job_id, status: queued.status || 'queued', member, memberId, text, speed, format, now: new Date(now()).toISOString() }));
      sawWaiting.current = queued.job_id;
      setDraft({ jobId: queued.job_id });
    } catch (err) {
      if (ac.signal.aborted) return;
      if (err instanceof ApiError && err.code === 'rate_limited') ledger.refused(1, err.retryAfter);
      showError(err);
    } finally {
      if (!ac.signal.aborted) setSending(false);
    }
  }

  const busy = sending || waiting;
  if (waiting) sawWaiting.current = clip.jobId;
  // The result takes focus only from the button that asked for it (or from
  // nowhere): a fan who moved on while waiting keeps their place.
  const focusWaits = () => {
    const a = document.activeElement;
    return !a || a === document.body || a === submitRef.current;
  };
  const errId = (f) => `${ids}-${f}-error`;
  const describedBy = (...parts) => parts.filter(Boolean).join(' ') || undefined;

  return (
    <div className="composer" style={{ '--accent': accent.accent, '--accent-strong': accent.strong, '--accent-soft': accent.soft }}>
      <form className="card form" onSubmit={submit} noValidate aria-busy={busy}>
        {!fixedMember ? (
          <div className="field">
            <label htmlFor={`${ids}-member`}>Member</label>
            <select id={`${ids}-member`} ref={memberRef} value={memberId} disabled={busy || members.phase !== 'ready'}
              onChange={(e) => { setDraft({ memberId: e.target.value }); setErrors({}); }}
              aria-invalid={errors.member_id ? 'true' : undefined} aria-describedby={describedBy(errors.member_id && errId('member_id'))}>
              {members.phase !== 'ready' ? <option value="">Loading members…</option> : null}
              {members.list.map((m) => (
                <option key={m.id} value={m.id}>{m.name}{m.group ? ` · ${m.group}` : ''}{m.voice?.demo ? ' (demo voice)' : ''}</option>
              ))}
            </select>
            {member?.voice?.demo ? <p className="hint">{member.name} speaks with a demo voice: a generated practice voice, not their real one.</p> : null}
            {errors.member_id ? <p className="field-error" id={errId('member_id')} role="alert">{errors.member_id}</p> : null}
          </div>
        ) : null}

        <div className="field">
          <label htmlFor={`${ids}-text`}>What should {member?.name || 'they'} say?</label>
          <textarea id={`${ids}-text`} ref={textRef} rows={4} value={text} disabled={busy}
            placeholder="안녕하세요! Type anything — Korean and emoji welcome 💜"
            onChange={(e) => { setDraft({ text: e.target.value }); if (errors.text) setErrors((x) => ({ ...x, text: undefined })); }}
            aria-invalid={errors.text || over || unspeakable ? 'true' : undefined}
            aria-describedby={describedBy(`${ids}-count`, errors.text ? errId('text') : unspeakable && errId('unspeakable'), foreign && `${ids}-language`)} />
          <div className="field-foot">
            <span id={`${ids}-count`} className={`count${over ? ' count-over' : ''}`} data-testid="char-count">
              {chars.toLocaleString('en')} / {max.toLocaleString('en')} characters{over ? ` · ${(chars - max).toLocaleString('en')} too many` : ''}
            </span>
          </div>
          {errors.text ? <p className="field-error" id={errId('text')} role="alert" data-testid="text-error">{errors.text}</p> : null}
          {foreign ? <p className="hint hint-warn" id={`${ids}-language`} role="status" data-testid="language-warning">{foreign}</p> : null}
          {unspeakable && !errors.text ? (
            <p className="field-error" id={errId('unspeakable')} role="status" data-testid="unspeakable">{friendlyMessage({ code: 'text_unspeakable' }, ctx)}</p>
          ) : null}
        </div>

        <div className="field">
          <label htmlFor={`${ids}-speed`}>Speed <output htmlFor={`${ids}-speed`} className="speed-value">{speed.toFixed(1)}×</output></label>
          <div className="speed-row">
            <span aria-hidden="true" className="muted small">Slower</span>
            <input id={`${ids}-speed`} ref={speedRef} type="range" min={MIN_SPEED} max={MAX_SPEED} step={0.1} value={speed}
              onChange={(e) => setDraft({ speed: Number(e.target.value) })}
              aria-valuetext={`${speed.toFixed(1)} times`} aria-invalid={errors.speed ? 'true' : undefined}
              aria-describedby={describedBy(errors.speed && errId('speed'))} />
            <span aria-hidden="true" className="muted small">Faster</span>
          </div>
          {errors.speed ? <p className="field-error" id={errId('speed')} role="alert">{errors.speed}</p> : null}
        </div>

        {errors.form ? (
          <p className="field-error form-error" id={errId('form')} role="alert" tabIndex={-1} ref={formErrorRef}>{errors.form}</p>
        ) : null}

        <div className="actions">
          {/* While a clip is on its way the button says so and ignores
              presses, but stays focusable: focus never drops to the page. */}
          <button type="submit" ref={submitRef} className="btn btn-primary" disabled={unspeakable} aria-disabled={busy ? 'true' : undefined}>
            {busy ? 'Working…' : `Hear ${member?.name || 'it'} say it`}
          </button>
        </div>
      </form>

      {sending ? <JobProgress status="sending" memberName={member?.name} /> : null}
      {!sending && waiting ? (
        <JobProgress status={clip.status} memberName={clip.memberName || member?.name}
          hint={<>You can keep browsing: the clip waits for you in <a href={href.recent()}>Recent</a>.</>} />
      ) : null}
      {!sending && clip?.stalled ? (
        <div className="notice notice-warn" role="alert" data-testid="stalled">
          <p>{friendlyMessage(clip.error?.code === 'job_timeout' ? clip.error : { code: 'job_timeout' }, ctx)}</p>
          <button type="button" className="btn btn-secondary" onClick={() => checkAgain(clip.jobId)}>Check again</button>
        </div>
      ) : null}
      {!sending && clip?.status === 'succeeded' ? <ResultPlayer key={clip.jobId} entry={clip} autoFocus={sawWaiting.current === clip.jobId && focusWaits()} /> : null}
    </div>
  );
}
