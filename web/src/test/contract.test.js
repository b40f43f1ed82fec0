// The API contract (docs/openapi.yaml) against its two imitations: the e2e
// mock server (e2e/mock-server.mjs, run here as a child process) and the
// Vitest fake (fakeApi.js). Every answer they give below must conform to the
// contract; the cases also pin the status, code and field the Go handlers
// answer (functions/api), so that all three behave alike.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from './contract.js';
import { fakeApi } from './fakeApi.js';

const check = loadContract();
const MOCK = resolve(dirname(fileURLToPath(import.meta.url)), '../../e2e/mock-server.mjs');
const JSON_CT = 'application/json';

/** A call to make: body is a string, a Buffer or a value sent as JSON. */
const item = (over = {}) => ({ member_id: '{member}', text: 'Hello there.', ...over });
const many = (n) => ({ items: Array.from({ length: n }, () => item()) });

// want: [status, code?, field?]. fake: the fake answers it too (it checks
// no input and knows no inactive member, so only its own answers are asked).
const CASES = [
  { name: 'profiles', method: 'GET', path: '/api/profiles', want: [200], fake: true },
  { name: 'profile by path', method: 'GET', path: '/api/profiles/{member}', want: [200], fake: true },
  { name: 'profile by ?id=', method: 'GET', path: '/api/profiles?id={member}', want: [200], fake: true },
  { name: 'unknown profile', method: 'GET', path: '/api/profiles/nobody', want: [404, 'member_not_found'], fake: true },
  { name: 'malformed profile id', method: 'GET', path: '/api/profiles?id=..%2Fx', want: [404, 'member_not_found'], fake: true },
  { name: 'inactive profile', method: 'GET', path: '/api/profiles/{inactive}', want: [404, 'member_not_found'] },
  { name: 'HEAD profiles', method: 'HEAD', path: '/api/profiles', want: [200] },
  { name: 'DELETE profiles', method: 'DELETE', path: '/api/profiles', want: [405, 'method_not_allowed'], fake: true },
  { name: 'OPTIONS profile', method: 'OPTIONS', path: '/api/profiles/{member}', want: [204], fake: true },

  { name: 'synthesize', method: 'POST', path: '/api/synthesize', body: item({ speed: 1.5 }), want: [202], fake: true },
  { name: 'empty text', method: 'POST', path: '/api/synthesize', body: item({ text: '' }), want: [400, 'text_required', 'text'] },
  { name: 'white space text', method: 'POST', path: '/api/synthesize', body: item({ text: ' \n\t ' }), want: [400, 'text_required', 'text'] },
  { name: 'text over the limit', method: 'POST', path: '/api/synthesize', body: item({ text: 'a'.repeat(1001) }), want: [400, 'text_too_long', 'text'] },
  { name: 'an ampersand alone (a word in Korean and English)', method: 'POST', path: '/api/synthesize', body: item({ text: ' & ' }), want: [202] },
  { name: 'unspeakable text', method: 'POST', path: '/api/synthesize', body: item({ text: '\u200b!?… 🎤' }), want: [400, 'text_unspeakable', 'text'] },
  { name: 'unknown member', method: 'POST', path: '/api/synthesize', body: item({ member_id: 'nobody' }), want: [404, 'member_not_found', 'member_id'] },
  { name: 'malformed member', method: 'POST', path: '/api/synthesize', body: item({ member_id: '../x' }), want: [404, 'member_not_found', 'member_id'] },
  { name: 'no member', method: 'POST', path: '/api/synthesize', body: { text: 'hi' }, want: [400, 'member_required', 'member_id'] },
  { name: 'inactive member', method: 'POST', path: '/api/synthesize', body: item({ member_id: '{inactive}' }), want: [404, 'member_inactive', 'member_id'] },
  { name: 'wrong content type', method: 'POST', path: '/api/synthesize', contentType: 'text/plain', body: item(), want: [415, 'unsupported_media_type'] },
  { name: 'no content type', method: 'POST', path: '/api/synthesize', contentType: '', body: item(), want: [415, 'unsupported_media_type'] },
  { name: 'latin1 charset', method: 'POST', path: '/api/synthesize', contentType: 'application/json; charset=latin1', body: item(), want: [415, 'unsupported_media_type'] },
  { name: 'body over 64 KiB', method: 'POST', path: '/api/synthesize', body: item({ text: 'a'.repeat(70 << 10) }), want: [413, 'body_too_large'] },
  { name: 'invalid UTF-8', method: 'POST', path: '/api/synthesize', body: Buffer.from('{"member_id":"{member}","text":"caf\xe9"}', 'latin1'), want: [400, 'invalid_utf8', 'text'] },
  { name: 'lone surrogate', method: 'POST', path: '/api/synthesize', body: '{"member_id":"{member}","text":"hi \\ud800"}', want: [400, 'invalid_utf8', 'text'] },
  { name: 'speed too low', method: 'POST', path: '/api/synthesize', body: item({ speed: 0.4 }), want: [400, 'speed_out_of_range', 'speed'] },
  { name: 'speed not a number', method: 'POST', path: '/api/synthesize', body: item({ speed: 'fast' }), want: [400, 'invalid_field', 'speed'] },
  { name: 'malformed JSON', method: 'POST', path: '/api/synthesize', body: '{"member_id":', want: [400, 'invalid_json'] },
  { name: 'unknown field', method: 'POST', path: '/api/synthesize', body: item({ voice: 'x' }), want: [400, 'unknown_field', 'voice'] },
  { name: 'bad request_id', method: 'POST', path: '/api/synthesize', body: item({ request_id: 'has space' }), want: [400, 'invalid_request_id', 'request_id'] },
  { name: 'synthesize in Opus', method: 'POST', path: '/api/synthesize', body: item({ format: 'opus' }), want: [202], fake: true },
  { name: 'unknown format', method: 'POST', path: '/api/synthesize', body: item({ format: 'flac' }), want: [400, 'invalid_format', 'format'] },
  { name: 'format not a string', method: 'POST', path: '/api/synthesize', body: item({ format: 3 }), want: [400, 'invalid_field', 'format'] },
  { name: 'GET synthesize', method: 'GET', path: '/api/synthesize', want: [405, 'method_not_allowed'], fake: true },
  { name: 'OPTIONS synthesize', method: 'OPTIONS', path: '/api/synthesize', want: [204], fake: true },

  { name: 'batch', method: 'POST', path: '/api/batch', body: { items: [item(), item({ text: 'two', speed: 0.5 })] }, want: [202], fake: true },
  { name: 'batch over 100 items', method: 'POST', path: '/api/batch', body: many(101), want: [400, 'too_many_items', 'items'] },
  { name: 'batch without items', method: 'POST', path: '/api/batch', body: { items: [] }, want: [400, 'no_items', 'items'] },
  { name: 'batch with one bad item', method: 'POST', path: '/api/batch', body: { items: [item(), item({ text: '' })] }, want: [400, 'text_required', 'items[1].text'] },
  { name: 'batch with a bad format', method: 'POST', path: '/api/batch', body: { items: [item(), item({ format: 'ogg' })] }, want: [400, 'invalid_format', 'items[1].format'] },
  { name: 'batch with an unspeakable item', method: 'POST', path: '/api/batch', body: { items: [item(), item({ text: '...' })] }, want: [400, 'text_unspeakable', 'items[1].text'] },
  { name: 'batch with inactive member', method: 'POST', path: '/api/batch', body: { items: [item(), item({ member_id: '{inactive}' })] }, want: [404, 'member_inactive', 'items[1].member_id'] },
  { name: 'GET batch', method: 'GET', path: '/api/batch', want: [405, 'method_not_allowed'], fake: true },

  { name: 'status without id', method: 'GET', path: '/api/status', want: [400, 'id_required', 'id'], fake: true },
  { name: 'unknown job', method: 'GET', path: '/api/status?id=aaaaaaaaaaaaaaaaaaaaaaaaaa', want: [404, 'job_not_found'], fake: true },
  { name: 'unknown batch', method: 'GET', path: '/api/status?batch=aaaaaaaaaaaaaaaaaaaaaaaaaa', want: [404, 'batch_not_found'], fake: true },
  { name: 'POST status', method: 'POST', path: '/api/status', body: {}, want: [405, 'method_not_allowed'], fake: true },
  { name: 'unknown endpoint', method: 'GET', path: '/api/nothing', want: [404, 'not_found'], fake: true },
];

