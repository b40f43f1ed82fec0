import { describe, expect, it, vi } from 'vitest';
import { ApiError, DEFAULT_BACKOFF, LONG_POLL_SLACK_MS, createClient, nextDelay, parseRetryAfter, sleep } from './api.js';
import { CONFIG, fakeApi, json, noSleep } from '../test/fakeApi.js';

/** clientWith makes a client whose clock stands still unless a test moves it (sleeps take no time). */
function clientWith(fetchImpl, sleepImpl = noSleep, now = () => 0) {
  return createClient(CONFIG, { fetchImpl, sleepImpl, now });
}

const statusCalls = (api) => api.calls.filter((x) => x.path === '/api/status');

async function caught(p) {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('api client', () => {
  it('lists members in display order', async () => {
    const api = fakeApi();
    const list = await clientWith(api.fetch).listMembers();
    expect(list.map((m) => m.id)).toEqual(['joon', 'mina']);
    expect(api.calls[0].url).toBe(CONFIG.profilesUrl);
  });

  it('gets one member and maps 404 to member_not_found', async () => {
    const c = clientWith(fakeApi().fetch);
    expect((await c.getMember('mina')).name).toBe('Mina');
    const err = await caught(c.getMember('nobody'));
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: 'member_not_found' });
  });

  it('sends synthesize as JSON with member, text, speed and request id', async () => {
    const api = fakeApi();
    const r = await clientWith(api.fetch).synthesize({ memberId: 'mina', text: '안녕 🎤', speed: 1.5, requestId: 'req-1' });
    expect(r.status).toBe('queued');
    expect(api.calls[0].method).toBe('POST');
    expect(api.calls[0].headers['Content-Type']).toBe('application/json');
    expect(api.calls[0].body).toEqual({ member_id: 'mina', text: '안녕 🎤', speed: 1.5, request_id: 'req-1' });
  });

  it('turns the error envelope into an ApiError with code, message and field', async () => {
    const c = clientWith(async () => json(400, { error: { code: 'text_too_long', message: 'too long', field: 'text' } }));
    const err = await caught(c.synthesize({ memberId: 'mina', text: 'x' }));
    expect(err).toMatchObject({ status: 400, code: 'text_too_long', field: 'text', message: 'too long' });
  });

  it('reads Retry-After on 429', async () => {
    const c = clientWith(async () => json(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'Retry-After': '7' }));
    const err = await caught(c.synthesize({ memberId: 'mina', text: 'x' }));
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 7 });
  });

  it('gives errors without a JSON body a code from the status', async () => {
    const c = clientWith(async () => new Response('<html>Bad gateway</html>', { status: 502 }));
    expect(await caught(c.listMembers())).toMatchObject({ status: 502, code: 'internal' });
    const c2 = clientWith(async () => new Response('', { status: 503 }));
    expect(await caught(c2.listMembers())).toMatchObject({ status: 503, code: 'unavailable' });
  });

  it('reports a network failure as code network', async () => {
    const c = clientWith(async () => {
      throw new TypeError('Failed to fetch');
    });
    expect(await caught(c.listMembers())).toMatchObject({ status: 0, code: 'network' });
  });

  it('rejects a success answer that is not JSON', async () => {
    const c = clientWith(async () => new Response('ok', { status: 200 }));
    expect(await caught(c.listMembers())).toMatchObject({ code: 'bad_response' });
  });

  it('lets an abort through as an AbortError, not an ApiError', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await caught(clientWith(fakeApi().fetch).listMembers({ signal: ac.signal }));
    expect(err.name).toBe('AbortError');
  });

  it('maps a missing job to job_not_found', async () => {
    const err = await caught(clientWith(fakeApi().fetch).status('nope'));
    expect(err).toMatchObject({ status: 404, code: 'job_not_found' });
  });

  it('passes the job id as a query parameter, keeping the status URL\'s own', async () => {
    const api = fakeApi();
    const c = createClient({ ...CONFIG, statusUrl: 'http://chorus.test/api/status?key=k' }, { fetchImpl: api.fetch });
    await caught(c.status('a b'));
    const u = new URL(api.calls[0].url);
    expect(u.searchParams.get('key')).toBe('k');
    expect(u.searchParams.get('id')).toBe('a b');
  });
});

