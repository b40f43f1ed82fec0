// Hash routes (#/members/ID) so the static bundle works from any host or
// path, with no server rewrite rules.

import { useEffect, useState } from 'react';

/** parseRoute maps a location hash to a route object. */
export function parseRoute(hash) {
  const path = String(hash || '').replace(/^#/, '') || '/';
  const [pathname, query = ''] = path.split('?');
  const params = new URLSearchParams(query);
  const seg = pathname.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  if (seg.length === 0 || (seg.length === 1 && seg[0] === 'members')) return { name: 'members' };
  if (seg[0] === 'members' && seg.length === 2) return { name: 'member', id: seg[1] };
  if (seg[0] === 'compose' && seg.length === 1) return { name: 'compose', memberId: params.get('member') || '' };
  if (seg[0] === 'batch' && seg.length === 1) return { name: 'batch', memberId: params.get('member') || '' };
  if (seg[0] === 'recent' && seg.length === 1) return { name: 'recent' };
  return { name: 'notfound' };
}

/** href builds a link for a route. */
export const href = {
  members: () => '#/',
  member: (id) => `#/members/${encodeURIComponent(id)}`,
  compose: (memberId) => (memberId ? `#/compose?member=${encodeURIComponent(memberId)}` : '#/compose'),
  batch: (memberId) => (memberId ? `#/batch?member=${encodeURIComponent(memberId)}` : '#/batch'),
  recent: () => '#/recent',
};

/** useRoute follows the location hash. */
export function useRoute() {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
