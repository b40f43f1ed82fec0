// Recent clips, kept in the browser (localStorage) so a fan can find and
// replay them. A clip is listed the moment it is sent (pending: queued or
// running) and resolves in place, wherever the fan is in the app (the
// context's tracker polls pending clips). Stored entries hold no signed
// URLs: a URL is a bearer credential for the audio, so it lives only in
// memory and is fetched again from status by job id when needed
// (freshEntry).

import { ApiError, isTerminal } from './api.js';
import { cleanText } from './speakable.js';
import { parseVTT } from './vtt.js';

export const STORAGE_KEY = 'chorus.recent.v1';
/** MAX_RECENT is how many clips this device lists; the oldest make room for new ones. */
export const MAX_RECENT = 50;
/** A URL that expires within this margin is refreshed before use. */
export const EXPIRY_MARGIN_MS = 30_000;
/** Fields never written to storage: signed URLs and their expiry. */
const MEMORY_ONLY = ['audioUrl', 'captionsUrl', 'expiresAt'];

/** isPending says whether a clip is still being made (queued or running). */
export function isPending(e) {
  return e?.status === 'queued' || e?.status === 'running';
}

/** statusOf reads an entry's status; entries from before statuses were kept are succeeded clips. */
function statusOf(e) {
  return typeof e.status === 'string' && e.status ? e.status : 'succeeded';
}

/**
 * pendingEntry is the entry of a job the API just accepted: listed at once,
 * resolved later by mergeJob. now is the client's clock (ISO time).
 */
export function pendingEntry({ jobId, status = 'queued', member, memberId, text, speed = 1, format = 'wav', batchId = '', now = new Date().toISOString() }) {
  return {
    jobId,
    status: isTerminal(status) ? 'queued' : status,
    memberId: memberId || member?.id || '',
    memberName: member?.name || '',
    demo: Boolean(member?.voice?.demo),
    text,
    speed,
    format,
    durationSeconds: 0,
    createdAt: now,
    waitingSince: now,
    ...(batchId ? { batchId } : {}),
  };
}

/** fromJob makes a recent entry from a status object (usually succeeded) and its member. */
export function fromJob(job, member) {
  return mergeJob({
    jobId: job.job_id,
    memberId: job.member_id || member?.id || '',
    memberName: member?.name || '',
    demo: Boolean(member?.voice?.demo),
    text: job.text || '',
    speed: typeof job.speed === 'number' ? job.speed : 1,
    durationSeconds: 0,
    createdAt: job.created_at || new Date().toISOString(),
    format: job.format || 'wav',
  }, job);
}

/**
 * mergeJob applies a status answer to an entry: its state, and once
 * succeeded its duration and (in memory) signed URLs; once failed its error.
 */
export function mergeJob(entry, job) {
  const next = { ...entry, status: typeof job.status === 'string' ? job.status : statusOf(entry) };
  if (job.created_at) next.createdAt = job.created_at;
  if (typeof job.duration_seconds === 'number') next.durationSeconds = job.duration_seconds;
  if (job.format) next.format = job.format;
  if (job.audio_url) {
    next.audioUrl = job.audio_url;
    next.captionsUrl = job.captions_url || '';
    next.expiresAt = job.expires_at || '';
  }
  if (job.error && typeof job.error === 'object') next.error = { code: String(job.error.code || ''), message: String(job.error.message || '') };
  else delete next.error;
  if (!isPending(next)) delete next.stalled;
  return next;
}

/**
 * clipKey identifies what a clip says: the member, the speed and the text
 * as the voice reads it. Two finished clips with one key are the same clip
 * asked for twice (the second usually from the cache): the list keeps one.
 */
export function clipKey(e) {
  return [e.memberId, Number(e.speed ?? 1).toFixed(2), cleanText(e.text || '')].join('\u0000');
}

