#!/usr/bin/env node
// End-to-end test of the Chorus web app in real headless Chromium (Debian
// chromium driven by playwright-core). It runs against whatever serves the
// app and API at CHORUS_URL: the full local stack (make dev) or, when the
// caller asks for it, the mock server. Screenshots go to CHORUS_E2E_OUT.
//
// Env: CHORUS_URL (required), CHORUS_E2E_OUT (default <repo>/build/e2e),
//      CHROMIUM (default /usr/bin/chromium),
//      CHORUS_E2E_JOB_TIMEOUT_MS (how long a synthesis may take, default 180000).

import { readFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { formatDuration as formatClock } from '../src/lib/wav.js';
import { downloadName } from '../src/lib/download.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const BASE = (process.env.CHORUS_URL || '').replace(/\/+$/, '');
const OUT = resolve(process.env.CHORUS_E2E_OUT || join(here, '..', '..', 'build', 'e2e'));
const EXE = process.env.CHROMIUM || '/usr/bin/chromium';
const JOB_TIMEOUT = Number(process.env.CHORUS_E2E_JOB_TIMEOUT_MS || 180_000);
// A member the operator walkthrough added (scripts/operator-walkthrough.sh): a clip of theirs must play.
const OPERATOR_MEMBER = process.env.CHORUS_E2E_MEMBER || '';
const AXE_SOURCE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

if (!BASE) {
  console.error('e2e: set CHORUS_URL to the app address (e.g. http://127.0.0.1:8080)');
  process.exit(2);
}

const problems = [];
let step = '';
const log = (s) => console.log(`e2e: ${s}`);
function begin(s) {
  step = s;
  log(`▶ ${s}`);
}
function check(cond, what) {
  if (!cond) throw new Error(`${step}: ${what}`);
}

/** inkedPixels counts pixels the page painted on the waveform canvas. */
const countInk = () => {
  const c = document.querySelector('[data-testid="result"] canvas.waveform');
  if (!c || c.width === 0 || c.height === 0) return -1;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n;
};

/** settledResult says where the result is once scrolling has settled: {top, bottom, header, height, scrollY}. */
async function settledResult(page) {
  let last = null;
  for (let i = 0; i < 40; i++) {
    const now = await page.evaluate(() => {
      const r = document.querySelector('[data-testid="result"]').getBoundingClientRect();
      const header = document.querySelector('.site-header').getBoundingClientRect().bottom;
      return { top: Math.round(r.top), bottom: Math.round(r.bottom), header: Math.round(header), height: window.innerHeight, scrollY: Math.round(window.scrollY) };
    });
    if (last && JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
    await page.waitForTimeout(100);
  }
  return last;
}

/** fullyShown checks that a settled result is in view below the sticky header (its top first when taller than the window). */
function fullyShown(r) {
  return r.top >= r.header - 1 && (r.bottom <= r.height + 1 || r.top <= r.header + 24);
}

/**
 * ringPixels counts the pixels that differ (any channel by more than 48)
 * between two PNG screenshots of the same area: run in a blank page, which
 * decodes them.
 */
const ringPixels = async ([a, b]) => {
  const decode = async (b64) => {
    const bmp = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], { type: 'image/png' }));
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = c.getContext('2d');
    ctx.drawImage(bmp, 0, 0);
    return ctx.getImageData(0, 0, bmp.width, bmp.height);
  };
  const [x, y] = [await decode(a), await decode(b)];
  if (x.width !== y.width || x.height !== y.height) return -1;
  let n = 0;
  for (let i = 0; i < x.data.length; i += 4) {
    if (Math.abs(x.data[i] - y.data[i]) > 48 || Math.abs(x.data[i + 1] - y.data[i + 1]) > 48 || Math.abs(x.data[i + 2] - y.data[i + 2]) > 48) n++;
  }
  return n;
};

