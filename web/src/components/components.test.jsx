import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from '../App.jsx';
import { ChorusProvider } from '../context.jsx';
import { createClient } from '../lib/api.js';
import { STORAGE_KEY } from '../lib/recent.js';
import { CONFIG, MEMBERS, fakeApi, json, noSleep, wavBytes } from '../test/fakeApi.js';
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
const box = () => screen.getByLabelText('What should Mina say?');
const submit = () => fireEvent.click(screen.getByRole('button', { name: /say it/ }));

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
    const alert = await screen.findByRole('alert');
    // The limit is this fan's, not Chorus being busy: say so, and when they can go on.
    expect(alert.textContent).toMatch(/a lot of clips in a short time.*You can make your next clip in 30 seconds\./);
    expect(alert.textContent).not.toMatch(/Lots of fans/);
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
    expect(dl.getAttribute('download')).toBe('Mina - 안녕 🎤.wav'); // named as batch lines are
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
      expect(dl.getAttribute('download')).toBe('Mina - Hello there.opus');
      expect(within(result).getAllByRole('link', { name: /download/i })).toHaveLength(1);
      // Another format: the same words asked for again in it, then saved.
      fireEvent.click(within(result).getByRole('button', { name: 'Download as MP3' }));
      await waitFor(() => expect(saved).toHaveLength(1));
      expect(saved[0]).toBe('Mina - Hello there.mp3');
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

  it('warns, without blocking, when the text is in a language the voice does not speak', async () => {
    setup(<Composer initialMemberId="joon" />); // Joon's voice speaks English
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    const joonBox = screen.getByLabelText('What should Joon say?');
    fireEvent.change(joonBox, { target: { value: '오늘 날씨가 정말 좋네요' } });
    const warn = screen.getByTestId('language-warning');
    expect(warn.textContent).toBe("Joon's voice speaks English, but this text is mostly Korean (Hangul): those parts may come out garbled or silent.");
    expect(joonBox.getAttribute('aria-describedby')).toContain(warn.id);
    expect(screen.getByRole('button', { name: /say it/ }).disabled).toBe(false);
    fireEvent.change(joonBox, { target: { value: 'Good morning!' } });
    expect(screen.queryByTestId('language-warning')).toBeNull();
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

  it('keeps focus on the button while the clip is made, and says so there', async () => {
    await composer({ steps: 3 });
    fireEvent.change(box(), { target: { value: 'hello' } });
    const button = screen.getByRole('button', { name: /say it/ });
    button.focus();
    fireEvent.click(button);
    await screen.findByTestId('progress');
    expect(document.activeElement).toBe(button); // not dropped to the page body
    expect(button.getAttribute('aria-disabled')).toBe('true');
    expect(button.textContent).toBe('Working…');
    await screen.findByTestId('result');
  });
});