describe('polling', () => {
  it('polls a job until it succeeds, with growing delays', async () => {
    const api = fakeApi({ steps: 4 });
    const waits = [];
    const c = clientWith(api.fetch, async (ms) => { waits.push(ms); });
    const { job_id } = await c.synthesize({ memberId: 'mina', text: 'hi' });
    const seen = [];
    const job = await c.pollJob(job_id, { onUpdate: (j) => seen.push(j.status) });
    expect(job.status).toBe('succeeded');
    expect(job.audio_url).toMatch(/^http:\/\/gcs\.test\//);
    expect(seen).toEqual(['queued', 'running', 'running', 'succeeded']);
    expect(waits).toEqual([300, 450, 675]);
  });

  it('caps the delay at 2 s', () => {
    let d = DEFAULT_BACKOFF.initialMs;
    for (let i = 0; i < 20; i++) d = nextDelay(d);
    expect(d).toBe(2000);
  });

  it('returns a failed job with its error instead of throwing', async () => {
    const api = fakeApi({ job: (j) => ({ job_id: 'x', status: 'failed', error: { code: 'synthesis_failed', message: 'The voice could not say this.' } }) });
    const c = clientWith(api.fetch);
    const { job_id } = await c.synthesize({ memberId: 'mina', text: 'hi' });
    const job = await c.pollJob(job_id);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'synthesis_failed' } });
  });

  it('retries transient failures and honours Retry-After', async () => {
    const api = fakeApi();
    let n = 0;
    const flaky = async (url, init) => {
      if (String(url).includes('/api/status') && n++ < 2) {
        return n === 1 ? json(503, { error: { code: 'unavailable', message: 'x' } }) : json(429, { error: { code: 'rate_limited', message: 'x' } }, { 'Retry-After': '3' });
      }
      return api.fetch(url, init);
    };
    const waits = [];
    const c = clientWith(flaky, async (ms) => { waits.push(ms); });
    const { job_id } = await c.synthesize({ memberId: 'mina', text: 'hi' });
    expect((await c.pollJob(job_id)).status).toBe('succeeded');
    expect(waits[1]).toBe(3000);
  });

  it('gives up after too many transient failures in a row', async () => {
    const c = clientWith(async () => json(503, { error: { code: 'unavailable', message: 'down' } }));
    const err = await caught(c.pollJob('job1'));
    expect(err).toMatchObject({ code: 'unavailable' });
  });

  it('stops at once on a final error such as job_not_found', async () => {
    const api = fakeApi();
    const err = await caught(clientWith(api.fetch).pollJob('gone'));
    expect(err.code).toBe('job_not_found');
    expect(api.calls).toHaveLength(1);
  });

  it('stops polling when its signal aborts', async () => {
    const api = fakeApi({ steps: 1000 });
    const ac = new AbortController();
    const c = createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: sleep });
    const { job_id } = await c.synthesize({ memberId: 'mina', text: 'hi' });
    const p = c.pollJob(job_id, { signal: ac.signal, onUpdate: () => ac.abort() });
    const err = await caught(p);
    expect(err.name).toBe('AbortError');
    expect(api.calls.filter((x) => x.path === '/api/status')).toHaveLength(1);
  });

  it('long-polls status when the server waits: the next call follows at once, without a pause', async () => {
    let clock = 0;
    // The server holds each call for the wait it was asked for while the job is not done.
    const api = fakeApi({ steps: 4, onWait: (s) => { clock += s * 1000; } });
    const waits = [];
    const c = clientWith(api.fetch, async (ms) => { waits.push(ms); clock += ms; }, () => clock);
    const { job_id } = await c.synthesize({ memberId: 'mina', text: 'hi' });
    const job = await c.pollJob(job_id, { waitSeconds: 20 });
    expect(job.status).toBe('succeeded');
    const asked = statusCalls(api).map((x) => new URL(x.url).searchParams.get('wait'));
    expect(asked).toEqual(['20', '20', '20', '20']);
    expect(waits).toEqual([]); // each answer came after the wait: nothing to add
  });

  it('falls back to the backoff schedule against a server that ignores wait', async () => {
    const api = fakeApi({ steps: 4 }); // answers at once, whatever wait says
    const waits = [];
    const c = clientWith(api.fetch, async (ms) => { waits.push(ms); });
    const { job_id } = await c.synthesize({ memberId: 'mina', text: 'hi' });
    expect((await c.pollJob(job_id, { waitSeconds: 20 })).status).toBe('succeeded');
    expect(statusCalls(api).every((x) => new URL(x.url).searchParams.get('wait') === '20')).toBe(true);
    expect(waits).toEqual([300, 450, 675]);
  });

  it('asks for no wait when the deployment turns the long-poll off', async () => {
    const api = fakeApi({ steps: 2 });
    const c = clientWith(api.fetch);
    const { job_id } = await c.synthesize({ memberId: 'mina', text: 'hi' });
    await c.pollJob(job_id, { waitSeconds: 0 });
    expect(statusCalls(api).every((x) => !new URL(x.url).searchParams.has('wait'))).toBe(true);
  });

  it('gives up with job_timeout at the deadline, never waiting past it', async () => {
    let clock = 0;
    const api = fakeApi({ steps: 1e9, onWait: (s) => { clock += s * 1000; } });
    const waits = [];
    const c = clientWith(api.fetch, async (ms) => { waits.push(ms); clock += ms; }, () => clock);
    const { job_id } = await c.synthesize({ memberId: 'mina', text: 'hi' });
    const err = await caught(c.pollJob(job_id, { waitSeconds: 20, deadlineMs: 50_000 }));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('job_timeout');
    expect(clock).toBe(50_000);
    // 20 s, 20 s, then only the 10 s that were left.
    expect(statusCalls(api).map((x) => new URL(x.url).searchParams.get('wait'))).toEqual(['20', '20', '10']);
  });

  it('gives up at the deadline against a server that answers at once', async () => {
    let clock = 0;
    const api = fakeApi({ steps: 1e9 });
    const c = clientWith(api.fetch, async (ms) => { clock += ms; }, () => clock);
    const { job_id } = await c.synthesize({ memberId: 'mina', text: 'hi' });
    const err = await caught(c.pollJob(job_id, { deadlineMs: 10_000 }));
    expect(err.code).toBe('job_timeout');
    expect(clock).toBe(10_000);
    expect(statusCalls(api).length).toBeLessThan(12);
  });

  it('treats a long-poll that never answers as a lost request and asks again', async () => {
    vi.useFakeTimers();
    try {
      const api = fakeApi({ steps: 2 });
      let hang = true;
      const fetchImpl = (url, init) => {
        if (String(url).includes('/api/status') && hang) {
          hang = false;
          return new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason), { once: true }));
        }
        return api.fetch(url, init);
      };
      const c = clientWith(fetchImpl);
      const { job_id } = await c.synthesize({ memberId: 'mina', text: 'hi' });
      const p = c.pollJob(job_id, { waitSeconds: 1 });
      await vi.advanceTimersByTimeAsync(1000 + LONG_POLL_SLACK_MS);
      expect((await p).status).toBe('succeeded');
    } finally {
      vi.useRealTimers();
    }
  });

  it('polls a batch until every job has ended', async () => {
    const api = fakeApi({ steps: 3 });
    const c = clientWith(api.fetch);
    const b = await c.batch([{ memberId: 'mina', text: 'one' }, { memberId: 'joon', text: 'two', speed: 0.8 }]);
    expect(api.calls[0].body.items).toEqual([{ member_id: 'mina', text: 'one' }, { member_id: 'joon', text: 'two', speed: 0.8 }]);
    const done = await c.pollBatch(b.batch_id);
    expect(done.jobs.map((j) => j.status)).toEqual(['succeeded', 'succeeded']);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('12')).toBe(12);
    expect(parseRetryAfter(new Date(10_000 + 5_000).toUTCString(), 10_000)).toBe(5);
    expect(parseRetryAfter('soon')).toBe(0);
    expect(parseRetryAfter(null)).toBe(0);
  });
});