/** describeFocus names the focused element for messages, and gives its box (null: nothing focused). */
const describeFocus = () => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  // A heading or region focused by the app to move the reading position is not a control.
  if (el.tabIndex < 0 && !el.matches('a[href], button, input, select, textarea, audio, video, summary')) return { desc: 'a focused heading', skip: true };
  const r = el.getBoundingClientRect();
  const name = (el.getAttribute('aria-label') || el.innerText || el.getAttribute('href') || el.id || '').trim().replace(/\s+/g, ' ').slice(0, 40);
  return { desc: `${el.tagName.toLowerCase()}${name ? ` "${name}"` : ''}`, x: r.x, y: r.y, w: r.width, h: r.height, key: `${Math.round(r.x)},${Math.round(r.y + window.scrollY)}` };
};

/**
 * focusIsVisible checks WCAG 2.4.7 on the focused element: the pixels
 * around it must change when it loses focus (a ring a component's own
 * shadow hides changes nothing). It blurs the element; the next Tab goes
 * on from it (the sequential focus navigation starting point).
 */
async function focusIsVisible(page, cmp) {
  const f = await page.evaluate(describeFocus);
  if (!f || f.skip) return { ok: true, desc: 'nothing' };
  const vp = page.viewportSize();
  const pad = 8;
  const x = Math.max(0, Math.floor(f.x - pad));
  const y = Math.max(0, Math.floor(f.y - pad));
  const clip = { x, y, width: Math.min(vp.width - x, Math.ceil(f.w + 2 * pad)), height: Math.min(vp.height - y, Math.ceil(f.h + 2 * pad)) };
  if (clip.width <= 0 || clip.height <= 0) return { ok: false, desc: `${f.desc} (off screen)` };
  await settle(page);
  const focused = await page.screenshot({ clip });
  await page.evaluate(() => {
    window.__chorusLastFocus = document.activeElement;
    document.activeElement.blur();
  });
  await settle(page);
  const blurred = await page.screenshot({ clip });
  await page.evaluate(() => window.__chorusLastFocus?.focus({ preventScroll: true }));
  const changed = await cmp.evaluate(ringPixels, [focused.toString('base64'), blurred.toString('base64')]);
  // At least half of a one-pixel ring around the element.
  const need = Math.round(f.w + f.h);
  return { ok: changed >= need, desc: `${f.desc}: ${changed} px changed, need ${need}` };
}

/** settle waits two frames (styles and paint follow a focus change). */
const settle = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

/**
 * tabTo presses Tab (or Shift+Tab) until pred(focused) holds, checking on
 * the way that every control it focuses shows it (seen remembers what was
 * checked). It fails after max presses.
 */
async function tabTo(page, cmp, pred, { arg = null, back = false, max = 60, seen = new Set(), what = 'the control' } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const here = await page.evaluate(describeFocus);
    if (!here || here.skip) continue;
    const key = `${here.desc}@${here.key}`;
    const hit = await page.evaluate(pred, arg);
    if (!seen.has(key)) {
      seen.add(key);
      const v = await focusIsVisible(page, cmp);
      if (!v.ok) throw new Error(`${step}: keyboard focus is not visible on ${v.desc}`);
    }
    if (hit) return here;
  }
  throw new Error(`${step}: ${what} was not reached with ${back ? 'Shift+Tab' : 'Tab'} in ${max} presses`);
}

/** walkFocus tabs through the whole page once, checking that every control shows focus; returns how many. */
async function walkFocus(page, cmp, max = 120) {
  // From the top: the skip link is the page's first control.
  await page.evaluate(() => document.querySelector('.skip-link')?.focus());
  const seen = new Set();
  let prev = '';
  for (let i = 0; i < max; i++) {
    if (i > 0) await page.keyboard.press('Tab');
    const here = await page.evaluate(describeFocus);
    if (!here) break; // past the last control
    if (here.skip) continue;
    const key = `${here.desc}@${here.key}`;
    if (key === prev) continue; // Tab moves among a media player's own controls
    if (seen.has(key)) break; // round again
    prev = key;
    seen.add(key);
    const v = await focusIsVisible(page, cmp);
    if (!v.ok) throw new Error(`${step}: keyboard focus is not visible on ${v.desc}`);
  }
  return seen.size;
}