/** dedupe keeps, of finished clips that say the same thing, the first (newest). */
function dedupe(list) {
  const seen = new Set();
  return list.filter((e) => {
    if (statusOf(e) !== 'succeeded') return true;
    const k = clipKey(e);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function valid(e) {
  return e && typeof e === 'object' && typeof e.jobId === 'string' && e.jobId !== '' && typeof e.text === 'string';
}

/** toStored is what storage keeps of an entry: everything but its signed URLs. */
export function toStored(e) {
  const out = { ...e };
  for (const k of MEMORY_ONLY) delete out[k];
  return out;
}

/**
 * expiredByRetention says whether a clip is older than the deployment keeps
 * audio (retentionMs; 0 keeps all): its audio is gone, so the list drops it.
 */
export function expiredByRetention(e, retentionMs, now = Date.now()) {
  if (!(retentionMs > 0)) return false;
  const t = Date.parse(e.createdAt);
  return !Number.isNaN(t) && t + retentionMs <= now;
}

/**
 * loadRecent reads the list, newest first: anything unreadable is dropped,
 * as are clips older than the retention, repeats and any URL an older
 * version stored.
 */
export function loadRecent(storage = globalThis.localStorage, { retentionMs = 0, now = Date.now() } = {}) {
  try {
    const raw = storage?.getItem(STORAGE_KEY);
    if (!raw) return [];
    const list = JSON.parse(raw);
    if (!Array.isArray(list)) return [];
    return dedupe(list.filter(valid).map(toStored).filter((e) => !expiredByRetention(e, retentionMs, now))).slice(0, MAX_RECENT);
  } catch {
    return [];
  }
}

/** saveRecent writes the list without signed URLs; a full or blocked storage only loses history. */
export function saveRecent(list, storage = globalThis.localStorage) {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(list.slice(0, MAX_RECENT).map(toStored)));
    return true;
  } catch {
    return false;
  }
}

/** addRecent puts entry first, replacing an older copy of the same job or of the same finished clip. */
export function addRecent(list, entry) {
  return dedupe([entry, ...list.filter((e) => e.jobId !== entry.jobId)]).slice(0, MAX_RECENT);
}

/**
 * updateRecent replaces the entry of the same job, keeping its place; a
 * clip that has just finished replaces an older copy of itself.
 */
export function updateRecent(list, entry) {
  if (!list.some((e) => e.jobId === entry.jobId)) return list;
  return dedupe(list.map((e) => (e.jobId === entry.jobId ? entry : e)));
}

export function removeRecent(list, jobId) {
  return list.filter((e) => e.jobId !== jobId);
}

/** restoreRecent puts back clips removed together (undo), after the ones made since. */
export function restoreRecent(list, removed) {
  const have = new Set(list.map((e) => e.jobId));
  return dedupe([...list, ...removed.filter((e) => !have.has(e.jobId))]).slice(0, MAX_RECENT);
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
  return mergeJob(entry, job);
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
 * fetchClip downloads an entry's audio and captions at once (in parallel).
 * When the audio's URL had to be refreshed and the captions came back
 * empty, they are asked for once more with the refreshed URL. It returns
 * {entry, bytes, cues}: the entry that worked (possibly refreshed).
 */
export async function fetchClip(entry, client, { signal, now = Date.now() } = {}) {
  const fresh = await freshEntry(entry, client, { signal, now });
  const [audio, cues] = await Promise.all([
    fetchAudio(fresh, client, { signal, now, refreshed: true }),
    fetchCaptions(fresh, client, { signal }),
  ]);
  if (audio.entry !== fresh && cues.length === 0) {
    return { ...audio, cues: await fetchCaptions(audio.entry, client, { signal }) };
  }
  return { ...audio, cues };
}

/**
 * fetchAudio downloads the audio of an entry. A signed URL can be refused
 * even before its stated expiry (clock skew, revoked key): on an HTTP
 * error it refreshes once through status and tries again. It returns the
 * bytes and the entry that worked (possibly refreshed). refreshed: the
 * caller has just made the entry fresh (no expiry check).
 */
export async function fetchAudio(entry, client, { signal, now = Date.now(), refreshed = false } = {}) {
  let current = refreshed ? entry : await freshEntry(entry, client, { signal, now });
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
