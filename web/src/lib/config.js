// Runtime configuration. The same static bundle serves the local stack and
// the cloud: the function URLs live in a config.json served beside the app,
// never in the build.

const URL_KEYS = ['profilesUrl', 'synthesizeUrl', 'batchUrl', 'statusUrl'];

/**
 * LIMITS are the deployment's numbers the app explains to fans, each with
 * its default (the API's default) and the range the API accepts. The local
 * stack writes them from the functions' own settings (scripts/devstack);
 * the web image from the same Terraform variables (web/deploy).
 *
 * - maxTextChars: CHORUS_MAX_TEXT_CHARS.
 * - audioRetentionSeconds: CHORUS_AUDIO_RETENTION (how long a clip's audio lives).
 * - ratePerMinute, rateBurst: CHORUS_RATE_PER_MINUTE and CHORUS_RATE_BURST
 *   (clips per client; a batch of n costs n). ratePerMinute 0: no limit.
 * - jobDeadlineSeconds: how long the app waits for one clip before it tells
 *   the fan it is taking too long (the worker's queue may be empty of GPUs).
 * - statusWaitSeconds: the status long-poll (`?wait=`) asked for; 0 polls.
 */
export const LIMITS = Object.freeze({
  maxTextChars: { def: 1000, min: 1, max: 10000 },
  audioRetentionSeconds: { def: 7 * 24 * 3600, min: 1, max: 366 * 24 * 3600 },
  ratePerMinute: { def: 60, min: 0, max: 1_000_000 },
  rateBurst: { def: 20, min: 1, max: 1_000_000 },
  jobDeadlineSeconds: { def: 180, min: 5, max: 24 * 3600 },
  statusWaitSeconds: { def: 20, min: 0, max: 20 },
});

/** ConfigError says the app cannot start because config.json is missing or wrong. */
export class ConfigError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/**
 * parseConfig validates a decoded config.json and resolves every URL
 * against base (the address config.json came from), so "/api/profiles"
 * works locally and absolute function URLs work in the cloud.
 */
export function parseConfig(raw, base) {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError('config.json must hold a JSON object');
  }
  const out = {};
  for (const key of URL_KEYS) {
    const v = raw[key];
    if (typeof v !== 'string' || v.trim() === '') {
      throw new ConfigError(`config.json: "${key}" must be a non-empty URL`);
    }
    let u;
    try {
      u = new URL(v, base);
    } catch (err) {
      throw new ConfigError(`config.json: "${key}" is not a valid URL: ${v}`, { cause: err });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new ConfigError(`config.json: "${key}" must be http or https: ${v}`);
    }
    out[key] = u.href;
  }
  for (const [key, { def, min, max }] of Object.entries(LIMITS)) {
    const v = raw[key] === undefined ? def : raw[key];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(`config.json: "${key}" must be an integer between ${min} and ${max}`);
    }
    out[key] = v;
  }
  return Object.freeze(out);
}

/** loadConfig fetches and validates config.json relative to the page. */
export async function loadConfig({ fetchImpl = globalThis.fetch, base = document.baseURI, signal } = {}) {
  const url = new URL('config.json', base).href;
  let res;
  try {
    res = await fetchImpl(url, { signal, cache: 'no-store', headers: { Accept: 'application/json' } });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ConfigError(`could not load ${url}`, { cause: err });
  }
  if (!res.ok) throw new ConfigError(`could not load ${url}: HTTP ${res.status}`);
  let raw;
  try {
    raw = await res.json();
  } catch (err) {
    throw new ConfigError(`${url} is not valid JSON`, { cause: err });
  }
  return parseConfig(raw, url);
}
