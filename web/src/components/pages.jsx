import { forwardRef, useEffect, useMemo, useRef, useState } from 'react';
import { useChorus } from '../context.jsx';
import { accentFor } from '../lib/identity.js';
import { friendlyMessage } from '../lib/messages.js';
import { isPending, MAX_RECENT } from '../lib/recent.js';
import { href } from '../lib/router.js';
import { formatDuration } from '../lib/wav.js';
import { Avatar } from './Avatar.jsx';
import { Composer } from './Composer.jsx';
import { DemoBadge } from './DemoBadge.jsx';
import { ResultPlayer } from './ResultPlayer.jsx';

/** textOf flattens React children to their text (for the document title). */
function textOf(node) {
  if (node === null || node === undefined || typeof node === 'boolean') return '';
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (Array.isArray(node)) return node.map(textOf).join('');
  return textOf(node.props?.children);
}

/**
 * PageTitle is the page's h1; it takes focus after navigation so screen
 * readers announce the page, and names the browser tab ("Mina · Chorus").
 */
export const PageTitle = forwardRef(function PageTitle({ children, className = '', docTitle }, ref) {
  const title = (docTitle ?? textOf(children)).replace(/\s+/g, ' ').trim();
  useEffect(() => {
    document.title = title ? `${title} · Chorus` : 'Chorus';
  }, [title]);
  return (
    <h1 ref={ref} className={`page-title ${className}`} tabIndex={-1} data-page-title>
      {children}
    </h1>
  );
});

function LoadError({ error, onRetry }) {
  return (
    <div className="notice notice-error" role="alert">
      <p>{friendlyMessage(error)}</p>
      {onRetry ? <button type="button" className="btn btn-secondary" onClick={onRetry}>Try again</button> : null}
    </div>
  );
}

function MemberCard({ member }) {
  const c = accentFor(member.id);
  return (
    <li className="member-card" style={{ '--accent': c.accent, '--accent-soft': c.soft, '--glow': c.glow }}>
      <a href={href.member(member.id)} className="member-link" data-testid="member-card">
        <Avatar member={member} size={112} />
        <span className="member-name">{member.name}</span>
        {member.bio ? <span className="member-bio">{member.bio}</span> : null}
        <DemoBadge voice={member.voice} />
      </a>
    </li>
  );
}

/** MembersPage: the grid of members, grouped by group. */
export function MembersPage() {
  const { members, reloadMembers } = useChorus();
  const groups = useMemo(() => {
    const m = new Map();
    for (const x of members.list) {
      const g = x.group || '';
      if (!m.has(g)) m.set(g, []);
      m.get(g).push(x);
    }
    return [...m.entries()];
  }, [members.list]);
  const single = groups.length === 1 ? groups[0][0] : '';

  return (
    <>
      <div className="hero">
        <PageTitle docTitle="Members">{single ? <>Hear <span className="brand-text">{single}</span> say anything</> : 'Hear your favourite members say anything'}</PageTitle>
        <p className="lede">Pick a member, type a sentence, and hear it in their voice.</p>
      </div>
      {members.phase === 'loading' ? <p className="muted" role="status">Loading members…</p> : null}
      {members.phase === 'error' ? <LoadError error={members.error} onRetry={reloadMembers} /> : null}
      {members.phase === 'ready' && members.list.length === 0 ? <p className="muted">No members yet. Check back soon.</p> : null}
      {groups.map(([group, list]) => (
        <section key={group} aria-labelledby={`group-${group || 'none'}`} className="group">
          <h2 id={`group-${group || 'none'}`} className={single ? 'visually-hidden' : 'group-title'}>{group || 'Members'}</h2>
          <ul className="member-grid">
            {list.map((m) => <MemberCard key={m.id} member={m} />)}
          </ul>
        </section>
      ))}
    </>
  );
}

