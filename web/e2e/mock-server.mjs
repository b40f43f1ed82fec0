#!/usr/bin/env node
// A realistic stand-in for the Chorus local stack, for developing and
// running the browser test without the Go functions and worker. It serves
// dist/ (the built app), the HTTP API of docs/openapi.yaml (checked against
// it by src/test/contract.test.js), and real 16-bit PCM WAVs and WebVTT
// captions behind expiring "signed" URLs. It encodes nothing: a job asking
// for Opus or MP3 gets an object named for its format that holds a WAV
// (browsers play and decode it all the same). It is only ever used when asked for
// (CHORUS_E2E_MOCK=1 in scripts/e2e-web.sh); it is never a fallback.
//
//   node e2e/mock-server.mjs [--port N] [--url-file PATH]
// Env: MOCK_URL_TTL_S (signed URL lifetime, default 900),
//      MOCK_MAX_TEXT_CHARS (default 1000), MOCK_MAX_BATCH_ITEMS (default 100),
//      MOCK_JOB_MS (time to finish a job, default 1200).

import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { speakable } from '../src/lib/speakable.js';
import { encodeWav } from '../src/lib/wav.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const DIST = resolve(here, '..', 'dist');
const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
};
const PORT = Number(arg('--port', process.env.PORT || 0));
const URL_FILE = arg('--url-file', '');
const TTL_S = Number(process.env.MOCK_URL_TTL_S || 900);
const MAX_TEXT = Number(process.env.MOCK_MAX_TEXT_CHARS || 1000);
const JOB_MS = Number(process.env.MOCK_JOB_MS || 1200);
const MAX_ITEMS = Number(process.env.MOCK_MAX_BATCH_ITEMS || 100);
// The body limit follows the item and text limits (docs/openapi.yaml): 8 KiB
// and, per item, 2 KiB and six bytes (a \uXXXX escape) per character.
const maxBody = (items) => 8 * 1024 + items * (2 * 1024 + 6 * MAX_TEXT);
const SAMPLE_RATE = 22050;
const SECRET = randomBytes(16);

const voices = {
  'lumina-demo': { id: 'lumina-demo', label: 'LUMINA demo voice', language: 'ko', demo: true },
  'jun-v1': { id: 'jun-v1', label: "Jun's voice", language: 'en-us', demo: false },
};
const members = [
  { id: 'hana', name: 'Hana', bio: 'Leader and main vocal. Loves rainy mornings and strawberry milk.', image_url: '', voice_id: 'lumina-demo', sample_text: '안녕하세요, 하나예요! Thank you for always being with us.', order: 1 },
  { id: 'jun', name: 'Jun', bio: 'Main dancer, part-time poet, full-time cat person.', image_url: '/mock-assets/jun.svg', voice_id: 'jun-v1', sample_text: 'See you at the concert tonight!', order: 2 },
  { id: 'seoyeon', name: '서연', bio: 'Lead rapper who writes half of our lyrics at 3 a.m.', image_url: '', voice_id: 'lumina-demo', sample_text: '오늘도 화이팅! 🎤', order: 3 },
  { id: 'mika', name: 'Mika', bio: 'Sub-vocal and piano. Collects tiny houseplants.', image_url: '', voice_id: 'lumina-demo', sample_text: 'Good morning, sunshine!', order: 4 },
  { id: 'rio', name: 'Rio', bio: 'The maknae. Laughs first, practises longest.', image_url: '', voice_id: 'lumina-demo', sample_text: 'Did you eat well today?', order: 5 },
  { id: 'dae-hyun', name: 'Dae-hyun', bio: 'Vocal and guitar; our unofficial chef.', image_url: '', voice_id: 'lumina-demo', sample_text: 'Happy birthday! Make a wish.', order: 6 },
].map((m) => ({ ...m, group: 'LUMINA', voice: voices[m.voice_id], active: true }));
members.push({ id: 'yuna', name: 'Yuna', group: 'LUMINA', bio: 'On hiatus.', image_url: '', voice_id: 'lumina-demo', sample_text: '', order: 9, voice: voices['lumina-demo'], active: false });

const jobs = new Map();
const byRequest = new Map();
const batches = new Map();

const newId = () => randomBytes(16).toString('base64url');
const runes = (s) => [...s].length;

