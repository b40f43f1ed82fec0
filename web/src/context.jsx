// App-wide state: the API client, the members list (loaded once) and the
// recent results kept in the browser.

import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { parseLimits } from './lib/api.js';
import { preferredFormat } from './lib/formats.js';
import { addRecent, loadRecent, removeRecent, saveRecent, updateRecent } from './lib/recent.js';

const ChorusContext = createContext(null);

/**
 * ChorusProvider holds the app's state. format is the audio format clips
 * are asked for (default: Opus where this browser plays it, else WAV).
 */
export function ChorusProvider({ client, storage = globalThis.localStorage, format: formatProp, children }) {
  const [format] = useState(() => formatProp || preferredFormat());
  const [members, setMembers] = useState({ phase: 'loading', list: [], error: null });
  const [attempt, setAttempt] = useState(0);
  const [recent, setRecent] = useState(() => loadRecent(storage));

  useEffect(() => {
    const ac = new AbortController();
    setMembers((m) => ({ ...m, phase: 'loading', error: null }));
    client.profiles({ signal: ac.signal }).then(
      ({ members: list, limits }) => setMembers({ phase: 'ready', list, limits, error: null }),
      (error) => {
        if (!ac.signal.aborted) setMembers({ phase: 'error', list: [], error });
      },
    );
    return () => ac.abort();
  }, [client, attempt]);

  // Another tab may add results too.
  useEffect(() => {
    const on = (e) => {
      if (e.key === null || e.key === 'chorus.recent.v1') setRecent(loadRecent(storage));
    };
    window.addEventListener('storage', on);
    return () => window.removeEventListener('storage', on);
  }, [storage]);

  const change = useCallback((fn) => {
    setRecent((list) => {
      const next = fn(list);
      saveRecent(next, storage);
      return next;
    });
  }, [storage]);

  const value = useMemo(() => ({
    client,
    config: client.config,
    // The API's limits once the members loaded (parseLimits), else the config's.
    limits: members.limits ?? parseLimits(null, client.config),
    format,
    members,
    reloadMembers: () => setAttempt((a) => a + 1),
    memberById: (id) => members.list.find((m) => m.id === id),
    recent,
    addResult: (entry) => change((l) => addRecent(l, entry)),
    updateResult: (entry) => change((l) => updateRecent(l, entry)),
    removeResult: (jobId) => change((l) => removeRecent(l, jobId)),
    clearResults: () => change(() => []),
  }), [client, format, members, recent, change]);

  return <ChorusContext.Provider value={value}>{children}</ChorusContext.Provider>;
}

export function useChorus() {
  const v = useContext(ChorusContext);
  if (!v) throw new Error('useChorus outside ChorusProvider');
  return v;
}