/** MemberPage: the profile, a sample sentence to try, and the composer for this member. */
export function MemberPage({ id }) {
  const { client, members, memberById } = useChorus();
  const listed = memberById(id);
  const [fetched, setFetched] = useState({ phase: 'idle' });
  const [prefill, setPrefill] = useState(null);

  // A member not in the list (deep link before the list loads, or the list
  // failed) is fetched on its own.
  useEffect(() => {
    if (listed || members.phase === 'loading') return undefined;
    const ac = new AbortController();
    setFetched({ phase: 'loading' });
    client.getMember(id, { signal: ac.signal }).then(
      (member) => setFetched({ phase: 'ready', member }),
      (error) => !ac.signal.aborted && setFetched({ phase: 'error', error }),
    );
    return () => ac.abort();
  }, [client, id, listed, members.phase]);

  const member = listed || fetched.member;
  if (!member) {
    if (fetched.phase === 'error') {
      return (
        <>
          <PageTitle>Member not found</PageTitle>
          <LoadError error={fetched.error} />
          <p><a href={href.members()}>See all members</a></p>
        </>
      );
    }
    return <p className="muted" role="status">Loading…</p>;
  }

  const c = accentFor(member.id);
  return (
    <div className="member-page" style={{ '--accent': c.accent, '--accent-strong': c.strong, '--accent-soft': c.soft, '--glow': c.glow }}>
      <p className="crumbs"><a href={href.members()}>← All members</a></p>
      <section className="profile card">
        <Avatar member={member} size={168} decorative={false} />
        <div className="profile-body">
          <PageTitle className="profile-name">{member.name}</PageTitle>
          {member.group ? <p className="profile-group">{member.group}</p> : null}
          {member.bio ? <p className="profile-bio">{member.bio}</p> : null}
          {member.voice ? (
            <p className="voice-line">
              <span className="muted">Voice:</span> {member.voice.label || member.voice.id}
              {member.voice.language ? <span className="muted"> · {member.voice.language}</span> : null}
              {' '}<DemoBadge voice={member.voice} />
            </p>
          ) : null}
          {member.voice?.demo ? (
            <p className="hint">This is a demo voice: a generated practice voice, not {member.name}'s real voice.</p>
          ) : null}
        </div>
      </section>

      {member.sample_text ? (
        <section className="sample card" aria-labelledby="sample-title">
          <h2 id="sample-title" className="small-title">Try a sample sentence</h2>
          <p className="sample-text">“{member.sample_text}”</p>
          <button type="button" className="btn btn-secondary" onClick={() => setPrefill({ text: member.sample_text })}>
            Use this sentence
          </button>
        </section>
      ) : null}

      <section aria-labelledby="compose-title">
        <h2 id="compose-title" className="section-title">Make {member.name} say something</h2>
        <Composer member={member} prefill={prefill} />
      </section>
    </div>
  );
}

export function ComposePage({ memberId }) {
  return (
    <>
      <PageTitle>Compose</PageTitle>
      <p className="lede">Choose a member, write your line, and press the button.</p>
      <Composer initialMemberId={memberId} />
    </>
  );
}

