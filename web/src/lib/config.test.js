import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from './config.js';

const good = { profilesUrl: '/api/profiles', synthesizeUrl: '/api/synthesize', batchUrl: '/api/batch', statusUrl: '/api/status', maxTextChars: 1000 };

describe('config', () => {
  it('resolves relative URLs against the config address', () => {
    const c = parseConfig(good, 'http://127.0.0.1:8080/config.json');
    expect(c.profilesUrl).toBe('http://127.0.0.1:8080/api/profiles');
    expect(c.maxTextChars).toBe(1000);
  });

  it('keeps absolute cloud function URLs', () => {
    const c = parseConfig({ ...good, statusUrl: 'https://europe-west1-p.cloudfunctions.net/status' }, 'https://fans.example/app/config.json');
    expect(c.statusUrl).toBe('https://europe-west1-p.cloudfunctions.net/status');
    expect(c.batchUrl).toBe('https://fans.example/api/batch');
  });

  it('refuses a missing URL, a non-http URL and a bad limit', () => {
    const base = 'http://x/config.json';
    expect(() => parseConfig({ ...good, batchUrl: '' }, base)).toThrow(/batchUrl/);
    expect(() => parseConfig({ ...good, statusUrl: 'javascript:alert(1)' }, base)).toThrow(/http or https/);
    expect(() => parseConfig({ ...good, maxTextChars: 0 }, base)).toThrow(/maxTextChars/);
    expect(() => parseConfig({ ...good, maxTextChars: '1000' }, base)).toThrow(ConfigError);
    expect(() => parseConfig([], base)).toThrow(ConfigError);
  });

  it('reads the deployment\'s limits, with the API\'s defaults when absent', () => {
    const c = parseConfig(good, 'http://x/config.json');
    expect(c).toMatchObject({ audioRetentionSeconds: 604800, ratePerMinute: 60, rateBurst: 20, jobDeadlineSeconds: 180, statusWaitSeconds: 20 });
    const d = parseConfig({ ...good, audioRetentionSeconds: 86400, ratePerMinute: 0, rateBurst: 5, jobDeadlineSeconds: 30, statusWaitSeconds: 0 }, 'http://x/config.json');
    expect(d).toMatchObject({ audioRetentionSeconds: 86400, ratePerMinute: 0, rateBurst: 5, jobDeadlineSeconds: 30, statusWaitSeconds: 0 });
    for (const bad of [{ statusWaitSeconds: 21 }, { jobDeadlineSeconds: 1 }, { rateBurst: 0 }, { audioRetentionSeconds: 1.5 }, { ratePerMinute: -1 }]) {
      expect(() => parseConfig({ ...good, ...bad }, 'http://x/config.json'), JSON.stringify(bad)).toThrow(new RegExp(Object.keys(bad)[0]));
    }
  });

  it('loads config.json relative to the page', async () => {
    const seen = [];
    const c = await loadConfig({
      base: 'http://host/chorus/index.html',
      fetchImpl: async (url) => { seen.push(url); return new Response(JSON.stringify(good)); },
    });
    expect(seen).toEqual(['http://host/chorus/config.json']);
    expect(c.synthesizeUrl).toBe('http://host/api/synthesize');
  });

  it('fails clearly when config.json is missing or not JSON', async () => {
    await expect(loadConfig({ base: 'http://h/', fetchImpl: async () => new Response('nope', { status: 404 }) })).rejects.toThrow(/HTTP 404/);
    await expect(loadConfig({ base: 'http://h/', fetchImpl: async () => new Response('<html>') })).rejects.toThrow(/not valid JSON/);
    await expect(loadConfig({ base: 'http://h/', fetchImpl: async () => { throw new TypeError('offline'); } })).rejects.toThrow(ConfigError);
  });
});
