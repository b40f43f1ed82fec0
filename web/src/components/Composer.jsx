import { useEffect, useId, useRef, useState } from 'react';
import { useChorus } from '../context.jsx';
import { ApiError, newRequestId } from '../lib/api.js';
import { accentFor } from '../lib/identity.js';
import { countChars, fieldOf, friendlyMessage } from '../lib/messages.js';
import { fromJob } from '../lib/recent.js';
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
 * Composer: pick a member (unless fixed), type text, choose speed, submit;
 * then progress while the job is queued or running, then the player.
 * prefill ({text}) replaces the text whenever a new object is passed.
 */
export function Composer({ member: fixedMember = null, initialMemberId = '', prefill = null }) {
  const { client, limits, format, members, memberById, addResult } = useChorus();
  const ids = useId();
  const [memberId, setMemberId] = useState(fixedMember?.id || initialMemberId);
  const [text, setText] = useState('');
  const [speed, setSpeed] = useState(1);
  const [errors, setErrors] = useState({});
  const [phase, setPhase] = useState('edit'); // edit | sending | waiting | done
  const [job, setJob] = useState(null);
  const [result, setResult] = useState(null);
  const abortRef = useRef(null);
  const textRef = useRef(null);
  const speedRef = useRef(null);
  const memberRef = useRef(null);
  const formErrorRef = useRef(null);

  useEffect(() => () => abortRef.current?.abort(), []);
  useEffect(() => {
    if (fixedMember) setMemberId(fixedMember.id);
  }, [fixedMember]);
  useEffect(() => {
    if (!fixedMember && !memberId && members.list.length > 0) setMemberId(initialMemberId || members.list[0].id);
  }, [fixedMember, memberId, members.list, initialMemberId]);
  useEffect(() => {
    if (prefill) {
      setText(prefill.text);
      setErrors({});
      textRef.current?.focus();
    }
  }, [prefill]);

  const member = fixedMember || memberById(memberId) || null;
  const max = limits.maxTextChars;
  const chars = countChars(text);
  const over = chars > max;
  // Text the voice cannot say is refused as it is typed: send stays off.
  const unspeakable = text.trim() !== '' && !speakable(text, member?.voice?.language);
  const accent = accentFor(memberId || 'chorus');
  const ctx = { maxTextChars: max, memberName: member?.name };

  function showError(err) {
    const { field } = fieldOf(err);
    setErrors({ [field]: friendlyMessage(err, ctx) });
    const target = { text: textRef, speed: speedRef, member_id: memberRef, form: formErrorRef }[field];
    queueMicrotask(() => target?.current?.focus());
  }

  async function submit(e) {
    e.preventDefault();
    if (phase === 'sending' || phase === 'waiting') return;
    const local = checkLocally({ memberId, text, speed, maxTextChars: max, lang: member?.voice?.language });
    if (local) {
      showError(local);
      return;
    }
    setErrors({});
    setResult(null);
    abortRef.current?.abort();
    const ac = new AbortController();
    abortRef.current = ac;
    setPhase('sending');
    try {
      const queued = await client.synthesize({ memberId, text, speed, format, requestId: newRequestId() }, { signal: ac.signal });
      setJob({ job_id: queued.job_id, status: queued.status || 'queued' });
      setPhase('waiting');
      const final = await client.pollJob(queued.job_id, { signal: ac.signal, onUpdate: setJob });
      if (final.status === 'failed') {
        setPhase('edit');
        showError({ code: final.error?.code || 'job_failed', message: final.error?.message || '' , field: '' });
        return;
      }
      const entry = fromJob(final, member);
      addResult(entry);
      setResult(entry);
      setPhase('done');
    } catch (err) {
      if (ac.signal.aborted) return;
      setPhase('edit');
      showError(err);
    }
  }

  function cancel() {
    abortRef.current?.abort();
    setPhase('edit');
    setJob(null);
  }

  const busy = phase === 'sending' || phase === 'waiting';
  const errId = (f) => `${ids}-${f}-error`;
  const describedBy = (...parts) => parts.filter(Boolean).join(' ') || undefined;

  return (
    <div className="composer" style={{ '--accent': accent.accent, '--accent-strong': accent.strong, '--accent-soft': accent.soft }}>
      <form className="card form" onSubmit={submit} noValidate aria-busy={busy}>
        {!fixedMember ? (
          <div className="field">
            <label htmlFor={`${ids}-member`}>Member</label>
            <select id={`${ids}-member`} ref={memberRef} value={memberId} disabled={busy || members.phase !== 'ready'}
              onChange={(e) => { setMemberId(e.target.value); setErrors({}); }}
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
            onChange={(e) => { setText(e.target.value); if (errors.text) setErrors((x) => ({ ...x, text: undefined })); }}
            aria-invalid={errors.text || over || unspeakable ? 'true' : undefined}
            aria-describedby={describedBy(`${ids}-count`, errors.text ? errId('text') : unspeakable && errId('unspeakable'))} />
          <div className="field-foot">
            <span id={`${ids}-count`} className={`count${over ? ' count-over' : ''}`} data-testid="char-count">
              {chars.toLocaleString('en')} / {max.toLocaleString('en')} characters{over ? ` · ${(chars - max).toLocaleString('en')} too many` : ''}
            </span>
          </div>
          {errors.text ? <p className="field-error" id={errId('text')} role="alert" data-testid="text-error">{errors.text}</p> : null}
          {unspeakable && !errors.text ? (
            <p className="field-error" id={errId('unspeakable')} role="status" data-testid="unspeakable">{friendlyMessage({ code: 'text_unspeakable' }, ctx)}</p>
          ) : null}
        </div>

        <div className="field">
          <label htmlFor={`${ids}-speed`}>Speed <output htmlFor={`${ids}-speed`} className="speed-value">{speed.toFixed(1)}×</output></label>
          <div className="speed-row">
            <span aria-hidden="true" className="muted small">Slower</span>
            <input id={`${ids}-speed`} ref={speedRef} type="range" min={MIN_SPEED} max={MAX_SPEED} step={0.1} value={speed}
              disabled={busy} onChange={(e) => setSpeed(Number(e.target.value))}
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
          <button type="submit" className="btn btn-primary" disabled={busy || unspeakable}>
            {busy ? 'Working…' : `Hear ${member?.name || 'it'} say it`}
          </button>
          {busy ? <button type="button" className="btn btn-quiet" onClick={cancel}>Stop waiting</button> : null}
        </div>
      </form>

      {busy ? <JobProgress status={phase === 'sending' ? 'sending' : job?.status} memberName={member?.name} /> : null}
      {phase === 'done' && result ? <ResultPlayer key={result.jobId} entry={result} autoFocus /> : null}
    </div>
  );
}
