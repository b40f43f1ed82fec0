// App-wide state: the API client, the members list (loaded once), the
// recent clips kept in the browser, and the tracker that resolves pending
// clips wherever the fan is in the app.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { parseLimits } from './lib/api.js';
import { preferredFormat } from './lib/formats.js';
import { addRecent, isPending, loadRecent, mergeJob, removeRecent, restoreRecent, saveRecent, STORAGE_KEY, updateRecent } from './lib/recent.js';
import { createLedger } from './lib/allowance.js';

const ChorusContext = createContext(null);

/**
 * ChorusProvider holds the app's state. format is the audio format clips
 * are asked for (default: Opus where this browser plays it, else WAV).
 * now is the clock (tests move it).
 */
export function ChorusProvider({ client, storage = globalThis.localStorage, format: formatProp, now = Date.now, children }) {
  const config = client.config;
  const retentionMs = (config.audioRetentionSeconds ?? 0) * 1000;
  const [format] = useState(() => formatProp || preferredFormat());
  const [members, setMembers] = useState({ phase: 'loading', list: [], error: null });
  const [attempt, setAttempt] = useState(0);
  const [recent, setRecent] = useState(() => loadRecent(storage, { retentionMs, now: now() }));
  const [ledger] = useState(() => createLedger(config, { storage, now }));

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

  // Another tab may add results too. Its list has no signed URLs (storage
  // never does): keep the ones this tab holds for the same jobs.
  useEffect(() => {
    const on = (e) => {
      if (e.key !== null && e.key !== STORAGE_KEY) return;
      setRecent((mine) => {
        const urls = new Map(mine.filter((x) => x.audioUrl).map((x) => [x.jobId, x]));
        return loadRecent(storage, { retentionMs, now: now() }).map((x) => {
          const m = urls.get(x.jobId);
          return m && x.status === m.status ? { ...x, audioUrl: m.audioUrl, captionsUrl: m.captionsUrl, expiresAt: m.expiresAt } : x;
        });
      });
    };
    window.addEventListener('storage', on);
    return () => window.removeEventListener('storage', on);
  }, [storage, retentionMs, now]);

  const change = useCallback((fn) => {
    setRecent((list) => {
      const next = fn(list);
      if (next !== list) saveRecent(next, storage);
      return next;
    });
  }, [storage]);

  // The tracker: every pending clip is polled (long-polled where the
  // server supports it) until it ends or its deadline passes, whichever
  // page is showing; a reload picks pending clips up again from storage.
  const trackers = useRef(new Map());
  useEffect(() => {
    const live = new Set();
    for (const e of recent) {
      if (!isPending(e) || e.stalled) continue;
      live.add(e.jobId);
      if (trackers.current.has(e.jobId)) continue;
      const ac = new AbortController();
      trackers.current.set(e.jobId, ac);
      const since = Date.parse(e.waitingSince || e.createdAt);
      const deadlineMs = config.jobDeadlineSeconds * 1000 - (Number.isNaN(since) ? 0 : now() - since);
      const apply = (job) => change((l) => {
        const cur = l.find((x) => x.jobId === e.jobId);
        if (!cur || (cur.status === job.status && !job.audio_url && !job.error)) return l;
        return updateRecent(l, mergeJob(cur, job));
      });
      client.pollJob(e.jobId, {
        signal: ac.signal,
        waitSeconds: config.statusWaitSeconds,
        deadlineMs: Math.max(1, deadlineMs),
        onUpdate: apply,
      }).catch((err) => {
        if (ac.signal.aborted) return;
        change((l) => {
          const cur = l.find((x) => x.jobId === e.jobId);
          if (!cur) return l;
          if (err?.code === 'job_not_found' || err?.code === 'audio_expired') {
            return updateRecent(l, { ...cur, status: 'failed', error: { code: err.code, message: err.message || '' } });
          }
          // Past the deadline, or the API kept failing: the fan is told,
          // and may ask again (checkAgain).
          return updateRecent(l, { ...cur, stalled: true, error: { code: err?.code || 'network', message: err?.message || '' } });
        });
      }).finally(() => {
        if (trackers.current.get(e.jobId) === ac) trackers.current.delete(e.jobId);
      });
    }
    for (const [id, ac] of trackers.current) {
      if (!live.has(id)) {
        ac.abort();
        trackers.current.delete(id);
      }
    }
  }, [recent, client, config, change, now]);
  useEffect(() => () => {
    for (const ac of trackers.current.values()) ac.abort();
    trackers.current.clear();
  }, []);

  const value = useMemo(() => ({
    client,
    config,
    // What the API accepts, from its profiles answer once the members
    // loaded (parseLimits), else the config's text limit.
    limits: members.limits ?? parseLimits(null, config),
    format,
    ledger,
    now,
    members,
    reloadMembers: () => setAttempt((a) => a + 1),
    memberById: (id) => members.list.find((m) => m.id === id),
    recent,
    addResult: (entry) => change((l) => addRecent(l, entry)),
    updateResult: (entry) => change((l) => updateRecent(l, entry)),
    removeResult: (jobId) => change((l) => removeRecent(l, jobId)),
    /** clearResults empties the list and returns what it held, for undo. */
    clearResults: () => {
      const held = recent;
      change(() => []);
      return held;
    },
    /** restoreResults puts cleared clips back (undo), behind any made since. */
    restoreResults: (list) => change((l) => restoreRecent(l, list)),
    /** checkAgain resumes tracking a clip that passed its deadline, with a new one. */
    checkAgain: (jobId) => change((l) => {
      const cur = l.find((x) => x.jobId === jobId);
      if (!cur) return l;
      const { error: _e, stalled: _s, ...rest } = cur;
      return updateRecent(l, { ...rest, waitingSince: new Date(now()).toISOString() });
    }),
  }), [client, config, format, ledger, now, members, recent, change]);

  return <ChorusContext.Provider value={value}>{children}</ChorusContext.Provider>;
}

export function useChorus() {
  const v = useContext(ChorusContext);
  if (!v) throw new Error('useChorus outside ChorusProvider');
  return v;
}
