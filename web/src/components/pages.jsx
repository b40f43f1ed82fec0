import { useEffect, useMemo, useState } from 'react';
import { useChorus } from '../context.jsx';
import { accentFor } from '../lib/identity.js';
import { friendlyMessage } from '../lib/messages.js';
import { href } from '../lib/router.js';
import { formatDuration } from '../lib/wav.js';
import { Avatar } from './Avatar.jsx';
import { Composer } from './Composer.jsx';
import { DemoBadge } from './DemoBadge.jsx';
import { ResultPlayer } from './ResultPlayer.jsx';

/** PageTitle is the page's h1; it takes focus after navigation so screen readers announce the page. */
export function PageTitle({ children, className = '' }) {
  return (
    <h1 className={`page-title ${className}`} tabIndex={-1} data-page-title>
      {children}
    </h1>
  );
}

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
        <PageTitle>{single ? <>Hear <span className="brand-text">{single}</span> say anything</> : 'Hear your favourite members say anything'}</PageTitle>
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

/** RecentPage: results kept in this browser; replay refreshes expired links through status. */
export function RecentPage() {
  const { recent, removeResult, clearResults } = useChorus();
  const [open, setOpen] = useState(null);
  return (
    <>
      <PageTitle>Recent clips</PageTitle>
      <p className="lede">Clips you made on this device. They stay here until you remove them.</p>
      {recent.length === 0 ? (
        <p className="muted">Nothing yet. <a href={href.members()}>Pick a member</a> and make your first clip.</p>
      ) : (
        <>
          <ul className="recent-list">
            {recent.map((e) => {
              const c = accentFor(e.memberId);
              const isOpen = open === e.jobId;
              return (
                <li key={e.jobId} className="recent-item card" style={{ '--accent': c.accent, '--accent-soft': c.soft }} data-testid="recent-item">
                  <div className="recent-head">
                    <span className="dot" aria-hidden="true" />
                    <div className="recent-words">
                      <strong>{e.memberName || 'Member'}</strong>
                      {e.demo ? <span className="badge badge-demo">Demo voice</span> : null}
                      <span className="recent-text">{e.text}</span>
                      <span className="muted small">
                        {formatDuration(e.durationSeconds)}{e.createdAt ? ` · ${new Date(e.createdAt).toLocaleString()}` : ''}
                      </span>
                    </div>
                    <div className="recent-actions">
                      <button type="button" className="btn btn-secondary" aria-expanded={isOpen}
                        onClick={() => setOpen(isOpen ? null : e.jobId)}>
                        {isOpen ? 'Close' : 'Play'}
                      </button>
                      <button type="button" className="btn btn-quiet" onClick={() => removeResult(e.jobId)}
                        aria-label={`Remove clip of ${e.memberName || 'member'}: ${e.text.slice(0, 40)}`}>
                        Remove
                      </button>
                    </div>
                  </div>
                  {isOpen ? <ResultPlayer entry={e} headingLevel={3} /> : null}
                </li>
              );
            })}
          </ul>
          <p><button type="button" className="btn btn-quiet" onClick={clearResults}>Remove all</button></p>
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
