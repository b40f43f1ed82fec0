// An in-memory Chorus API behind a fetch function, for tests that drive the
// real client and components. Behaviour is scripted per test; its own
// answers follow docs/openapi.yaml (checked by contract.test.js).
import { encodeWav } from '../lib/wav.js';

export const CONFIG = Object.freeze({
  profilesUrl: 'http://chorus.test/api/profiles',
  synthesizeUrl: 'http://chorus.test/api/synthesize',
  batchUrl: 'http://chorus.test/api/batch',
  statusUrl: 'http://chorus.test/api/status',
  maxTextChars: 20,
  audioRetentionSeconds: 7 * 24 * 3600,
  ratePerMinute: 60,
  rateBurst: 20,
  jobDeadlineSeconds: 180,
  statusWaitSeconds: 20,
});

/** LIMITS are what the fake's profiles answer says it accepts (the API's limits). */
export const LIMITS = Object.freeze({ max_text_chars: CONFIG.maxTextChars, max_batch_items: 100, max_body_bytes: 8192 + 100 * (2048 + 6 * CONFIG.maxTextChars) });

/** METHODS are the methods of each API path (docs/openapi.yaml); each also answers OPTIONS. */
const METHODS = { '/api/profiles': ['GET', 'HEAD'], '/api/synthesize': ['POST'], '/api/batch': ['POST'], '/api/status': ['GET', 'HEAD'] };

export const MEMBERS = [
  { id: 'mina', name: 'Mina', group: 'STELLA', bio: 'Main vocal who loves rainy days.', image_url: '', voice_id: 'demo-1', sample_text: '안녕하세요!', order: 2, voice: { id: 'demo-1', label: 'Demo voice 1', language: 'ko', demo: true } },
  { id: 'joon', name: 'Joon', group: 'STELLA', bio: 'Dancer.', image_url: '', voice_id: 'joon-v1', sample_text: 'Hello there', order: 1, voice: { id: 'joon-v1', label: "Joon's voice", language: 'en', demo: false } },
];

export function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

/** vttFor is the WebVTT a job's captions hold: one cue per sentence, spread over seconds. */
export function vttFor(text, seconds = 0.5) {
  const sentences = String(text).split(/(?<=[.!?])\s+/).filter(Boolean);
  const t = (x) => `00:00:${x.toFixed(3).padStart(6, '0')}`;
  return ['WEBVTT', ...sentences.map((s, i) => `\n${i + 1}\n${t((i * seconds) / sentences.length)} --> ${t(((i + 1) * seconds) / sentences.length)}\n${s}`)].join('\n') + '\n';
}

export function wavBytes(seconds = 0.5, rate = 8000) {
  const s = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < s.length; i++) s[i] = 0.6 * Math.sin(i / 5) * Math.sin((Math.PI * i) / s.length);
  return encodeWav(s, rate);
}

/**
 * fakeApi returns {fetch, calls, jobs}. Jobs go queued → running →
 * succeeded over `steps` status calls unless `script.job(id, n)` says else.
 * script.synthesize(body) may return a Response to answer instead. A job
 * seeded with `gone: true` (or for which script.gone(job) holds) succeeded
 * but its audio is past the retention: 410 audio_expired on its own, an
 * audio_expired error entry in a batch.
 */