function send(res, status, body, headers = {}) {
  const data = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const isJson = typeof body === 'object' && !Buffer.isBuffer(body);
  res.writeHead(status, {
    'Content-Type': isJson ? 'application/json; charset=utf-8' : 'text/plain',
    'Cache-Control': 'no-store',
    ...(isJson ? { 'X-Content-Type-Options': 'nosniff' } : {}),
    ...headers,
  });
  res.end(data);
}
const fail = (res, status, code, message, field, headers) =>
  send(res, status, { error: field ? { code, message, field } : { code, message } }, headers);

class HttpError extends Error {
  constructor(status, code, message, field) {
    super(message);
    Object.assign(this, { status, code, field });
  }
}

async function readJson(req, items = 1) {
  const MAX_BODY = maxBody(items);
  const [type, ...params] = (req.headers['content-type'] || '').split(';').map((x) => x.trim().toLowerCase());
  if (type !== 'application/json') throw new HttpError(415, 'unsupported_media_type', 'Send the request as JSON (Content-Type: application/json).');
  const charset = params.find((x) => x.startsWith('charset='));
  if (charset && charset.slice('charset='.length).replace(/"/g, '') !== 'utf-8') throw new HttpError(415, 'unsupported_media_type', 'Send the request as UTF-8 JSON.');
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length; // past the limit, read on (and drop) so the client gets the answer
    if (size <= MAX_BODY) chunks.push(c);
  }
  if (size > MAX_BODY) throw new HttpError(413, 'body_too_large', `The request is larger than ${MAX_BODY >> 10} KiB.`);
  const buf = Buffer.concat(chunks);
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new HttpError(400, 'invalid_utf8', 'The text contains characters that are not valid UTF-8.', 'text');
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'The request body is not valid JSON.');
  }
  if (body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'invalid_json', 'The request body is not valid JSON.');
  return body;
}

const ITEM_FIELDS = { member_id: 'string', text: 'string', speed: 'number', request_id: 'string', format: 'string' };
const FORMATS = ['wav', 'opus', 'mp3'];
const ID = /^[A-Za-z0-9_-]{1,128}$/;
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** decodeItem checks field names and JSON types, as the Go decoder does (prefix: "items." in a batch). */
function decodeItem(it, prefix = '') {
  if (it === null) return {};
  if (typeof it !== 'object' || Array.isArray(it)) throw new HttpError(400, 'invalid_field', `${prefix.replace(/\.$/, '')} has the wrong type.`, prefix.replace(/\.$/, '') || undefined);
  for (const [k, v] of Object.entries(it)) {
    if (!(k in ITEM_FIELDS)) throw new HttpError(400, 'unknown_field', `Unknown field "${k}".`, k);
    if (v !== null && typeof v !== ITEM_FIELDS[k]) throw new HttpError(400, 'invalid_field', `${prefix}${k} has the wrong type.`, `${prefix}${k}`);
  }
  return it;
}

/** validateItem checks one item as the Go handlers do, trimming member_id and text (prefix: "items[3]."). */
function validateItem(it, prefix = '') {
  const memberId = (it.member_id ?? '').trim();
  if (memberId === '') throw new HttpError(400, 'member_required', 'Choose a member.', `${prefix}member_id`);
  if (!ID.test(memberId)) throw new HttpError(404, 'member_not_found', 'That member does not exist.', `${prefix}member_id`);
  const text = (it.text ?? '').trim();
  const n = runes(text);
  if (n === 0) throw new HttpError(400, 'text_required', 'Type something to say.', `${prefix}text`);
  if (n > MAX_TEXT) throw new HttpError(400, 'text_too_long', `The text has ${n} characters; the limit is ${MAX_TEXT}.`, `${prefix}text`);
  if (/[\uFFFD\p{Cs}]/u.test(text)) throw new HttpError(400, 'invalid_utf8', 'The text contains characters that are not valid UTF-8.', `${prefix}text`);
  if (it.speed != null && !(it.speed >= 0.5 && it.speed <= 2)) {
    throw new HttpError(400, 'speed_out_of_range', 'Speed must be between 0.5 and 2.0.', `${prefix}speed`);
  }
  if (it.request_id && !REQUEST_ID.test(it.request_id)) {
    throw new HttpError(400, 'invalid_request_id', 'request_id must be 1–128 visible ASCII characters.', `${prefix}request_id`);
  }
  if (it.format && !FORMATS.includes(it.format)) {
    throw new HttpError(400, 'invalid_format', `format must be one of ${FORMATS.join(', ')}.`, `${prefix}format`);
  }
  return { member_id: memberId, text, speed: it.speed ?? 1, request_id: it.request_id || '', format: it.format || 'wav' };
}

