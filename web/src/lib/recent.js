// Recent results, kept in the browser (localStorage) so a fan can replay
// them. Signed audio URLs expire; freshAudio asks the status function for a
// new one when the stored URL is expired or about to be.

import { ApiError } from './api.js';
import { parseVTT } from './vtt.js';

export const STORAGE_KEY = 'chorus.recent.v1';
export const MAX_RECENT = 30;
/** A URL that expires within this margin is refreshed before use. */
export const EXPIRY_MARGIN_MS = 30_000;

/** fromJob makes a recent entry from a succeeded status object and its member. */
export function fromJob(job, member) {
  return {
    jobId: job.job_id,
    memberId: job.member_id || member?.id || '',
    memberName: member?.name || '',
    demo: Boolean(member?.voice?.demo),
    text: job.text || '',
    speed: typeof job.speed === 'number' ? job.speed : 1,
    durationSeconds: typeof job.duration_seconds === 'number' ? job.duration_seconds : 0,
    createdAt: job.created_at || new Date().toISOString(),
    format: job.format || 'wav',
    audioUrl: job.audio_url || '',
    captionsUrl: job.captions_url || '',
    expiresAt: job.expires_at || '',
  };
}

function valid(e) {
  return e && typeof e === 'object' && typeof e.jobId === 'string' && e.jobId !== '' && typeof e.text === 'string';
}

/** loadRecent reads the list, newest first; anything unreadable is dropped. */
export function loadRecent(storage = globalThis.localStorage) {
  try {
    const raw = storage?.getItem(STORAGE_KEY);
    if (!raw) return [];
    const list = JSON.parse(raw);
    return Array.isArray(list) ? list.filter(valid).slice(0, MAX_RECENT) : [];
  } catch {
    return [];
  }
}

/** saveRecent writes the list; a full or blocked storage only loses history. */
export function saveRecent(list, storage = globalThis.localStorage) {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(list.slice(0, MAX_RECENT)));
    return true;
  } catch {
    return false;
  }
}

/** addRecent puts entry first, replacing an older copy of the same job. */
export function addRecent(list, entry) {
  return [entry, ...list.filter((e) => e.jobId !== entry.jobId)].slice(0, MAX_RECENT);
}

/** updateRecent replaces the entry of the same job, keeping its place. */
export function updateRecent(list, entry) {
  return list.map((e) => (e.jobId === entry.jobId ? entry : e));
}

export function removeRecent(list, jobId) {
  return list.filter((e) => e.jobId !== jobId);
}

/** isExpired reports whether the entry's URL is missing, expired or about to expire. */
export function isExpired(entry, now = Date.now(), marginMs = EXPIRY_MARGIN_MS) {
  if (!entry.audioUrl) return true;
  if (!entry.expiresAt) return false; // the server did not say; try it, refresh on failure
  const t = Date.parse(entry.expiresAt);
  return Number.isNaN(t) || t - marginMs <= now;
}

/**
 * refreshEntry asks status for new signed URLs (audio and captions). A job that is gone is
 * ApiError job_not_found; one that is not succeeded is audio_unavailable.
 */
export async function refreshEntry(entry, client, { signal } = {}) {
  const job = await client.status(entry.jobId, { signal });
  if (job.status !== 'succeeded' || !job.audio_url) {
    throw new ApiError({ code: 'audio_unavailable', message: `job is ${job.status}` });
  }
  return {
    ...entry,
    audioUrl: job.audio_url,
    captionsUrl: job.captions_url || '',
    expiresAt: job.expires_at || '',
    durationSeconds: typeof job.duration_seconds === 'number' ? job.duration_seconds : entry.durationSeconds,
  };
}

/** freshEntry returns the entry itself while its URL is valid, else a refreshed copy. */
export async function freshEntry(entry, client, { signal, now = Date.now() } = {}) {
  return isExpired(entry, now) ? refreshEntry(entry, client, { signal }) : entry;
}

/**
 * fetchCaptions downloads and parses the captions of an entry (whose URLs
 * fetchAudio just made fresh): [] when it has none or they cannot be read,
 * which only costs the highlighting.
 */
export async function fetchCaptions(entry, client, { signal } = {}) {
  if (!entry.captionsUrl) return [];
  try {
    const res = await client.fetchRaw(entry.captionsUrl, { signal });
    return res.ok ? parseVTT(await res.text()) : [];
  } catch (err) {
    if (err?.name === 'AbortError' || signal?.aborted) throw err;
    return [];
  }
}

/**
 * fetchAudio downloads the audio of an entry. A signed URL can be refused
 * even before its stated expiry (clock skew, revoked key): on an HTTP
 * error it refreshes once through status and tries again. It returns the
 * bytes and the entry that worked (possibly refreshed).
 */
export async function fetchAudio(entry, client, { signal, now = Date.now() } = {}) {
  let current = await freshEntry(entry, client, { signal, now });
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await client.fetchRaw(current.audioUrl, { signal });
    } catch (err) {
      if (err?.name === 'AbortError' || signal?.aborted) throw err;
      throw new ApiError({ code: 'audio_unavailable', message: err?.message || 'could not download audio' });
    }
    if (res.ok) return { entry: current, bytes: await res.arrayBuffer() };
    if (attempt > 0) throw new ApiError({ status: res.status, code: 'audio_unavailable', message: `audio download failed: HTTP ${res.status}` });
    current = await refreshEntry(current, client, { signal });
  }
}