/** gatedSleep is a sleep that waits until the test opens the gate (polls stay pending meanwhile). */
function gatedSleep() {
  const waiting = [];
  const signals = [];
  const sleepImpl = (ms, signal) => new Promise((resolve, reject) => {
    waiting.push(resolve);
    signals.push(signal);
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  const open = () => act(async () => { waiting.splice(0).forEach((r) => r()); });
  return { sleepImpl, open, signals };
}

async function go(hash) {
  await act(async () => {
    window.location.hash = hash;
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  });
}

describe('a clip on its way', () => {
  it('goes to Recent at once and resolves there after the fan leaves the page', async () => {
    const api = fakeApi({ steps: 4 });
    const gate = gatedSleep();
    const client = createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: gate.sleepImpl });
    window.location.hash = '#/compose?member=mina';
    render(<App client={client} />);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('mina'));
    fireEvent.change(screen.getByLabelText('What should Mina say?'), { target: { value: 'see you soon' } });
    fireEvent.click(screen.getByRole('button', { name: /say it/ }));
    await waitFor(() => expect(statusCalls(api)).toHaveLength(1));
    expect(screen.getByRole('link', { name: 'Recent (1)' })).toBeTruthy();

    await go('#/recent');
    const item = await screen.findByTestId('recent-item');
    expect(item.dataset.status).toMatch(/^(queued|running)$/);
    expect(within(item).getByText('see you soon')).toBeTruthy();
    expect(within(item).queryByRole('button', { name: /^Play/ })).toBeNull();
    for (let i = 0; i < 10 && item.dataset.status !== 'succeeded'; i++) await gate.open();
    await waitFor(() => expect(item.dataset.status).toBe('succeeded'));
    fireEvent.click(within(item).getByRole('button', { name: /^Play clip of Mina: see you soon/ }));
    await waitFor(() => expect(item.querySelector('audio')?.getAttribute('src')).toMatch(/^blob:/));
  });

  it('keeps the draft and the clip through a reload, and stops polling when the app goes away', async () => {
    const api = fakeApi({ steps: 4 });
    const gate = gatedSleep();
    const client = createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: gate.sleepImpl });
    window.location.hash = '#/members/mina';
    const first = render(<App client={client} />);
    const box1 = await screen.findByLabelText('What should Mina say?');
    fireEvent.change(box1, { target: { value: 'a draft' } });
    first.unmount(); // a reload

    const second = render(<App client={client} />);
    const box2 = await screen.findByLabelText('What should Mina say?');
    expect(box2.value).toBe('a draft');
    fireEvent.change(box2, { target: { value: 'before reload' } });
    fireEvent.click(screen.getByRole('button', { name: /say it/ }));
    await waitFor(() => expect(gate.signals).toHaveLength(1)); // asked once, waiting to ask again
    second.unmount(); // reloading while "recording your clip…"
    expect(gate.signals[0].aborted).toBe(true);
    const n = statusCalls(api).length;
    await gate.open();
    expect(statusCalls(api)).toHaveLength(n); // nothing polls for a page that is gone

    render(<App client={client} />);
    expect((await screen.findByLabelText('What should Mina say?')).value).toBe('before reload');
    expect(await screen.findByTestId('progress')).toBeTruthy(); // the same clip, picked up again
    for (let i = 0; i < 10 && !screen.queryByTestId('result'); i++) await gate.open();
    const result = await screen.findByTestId('result');
    expect(within(result).getByTestId('result-text').textContent).toBe('before reload');
    expect(new Set(statusCalls(api).map((c) => new URL(c.url).searchParams.get('id')))).toEqual(new Set(['job1']));
  });

  it('gives up after the deployment\'s deadline with a clear message, and can check again', async () => {
    let clock = Date.parse('2026-12-07T10:00:00Z');
    const now = () => clock;
    let finish = false;
    const api = fakeApi({ steps: 1e9, onWait: (sec) => { clock += sec * 1000; } });
    const fetchImpl = async (u, init) => {
      const url = new URL(u);
      if (finish && url.pathname === '/api/status') {
        const j = api.jobs.get(url.searchParams.get('id'));
        j.polls = 1e9 + 1; // the fake's "succeeded" from here on
      }
      return api.fetch(u, init);
    };
    const client = createClient({ ...CONFIG, jobDeadlineSeconds: 60 }, { fetchImpl, sleepImpl: async (ms) => { clock += ms; }, now });
    render(<ChorusProvider client={client} now={now}><Composer initialMemberId="mina" /></ChorusProvider>);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('mina'));
    fireEvent.change(box(), { target: { value: 'hello' } });
    submit();
    const stalled = await screen.findByTestId('stalled');
    expect(stalled.textContent).toMatch(/taking much longer than usual \(over 1 minute\).*stays in Recent/);
    expect(statusCalls(api).map((c) => new URL(c.url).searchParams.get('wait'))).toEqual(['20', '20', '20']);
    expect(clock - Date.parse('2026-12-07T10:00:00Z')).toBe(60_000);
    expect(JSON.parse(localStorage.getItem(STORAGE_KEY))[0]).toMatchObject({ status: expect.stringMatching(/^(queued|running)$/), stalled: true });

    finish = true;
    fireEvent.click(within(stalled).getByRole('button', { name: 'Check again' }));
    expect(await screen.findByTestId('result')).toBeTruthy();
    expect(screen.queryByTestId('stalled')).toBeNull();
  });

  it('downloads a clip\'s audio and captions in parallel', async () => {
    const events = [];
    let captionsAsked;
    const asked = new Promise((r) => { captionsAsked = r; });
    const api = fakeApi({
      steps: 2,
      audio: (u) => {
        if (u.pathname.endsWith('.vtt')) {
          events.push('captions asked');
          captionsAsked();
          return null;
        }
        events.push('audio asked');
        // The audio answers only once the captions were asked for (or fails after a second).
        return Promise.race([asked.then(() => null), new Promise((r) => setTimeout(() => r(new Response('slow', { status: 500 })), 1000))])
          .then((r) => { events.push('audio answered'); return r || new Response(wavBytes(), { status: 200 }); });
      },
    });
    const client = createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: noSleep });
    render(<ChorusProvider client={client}><Composer initialMemberId="mina" /></ChorusProvider>);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('mina'));
    fireEvent.change(box(), { target: { value: 'One. Two.' } });
    submit();
    const result = await screen.findByTestId('result');
    await waitFor(() => expect(within(result).getAllByTestId('cue')).toHaveLength(2));
    expect(events.slice(0, 3)).toEqual(['audio asked', 'captions asked', 'audio answered']);
  });
});