export function fakeApi(script = {}) {
  const calls = [];
  const jobs = new Map();
  const batches = new Map();
  let next = 0;
  const steps = script.steps ?? 2;
  let urlVersion = 0;

  function jobView(id) {
    const j = jobs.get(id);
    j.polls++;
    if (j.gone || script.gone?.(j)) {
      return { job_id: id, status: 'succeeded', member_id: j.member_id, text: j.text, speed: j.speed ?? 1, format: j.format || 'wav', created_at: '2026-11-18T10:00:00Z',
        started_at: '2026-11-18T10:00:01Z', finished_at: '2026-11-18T10:00:02Z', attempts: 1,
        error: { code: 'audio_expired', message: 'This audio was deleted at the end of its retention period; ask for it again.' } };
    }
    if (script.job) {
      const v = script.job(j, j.polls);
      if (v) return v;
    }
    const status = j.polls < steps ? (j.polls === 1 ? 'queued' : 'running') : 'succeeded';
    const format = j.format || 'wav';
    const out = { job_id: id, status, member_id: j.member_id, text: j.text, speed: j.speed ?? 1, format, created_at: '2026-11-25T10:00:00Z', attempts: 1 };
    if (status !== 'queued') out.started_at = '2026-11-25T10:00:01Z';
    if (status === 'succeeded') {
      out.finished_at = '2026-11-25T10:00:02Z';
      urlVersion++;
      out.audio_url = `http://gcs.test/audio/${id}.${format}?v=${urlVersion}`;
      out.captions_url = `http://gcs.test/audio/${id}.vtt?v=${urlVersion}`;
      out.expires_at = script.expiresAt ?? new Date(Date.now() + 15 * 60_000).toISOString();
      out.duration_seconds = 0.5;
      out.sample_rate = 8000;
    }
    return out;
  }

  async function fetchImpl(input, init = {}) {
    const url = new URL(typeof input === 'string' ? input : input.url);
    const method = init.method || 'GET';
    const body = init.body ? JSON.parse(init.body) : undefined;
    calls.push({ method, url: url.href, path: url.pathname, search: url.search, body, signal: init.signal, headers: init.headers });
    if (init.signal?.aborted) throw new DOMException('Aborted', 'AbortError');
    if (url.host === 'gcs.test') {
      if (script.audio) {
        const r = script.audio(url);
        if (r) return r;
      }
      const captions = /^\/audio\/(.+)\.vtt$/.exec(url.pathname);
      if (captions) {
        const j = jobs.get(captions[1]);
        return new Response(vttFor(j?.text ?? 'Hello.'), { status: 200, headers: { 'Content-Type': 'text/vtt' } });
      }
      // Every format is served as a WAV: the fake encodes nothing.
      return new Response(wavBytes(), { status: 200, headers: { 'Content-Type': 'audio/wav' } });
    }
    const path = url.pathname.startsWith('/api/profiles/') ? '/api/profiles' : url.pathname;
    if (METHODS[path] && !METHODS[path].includes(method)) {
      const allow = [...METHODS[path], 'OPTIONS'].join(', ');
      if (method === 'OPTIONS') return new Response(null, { status: 204, headers: { Allow: allow } });
      return json(405, { error: { code: 'method_not_allowed', message: `Use ${METHODS[path].join(' or ')}.` } }, { Allow: allow });
    }
    switch (path) {
      case '/api/profiles': {
        if (script.profiles) {
          const r = script.profiles(url);
          if (r) return r;
        }
        const id = url.pathname.slice('/api/profiles/'.length) || url.searchParams.get('id');
        if (id) {
          const m = MEMBERS.find((x) => x.id === id);
          return m ? json(200, m) : json(404, { error: { code: 'member_not_found', message: 'no such member' } });
        }
        return json(200, { members: MEMBERS, limits: LIMITS });
      }
      case '/api/synthesize': {
        if (script.synthesize) {
          const r = script.synthesize(body);
          if (r) return r;
        }
        const id = `job${++next}`;
        jobs.set(id, { ...body, polls: 0 });
        return json(202, { job_id: id, status: 'queued', status_url: `${CONFIG.statusUrl}?id=${id}` });
      }
      case '/api/batch': {
        if (script.batch) {
          const r = script.batch(body);
          if (r) return r;
        }
        const bid = `batch${++next}`;
        const ids = body.items.map((it) => {
          const id = `job${++next}`;
          jobs.set(id, { ...it, batch_id: bid, polls: 0 });
          return id;
        });
        batches.set(bid, ids);
        return json(202, { batch_id: bid, jobs: ids.map((id) => ({ job_id: id, status: 'queued', status_url: `${CONFIG.statusUrl}?id=${id}` })) });
      }
      case '/api/status': {
        const id = url.searchParams.get('id');
        if (id) {
          if (!jobs.has(id)) return json(404, { error: { code: 'job_not_found', message: 'no such job' } });
          if (jobs.get(id).gone || script.gone?.(jobs.get(id))) return json(410, { error: { code: 'audio_expired', message: 'This audio was deleted at the end of its retention period; ask for it again.' } });
          const view = jobView(id);
          // A long-poll (?wait=S) is held until the job ends; script.onWait(S) is told of the time it held it.
          const wait = Number(url.searchParams.get('wait') || 0);
          if (wait > 0 && view.status !== 'succeeded' && view.status !== 'failed') script.onWait?.(wait);
          return json(200, view);
        }
        const b = url.searchParams.get('batch');
        if (!b) return json(400, { error: { code: 'id_required', message: 'give id or batch', field: 'id' } });
        if (!batches.has(b)) return json(404, { error: { code: 'batch_not_found', message: 'no such batch' } });
        return json(200, { batch_id: b, jobs: batches.get(b).map(jobView) });
      }
      default:
        return json(404, { error: { code: 'not_found', message: 'not found' } });
    }
  }
  return {
    fetch: fetchImpl, calls, jobs,
    seedJob: (id, j) => jobs.set(id, { polls: 0, ...j }),
    seedBatch: (bid, ids) => batches.set(bid, ids),
  };
}

/** noSleep resolves at once (still honouring abort), so polling tests run instantly. */
export const noSleep = (ms, signal) =>
  signal?.aborted ? Promise.reject(new DOMException('Aborted', 'AbortError')) : Promise.resolve();