/** targets: each imitation's way to send a call, and its member ids. */
function mockTarget(base) {
  return {
    member: 'hana',
    inactive: 'yuna',
    send: ({ method, path, contentType, body }) =>
      new Promise((resolve, reject) => {
        const headers = {};
        if (contentType) headers['Content-Type'] = contentType;
        const req = request(base + path, { method, headers }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, headers: flat(res.headers), body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.end(body);
      }),
  };
}

function fakeTarget() {
  const api = fakeApi();
  return {
    member: 'mina',
    send: async ({ method, path, contentType, body }) => {
      const headers = contentType ? { 'Content-Type': contentType } : {};
      const res = await api.fetch(`http://chorus.test${path}`, { method, headers, body: body === undefined ? undefined : String(body) });
      return { status: res.status, headers: res.headers, body: await res.text() };
    },
  };
}

const flat = (h) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));

/** call sends a case with its placeholders filled and checks the answer against the contract. */
async function call(target, { method, path, contentType = JSON_CT, body }) {
  const fill = (s) => s.replaceAll('{member}', target.member).replaceAll('{inactive}', target.inactive);
  let raw;
  if (Buffer.isBuffer(body)) raw = Buffer.from(fill(body.toString('latin1')), 'latin1');
  else if (typeof body === 'string') raw = fill(body);
  else if (body !== undefined) raw = fill(JSON.stringify(body));
  const p = fill(path);
  const res = await target.send({ method, path: p, contentType: body === undefined ? undefined : contentType, body: raw });
  const problems = check({ method, url: p, status: res.status, headers: res.headers, body: res.body });
  let data = null;
  try {
    data = res.body ? JSON.parse(res.body) : null;
  } catch { /* checked above */ }
  return { ...res, data, problems };
}

