import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from '../App.jsx';
import { ChorusProvider } from '../context.jsx';
import { createClient } from '../lib/api.js';
import { STORAGE_KEY } from '../lib/recent.js';
import { CONFIG, MEMBERS, fakeApi, json, noSleep } from '../test/fakeApi.js';
import { BatchPage, audioClient } from './BatchPage.jsx';
import { Composer } from './Composer.jsx';
import { MemberPage, MembersPage, RecentPage } from './pages.jsx';

function setup(ui, script) {
  const api = fakeApi(script);
  const client = createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: noSleep });
  const r = render(<ChorusProvider client={client}>{ui}</ChorusProvider>);
  return { api, client, ...r };
}

const statusCalls = (api) => api.calls.filter((c) => c.path === '/api/status');

describe('members page', () => {
  it('shows a card per member with avatar, name, a line of bio and a demo label', async () => {
    setup(<MembersPage />);
    const cards = await screen.findAllByTestId('member-card');
    expect(cards.map((c) => within(c).getByText(/^(Mina|Joon)$/).textContent)).toEqual(['Joon', 'Mina']);
    expect(cards[1].getAttribute('href')).toBe('#/members/mina');
    expect(within(cards[1]).getByText('Main vocal who loves rainy days.')).toBeTruthy();
    expect(within(cards[1]).getByTestId('generated-avatar').textContent).toBe('M');
    expect(within(cards[1]).getByText('Demo voice')).toBeTruthy();
    expect(within(cards[0]).queryByText('Demo voice')).toBeNull();
    expect(screen.getByRole('heading', { level: 1 }).textContent).toMatch(/STELLA/);
  });

  it('explains a failure and retries', async () => {
    let fail = true;
    setup(<MembersPage />, { profiles: () => (fail ? json(503, { error: { code: 'unavailable', message: 'x' } }) : null) });
    expect((await screen.findByRole('alert')).textContent).toMatch(/short break/);
    fail = false;
    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findAllByTestId('member-card')).toHaveLength(2);
  });
});

describe('member page', () => {
  it('shows the profile, labels a demo voice and fills the sample sentence', async () => {
    setup(<MemberPage id="mina" />);
    expect(await screen.findByRole('heading', { level: 1, name: 'Mina' })).toBeTruthy();
    expect(screen.getAllByText('Demo voice').length).toBeGreaterThan(0);
    expect(screen.getByText(/not Mina's real voice/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Use this sentence' }));
    expect(screen.getByLabelText('What should Mina say?').value).toBe('안녕하세요!');
  });

  it('says so when the member does not exist', async () => {
    setup(<MemberPage id="ghost" />);
    expect(await screen.findByRole('heading', { name: 'Member not found' })).toBeTruthy();
    expect(screen.getByRole('alert').textContent).toMatch(/couldn't find this member/);
  });
});