/**
 * memberFor finds an item's member once every item was validated, then
 * checks that the member's voice can say the text, as the Go handlers do
 * (fields: "member_id" or "items[3].member_id", and the text's).
 */
function memberFor(it, field, textField) {
  const member = members.find((m) => m.id === it.member_id);
  if (!member) throw new HttpError(404, 'member_not_found', 'That member does not exist.', field);
  if (!member.active) throw new HttpError(404, 'member_inactive', `${member.name} is not taking requests right now.`, field);
  if (!speakable(it.text, member.voice?.language)) {
    throw new HttpError(400, 'text_unspeakable', 'The text has nothing to say: add letters or digits (punctuation, emoji and invisible characters alone cannot be spoken).', textField);
  }
  return member;
}

/** replayed returns the job an earlier request with this request_id made, or throws 409 if it differed. */
function replayed(it, field) {
  if (!it.request_id || !byRequest.has(it.request_id)) return null;
  const job = jobs.get(byRequest.get(it.request_id));
  if (job.member_id !== it.member_id || job.text !== it.text || job.speed !== it.speed || job.format !== it.format) {
    throw new HttpError(409, 'request_id_conflict', 'This request_id was already used for a different request.', field);
  }
  return job;
}

function createJob(it, origin, batchId) {
  const job = {
    job_id: newId(), member_id: it.member_id, text: it.text, speed: it.speed, format: it.format,
    created: Date.now(), attempts: 0, batch_id: batchId, origin,
  };
  jobs.set(job.job_id, job);
  if (it.request_id) byRequest.set(it.request_id, job.job_id);
  return job;
}

/** enqueue checks members and request_ids of validated items, then makes (or replays) their jobs. */
function enqueue(items, origin, batchId, fieldPrefix) {
  const field = (i, name) => (fieldPrefix ? `${fieldPrefix}[${i}].${name}` : name);
  items.forEach((it, i) => memberFor(it, field(i, 'member_id'), field(i, 'text')));
  const old = items.map((it, i) => replayed(it, field(i, 'request_id')));
  return items.map((it, i) => {
    const job = old[i] || createJob(it, origin, batchId);
    return { job_id: job.job_id, status: view(job).status, status_url: `${origin}/api/status?id=${job.job_id}` };
  });
}

function sign(object, exp) {
  return createHmac('sha256', SECRET).update(`${object}\n${exp}`).digest('hex');
}

function audioSeconds(job) {
  return Math.min(20, Math.max(0.6, 0.3 + 0.075 * runes(job.text))) / job.speed;
}

function view(job) {
  const age = Date.now() - job.created;
  const status = age < JOB_MS / 3 ? 'queued' : age < JOB_MS ? 'running' : 'succeeded';
  const out = {
    job_id: job.job_id, status, member_id: job.member_id, text: job.text, speed: job.speed, format: job.format,
    created_at: new Date(job.created).toISOString(), attempts: status === 'queued' ? 0 : 1,
  };
  // A job's status never names its batch: a batch is read with its own id.
  if (status !== 'queued') out.started_at = new Date(job.created + JOB_MS / 3).toISOString();
  if (status === 'succeeded') {
    const exp = Date.now() + TTL_S * 1000;
    const object = `${job.job_id}.${job.format}`;
    const captions = `${job.job_id}.vtt`;
    out.finished_at = new Date(job.created + JOB_MS).toISOString();
    out.audio_url = `${job.origin}/mock-gcs/chorus-audio/${object}?exp=${exp}&sig=${sign(object, exp)}`;
    out.captions_url = `${job.origin}/mock-gcs/chorus-audio/${captions}?exp=${exp}&sig=${sign(captions, exp)}`;
    out.expires_at = new Date(exp).toISOString();
    out.duration_seconds = Math.round(audioSeconds(job) * SAMPLE_RATE) / SAMPLE_RATE;
    out.sample_rate = SAMPLE_RATE;
  }
  return out;
}

/** sentences splits a text after . ! ? and white space, as the captions' cues are cut. */
function sentences(text) {
  return text.split(/(?<=[.!?。！？])\s+/).filter(Boolean);
}

/** captionsOf is a job's WebVTT: one cue per sentence, times in proportion to its characters. */
function captionsOf(job) {
  const total = audioSeconds(job);
  const parts = sentences(job.text);
  const all = parts.reduce((n, x) => n + runes(x), 0);
  const t = (sec) => new Date(Math.round(sec * 1000)).toISOString().slice(11, 23);
  let at = 0;
  const cues = parts.map((x, i) => {
    const end = i === parts.length - 1 ? total : at + (total * runes(x)) / all;
    const cue = `${i + 1}\n${t(at)} --> ${t(end)}\n${x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}`;
    at = end;
    return cue;
  });
  return ['WEBVTT', ...cues].join('\n\n') + '\n';
}