function expectAnswer(r, [status, code, field]) {
  expect(r.problems).toEqual([]);
  expect(r.status).toBe(status);
  if (code) expect(r.data?.error?.code).toBe(code);
  if (field !== undefined || code) expect(r.data?.error?.field).toBe(field);
}

const until = async (fn, ok, tries = 100) => {
  for (let i = 0; ; i++) {
    const r = await fn();
    if (ok(r) || i >= tries) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
};

describe('the mock server follows docs/openapi.yaml', () => {
  let child;
  let mock;
  beforeAll(async () => {
    child = spawn(process.execPath, [MOCK, '--port', '0'], { env: { ...process.env, MOCK_JOB_MS: '90' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const base = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`mock server exited (${code})`)));
    });
    mock = mockTarget(base);
  });
  afterAll(() => child?.kill('SIGTERM'));

  it.each(CASES.map((c) => [c.name, c]))('%s', async (_, c) => {
    expectAnswer(await call(mock, c), c.want);
  });

  it('jobs and batches: every state of status', async () => {
    const s = await call(mock, { method: 'POST', path: '/api/synthesize', body: item({ request_id: 'r-1' }) });
    expectAnswer(s, [202]);
    const seen = new Set();
    const done = await until(async () => {
      const r = await call(mock, { method: 'GET', path: `/api/status?id=${s.data.job_id}` });
      expectAnswer(r, [200]);
      seen.add(r.data.status);
      return r;
    }, (r) => r.data.status === 'succeeded');
    expect(done.data.status).toBe('succeeded');
    expect(seen.size).toBeGreaterThan(1);
    expect(done.data.format).toBe('wav');
    expect(done.data.captions_url).toMatch(/\.vtt\?/);

    // Another format: its object is named for it, and the captions come with it.
    const o = await call(mock, { method: 'POST', path: '/api/synthesize', body: item({ format: 'mp3', text: 'One. Two!' }) });
    expectAnswer(o, [202]);
    const od = await until(async () => {
      const r = await call(mock, { method: 'GET', path: `/api/status?id=${o.data.job_id}` });
      expectAnswer(r, [200]);
      return r;
    }, (r) => r.data.status === 'succeeded');
    expect(od.data.format).toBe('mp3');
    expect(od.data.audio_url).toMatch(/\.mp3\?/);

    // request_id: the same request replays its job (in its state now), another one conflicts.
    const again = await call(mock, { method: 'POST', path: '/api/synthesize', body: item({ request_id: 'r-1' }) });
    expectAnswer(again, [202]);
    expect(again.data).toMatchObject({ job_id: s.data.job_id, status: 'succeeded' });
    expectAnswer(await call(mock, { method: 'POST', path: '/api/synthesize', body: item({ request_id: 'r-1', text: 'Other.' }) }), [409, 'request_id_conflict', 'request_id']);
    expectAnswer(await call(mock, { method: 'POST', path: '/api/batch', body: { items: [item(), item({ request_id: 'r-1', text: 'Other.' })] } }), [409, 'request_id_conflict', 'items[1].request_id']);

    const b = await call(mock, { method: 'POST', path: '/api/batch', body: { items: [item(), item({ text: 'two' })] } });
    expectAnswer(b, [202]);
    const bs = await until(async () => {
      const r = await call(mock, { method: 'GET', path: `/api/status?batch=${b.data.batch_id}` });
      expectAnswer(r, [200]);
      return r;
    }, (r) => r.data.jobs.every((j) => j.status === 'succeeded'));
    expect(bs.data.jobs.map((j) => j.job_id)).toEqual(b.data.jobs.map((j) => j.job_id));
  });
});