describe('composer', () => {
  async function composer(script) {
    const s = setup(<Composer initialMemberId="mina" />, script);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('mina'));
    return s;
  }
  const box = () => screen.getByLabelText('What should Mina say?');
  const submit = () => fireEvent.click(screen.getByRole('button', { name: /say it/ }));

  it('counts characters live, Korean and emoji included', async () => {
    await composer();
    fireEvent.change(box(), { target: { value: '안녕 🎤' } });
    expect(screen.getByTestId('char-count').textContent).toBe('4 / 20 characters');
    fireEvent.change(box(), { target: { value: '가'.repeat(23) } });
    expect(screen.getByTestId('char-count').textContent).toMatch(/23 \/ 20 characters · 3 too many/);
    expect(box().getAttribute('aria-invalid')).toBe('true');
  });

  it('shows an over-long text error next to the text without calling the API', async () => {
    const { api } = await composer();
    fireEvent.change(box(), { target: { value: 'x'.repeat(21) } });
    submit();
    const err = screen.getByTestId('text-error');
    expect(err.textContent).toMatch(/too long.*20 characters/);
    expect(box().getAttribute('aria-describedby')).toContain(err.id);
    expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
  });

  it('asks for text when it is empty', async () => {
    await composer();
    fireEvent.change(box(), { target: { value: '   ' } });
    submit();
    expect(screen.getByTestId('text-error').textContent).toMatch(/Type something for Mina/);
  });

  it("puts the API's errors next to the field they concern", async () => {
    await composer({ synthesize: () => json(400, { error: { code: 'member_inactive', message: 'inactive', field: 'member_id' } }) });
    fireEvent.change(box(), { target: { value: 'hello' } });
    submit();
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/Mina is taking a break/);
    expect(screen.getByLabelText('Member').getAttribute('aria-describedby')).toBe(alert.id);
  });

  it('says how long to wait when rate limited', async () => {
    await composer({ synthesize: () => json(429, { error: { code: 'rate_limited', message: 'x' } }, { 'Retry-After': '30' }) });
    fireEvent.change(box(), { target: { value: 'hello' } });
    submit();
    expect((await screen.findByRole('alert')).textContent).toMatch(/try again in 30 seconds/);
  });

  it('synthesises, shows progress, then the player with waveform, duration and download; keeps it in recent', async () => {
    const { api } = await composer({ steps: 3 });
    fireEvent.change(box(), { target: { value: '안녕 🎤' } });
    fireEvent.change(screen.getByRole('slider', { name: /Speed/ }), { target: { value: '1.3' } });
    submit();
    expect(screen.getByTestId('progress')).toBeTruthy();
    const result = await screen.findByTestId('result');
    const post = api.calls.find((c) => c.method === 'POST');
    expect(post.body).toMatchObject({ member_id: 'mina', text: '안녕 🎤', speed: 1.3 });
    expect(post.body.request_id).toMatch(/\S{8,}/);
    const audio = await waitFor(() => {
      const a = result.querySelector('audio');
      expect(a).toBeTruthy();
      return a;
    });
    expect(audio.getAttribute('src')).toMatch(/^blob:/);
    const canvas = result.querySelector('canvas.waveform');
    await waitFor(() => expect(canvas.dataset.drawn).toBe('true'));
    const bars = canvas.getContext('2d').ops.filter((o) => o[0] === 'fillRect');
    expect(bars.length).toBeGreaterThanOrEqual(160);
    expect(new Set(bars.map((b) => b[5])).size).toBeGreaterThan(5); // heights follow the sound
    expect(within(result).getByTestId('duration').textContent).toMatch(/0:00\.5/);
    const dl = within(result).getByRole('link', { name: /Download WAV/ });
    expect(dl.getAttribute('download')).toMatch(/^mina-.*\.wav$/);
    expect(dl.getAttribute('href')).toBe(audio.getAttribute('src'));
    expect(screen.queryByTestId('progress')).toBeNull();
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY));
    expect(stored[0]).toMatchObject({ memberId: 'mina', memberName: 'Mina', text: '안녕 🎤', demo: true });
  });

  it('asks for Opus where the browser plays it, and offers every format for download', async () => {
    const canPlay = HTMLMediaElement.prototype.canPlayType;
    HTMLMediaElement.prototype.canPlayType = (t) => (t === 'audio/ogg; codecs=opus' ? 'probably' : '');
    const saved = [];
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () { saved.push(this.download); };
    try {
      const { api } = await composer();
      fireEvent.change(box(), { target: { value: 'Hello there.' } });
      submit();
      const result = await screen.findByTestId('result');
      expect(api.calls.find((c) => c.path === '/api/synthesize').body.format).toBe('opus');
      const dl = await within(result).findByRole('link', { name: /Download Opus/ });
      expect(dl.getAttribute('download')).toMatch(/^mina-.*-hello-there\.opus$/);
      expect(within(result).getAllByRole('link', { name: /download/i })).toHaveLength(1);
      // Another format: the same words asked for again in it, then saved.
      fireEvent.click(within(result).getByRole('button', { name: 'Download as MP3' }));
      await waitFor(() => expect(saved).toHaveLength(1));
      expect(saved[0]).toMatch(/^mina-.*-hello-there\.mp3$/);
      const posts = api.calls.filter((c) => c.path === '/api/synthesize');
      expect(posts.map((c) => c.body.format)).toEqual(['opus', 'mp3']);
      expect(posts[1].body).toMatchObject({ member_id: 'mina', text: 'Hello there.', speed: 1 });
      expect(api.calls.some((c) => /\/audio\/job\d+\.mp3$/.test(c.path))).toBe(true);
      expect(within(result).getByRole('button', { name: 'Download as WAV' })).toBeTruthy();
    } finally {
      HTMLMediaElement.prototype.canPlayType = canPlay;
      HTMLAnchorElement.prototype.click = click;
    }
  });

  it('highlights the sentence being spoken, from the captions', async () => {
    await composer();
    fireEvent.change(box(), { target: { value: 'One. Two! Three?' } });
    submit();
    const result = await screen.findByTestId('result');
    const cues = await within(result).findAllByTestId('cue');
    expect(cues.map((c) => c.textContent)).toEqual(['One.', 'Two!', 'Three?']);
    expect(within(result).getByTestId('result-text').textContent).toBe('One. Two! Three?');
    const audio = result.querySelector('audio');
    const at = (t) => {
      Object.defineProperty(audio, 'currentTime', { value: t, configurable: true });
      fireEvent.timeUpdate(audio);
      return cues.map((c) => c.getAttribute('aria-current'));
    };
    expect(cues.every((c) => c.getAttribute('aria-current') === null)).toBe(true);
    expect(at(0.2)).toEqual([null, 'true', null]); // the fake's cues split 0.5 s in thirds
    expect(at(0.45)).toEqual([null, null, 'true']);
    fireEvent.ended(audio);
    expect(cues.every((c) => c.getAttribute('aria-current') === null)).toBe(true);
  });

  it.each([[false, 'smooth'], [true, 'auto']])('scrolls a new result into view (reduced motion: %s → %s) and focuses its title', async (reduce, behavior) => {
    const scrolled = [];
    Element.prototype.scrollIntoView = function scrollIntoView(opts) { scrolled.push([this, opts]); }; // jsdom has none
    window.matchMedia = (q) => ({ matches: reduce && q === '(prefers-reduced-motion: reduce)', media: q });
    try {
      await composer();
      fireEvent.change(box(), { target: { value: 'hello' } });
      submit();
      const result = await screen.findByTestId('result');
      await waitFor(() => expect(result.querySelector('audio')).toBeTruthy());
      // Settled: the clip (audio and captions) loaded and the player is full size.
      await waitFor(() => expect(result.querySelector('canvas.waveform')).toBeTruthy());
      expect(document.activeElement).toBe(within(result).getByRole('heading', { name: /Mina says/ }));
      expect(scrolled.length).toBeGreaterThanOrEqual(1);
      expect(scrolled.every(([el, opts]) => el === result && opts.behavior === behavior && opts.block === 'nearest')).toBe(true);
      const n = scrolled.length;
      box().focus();
      fireEvent.change(box(), { target: { value: 'typing again' } }); // re-renders do not scroll or steal focus
      expect(scrolled).toHaveLength(n);
      expect(document.activeElement).toBe(box());
    } finally {
      delete Element.prototype.scrollIntoView;
      delete window.matchMedia;
    }
  });

  it("labels the player with one duration: the decoded audio's, on the player's clock", async () => {
    // The status claims 2 s; the WAV holds 0.5 s, which is what the player plays.
    const api = fakeApi();
    const fetchImpl = async (u, init) => {
      const res = await api.fetch(u, init);
      if (!String(u).includes('/api/status')) return res;
      const body = await res.json();
      return json(res.status, body.status === 'succeeded' ? { ...body, duration_seconds: 2 } : body);
    };
    render(<ChorusProvider client={createClient(CONFIG, { fetchImpl, sleepImpl: noSleep })}><Composer initialMemberId="mina" /></ChorusProvider>);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('mina'));
    fireEvent.change(box(), { target: { value: 'hello' } });
    submit();
    const result = await screen.findByTestId('result');
    const label = await within(result).findByTestId('duration');
    expect(label.textContent).toBe('Duration: 0:00.5');
    expect(result.querySelector('canvas.waveform').getAttribute('aria-label')).toMatch(/, 0:00\.5$/);
    const audio = result.querySelector('audio');
    Object.defineProperty(audio, 'duration', { value: 0.71, configurable: true });
    fireEvent(audio, new Event('loadedmetadata'));
    expect(label.textContent).toBe('Duration: 0:00.5');
  });

  it('refuses text the voice cannot say before sending, as the API would', async () => {
    const { api } = await composer();
    const send = () => screen.getByRole('button', { name: /say it/ });
    for (const text of ['🎤🎶 !!', '\u200b\u00ad', '…?', '&']) { // "&" is a word only in en and ko voices; Mina's is ko
      fireEvent.change(box(), { target: { value: text } });
      const why = screen.queryByTestId('unspeakable');
      if (text === '&') {
        expect(why, text).toBeNull();
        expect(send().disabled).toBe(false);
        continue;
      }
      expect(why.textContent, text).toMatch(/^Mina can't say that: add some words or numbers/);
      expect(box().getAttribute('aria-invalid')).toBe('true');
      expect(box().getAttribute('aria-describedby')).toContain(why.id);
      expect(send().disabled, text).toBe(true);
    }
    fireEvent.change(box(), { target: { value: '🎤 hi' } });
    expect(screen.queryByTestId('unspeakable')).toBeNull();
    expect(send().disabled).toBe(false);
    expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
  });

  it("shows the API's text_unspeakable well if it still comes back", async () => {
    await composer({ synthesize: () => json(400, { error: { code: 'text_unspeakable', message: 'The text has nothing to say.', field: 'text' } }) });
    fireEvent.change(box(), { target: { value: 'hello' } });
    submit();
    const err = await screen.findByTestId('text-error');
    expect(err.textContent).toMatch(/^Mina can't say that: add some words or numbers\. Emoji, punctuation/);
    expect(box().getAttribute('aria-describedby')).toContain(err.id);
  });

  it('explains a failed job', async () => {
    await composer({ job: (j) => ({ job_id: 'job1', status: 'failed', error: { code: 'internal', message: 'boom' } }) });
    fireEvent.change(box(), { target: { value: 'hello' } });
    submit();
    expect((await screen.findByRole('alert')).textContent).toMatch(/went wrong on our side/);
    expect(screen.queryByTestId('result')).toBeNull();
  });

  it('stops polling when it goes away', async () => {
    const api = fakeApi({ steps: 1e9 });
    let resolveSleep;
    const client = createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: (ms, signal) => new Promise((res, rej) => {
      resolveSleep = res;
      signal.addEventListener('abort', () => rej(signal.reason), { once: true });
    }) });
    const { unmount } = render(<ChorusProvider client={client}><Composer initialMemberId="mina" /></ChorusProvider>);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('mina'));
    fireEvent.change(box(), { target: { value: 'hello' } });
    submit();
    await waitFor(() => expect(statusCalls(api)).toHaveLength(1));
    const { signal } = statusCalls(api)[0];
    unmount();
    expect(signal.aborted).toBe(true);
    await act(async () => resolveSleep?.());
    expect(statusCalls(api)).toHaveLength(1);
  });
});