describe('recent results', () => {
  const saved = (over) => [{ jobId: 'job9', memberId: 'mina', memberName: 'Mina', demo: true, text: 'old clip', speed: 1,
    durationSeconds: 0.5, createdAt: new Date(Date.now() - 3600_000).toISOString(), ...over }];

  it('refreshes an expired signed URL through status when replayed', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(saved()));
    const { api } = setup(<RecentPage />);
    api.seedJob('job9', { member_id: 'mina', text: 'old clip', polls: 5 });
    expect(screen.getByText('old clip')).toBeTruthy();
    expect(statusCalls(api)).toHaveLength(0); // nothing is fetched until the fan asks
    fireEvent.click(screen.getByRole('button', { name: /^Play clip of Mina/ }));
    const result = await screen.findByTestId('result');
    await waitFor(() => expect(result.querySelector('audio')).toBeTruthy());
    expect(statusCalls(api)).toHaveLength(1);
    expect(api.calls.filter((c) => c.url.startsWith('http://gcs.test/')).map((c) => c.path + c.search)).toEqual(['/audio/job9.wav?v=1', '/audio/job9.vtt?v=1']);
    // Storage keeps no signed URL: the next replay asks status again.
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY))[0];
    expect(stored).toMatchObject({ jobId: 'job9', text: 'old clip', status: 'succeeded' });
    expect(stored).not.toHaveProperty('audioUrl');
    expect(stored).not.toHaveProperty('captionsUrl');
    expect(stored).not.toHaveProperty('expiresAt');
    expect(localStorage.getItem(STORAGE_KEY)).not.toMatch(/gcs\.test/);
  });

  it('says a clip is gone when its job no longer exists', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(saved({ jobId: 'vanished' })));
    setup(<RecentPage />);
    fireEvent.click(screen.getByRole('button', { name: /^Play clip of Mina/ }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/expired and is no longer available/);
  });

  it('says when the audio was deleted past the retention (410 audio_expired), with nothing to retry', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(saved({ jobId: 'old1' })));
    const { api } = setup(<RecentPage />);
    api.seedJob('old1', { member_id: 'mina', text: 'old clip', gone: true });
    fireEvent.click(screen.getByRole('button', { name: /^Play clip of Mina/ }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/older than Chorus keeps recordings.*Make it again/);
    expect(screen.queryByRole('button', { name: 'Try again' })).toBeNull();
  });

  it('says what it keeps and for how long, from the deployment\'s config, and drops clips past it', () => {
    const day = 24 * 3600_000;
    localStorage.setItem(STORAGE_KEY, JSON.stringify([
      ...saved({ jobId: 'new', text: 'yesterday', createdAt: new Date(Date.now() - day).toISOString() }),
      ...saved({ jobId: 'old', text: 'three days ago', createdAt: new Date(Date.now() - 3 * day).toISOString() }),
    ]));
    const api = fakeApi();
    render(<ChorusProvider client={createClient({ ...CONFIG, audioRetentionSeconds: 2 * 24 * 3600 }, { fetchImpl: api.fetch, sleepImpl: noSleep })}><RecentPage /></ChorusProvider>);
    const policy = screen.getByTestId('recent-policy').textContent;
    expect(policy).toMatch(/the last 50 are listed here/);
    expect(policy).toMatch(/keeps each clip's audio for 2 days; after that the audio is deleted and the clip leaves this list/);
    expect(policy).not.toMatch(/until you remove them/);
    expect(screen.getAllByTestId('recent-item').map((li) => within(li).getByText(/yesterday|three days ago/).textContent)).toEqual(['yesterday']);
  });

  it('lists a clip made twice once', () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify([
      ...saved({ jobId: 'b', text: 'Hello  there' }), ...saved({ jobId: 'a', text: 'Hello there' }), ...saved({ jobId: 'c', text: 'Hello there', speed: 1.5 }),
    ]));
    setup(<RecentPage />);
    expect(screen.getAllByTestId('recent-item')).toHaveLength(2); // the same words at another speed are another clip
  });

  it('lists a repeat that resolves as the same clip only once', async () => {
    const { api } = setup(<><RecentPage /><Composer initialMemberId="mina" /></>, { steps: 2 });
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('mina'));
    for (let i = 0; i < 2; i++) {
      fireEvent.change(box(), { target: { value: 'hello twice' } });
      submit();
      await waitFor(() => expect(JSON.parse(localStorage.getItem(STORAGE_KEY))[0]).toMatchObject({ jobId: `job${i + 1}`, status: 'succeeded' }));
    }
    expect(api.calls.filter((c) => c.path === '/api/synthesize')).toHaveLength(2);
    expect(screen.getAllByTestId('recent-item')).toHaveLength(1);
    expect(JSON.parse(localStorage.getItem(STORAGE_KEY)).map((e) => e.jobId)).toEqual(['job2']);
  });

  it('"Remove all" can be undone, and focus lands on Undo', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify([...saved({ jobId: 'x1', text: 'first' }), ...saved({ jobId: 'x2', text: 'second' })]));
    setup(<RecentPage />);
    fireEvent.click(screen.getByRole('button', { name: 'Remove all' }));
    expect(screen.queryAllByTestId('recent-item')).toHaveLength(0);
    expect(JSON.parse(localStorage.getItem(STORAGE_KEY))).toEqual([]);
    const notice = screen.getByTestId('undo-notice');
    expect(notice.textContent).toMatch(/Removed 2 clips from this device/);
    const undo = within(notice).getByRole('button', { name: 'Undo' });
    await waitFor(() => expect(document.activeElement).toBe(undo));
    fireEvent.click(undo);
    expect(screen.getAllByTestId('recent-item').map((li) => within(li).getByText(/first|second/).textContent)).toEqual(['first', 'second']);
    expect(JSON.parse(localStorage.getItem(STORAGE_KEY)).map((e) => e.jobId)).toEqual(['x1', 'x2']);
    expect(screen.queryByTestId('undo-notice')).toBeNull();
  });

  it('uses heading levels in order: the page, each clip, its player', async () => {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(saved()));
    const { api } = setup(<RecentPage />);
    api.seedJob('job9', { member_id: 'mina', text: 'old clip', polls: 5 });
    fireEvent.click(screen.getByRole('button', { name: /^Play clip of Mina/ }));
    await screen.findByTestId('result');
    const levels = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map((h) => Number(h.tagName[1]));
    expect(levels).toEqual([1, 2, 3]);
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

  it('marks the line the API refused, numbered as in the box, and sends the others', async () => {
    let first = true;
    const { api } = setup(<BatchPage memberId="joon" />, {
      steps: 2,
      batch: () => {
        if (!first) return null;
        first = false;
        return json(400, { error: { code: 'member_inactive', message: 'x', field: 'items[1].text' } });
      },
    });
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: 'one\n\ntwo\nthree' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make 3 clips' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/^Chorus refused line 3: .*The other lines can still be sent\.$/); // "two" is the 3rd line of the box
    const problems = screen.getByTestId('line-problems');
    await waitFor(() => expect(document.activeElement).toBe(problems));
    expect(within(problems).getAllByTestId('line-problem').map((li) => li.textContent)).toEqual([expect.stringMatching(/^Line 3: .*Go to line 3$/)]);
    expect([...screen.getByTestId('line-numbers').querySelectorAll('.line-bad')].map((n) => n.textContent)).toEqual(['3']);
    fireEvent.click(screen.getByRole('button', { name: 'Make 2 clips, skipping line 3' }));
    await screen.findByText(/2 of 2 done/);
    expect(api.calls.filter((c) => c.path === '/api/batch').map((c) => c.body.items.map((i) => i.text))).toEqual([['one', 'two', 'three'], ['one', 'three']]);
    expect(screen.getByLabelText(/Lines/).value).toBe('two'); // what was not sent stays in the box
    expect(screen.getByText(/Sent 2 lines; the other 1 is still in the box/)).toBeTruthy();
  });

  it('shows the lines the voice cannot say in place, lets the fan go to them, and sends the valid ones', async () => {
    const { api } = setup(<BatchPage memberId="joon" />, { steps: 2 });
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    const box = screen.getByLabelText(/Lines/);
    const text = 'fine\n🎉🎉\n& \n\u200b...\n' + 'x'.repeat(21); // "&" is "and" for Joon's English voice
    fireEvent.change(box, { target: { value: text } });
    const problems = screen.getByTestId('line-problems');
    expect(problems.textContent).toMatch(/^Lines 2, 4, 5 can't be sent as they are; the other 2 can\./);
    const items = within(problems).getAllByTestId('line-problem').map((li) => li.textContent);
    expect(items[0]).toMatch(/^Line 2: nothing Joon can say: add some words or numbers/);
    expect(items[2]).toMatch(/^Line 5: too long: 21 characters, the most is 20/);
    expect(box.getAttribute('aria-invalid')).toBe('true');
    expect(box.getAttribute('aria-describedby')).toContain(problems.id);
    expect(box.getAttribute('wrap')).toBe('off'); // a line is a line, on a phone too
    expect([...screen.getByTestId('line-numbers').children].map((n) => n.textContent)).toEqual(['1', '2', '3', '4', '5']);
    expect(box.style.backgroundImage).toMatch(/linear-gradient/); // the bad lines are tinted in the box
    fireEvent.click(within(problems).getByRole('button', { name: 'Go to line 4' }));
    expect(document.activeElement).toBe(box);
    expect(text.slice(box.selectionStart, box.selectionEnd)).toBe('\u200b...');
    fireEvent.click(screen.getByRole('button', { name: 'Make 2 clips, skipping lines 2, 4 and 5' }));
    await screen.findByText(/2 of 2 done/);
    expect(api.calls.find((c) => c.path === '/api/batch').body.items.map((i) => i.text)).toEqual(['fine', '&']);
    expect(box.value).toBe('🎉🎉\n\u200b...\n' + 'x'.repeat(21));
  });

  it('says what a batch costs before sending, and offers a size that does not lock the fan out', async () => {
    const { api } = setup(<BatchPage memberId="joon" />, { steps: 2 });
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    const box = screen.getByLabelText(/Lines/);
    fireEvent.change(box, { target: { value: Array.from({ length: 5 }, (_, i) => `l${i + 1}`).join('\n') } });
    expect(screen.getByTestId('batch-cost').textContent).toMatch(/After these 5 clips you can go on making clips right away/);
    fireEvent.change(box, { target: { value: Array.from({ length: 25 }, (_, i) => `l${i + 1}`).join('\n') } });
    const cost = screen.getByTestId('batch-cost');
    // 20 at once and one a second (CONFIG): 25 leave 5 of debt, the next clip waits 6 s.
    expect(cost.textContent).toMatch(/These 25 clips use up your allowance: after sending, you'll wait about 6 seconds before your next clip\. Send 19 or fewer to keep going without a wait\./);
    expect(box.getAttribute('aria-describedby')).toContain(cost.id);
    fireEvent.click(within(cost).getByRole('button', { name: 'Make the first 19 now' }));
    await screen.findByText(/19 of 19 done/);
    expect(api.calls.find((c) => c.path === '/api/batch').body.items).toHaveLength(19);
    expect(box.value).toBe(Array.from({ length: 6 }, (_, i) => `l${i + 20}`).join('\n'));
    // The allowance is spent: the rest would wait.
    expect(screen.getByTestId('batch-cost').textContent).toMatch(/^You can send these 6 clips in about [1-5] seconds?: your recent clips used your allowance\./);
  });

  it('sends the first 100 lines of a longer paste and keeps the rest', async () => {
    const { api } = setup(<BatchPage memberId="joon" />, { steps: 2 });
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: Array.from({ length: 101 }, (_, i) => `l${i}`).join('\n') } });
    fireEvent.click(screen.getByRole('button', { name: 'Make the first 100 clips' }));
    await screen.findByText(/100 of 100 done/);
    expect(api.calls.find((c) => c.path === '/api/batch').body.items).toHaveLength(100);
    expect(screen.getByLabelText(/Lines/).value).toBe('l100');
  });

  it("takes the batch size and text limit from the API's profiles answer, not from numbers of its own", async () => {
    const limits = { max_text_chars: 8, max_batch_items: 3, max_body_bytes: 8192 + 3 * (2048 + 48) };
    const { api } = setup(<BatchPage memberId="joon" />, {
      steps: 2,
      profiles: (url) => (url.pathname === '/api/profiles' && !url.searchParams.get('id') ? json(200, { members: MEMBERS, limits }) : null),
    });
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: 'a\nb\nc\nd' } });
    expect(screen.getByText(/up to 3 per batch.*8 characters each/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Make the first 3 clips' }));
    await screen.findByText(/3 of 3 done/);
    expect(api.calls.find((c) => c.path === '/api/batch').body.items).toHaveLength(3);
    expect(screen.getByLabelText(/Lines/).value).toBe('d');
  });

  it('sends nothing when no line can go, and says why', async () => {
    const { api } = setup(<BatchPage memberId="joon" />);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: '🎉\n' + 'x'.repeat(21) } });
    fireEvent.submit(screen.getByLabelText(/Lines/).closest('form'));
    expect(screen.getByRole('alert').textContent).toBe('Nothing to send: lines 1 and 2 need fixing first.');
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: '' } });
    fireEvent.submit(screen.getByLabelText(/Lines/).closest('form'));
    expect(screen.getByRole('alert').textContent).toMatch(/Add at least one line/);
    expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(0);
  });

  it('says when a batch stops making progress for the deployment\'s deadline, and can check again', async () => {
    let clock = Date.parse('2026-12-07T10:00:00Z');
    let finish = false;
    const api = fakeApi({ steps: 1e9 });
    const fetchImpl = async (u, init) => {
      const url = new URL(u);
      if (finish && url.pathname === '/api/status') for (const j of api.jobs.values()) j.polls = 1e9 + 1;
      return api.fetch(u, init);
    };
    const client = createClient({ ...CONFIG, jobDeadlineSeconds: 60 }, { fetchImpl, sleepImpl: async (ms) => { clock += ms; }, now: () => clock });
    render(<ChorusProvider client={client} now={() => clock}><BatchPage memberId="joon" /></ChorusProvider>);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: 'one\ntwo' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make 2 clips' }));
    const stalled = await screen.findByTestId('batch-stalled');
    expect(stalled.textContent).toMatch(/No clip of this batch has finished in over 1 minute: Chorus may be very busy/);
    expect(clock - Date.parse('2026-12-07T10:00:00Z')).toBe(60_000);
    finish = true;
    fireEvent.click(within(stalled).getByRole('button', { name: 'Check again' }));
    await screen.findByText(/2 of 2 done/);
    expect(screen.queryByTestId('batch-stalled')).toBeNull();
    expect(api.calls.filter((c) => c.path === '/api/batch')).toHaveLength(1);
  });

  it('shows a batch on its way again after a reload, and finishes it', async () => {
    const api = fakeApi({ steps: 3 });
    const gate = gatedSleep();
    const client = createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: gate.sleepImpl });
    const first = render(<ChorusProvider client={client}><BatchPage memberId="joon" /></ChorusProvider>);
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: 'one\ntwo' } });
    fireEvent.click(screen.getByRole('button', { name: 'Make 2 clips' }));
    await waitFor(() => expect(gate.signals).toHaveLength(1));
    first.unmount();
    render(<ChorusProvider client={client}><BatchPage /></ChorusProvider>);
    expect((await screen.findAllByTestId('batch-row')).map((r) => r.querySelector('.batch-text').textContent)).toEqual(['one', 'two']);
    for (let i = 0; i < 10 && !screen.queryByText(/2 of 2 done/); i++) await gate.open();
    await screen.findByText(/2 of 2 done/);
    expect(api.calls.filter((c) => c.path === '/api/batch')).toHaveLength(1);
    expect(screen.getByLabelText('Member').value).toBe('joon');
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

  it('names the browser tab after the page', async () => {
    const api = fakeApi();
    render(<App client={createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: noSleep })} />);
    await screen.findAllByTestId('member-card');
    expect(document.title).toBe('Members · Chorus');
    for (const [hash, title] of [['#/members/mina', 'Mina · Chorus'], ['#/recent', 'Recent clips · Chorus'], ['#/compose', 'Compose · Chorus'], ['#/batch', 'Batch · Chorus'], ['#/nope', 'Page not found · Chorus']]) {
      await go(hash);
      await waitFor(() => expect(document.title).toBe(title));
    }
  });

  it('says a batch used up the allowance when the next clip is refused', async () => {
    const api = fakeApi({ steps: 2, synthesize: () => json(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'Retry-After': '118' }) });
    render(<App client={createClient(CONFIG, { fetchImpl: api.fetch, sleepImpl: noSleep })} />);
    await go('#/batch?member=joon');
    await waitFor(() => expect(screen.getByLabelText('Member').value).toBe('joon'));
    fireEvent.change(screen.getByLabelText(/Lines/), { target: { value: Array.from({ length: 25 }, (_, i) => `line ${i + 1}`).join('\n') } });
    fireEvent.click(screen.getByRole('button', { name: /^Make 25 clips/ }));
    await screen.findByText(/25 of 25 done/);
    await go('#/members/mina');
    fireEvent.change(await screen.findByLabelText('What should Mina say?'), { target: { value: 'one more' } });
    submit();
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('Your batch of 25 clips used up your allowance for now. You can make your next clip in 1 min 58 s.');
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