/** speechLike makes a voice-ish signal: one syllable per character, pitch from the character. */
function speechLike(job) {
  const n = Math.round(audioSeconds(job) * SAMPLE_RATE);
  const chars = [...job.text];
  const out = new Float32Array(n);
  const per = n / Math.max(1, chars.length);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const k = Math.min(chars.length - 1, Math.floor(i / per));
    const ch = chars[k] || ' ';
    const quiet = /\s|[.,!?]/.test(ch);
    const f0 = 140 + (ch.codePointAt(0) % 90) + 25 * Math.sin((2 * Math.PI * i) / (SAMPLE_RATE * 0.9));
    phase += (2 * Math.PI * f0) / SAMPLE_RATE;
    const t = (i - k * per) / per;
    const env = quiet ? 0.04 : Math.sin(Math.PI * t) ** 1.5;
    out[i] = 0.55 * env * (Math.sin(phase) + 0.45 * Math.sin(2 * phase) + 0.2 * Math.sin(3 * phase)) / 1.65;
  }
  return out;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.wav': 'audio/wav' };

/** The app's security headers, as the local stack (scripts/devstack/web.go) and the web image send them; storage is same-origin here. */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; font-src 'self'; " +
    "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
  'Referrer-Policy': 'no-referrer',
};

async function serveStatic(res, pathname) {
  const rel = normalize(decodeURIComponent(pathname)).replace(/^[/\\]+/, '');
  let file = join(DIST, rel);
  if (!file.startsWith(DIST + sep) && file !== DIST) return fail(res, 404, 'not_found', 'Not found.');
  try {
    if (!(await stat(file)).isFile()) throw new Error('dir');
  } catch {
    if (extname(rel)) return fail(res, 404, 'not_found', 'Not found.');
    file = join(DIST, 'index.html'); // app routes
  }
  try {
    const body = await readFile(file);
    send(res, 200, body, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Cache-Control': file.endsWith('index.html') || file.endsWith('config.json') ? 'no-cache' : 'public, max-age=3600', ...PAGE_HEADERS });
  } catch {
    fail(res, 404, 'not_found', `Not found (is dist/ built?)`);
  }
}

const JUN_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200"><defs><linearGradient id="b" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#0ea5e9"/><stop offset="1" stop-color="#6366f1"/></linearGradient></defs><rect width="200" height="200" fill="url(#b)"/><circle cx="100" cy="82" r="38" fill="#fde2c8"/><path d="M58 78c2-30 22-44 44-44s40 14 42 42c-10-10-24-16-42-16s-34 6-44 18z" fill="#1f2937"/><path d="M30 200c6-44 36-66 70-66s64 22 70 66z" fill="#f8fafc"/><circle cx="86" cy="86" r="4" fill="#1f2937"/><circle cx="114" cy="86" r="4" fill="#1f2937"/><path d="M88 102q12 9 24 0" stroke="#be185d" stroke-width="4" fill="none" stroke-linecap="round"/></svg>`;

/** API paths and their methods (docs/openapi.yaml); each also answers OPTIONS. */
const API_METHODS = { profiles: ['GET', 'HEAD'], synthesize: ['POST'], batch: ['POST'], status: ['GET', 'HEAD'] };

async function handle(req, res) {
  const origin = `http://${req.headers.host}`;
  const url = new URL(req.url, origin);
  const p = url.pathname;
  try {
    const api = /^\/api\/(profiles|synthesize|batch|status)(\/.*)?$/.exec(p);
    if (api && (api[2] === undefined || api[1] === 'profiles')) {
      const methods = API_METHODS[api[1]];
      const allow = [...methods, 'OPTIONS'].join(', ');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { Allow: allow });
        return res.end();
      }
      if (!methods.includes(req.method)) {
        return fail(res, 405, 'method_not_allowed', `Use ${methods.join(' or ')}.`, undefined, { Allow: allow });
      }
    }
    if (api?.[1] === 'profiles') {
      const rest = (api[2] || '').replace(/^\/+|\/+$/g, '');
      let id = url.searchParams.get('id');
      try {
        if (rest) id = decodeURIComponent(rest);
      } catch {
        throw new HttpError(404, 'member_not_found', 'That member does not exist.');
      }
      const pub = ({ active, ...m }) => m;
      if (id) {
        const m = members.find((x) => x.id === id && x.active);
        if (!m) throw new HttpError(404, 'member_not_found', 'That member does not exist.');
        return send(res, 200, pub(m), { 'Cache-Control': 'public, max-age=60' });
      }
      const limits = { max_text_chars: MAX_TEXT, max_batch_items: MAX_ITEMS, max_body_bytes: maxBody(MAX_ITEMS) };
      return send(res, 200, { members: members.filter((m) => m.active).map(pub), limits }, { 'Cache-Control': 'public, max-age=30' });
    }
    if (p === '/api/synthesize') {
      const it = validateItem(decodeItem(await readJson(req)));
      return send(res, 202, enqueue([it], origin)[0]);
    }
    if (p === '/api/batch') {
      const body = await readJson(req, MAX_ITEMS);
      for (const k of Object.keys(body)) if (k !== 'items') throw new HttpError(400, 'unknown_field', `Unknown field "${k}".`, k);
      if (body.items != null && !Array.isArray(body.items)) throw new HttpError(400, 'invalid_field', 'items has the wrong type.', 'items');
      const raw = (body.items ?? []).map((it) => decodeItem(it, 'items.'));
      if (raw.length === 0) throw new HttpError(400, 'no_items', 'Add at least one line to synthesise.', 'items');
      if (raw.length > MAX_ITEMS) throw new HttpError(400, 'too_many_items', `A batch holds at most ${MAX_ITEMS} items.`, 'items');
      const items = raw.map((it, i) => validateItem(it, `items[${i}].`));
      const batchId = newId();
      const list = enqueue(items, origin, batchId, 'items');
      batches.set(batchId, list.map((j) => j.job_id));
      return send(res, 202, { batch_id: batchId, jobs: list });
    }
    if (p === '/api/status') {
      const id = url.searchParams.get('id');
      if (id) {
        const job = jobs.get(id);
        if (!job) throw new HttpError(404, 'job_not_found', 'No such job.');
        return send(res, 200, view(job));
      }
      const b = url.searchParams.get('batch');
      if (b) {
        const ids = batches.get(b);
        if (!ids) throw new HttpError(404, 'batch_not_found', 'No such batch.');
        return send(res, 200, { batch_id: b, jobs: ids.map((x) => view(jobs.get(x))) });
      }
      throw new HttpError(400, 'id_required', 'Give a job id (?id=) or a batch id (?batch=).', 'id');
    }
    if (p.startsWith('/mock-gcs/chorus-audio/')) {
      const object = p.slice('/mock-gcs/chorus-audio/'.length);
      const exp = Number(url.searchParams.get('exp'));
      if (url.searchParams.get('sig') !== sign(object, exp)) return send(res, 403, '<Error><Code>SignatureDoesNotMatch</Code></Error>', { 'Content-Type': 'application/xml' });
      if (!(exp > Date.now())) return send(res, 400, '<Error><Code>ExpiredToken</Code><Message>Invalid argument.</Message></Error>', { 'Content-Type': 'application/xml' });
      const [, id, ext] = /^(.*)\.(\w+)$/.exec(object) || [];
      const job = jobs.get(id);
      if (!job || (ext !== 'vtt' && ext !== job.format)) return send(res, 404, '<Error><Code>NoSuchKey</Code></Error>', { 'Content-Type': 'application/xml' });
      if (ext === 'vtt') return send(res, 200, captionsOf(job), { 'Content-Type': 'text/vtt' });
      return send(res, 200, Buffer.from(encodeWav(speechLike(job), SAMPLE_RATE)), { 'Content-Type': 'audio/wav' });
    }
    if (p === '/mock-assets/jun.svg') return send(res, 200, JUN_SVG, { 'Content-Type': 'image/svg+xml' });
    if (p.startsWith('/api/')) throw new HttpError(404, 'not_found', 'Not found.');
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'Use GET.');
    return serveStatic(res, p);
  } catch (err) {
    if (err instanceof HttpError) return fail(res, err.status, err.code, err.message, err.field);
    console.error('mock: internal error', err);
    return fail(res, 500, 'internal', 'Something went wrong on our side. Please try again.');
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error('mock: unhandled', err);
    if (!res.headersSent) fail(res, 500, 'internal', 'Something went wrong.');
  });
});
server.listen(PORT, '127.0.0.1', async () => {
  const u = `http://127.0.0.1:${server.address().port}`;
  if (URL_FILE) await writeFile(URL_FILE, u + '\n');
  console.log(`mock: Chorus mock API and app at ${u}/`);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
