const WORDS = {
  sending: 'Sending your text…',
  queued: 'Waiting in line…',
  running: 'Recording',
};

/** JobProgress shows where a job is while the fan waits; announced politely to screen readers. */
export function JobProgress({ status, memberName, hint = null }) {
  const step = status === 'running' ? 2 : status === 'queued' ? 1 : 0;
  const words = status === 'running' ? `${memberName || 'The member'} is recording your clip…` : WORDS[status] || 'Working…';
  return (
    <div className="card progress-card" role="status" aria-live="polite" data-testid="progress" data-status={status || ''}>
      <div className="progress-bar" aria-hidden="true"><span /></div>
      <p className="progress-words">{words}</p>
      <ol className="steps" aria-label="Progress">
        {['Sent', 'In line', 'Recording'].map((s, i) => (
          <li key={s} className={i < step ? 'done' : i === step ? 'current' : ''} aria-current={i === step ? 'step' : undefined}>{s}</li>
        ))}
      </ol>
      {hint ? <p className="hint">{hint}</p> : null}
    </div>
  );
}