/** formatSpan says a duration in seconds in the largest whole unit: "7 days", "36 hours", "90 minutes". */
export function formatSpan(seconds) {
  const units = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  for (const [n, name] of units) {
    if (seconds >= n && seconds % n === 0) {
      const v = seconds / n;
      return `${v.toLocaleString('en')} ${name}${v === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

const PENDING_WORDS = { queued: 'Waiting in line…', running: 'Recording…' };

/** RecentItem is one clip in Recent: pending (it resolves in place), stalled, failed or ready to play. */
function RecentItem({ e, open, onToggle, onRemove }) {
  const { config, checkAgain } = useChorus();
  const c = accentFor(e.memberId);
  const who = e.memberName || 'Member';
  const short = Array.from(e.text).slice(0, 40).join('');
  const status = e.status || 'succeeded';
  const pending = isPending(e);
  return (
    <li className="recent-item card" style={{ '--accent': c.accent, '--accent-soft': c.soft }} data-testid="recent-item"
      data-status={e.stalled ? 'stalled' : status}>
      <div className="recent-head">
        <span className={`dot${pending && !e.stalled ? ' dot-pending' : ''}`} aria-hidden="true" />
        <div className="recent-words">
          <h2 className="recent-title">{who}{e.demo ? <span className="badge badge-demo">Demo voice</span> : null}</h2>
          <span className="recent-text">{e.text}</span>
          <span className="muted small">
            {pending && !e.stalled ? <span className="recent-state">{PENDING_WORDS[status]}</span> : null}
            {status === 'succeeded' ? formatDuration(e.durationSeconds) : null}
            {e.createdAt ? `${status === 'succeeded' || (pending && !e.stalled) ? ' · ' : ''}${new Date(e.createdAt).toLocaleString()}` : ''}
          </span>
        </div>
        <div className="recent-actions">
          {status === 'succeeded' ? (
            <button type="button" className="btn btn-secondary" aria-expanded={open} onClick={onToggle}
              aria-label={`${open ? 'Close' : 'Play'} clip of ${who}: ${short}`}>
              {open ? 'Close' : 'Play'}
            </button>
          ) : null}
          {e.stalled ? (
            <button type="button" className="btn btn-secondary" onClick={() => checkAgain(e.jobId)}
              aria-label={`Check again on the clip of ${who}: ${short}`}>Check again</button>
          ) : null}
          <button type="button" className="btn btn-quiet" onClick={onRemove} aria-label={`Remove clip of ${who}: ${short}`}>
            Remove
          </button>
        </div>
      </div>
      {e.stalled ? (
        <p className="field-error recent-problem">{friendlyMessage(e.error?.code === 'job_timeout' ? e.error : { code: 'job_timeout' }, { deadlineSeconds: config.jobDeadlineSeconds })}</p>
      ) : null}
      {status === 'failed' ? <p className="field-error recent-problem">{friendlyMessage(e.error || { code: 'job_failed' }, { memberName: e.memberName })}</p> : null}
      {open && status === 'succeeded' ? <ResultPlayer entry={e} headingLevel={3} /> : null}
    </li>
  );
}

/**
 * RecentPage: the clips kept in this browser, newest first. It says what is
 * kept and for how long (the deployment's audio retention), lists a clip
 * the moment it is sent and resolves it in place, and "Remove all" can be
 * undone. Replay refreshes signed URLs through status.
 */
export function RecentPage() {
  const { config, recent, removeResult, clearResults, restoreResults } = useChorus();
  const [open, setOpen] = useState(null);
  const [cleared, setCleared] = useState(null);
  const undoRef = useRef(null);
  const titleRef = useRef(null);
  const pending = recent.filter((e) => isPending(e) && !e.stalled).length;
  useEffect(() => {
    if (cleared) undoRef.current?.focus();
  }, [cleared]);

  function removeAll() {
    const held = clearResults();
    setOpen(null);
    setCleared(held);
  }
  function undo() {
    restoreResults(cleared);
    setCleared(null);
    queueMicrotask(() => titleRef.current?.focus());
  }

  return (
    <>
      <PageTitle ref={titleRef}>Recent clips</PageTitle>
      <p className="lede" data-testid="recent-policy">
        Clips you made on this device, newest first: the last {MAX_RECENT} are listed here.
        Chorus keeps each clip&apos;s audio for {formatSpan(config.audioRetentionSeconds)}; after that the audio is deleted and the clip leaves this list.
      </p>
      <p className="visually-hidden" role="status">{pending ? `${pending} clip${pending === 1 ? ' is' : 's are'} being made.` : ''}</p>
      {cleared ? (
        <div className="notice notice-info" role="status" data-testid="undo-notice">
          <p>Removed {cleared.length} clip{cleared.length === 1 ? '' : 's'} from this device.</p>
          <button type="button" className="btn btn-secondary" ref={undoRef} onClick={undo}>Undo</button>
        </div>
      ) : null}
      {recent.length === 0 ? (
        <p className="muted">Nothing yet. <a href={href.members()}>Pick a member</a> and make your first clip.</p>
      ) : (
        <>
          <ul className="recent-list">
            {recent.map((e) => (
              <RecentItem key={e.jobId} e={e} open={open === e.jobId}
                onToggle={() => setOpen(open === e.jobId ? null : e.jobId)}
                onRemove={() => removeResult(e.jobId)} />
            ))}
          </ul>
          <p><button type="button" className="btn btn-quiet" onClick={removeAll}>Remove all</button></p>
        </>
      )}
    </>
  );
}

export function NotFoundPage() {
  return (
    <>
      <PageTitle>Page not found</PageTitle>
      <p><a href={href.members()}>See all members</a></p>
    </>
  );
}
