import { describe, expect, it } from 'vitest';
import { createClient } from './api.js';
import { MAX_RECENT, STORAGE_KEY, addRecent, clipKey, fetchAudio, freshEntry, fromJob, isExpired, isPending, loadRecent, mergeJob, pendingEntry, removeRecent, restoreRecent, saveRecent, updateRecent } from './recent.js';
import { CONFIG, MEMBERS, fakeApi, noSleep, wavBytes } from '../test/fakeApi.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const entry = (over = {}) => ({
  jobId: 'job1', memberId: 'mina', memberName: 'Mina', text: 'hi', speed: 1, durationSeconds: 0.5,
  createdAt: '2026-11-25T11:00:00Z', audioUrl: 'http://gcs.test/audio/job1.wav?v=0', expiresAt: '2026-11-25T12:10:00Z', ...over,
});

function memoryStorage(init = {}) {
  const m = new Map(Object.entries(init));
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), map: m };
}

describe('recent list', () => {
  it('adds newest first, replaces the same job and keeps at most MAX_RECENT', () => {
    let l = [];
    for (let i = 0; i < MAX_RECENT + 5; i++) l = addRecent(l, entry({ jobId: `j${i}`, text: `clip ${i}` }));
    expect(l).toHaveLength(MAX_RECENT);
    expect(l[0].jobId).toBe(`j${MAX_RECENT + 4}`);
    l = addRecent(l, entry({ jobId: 'j10', text: 'again' }));
    expect(l[0]).toMatchObject({ jobId: 'j10', text: 'again' });
    expect(l.filter((e) => e.jobId === 'j10')).toHaveLength(1);
    expect(removeRecent(l, 'j10').some((e) => e.jobId === 'j10')).toBe(false);
  });

  it('survives corrupt or foreign storage', () => {
    expect(loadRecent(memoryStorage({ [STORAGE_KEY]: '{not json' }))).toEqual([]);
    expect(loadRecent(memoryStorage({ [STORAGE_KEY]: '{"a":1}' }))).toEqual([]);
    expect(loadRecent(memoryStorage({ [STORAGE_KEY]: JSON.stringify([entry(), { bogus: true }, null]) }))).toHaveLength(1);
    const full = { getItem: () => null, setItem: () => { throw new DOMException('full', 'QuotaExceededError'); } };
    expect(saveRecent([entry()], full)).toBe(false);
  });

  it('round-trips through storage without signed URLs', () => {
    const s = memoryStorage();
    saveRecent([entry()], s);
    const { audioUrl, expiresAt, ...kept } = entry();
    expect(loadRecent(s)).toEqual([kept]);
    expect(s.map.get(STORAGE_KEY)).not.toMatch(/gcs\.test|v=0|expiresAt|audioUrl/);
    // A list an older version stored with URLs loads without them.
    expect(loadRecent(memoryStorage({ [STORAGE_KEY]: JSON.stringify([entry()]) }))).toEqual([kept]);
  });

  it('drops clips older than the retention when it loads', () => {
    const s = memoryStorage({ [STORAGE_KEY]: JSON.stringify([
      entry({ jobId: 'young', createdAt: '2026-11-24T12:00:01Z' }), entry({ jobId: 'old', text: 'old', createdAt: '2026-11-24T11:59:59Z' }),
    ]) });
    expect(loadRecent(s, { retentionMs: 24 * 3600_000, now: NOW }).map((e) => e.jobId)).toEqual(['young']);
    expect(loadRecent(s).map((e) => e.jobId)).toEqual(['young', 'old']); // no retention given: all
  });

  it('keeps one of the finished clips that say the same thing, the newest', () => {
    let l = [entry({ jobId: 'a', text: 'Hello there' })];
    l = addRecent(l, entry({ jobId: 'b', text: ' Hello\u200b there ' })); // the same words as the voice reads them
    expect(l.map((e) => e.jobId)).toEqual(['b']);
    l = addRecent(l, entry({ jobId: 'c', text: 'Hello there', speed: 1.5 }));
    l = addRecent(l, entry({ jobId: 'd', text: 'Hello there', memberId: 'joon' }));
    expect(l.map((e) => e.jobId)).toEqual(['d', 'c', 'b']);
    // A pending repeat is listed beside the finished one until it finishes too.
    l = addRecent(l, pendingEntry({ jobId: 'e', memberId: 'joon', text: 'Hello there' }));
    expect(l.map((e) => e.jobId)).toEqual(['e', 'd', 'c', 'b']);
    l = updateRecent(l, mergeJob(l[0], { job_id: 'e', status: 'succeeded', audio_url: 'u', duration_seconds: 1 }));
    expect(l.map((e) => e.jobId)).toEqual(['e', 'c', 'b']);
    expect(clipKey(l[0])).toBe(clipKey(entry({ memberId: 'joon', text: 'Hello there' })));
  });

  it('puts cleared clips back behind the ones made since', () => {
    const old = [entry({ jobId: 'x', text: 'x' }), entry({ jobId: 'y', text: 'y' })];
    const since = [entry({ jobId: 'z', text: 'z' })];
    expect(restoreRecent(since, old).map((e) => e.jobId)).toEqual(['z', 'x', 'y']);
  });

  it('lists a sent clip as pending and resolves it from status answers', () => {
    const p = pendingEntry({ jobId: 'j', member: MEMBERS[0], text: 'hi', speed: 1.1, format: 'opus', now: '2026-11-25T12:00:00Z' });
    expect(p).toEqual({ jobId: 'j', status: 'queued', memberId: 'mina', memberName: 'Mina', demo: true, text: 'hi', speed: 1.1, format: 'opus',
      durationSeconds: 0, createdAt: '2026-11-25T12:00:00Z', waitingSince: '2026-11-25T12:00:00Z' });
    expect(isPending(p)).toBe(true);
    const running = mergeJob(p, { job_id: 'j', status: 'running' });
    expect(isPending(running)).toBe(true);
    const failed = mergeJob({ ...running, stalled: true }, { job_id: 'j', status: 'failed', error: { code: 'synthesis_failed', message: 'no' } });
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'synthesis_failed', message: 'no' } });
    expect(failed).not.toHaveProperty('stalled');
    // Entries stored before statuses were kept are finished clips.
    expect(isPending(entry())).toBe(false);
  });

  it('makes an entry from a succeeded job', () => {
    const e = fromJob({ job_id: 'j', member_id: 'mina', text: 't', speed: 1.2, format: 'opus', audio_url: 'u', captions_url: 'c.vtt',
      expires_at: 'x', duration_seconds: 2, created_at: 'c' }, MEMBERS[0]);
    expect(e).toEqual({ jobId: 'j', status: 'succeeded', memberId: 'mina', memberName: 'Mina', demo: true, text: 't', speed: 1.2, durationSeconds: 2, createdAt: 'c',
      format: 'opus', audioUrl: 'u', captionsUrl: 'c.vtt', expiresAt: 'x' });
    // Entries saved before formats and captions read as WAV without captions.
    expect(fromJob({ job_id: 'j', audio_url: 'u' }, MEMBERS[0])).toMatchObject({ format: 'wav', captionsUrl: '' });
  });
});