/** axeCheck runs axe-core (WCAG 2.x A and AA rules) on the page as it is and fails on any violation. */
async function axeCheck(page, what) {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
  check(violations.length === 0, `axe-core on ${what}:\n  ${violations.join('\n  ')}`);
}

/** shot saves a full-page screenshot from the top (sticky header in place). */
async function shot(page, name, fullPage = true) {
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(OUT, name), fullPage });
}

async function main() {
  await mkdir(OUT, { recursive: true });
  await rm(join(OUT, 'failure.png'), { force: true });
  const profile = await mkdtemp(join(tmpdir(), 'chorus-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: EXE,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required'],
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
  });
  const page = context.pages()[0] || (await context.newPage());
  const cmp = await context.newPage(); // decodes screenshots for the focus checks
  await cmp.goto('about:blank');
  await page.bringToFront();
  page.setDefaultTimeout(20_000);
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // Aborted polls on navigation are expected; anything else is not.
    if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });

  try {
    begin('open the members page');
    const resp = await page.goto(`${BASE}/`, { waitUntil: 'load' });
    check(resp && resp.ok(), `GET / answered ${resp?.status()}`);
    const headers = resp.headers();
    const csp = headers['content-security-policy'] || '';
    for (const want of ["default-src 'self'", "script-src 'self'", 'media-src ', 'blob:', "frame-ancestors 'none'"]) {
      check(csp.includes(want), `the page's Content-Security-Policy has ${want}: "${csp}"`);
    }
    check(!/unsafe-/.test(csp), `the CSP allows nothing unsafe: "${csp}"`);
    check(/microphone=\(\)/.test(headers['permissions-policy'] || ''), `Permissions-Policy: "${headers['permissions-policy']}"`);
    check(Boolean(headers['referrer-policy']), 'Referrer-Policy is set');
    const cfg = await page.evaluate(async () => (await fetch('config.json', { cache: 'no-store' })).json());
    check(Number.isInteger(cfg.maxTextChars) && cfg.maxTextChars > 0, 'config.json has maxTextChars');
    await page.getByTestId('member-card').first().waitFor();
    const cards = await page.getByTestId('member-card').count();
    check(cards > 0, 'no member cards');
    await page.evaluate(() => document.fonts?.ready);
    await shot(page, 'members.png');
    log(`  ${cards} members`);
    check(await page.title() === 'Members · Chorus', `the tab is named after the page: "${await page.title()}"`);
    await page.mouse.move(0, 0);
    log(`  visible focus on ${await walkFocus(page, cmp)} controls`);
    await axeCheck(page, 'the members page');

    begin('open a member');
    const card = page.getByTestId('member-card').first();
    const name = (await card.locator('.member-name').innerText()).trim();
    await card.click();
    await page.locator('h1', { hasText: name }).waitFor();
    check(/#\/members\//.test(page.url()), `URL is a member page: ${page.url()}`);
    const focused = await page.evaluate(() => document.activeElement?.tagName);
    check(focused === 'H1', `focus moves to the page title after navigation (got ${focused})`);

    begin('type a sentence and synthesise');
    const sentence = '안녕하세요! Thank you for coming tonight 🎤';
    const box = page.getByLabel(/What should .* say\?/);
    await box.fill(sentence);
    const count = await page.getByTestId('char-count').innerText();
    check(count.startsWith(`${[...sentence].length} /`), `live character count shows code points: "${count}"`);
    await page.getByRole('button', { name: /say it/i }).click();
    await page.getByTestId('progress').waitFor({ timeout: 10_000 }).catch(() => {}); // may finish before we look

    begin('wait for the player');
    await page.getByTestId('result').waitFor({ timeout: JOB_TIMEOUT });
    await page.waitForFunction(() => {
      const a = document.querySelector('[data-testid="result"] audio');
      return a && Number.isFinite(a.duration) && a.duration > 0;
    }, null, { timeout: 30_000 });
    const duration = await page.evaluate(() => document.querySelector('[data-testid="result"] audio').duration);
    check(duration > 0, `audio duration ${duration}`);
    await page.waitForSelector('[data-testid="result"] canvas.waveform[data-drawn="true"]', { timeout: 10_000 });
    const ink = await page.evaluate(countInk);
    check(ink > 500, `waveform canvas has drawn pixels (${ink})`);
    const shown = await page.getByTestId('duration').innerText();
    check(/\d/.test(shown), `duration shown: "${shown}"`);
    // The app asks for Opus where the browser plays it (Chromium does), else WAV.
    const opus = await page.evaluate(() => document.createElement('audio').canPlayType('audio/ogg; codecs=opus') !== '');
    const ext = opus ? '.opus' : '.wav';
    const dl = page.getByRole('link', { name: /download/i });
    const saveAs = await dl.getAttribute('download');
    check(saveAs === downloadName({ memberName: name, text: sentence }, ext.slice(1)) && saveAs === saveAs.normalize('NFC'),
      `the clip saves as "${saveAs}": member, start of the text, NFC, the batch page's naming`);
    check(Boolean(await dl.getAttribute('href')), 'download link has an address');
    const others = await page.getByRole('group', { name: /another format/i }).getByRole('button').count();
    check(others === 2, `the two other formats are offered (${others})`);
    const cues = await page.getByTestId('cue').allInnerTexts();
    check(cues.length === 2 && cues[0] === '안녕하세요!', `one caption cue per sentence: ${JSON.stringify(cues)}`);
    const playable = await page.evaluate(async () => {
      const a = document.querySelector('[data-testid="result"] audio');
      a.muted = true;
      await a.play();
      await new Promise((r) => setTimeout(r, 300));
      const t = a.currentTime;
      a.pause();
      return t;
    });
    check(playable > 0, `audio plays (currentTime ${playable})`);
    const spoken = await page.evaluate(() => document.querySelector('[data-testid="cue"][aria-current="true"]')?.textContent || '');
    check(spoken === '안녕하세요!', `the sentence being spoken is highlighted ("${spoken}")`);
    log(`  audio ${duration.toFixed(2)} s, waveform ${ink} px, shown "${shown.replace(/\s+/g, ' ')}"`);
    check(shown.replace(/^Duration:\s*/, '') === formatClock(duration), `duration label "${shown}" agrees with the audio's ${duration} s`);

    begin('the new result scrolled into view (smoothly)');
    const seen = await settledResult(page);
    check(seen.scrollY > 0 && fullyShown(seen), `result in view below the header: ${JSON.stringify(seen)}`);
    await shot(page, 'result.png');
    log(`  visible focus on ${await walkFocus(page, cmp)} controls of the member page`);
    await axeCheck(page, 'a member page with its result');

    begin('submit an over-long text and see the error');
    const long = 'あ'.repeat(cfg.maxTextChars + 1);
    await box.fill(long);
    const over = await page.getByTestId('char-count').innerText();
    check(/too many/.test(over), `count warns when over the limit: "${over}"`);
    await page.getByRole('button', { name: /say it/i }).click();
    const err = page.getByTestId('text-error');
    await err.waitFor();
    const errText = await err.innerText();
    check(/too long/i.test(errText), `error says the text is too long: "${errText}"`);
    check((await box.getAttribute('aria-invalid')) === 'true', 'textarea is marked invalid');
    const described = (await box.getAttribute('aria-describedby')) || '';
    check(described.split(' ').includes(await err.getAttribute('id')), 'error is tied to the textarea (aria-describedby)');
    await shot(page, 'error.png', false);

    begin('the API itself refuses an over-long text with a field error');
    const apiErr = await fetch(new URL(cfg.synthesizeUrl, `${BASE}/`), {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ member_id: page.url().split('/').pop(), text: long }),
    });
    const apiBody = await apiErr.json().catch(() => ({}));
    check(apiErr.status === 400 && apiBody.error?.code === 'text_too_long' && apiBody.error?.field === 'text',
      `POST synthesize with ${cfg.maxTextChars + 1} characters answered ${apiErr.status} ${JSON.stringify(apiBody)}`);

    begin('the result is kept in Recent and replays');
    await page.getByRole('link', { name: /^Recent/ }).click();
    await page.getByTestId('recent-item').first().waitFor();
    await page.getByTestId('recent-item').first().getByRole('button', { name: /^Play clip of/ }).click();
    await page.waitForFunction(() => {
      const a = document.querySelector('[data-testid="recent-item"] audio');
      return a && a.duration > 0;
    }, null, { timeout: 30_000 });
    check(await page.title() === 'Recent clips · Chorus', `Recent's tab title: "${await page.title()}"`);
    const stored = await page.evaluate(() => localStorage.getItem('chorus.recent.v1') || '');
    check(stored.length > 0 && !/https?:\/\//.test(stored), `Recent keeps no signed URLs in localStorage: ${stored.slice(0, 200)}`);
    await axeCheck(page, 'Recent with a player open');

    begin('keyboard only: compose, leave for Recent at once, play there; visible focus all the way');
    await page.goto(`${BASE}/#/`);
    await page.getByTestId('member-card').first().waitFor();
    await page.mouse.move(0, 0);
    const who = OPERATOR_MEMBER || (await page.getByTestId('member-card').first().getAttribute('href')).split('/').pop();
    const checked = new Set();
    await page.evaluate(() => document.activeElement?.blur());
    await tabTo(page, cmp, (id) => document.activeElement?.getAttribute('href') === `#/members/${id}`, { arg: who, seen: checked, what: `the card of ${who}` });
    await page.keyboard.press('Enter');
    const whoName = (await page.locator('h1').innerText()).trim();
    await page.waitForFunction((id) => location.hash === `#/members/${id}` && document.activeElement?.tagName === 'H1', who);
    await tabTo(page, cmp, () => document.activeElement?.tagName === 'TEXTAREA', { seen: checked, what: 'the text box' });
    const line = `Keyboard only, then Recent ${Date.now() % 100000}.`;
    await page.keyboard.press('Control+A'); // the draft of an earlier step is still there
    await page.keyboard.type(line);
    await page.reload();
    const kept = await page.getByLabel(/What should .* say\?/).inputValue();
    check(kept === line, `the draft survives a reload: "${kept}"`);
    await page.evaluate(() => document.activeElement?.blur());
    await tabTo(page, cmp, () => document.activeElement?.getAttribute('type') === 'submit', { seen: checked, what: 'the send button' });
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.getAttribute('type') === 'submit');
    const busyFocus = await page.evaluate(() => document.activeElement?.getAttribute('aria-disabled') || document.activeElement?.innerText);
    log(`  while it is made, focus stays on the button (${busyFocus})`);
    await tabTo(page, cmp, () => document.activeElement?.getAttribute('href') === '#/recent', { back: true, seen: checked, what: 'the Recent link' });
    await page.keyboard.press('Enter');
    const mine = page.getByTestId('recent-item').filter({ hasText: line });
    await mine.waitFor();
    const arrived = await mine.getAttribute('data-status');
    check(/^(queued|running|succeeded)$/.test(arrived), `the clip is in Recent at once (${arrived})`);
    await page.waitForFunction((l) => [...document.querySelectorAll('[data-testid="recent-item"]')]
      .some((li) => li.textContent.includes(l) && li.dataset.status === 'succeeded'), line, { timeout: JOB_TIMEOUT });
    log(`  in Recent as "${arrived}", then succeeded`);
    await tabTo(page, cmp, (l) => (document.activeElement?.getAttribute('aria-label') || '').startsWith('Play clip of') &&
      document.activeElement.closest('li')?.textContent.includes(l), { arg: line, seen: checked, what: 'its Play button' });
    await page.keyboard.press('Enter');
    await page.waitForFunction((l) => {
      const li = [...document.querySelectorAll('[data-testid="recent-item"]')].find((x) => x.textContent.includes(l));
      const a = li?.querySelector('audio');
      return a && a.duration > 0;
    }, line, { timeout: 30_000 });
    await tabTo(page, cmp, () => document.activeElement?.tagName === 'AUDIO', { seen: checked, what: 'the player' });
    await page.keyboard.press('Space');
    const heard = await page.waitForFunction((l) => {
      const li = [...document.querySelectorAll('[data-testid="recent-item"]')].find((x) => x.textContent.includes(l));
      const a = li?.querySelector('audio');
      return a && !a.paused && a.currentTime > 0 ? a.currentTime : false;
    }, line, { timeout: 10_000 }).then((h) => h.jsonValue());
    await page.evaluate(() => document.querySelectorAll('audio').forEach((a) => a.pause()));
    log(`  ${whoName}'s clip plays from Recent, keyboard only (${heard.toFixed(2)} s in); ${checked.size} controls showed focus`);
    await shot(page, 'recent-keyboard.png');
    log(`  visible focus on ${await walkFocus(page, cmp)} controls of Recent`);

    begin('batch: several lines, one job per line');
    await page.getByRole('link', { name: 'Batch' }).click();
    await page.getByLabel(/Lines, one clip per line/).fill('Good morning!\n\n오늘도 화이팅!\nSee you soon 💜');
    await page.getByRole('button', { name: /Make 3 clips/ }).click();
    await page.getByTestId('batch-row').first().waitFor();
    check((await page.getByTestId('batch-row').count()) === 3, 'three rows for three lines');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="batch-row"]')].every((r) => r.dataset.status === 'succeeded'),
      null, { timeout: JOB_TIMEOUT });
    const rows = page.getByTestId('batch-row');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="batch-row"]')]
      .every((r) => r.querySelector('canvas.waveform[data-drawn="true"]') && r.querySelector('[data-testid="batch-duration"]')), null, { timeout: 30_000 });
    const unplayed = await page.evaluate(() => [...document.querySelectorAll('[data-testid="batch-row"] audio')].every((a) => a.currentTime === 0 && a.paused));
    check(unplayed, 'waveforms and durations show before any clip is played');
    const rowDuration = await rows.first().getByTestId('batch-duration').innerText();
    check(/\d:\d\d/.test(rowDuration), `row duration shown: "${rowDuration}"`);
    const [download] = await Promise.all([page.waitForEvent('download'), rows.first().getByTestId('batch-download').click()]);
    const saved = download.suggestedFilename();
    check(new RegExp(`^.+ - Good morning\\${ext}$`).test(saved), `batch download saved under a friendly name: "${saved}"`);
    check((await download.failure()) === null, 'batch download completed');
    log(`  saved "${saved}", row duration "${rowDuration.replace(/\s+/g, " ")}"`);
    await shot(page, 'batch.png');
    await axeCheck(page, 'the batch page with its clips');

    begin('a line the voice cannot say is marked in place; the others can still go');
    await page.getByLabel(/Lines, one clip per line/).fill('fine\n🎉🎉 …');
    await page.getByTestId('line-problems').waitFor();
    const problem = await page.getByTestId('line-problem').first().innerText();
    check(/^Line 2:/.test(problem), `the problem names line 2: "${problem}"`);
    check(await page.locator('[data-testid="line-numbers"] .line-bad').innerText() === '⚠ 2' || (await page.locator('[data-testid="line-numbers"] .line-bad').innerText()).includes('2'),
      'the gutter marks line 2');
    check(await page.getByRole('button', { name: 'Make 1 clip, skipping line 2' }).isVisible(), 'the valid line can still be sent');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'batch-line-phone.png', false);
    const wraps = await page.evaluate(() => getComputedStyle(document.querySelector('.lines-editor textarea')).whiteSpace);
    check(wraps === 'pre', `batch lines do not wrap on a phone (white-space: ${wraps})`);
    await page.setViewportSize({ width: 1280, height: 860 });

    begin('phone width: 360 px, navigation on one line');
    await page.setViewportSize({ width: 360, height: 740 });
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await page.goto(`${BASE}/#/`);
    await page.getByTestId('member-card').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `members page fits a phone (overflows by ${overflow}px)`);
    const nav = await page.evaluate(() => {
      const tops = [...document.querySelectorAll('.site-header .brand, .site-header .nav a')].map((e) => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2));
      const labels = [...document.querySelectorAll('.site-header .nav a')].map((a) => a.innerText.replace(/\s+/g, ' '));
      return { tops, labels, header: Math.round(document.querySelector('.site-header').getBoundingClientRect().height) };
    });
    check(nav.tops.length === 5 && Math.max(...nav.tops) - Math.min(...nav.tops) <= 2 && nav.header <= 72,
      `logo and ${nav.labels.join(' | ')} on one line, header ${nav.header}px (centres ${nav.tops.join(', ')})`);
    await shot(page, 'members-phone.png');
    await axeCheck(page, 'the members page on a phone');
    await page.screenshot({ path: join(OUT, 'nav-phone.png'), clip: { x: 0, y: 0, width: 360, height: 120 } });
    await page.getByTestId('member-card').first().click();
    await page.getByLabel(/What should .* say\?/).fill('Hi from my phone! 📱');
    await page.getByRole('button', { name: /say it/i }).click();
    await page.waitForSelector('[data-testid="result"] canvas.waveform[data-drawn="true"]', { timeout: JOB_TIMEOUT });
    const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow2 <= 0, `result page fits a phone (overflows by ${overflow2}px)`);
    const seenPhone = await settledResult(page);
    check(fullyShown(seenPhone), `result in view on a phone with reduced motion: ${JSON.stringify(seenPhone)}`);
    await shot(page, 'result-phone.png');

    begin('phone: touch targets of at least 44 px; the member drop-down shows its text whole');
    const tooSmall = () => [...document.querySelectorAll('a[href], button, select, input, textarea')].filter((el) => {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || r.bottom < 0 || el.closest('.visually-hidden')) return false; // not shown
      if (el.matches('a:not(.btn)') && el.closest('p:not(.crumbs)')) return false; // a link in running text (WCAG 2.5.8 exception)
      return r.height < 44 - 0.5 || r.width < 44 - 0.5;
    }).map((el) => `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') || el.innerText || el.id).trim().slice(0, 30)}" ${Math.round(el.getBoundingClientRect().width)}×${Math.round(el.getBoundingClientRect().height)}`);
    let small = await page.evaluate(tooSmall);
    check(small.length === 0, `targets under 44 px on the member page: ${small.join('; ')}`);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${BASE}/#/compose`);
    const select = page.getByLabel('Member');
    await select.waitFor();
    await page.waitForFunction(() => document.querySelector('select')?.value);
    const fit = await page.evaluate(() => {
      const el = document.querySelector('select');
      const cs = getComputedStyle(el);
      const inner = el.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
      return { inner, need: parseFloat(cs.fontSize) * 1.25, overflow: el.scrollWidth - el.clientWidth };
    });
    check(fit.inner >= fit.need, `the drop-down's text has room: ${fit.inner}px inside for ${fit.need}px of text`);
    small = await page.evaluate(tooSmall);
    check(small.length === 0, `targets under 44 px on the compose page: ${small.join('; ')}`);
    await page.screenshot({ path: join(OUT, 'compose-phone.png'), clip: { x: 0, y: 0, width: 390, height: 520 } });
    await page.goto(`${BASE}/#/recent`);
    await page.getByTestId('recent-item').first().waitFor();
    small = await page.evaluate(tooSmall);
    check(small.length === 0, `targets under 44 px on Recent: ${small.join('; ')}`);
    await axeCheck(page, 'Recent on a phone');

    check(problems.length === 0, `browser reported problems:\n  ${problems.join('\n  ')}`);
    log(`✔ all steps passed; screenshots in ${OUT}`);
  } catch (err) {
    await page.screenshot({ path: join(OUT, 'failure.png'), fullPage: true }).catch(() => {});
    if (problems.length) console.error(`e2e: browser problems:\n  ${problems.join('\n  ')}`);
    throw err;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(`e2e: FAILED: ${err.message}`);
  process.exit(1);
});