describe('recent results', () => {
  const saved = (over) => [{ jobId: 'job9', memberId: 'mina', memberName: 'Mina', demo: true, text: 'old clip', speed: 1,
    durationSeconds: 0.5, createdAt: '2026-11-20T10:00:00Z', audioUrl: 'http://gcs.test/audio/job9.wav?v=0', expiresAt: '2026-11-20T10:15:00Z', ...over }];

  it('refreshes an expired signed URL through status when replayed', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(saved()));
    const { api } = setup(<RecentPage />);
    api.seedJob('job9', { member_id: 'mina', text: 'old clip', polls: 5 });
    expect(screen.getByText('old clip')).toBeTruthy();
    expect(statusCalls(api)).toHaveLength(0); // nothing is fetched until the fan asks
    fireEvent.click(screen.getByRole('button', { name: 'Play' }));
    const result = await screen.findByTestId('result');
    await waitFor(() => expect(result.querySelector('audio')).toBeTruthy());
    expect(statusCalls(api)).toHaveLength(1);
    expect(api.calls.filter((c) => c.url.startsWith('http://gcs.test/')).map((c) => c.path + c.search)).toEqual(['/audio/job9.wav?v=1', '/audio/job9.vtt?v=1']);
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY))[0];
    expect(stored.audioUrl).toBe('http://gcs.test/audio/job9.wav?v=1');
    expect(Date.parse(stored.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('says a clip is gone when its job no longer exists', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(saved({ jobId: 'vanished' })));
    setup(<RecentPage />);
    fireEvent.click(screen.getByRole('button', { name: 'Play' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/expired and is no longer available/);
  });

  it('says when the audio was deleted past the retention (410 audio_expired), with nothing to retry', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(saved({ jobId: 'old1' })));
    const { api } = setup(<RecentPage />);
    api.seedJob('old1', { member_id: 'mina', text: 'old clip', gone: true });
    fireEvent.click(screen.getByRole('button', { name: 'Play' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/older than Chorus keeps recordings.*Make it again/);
    expect(screen.queryByRole('button', { name: 'Try again' })).toBeNull();
  });

  it('removes a clip', () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(saved()));
    setup(<RecentPage />);
    fireEvent.click(screen.getByRole('button', { name: /Remove clip of Mina/ }));
    expect(screen.queryByText('old clip')).toBeNull();
    expect(JSON.parse(localStorage.getItem(STORAGE_KEY))).toEqual([]);
  });
});