describe('the fake API follows docs/openapi.yaml', () => {
  it.each(CASES.filter((c) => c.fake).map((c) => [c.name, c]))('%s', async (_, c) => {
    expectAnswer(await call(fakeTarget(), c), c.want);
  });

  it('jobs and batches: every state of status', async () => {
    const fake = fakeTarget();
    const s = await call(fake, { method: 'POST', path: '/api/synthesize', body: item() });
    expectAnswer(s, [202]);
    const states = [];
    for (let i = 0; i < 3; i++) {
      const r = await call(fake, { method: 'GET', path: `/api/status?id=${s.data.job_id}` });
      expectAnswer(r, [200]);
      states.push(r.data.status);
    }
    expect(states).toEqual(['queued', 'succeeded', 'succeeded']);
    const b = await call(fake, { method: 'POST', path: '/api/batch', body: { items: [item(), item({ text: 'two' })] } });
    expectAnswer(b, [202]);
    for (let i = 0; i < 2; i++) expectAnswer(await call(fake, { method: 'GET', path: `/api/status?batch=${b.data.batch_id}` }), [200]);
  });

  it('a running job too', async () => {
    const fakeSteps = fakeApi({ steps: 3 });
    fakeSteps.seedJob('job7', { member_id: 'mina', text: 'hi' });
    const states = [];
    for (let i = 0; i < 3; i++) {
      const res = await fakeSteps.fetch('http://chorus.test/api/status?id=job7');
      const body = await res.text();
      expect(check({ method: 'GET', url: '/api/status?id=job7', status: res.status, headers: res.headers, body })).toEqual([]);
      states.push(JSON.parse(body).status);
    }
    expect(states).toEqual(['queued', 'running', 'succeeded']);
  });

  it('audio past the retention: 410 on its own, an error entry in a batch', async () => {
    const api = fakeApi();
    api.seedJob('old1', { member_id: 'mina', text: 'hi', batch_id: 'b1', gone: true });
    api.seedJob('new1', { member_id: 'mina', text: 'yo', batch_id: 'b1', polls: 5 });
    api.seedBatch('b1', ['old1', 'new1']);
    for (const [url, status] of [['/api/status?id=old1', 410], ['/api/status?batch=b1', 200]]) {
      const res = await api.fetch(`http://chorus.test${url}`);
      const body = await res.text();
      expect(check({ method: 'GET', url, status: res.status, headers: res.headers, body })).toEqual([]);
      expect(res.status).toBe(status);
      if (status === 200) expect(JSON.parse(body).jobs.map((j) => j.error?.code ?? j.status)).toEqual(['audio_expired', 'succeeded']);
      else expect(JSON.parse(body).error.code).toBe('audio_expired');
    }
  });
});

describe('the contract check', () => {
  const J = { 'Content-Type': 'application/json' };
  const err = (code, extra = {}) => JSON.stringify({ error: { code, message: 'x', ...extra } });
  it.each([
    ['an undocumented status', 'GET', '/api/profiles', 418, J, err('internal'), 'not documented'],
    ['an unknown error code', 'GET', '/api/status?id=x', 404, J, err('gone'), 'allowed values'],
    ['a code of another status', 'GET', '/api/status?id=x', 404, J, err('audio_expired'), 'allowed values'],
    ['an error without message', 'POST', '/api/synthesize', 400, J, JSON.stringify({ error: { code: 'text_required' } }), "'message'"],
    ['an undocumented field', 'GET', '/api/profiles/a', 200, J, JSON.stringify({ id: 'a', name: 'A', group: 'G', bio: '', image_url: '', voice_id: 'v', sample_text: '', order: 1, active: true }), 'additional properties'],
    ['a batch job without status', 'POST', '/api/batch', 202, J, JSON.stringify({ batch_id: 'b', jobs: [{ job_id: 'j', status_url: '/api/status?id=j' }] }), "'status'"],
    ['429 without Retry-After', 'POST', '/api/synthesize', 429, J, err('rate_limited'), 'Retry-After missing'],
    ['405 without Allow', 'DELETE', '/api/profiles', 405, J, err('method_not_allowed'), 'Allow missing'],
    ['405 with a wrong Allow', 'DELETE', '/api/profiles', 405, { ...J, Allow: 'GET, OPTIONS' }, err('method_not_allowed'), 'the contract lists GET, HEAD, OPTIONS'],
    ['an unknown path answered 200', 'GET', '/api/nothing', 200, J, '{}', 'must answer 404'],
    ['a body that is not JSON', 'GET', '/api/profiles', 200, { 'Content-Type': 'text/plain' }, '{"members":[]}', 'Content-Type'],
  ])('rejects %s', (_, method, url, status, headers, body, want) => {
    const problems = check({ method, url, status, headers, body });
    expect(problems.join('\n')).toContain(want);
  });
});
