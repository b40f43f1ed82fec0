/** DemoBadge labels a demo voice: a synthetic practice voice, not the member's own. */
export function DemoBadge({ voice }) {
  if (!voice?.demo) return null;
  return (
    <span className="badge badge-demo" title="A generated practice voice, not the member's real voice">
      Demo voice
    </span>
  );
}

export function isDemo(member) {
  return Boolean(member?.voice?.demo);
}
