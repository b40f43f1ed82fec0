// Runtime configuration. The same static bundle serves the local stack and
// the cloud: the function URLs live in a config.json served beside the app,
// never in the build.

const URL_KEYS = ['profilesUrl', 'synthesizeUrl', 'batchUrl', 'statusUrl'];

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
  const max = raw.maxTextChars === undefined ? 1000 : raw.maxTextChars;
  if (!Number.isInteger(max) || max < 1 || max > 10000) {
    throw new ConfigError('config.json: "maxTextChars" must be an integer between 1 and 10000');
  }
  out.maxTextChars = max;
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