describe('batch', () => {
  it('makes one job per non-empty line and shows them complete', async () => {
    const { api } = setup(<BatchPage memberId="joon" />, { steps: 2 });
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines, one clip per line/), { target: { value: 'one\n\n  two  \nthree 🎤\n' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make 3 clips' }));
    await screen.findByText(/3 of 3 done/);
    const post = api.calls.find((c) => c.path === '/api/batch');
    expect(post.body.items.map((i) => i.text)).toEqual(['one', 'two', 'three 🎤']);
    expect(post.body.items.every((i) => i.member_id === 'joon' && i.request_id && i.format === 'wav')).toBe(true);
    const rows = screen.getAllByTestId('batch-row');
    expect(rows.map((r) => r.dataset.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(JSON.parse(localStorage.getItem(STORAGE_KEY))).toHaveLength(3);
  });

  async function runBatch(script, text = 'Hello everyone!\nsee you: soon?') {
    const s = setup(<BatchPage memberId="joon" />, script);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines, one clip per line/), { target: { value: text } });
    fireEvent.click(screen.getByRole('button', { name: /^Make \d+ clips?$/ }));
    await screen.findByText(/done 🎉/);
    return s;
  }
  // The clips' audio fetched from the bucket (not their captions).
  const audioCalls = (api) => api.calls.filter((c) => c.url.startsWith('http://gcs.test/') && !new URL(c.url).pathname.endsWith('.vtt'));

  it('shows each clip\'s waveform and duration before it is played, from one download per clip', async () => {
    const { api } = await runBatch({ steps: 2 });
    const rows = screen.getAllByTestId('batch-row');
    for (const row of rows) {
      const canvas = await waitFor(() => {
        const c = row.querySelector('canvas.waveform');
        expect(c?.dataset.drawn).toBe('true');
        return c;
      });
      expect(Number(canvas.dataset.bars)).toBeGreaterThan(100);
      expect(within(row).getByTestId('batch-duration').textContent).toBe('Duration: 0:00.5');
      expect(canvas.getAttribute('aria-label')).toMatch(/^Waveform of line \d, 0:00\.5$/);
      expect(row.querySelector('audio').getAttribute('src')).toMatch(/^blob:/);
    }
    expect(audioCalls(api)).toHaveLength(2); // decoded once; playing and saving reuse the bytes
  });

  it('saves each clip under the member and the start of its text, from a same-origin blob', async () => {
    await runBatch({ steps: 2 });
    const links = await waitFor(() => {
      const l = screen.getAllByTestId('batch-download');
      expect(l).toHaveLength(2);
      return l;
    });
    expect(links.map((a) => a.getAttribute('download'))).toEqual(['Joon - Hello everyone.wav', 'Joon - see you soon.wav']);
    for (const a of links) {
      expect(a.getAttribute('href')).toMatch(/^blob:/);
      expect(a.getAttribute('href')).toBe(a.closest('li').querySelector('audio').getAttribute('src'));
      expect(a.getAttribute('target')).toBeNull();
    }
    expect(links[0].textContent).toBe('Download WAV line 1');
  });

  it('refreshes a signed URL that expired before downloading the clip', async () => {
    const api = fakeApi({ steps: 2, expiresAt: '2026-01-01T00:00:00Z' });
    const signed = []; // [?id or ?batch, audio_url] in the order status gave them
    const fetchImpl = async (u, init) => {
      const res = await api.fetch(u, init);
      const url = new URL(u);
      if (url.pathname === '/api/status') {
        const body = await res.clone().json();
        for (const j of body.jobs || [body]) if (j.audio_url) signed.push([url.searchParams.has('id') ? 'id' : 'batch', j.audio_url]);
      }
      return res;
    };
    render(<ChorusProvider client={createClient(CONFIG, { fetchImpl, sleepImpl: noSleep })}><BatchPage memberId="joon" /></ChorusProvider>);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: 'only line' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make 1 clip' }));
    await screen.findByTestId('batch-download');
    const fetched = audioCalls(api).map((c) => c.url);
    expect(fetched).toHaveLength(1);
    const fromId = signed.filter(([k]) => k === 'id').map(([, u]) => u);
    expect(fromId).toHaveLength(1); // the expired URL of the batch answer was refreshed through ?id=
    expect(fetched[0]).toBe(fromId[0]);
    expect(signed.filter(([k]) => k === 'batch').map(([, u]) => u)).not.toContain(fetched[0]);
  });

  it('without CORS on the bucket, plays and saves the signed URL, refreshing it first when it has expired', async () => {
    const [realNow, realPlay, realOpen] = [Date.now, HTMLMediaElement.prototype.play, window.open];
    const played = [];
    HTMLMediaElement.prototype.play = function play() { played.push(this.getAttribute('src') || this.src); return Promise.resolve(); };
    const opened = [];
    window.open = (...a) => { opened.push(a); return null; };
    try {
      const { api } = await runBatch({ steps: 2, audio: () => { throw new TypeError('Failed to fetch'); } }, 'only line');
      const link = await screen.findByTestId('batch-download');
      const audio = link.closest('li').querySelector('audio');
      expect(audio.getAttribute('src')).toMatch(/^http:\/\/gcs\.test\/audio\/job\d+\.wav\?v=\d+$/);
      expect(link.getAttribute('href')).toBe(audio.getAttribute('src'));
      expect(link.getAttribute('target')).toBe('_blank');
      expect(within(link.closest('li')).getByTestId('batch-duration').textContent).toBe('Duration: 0:00.5'); // the status's
      const before = statusCalls(api).length;
      fireEvent.click(link); // still valid: the browser follows the link itself
      expect(opened).toEqual([]);
      expect(statusCalls(api)).toHaveLength(before);

      const oldUrl = audio.getAttribute('src');
      Date.now = () => realNow() + 20 * 60_000; // the 15-minute URL has expired
      fireEvent.click(link);
      await waitFor(() => expect(opened).toHaveLength(1));
      expect(statusCalls(api)).toHaveLength(before + 1);
      const [freshUrl, ...how] = opened[0];
      expect(freshUrl).toMatch(/^http:\/\/gcs\.test\//);
      expect(freshUrl).not.toBe(oldUrl);
      expect(how).toEqual(['_blank', 'noopener']);
      await waitFor(() => expect(link.getAttribute('href')).toBe(freshUrl));

      Date.now = () => realNow() + 40 * 60_000;
      fireEvent.play(audio);
      await waitFor(() => expect(played).toHaveLength(1));
      expect(statusCalls(api)).toHaveLength(before + 2);
      expect(played[0]).not.toBe(freshUrl);
      expect(played[0]).toMatch(/^http:\/\/gcs\.test\//);
    } finally {
      Date.now = realNow;
      HTMLMediaElement.prototype.play = realPlay;
      window.open = realOpen;
    }
  });

  it('downloads at most four clips at once, bodies included, keeping status and headers', async () => {
    let open = 0;
    let peak = 0;
    const raw = { status: 'x', fetchRaw: async (url) => {
      open++;
      peak = Math.max(peak, open);
      const bytes = new Uint8Array([1, 2, 3]);
      return { status: url.endsWith('404') ? 404 : 200, statusText: '', headers: new Headers({ 'Content-Type': 'audio/wav' }),
        arrayBuffer: async () => { await new Promise((r) => setTimeout(r, 2)); open--; return bytes.buffer; } };
    } };
    const c = audioClient(raw);
    expect(c.status).toBe('x');
    const res = await Promise.all(Array.from({ length: 9 }, (_, i) => c.fetchRaw(`http://gcs.test/${i === 8 ? '404' : i}`)));
    expect(peak).toBe(4);
    expect(res.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 404]);
    expect(res[0].headers.get('Content-Type')).toBe('audio/wav');
    expect(new Uint8Array(await res[0].arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('says when a line\'s audio is past the retention', async () => {
    await runBatch({ steps: 2, gone: (j) => j.text === 'old' }, 'old\nnew');
    const [old, young] = screen.getAllByTestId('batch-row');
    expect(old.dataset.status).toBe('succeeded');
    expect(within(old).getByText(/older than Chorus keeps recordings/)).toBeTruthy();
    expect(old.querySelector('audio')).toBeNull();
    await waitFor(() => expect(young.querySelector('audio')).toBeTruthy());
  });

  it('points at the line the API refused', async () => {
    setup(<BatchPage memberId="joon" />, { batch: () => json(400, { error: { code: 'text_too_long', message: 'x', field: 'items[1].text' } }) });
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: 'one\ntwo' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make 2 clips' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/^Line 2: That's too long/);
  });

  it('points at the lines the voice cannot say, and sends nothing', async () => {
    const { api } = setup(<BatchPage memberId="joon" />);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    const lines = screen.getByLabelText(/Lines/);
    fireEvent.change(lines, { target: { value: 'fine\n🎉🎉\n& \n\u200b...' } }); // "&" is "and" for Joon's English voice
    const why = screen.getByTestId('unspeakable');
    expect(why.textContent).toMatch(/^Lines 2, 4 have nothing Joon can say: add some words or numbers/);
    expect(lines.getAttribute('aria-describedby')).toContain(why.id);
    const send = screen.getByRole('button', { name: 'Make 4 clips' });
    expect(send.disabled).toBe(true);
    fireEvent.submit(send.closest('form'));
    expect(screen.getByRole('alert').textContent).toMatch(/^Lines 2, 4 have nothing Joon can say/);
    fireEvent.change(lines, { target: { value: 'fine\n🎉 yay' } });
    expect(screen.queryByTestId('unspeakable')).toBeNull();
    expect(screen.getByRole('button', { name: 'Make 2 clips' }).disabled).toBe(false);
    expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
  });

  it("names the line of the API's text_unspeakable", async () => {
    setup(<BatchPage memberId="joon" />, { batch: () => json(400, { error: { code: 'text_unspeakable', message: 'x', field: 'items[1].text' } }) });
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: 'one\ntwo' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make 2 clips' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/^Line 2: Joon can't say that: add some words or numbers/);
  });

  it('checks line count and length before sending', async () => {
    const { api } = setup(<BatchPage memberId="joon" />);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: 'fine\n' + 'x'.repeat(21) } });
    fireEvent.click(screen.getByRole('button', { name: 'Make 2 clips' }));
    expect(screen.getByRole('alert').textContent).toMatch(/Line 2 is too long/);
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: Array.from({ length: 101 }, (_, i) => `l${i}`).join('\n') } });
    fireEvent.click(screen.getByRole('button', { name: 'Make 101 clips' }));
    expect(screen.getByRole('alert').textContent).toMatch(/more than 100 lines/);
    expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
  });

  it("takes the limits from the API's profiles answer, not from numbers of its own", async () => {
    const limits = { max_text_chars: 8, max_batch_items: 3, max_body_bytes: 8192 + 3 * (2048 + 48) };
    const { api } = setup(<BatchPage memberId="joon" />, {
      profiles: (url) => (url.pathname === '/api/profiles' && !url.searchParams.get('id') ? json(200, { members: MEMBERS, limits }) : null),
    });
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    const lines = screen.getByLabelText(/Lines/);
    fireEvent.change(lines, { target: { value: 'a\nb\nc\nd' } });
    expect(screen.getByText(/up to 3, 8 characters each/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Make 4 clips' }));
    expect(screen.getByRole('alert').textContent).toMatch(/more than 3 lines/);
    fireEvent.change(lines, { target: { value: 'fine\nninechars' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make 2 clips' }));
    expect(screen.getByRole('alert').textContent).toMatch(/Line 2 is too long. Keep each line to 8 characters/);
    expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
  });
});

describe('app', () => {
  it('keeps the phone navigation short: the recent count is a badge that still reads "(2)"', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify([{ jobId: 'a', text: 'x' }, { jobId: 'b', text: 'y' }]));
    const api = fakeApi();
    render(<App client={createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: noSleep })} />);
    const recent = screen.getByRole('link', { name: 'Recent (2)' });
    expect(recent.querySelector('.nav-count').textContent).toBe('(2)');
    expect(screen.getByRole('link', { name: 'Chorus' }).querySelector('.brand-name')).toBeTruthy(); // hidden on phones, still named
    expect(screen.getAllByRole('link').filter((l) => l.closest('nav')).map((l) => l.textContent)).toEqual(['Members', 'Compose', 'Batch', 'Recent (2)']);
    await screen.findAllByTestId('member-card');
  });

  it('routes by hash and moves focus to the new page title', async () => {
    const api = fakeApi();
    render(<App client={createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: noSleep })} />);
    const cards = await screen.findAllByTestId('member-card');
    expect(screen.getByRole('link', { name: 'Members' }).getAttribute('aria-current')).toBe('page');
    await act(async () => {
      window.location.hash = cards[1].getAttribute('href');
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    const h1 = await screen.findByRole('heading', { level: 1, name: 'Mina' });
    await waitFor(() => expect(document.activeElement).toBe(h1));
  });
});