describe('expiry', () => {
  it('treats past, near and unreadable expiry as expired', () => {
    expect(isExpired(entry(), NOW)).toBe(false);
    expect(isExpired(entry({ expiresAt: '2026-11-25T11:59:00Z' }), NOW)).toBe(true);
    expect(isExpired(entry({ expiresAt: '2026-11-25T12:00:20Z' }), NOW)).toBe(true); // inside the 30 s margin
    expect(isExpired(entry({ expiresAt: 'soon' }), NOW)).toBe(true);
    expect(isExpired(entry({ audioUrl: '' }), NOW)).toBe(true);
  });

  it('does not call status while the URL is valid', async () => {
    const api = fakeApi();
    const e = entry();
    expect(await freshEntry(e, createClient(CONFIG, { fetchImpl: api.fetch }), { now: NOW })).toBe(e);
    expect(api.calls).toHaveLength(0);
  });

  it('refreshes an expired URL through status', async () => {
    const api = fakeApi();
    api.seedJob('job1', { member_id: 'mina', text: 'hi', polls: 5 });
    const c = createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: noSleep });
    const e = await freshEntry(entry({ expiresAt: '2026-11-25T11:00:00Z' }), c, { now: NOW });
    expect(api.calls.map((x) => x.path)).toEqual(['/api/status']);
    expect(e.audioUrl).toBe('http://gcs.test/audio/job1.wav?v=1');
    expect(Date.parse(e.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('refreshes once when the storage refuses a URL before its stated expiry', async () => {
    const api = fakeApi({ audio: (u) => (u.searchParams.get('v') === '0' ? new Response('<Error><Code>ExpiredToken</Code></Error>', { status: 400 }) : null) });
    api.seedJob('job1', { member_id: 'mina', text: 'hi', polls: 5 });
    const c = createClient(CONFIG, { fetchImpl: api.fetch });
    const { entry: used, bytes } = await fetchAudio(entry(), c, { now: NOW });
    expect(used.audioUrl).toMatch(/v=1$/);
    expect(bytes.byteLength).toBe(wavBytes().byteLength);
    expect(api.calls.map((x) => x.path)).toEqual(['/audio/job1.wav', '/api/status', '/audio/job1.wav']);
  });

  it('gives up after one refresh', async () => {
    const api = fakeApi({ audio: () => new Response('denied', { status: 403 }) });
    api.seedJob('job1', { member_id: 'mina', text: 'hi', polls: 5 });
    const err = await fetchAudio(entry(), createClient(CONFIG, { fetchImpl: api.fetch }), { now: NOW }).catch((e) => e);
    expect(err).toMatchObject({ code: 'audio_unavailable', status: 403 });
  });

  it('reports a job that no longer exists as job_not_found', async () => {
    const api = fakeApi();
    const err = await fetchAudio(entry({ jobId: 'gone', expiresAt: '2000-01-01T00:00:00Z' }), createClient(CONFIG, { fetchImpl: api.fetch }), { now: NOW }).catch((e) => e);
    expect(err.code).toBe('job_not_found');
  });
});
