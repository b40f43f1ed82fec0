// The Chorus API client: one place that knows the HTTP contract
// (docs/openapi.yaml), turns every failure into an ApiError with a stable
// code, and polls jobs with a backoff that stops the moment its signal aborts.

/** ApiError is a failed call: HTTP status (0 for network), stable code, message, field. */
export class ApiError extends Error {
  constructor({ status = 0, code, message = '', field = '', retryAfter = 0 }) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    /** retryAfter is seconds to wait before retrying (from Retry-After), 0 if none. */
    this.retryAfter = retryAfter;
  }
}

/** Codes from HTTP statuses when an error body is not the JSON envelope. */
function codeForStatus(status) {
  switch (status) {
    case 404: return 'not_found';
    case 413: return 'body_too_large';
    case 415: return 'unsupported_media_type';
    case 429: return 'rate_limited';
    case 503: return 'unavailable';
    default: return status >= 500 ? 'internal' : 'bad_request';
  }
}

/** parseRetryAfter reads a Retry-After header (seconds or HTTP date) as whole seconds. */
export function parseRetryAfter(value, now = Date.now()) {
  if (!value) return 0;
  const s = value.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (Number.isNaN(t)) return 0;
  return Math.max(0, Math.ceil((t - now) / 1000));
}

/** Transient errors are worth retrying while polling; the others are final. */
export function isTransient(err) {
  return err instanceof ApiError &&
    (err.code === 'network' || err.status === 429 || err.status === 502 || err.status === 503 || err.status === 504 || err.code === 'internal');
}

/** Terminal job states. */
export function isTerminal(status) {
  return status === 'succeeded' || status === 'failed';
}

/** sleep waits ms, rejecting with an AbortError as soon as signal aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new DOMException('Aborted', 'AbortError'));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(t);
      reject(signal.reason ?? new DOMException('Aborted', 'AbortError'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Default poll delays: 300 ms growing by half each time up to 2 s. */
export const DEFAULT_BACKOFF = Object.freeze({ initialMs: 300, factor: 1.5, maxMs: 2000, maxTransientErrors: 6 });

/** nextDelay returns the delay after `delay` under the backoff. */
export function nextDelay(delay, backoff = DEFAULT_BACKOFF) {
  return Math.min(backoff.maxMs, Math.round(delay * backoff.factor));
}

/** parseLimits reads the API's limits, falling back to the config's text limit. */
export function parseLimits(raw, config) {
  const whole = (v) => (Number.isInteger(v) && v >= 1 ? v : null);
  return Object.freeze({
    maxTextChars: whole(raw?.max_text_chars) ?? config.maxTextChars,
    maxBatchItems: whole(raw?.max_batch_items),
  });
}

/** newRequestId returns a random idempotency key for one submission. */
export function newRequestId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * A long-poll answer may come this long after the wait it asked for
 * (network, a busy function) before the request is given up as lost.
 */
export const LONG_POLL_SLACK_MS = 15_000;

/**
 * linked returns a signal that aborts when parent does or after ms (when
 * ms > 0), and a function that releases the timer.
 */
function linked(parent, ms) {
  if (!(ms > 0)) return { signal: parent, done: () => {}, timedOut: () => false };
  const ac = new AbortController();
  let expired = false;
  const onAbort = () => ac.abort(parent.reason);
  parent?.addEventListener('abort', onAbort, { once: true });
  if (parent?.aborted) ac.abort(parent.reason);
  const t = setTimeout(() => {
    expired = true;
    ac.abort(new DOMException('Timed out', 'TimeoutError'));
  }, ms);
  return {
    signal: ac.signal,
    done: () => {
      clearTimeout(t);
      parent?.removeEventListener('abort', onAbort);
    },
    timedOut: () => expired && !parent?.aborted,
  };
}

/**
 * createClient returns the API client for a validated config.
 * fetchImpl, sleepImpl and now (the clock polling deadlines are measured
 * on) are injectable for tests.
 */
export function createClient(config, { fetchImpl = (...a) => globalThis.fetch(...a), sleepImpl = sleep, now = () => Date.now() } = {}) {
  async function call(url, { method = 'GET', body, signal, timeoutMs = 0 } = {}) {
    const limit = linked(signal, timeoutMs);
    const init = { method, signal: limit.signal, headers: { Accept: 'application/json' }, cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    let text = '';
    try {
      res = await fetchImpl(url, init);
      text = await res.text().catch((err) => {
        if (limit.signal.aborted) throw err;
        return '';
      });
    } catch (err) {
      if (limit.timedOut()) throw new ApiError({ code: 'network', message: 'the server did not answer in time' });
      if (err?.name === 'AbortError' || signal?.aborted) throw err;
      throw new ApiError({ code: 'network', message: err?.message || 'network error' });
    } finally {
      limit.done();
    }
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const e = data && typeof data.error === 'object' && data.error ? data.error : {};
      throw new ApiError({
        status: res.status,
        code: typeof e.code === 'string' && e.code ? e.code : codeForStatus(res.status),
        message: typeof e.message === 'string' ? e.message : '',
        field: typeof e.field === 'string' ? e.field : '',
        retryAfter: parseRetryAfter(res.headers.get('Retry-After')),
      });
    }
    if (data === null || typeof data !== 'object') {
      throw new ApiError({ status: res.status, code: 'bad_response', message: 'the server answered with something that is not JSON' });
    }
    return data;
  }

  function withParam(base, key, value) {
    const u = new URL(base);
    u.searchParams.set(key, value);
    return u.href;
  }

  const client = {
    config,

    /** fetchRaw fetches a non-API address (a signed audio URL) with the client's fetch. */
    fetchRaw(url, init) {
      return fetchImpl(url, init);
    },

    /**
     * profiles returns the members, ordered for display, and the limits the
     * API accepts ({maxTextChars, maxBatchItems}; the config's maxTextChars
     * and no batch limit when an older API does not say).
     */
    async profiles({ signal } = {}) {
      const data = await call(config.profilesUrl, { signal });
      if (!Array.isArray(data.members)) {
        throw new ApiError({ code: 'bad_response', message: 'profiles answer has no members list' });
      }
      const members = [...data.members].sort((a, b) => (a.order ?? 0) - (b.order ?? 0) || String(a.name).localeCompare(String(b.name)));
      return { members, limits: parseLimits(data.limits, config) };
    },

    /** listMembers returns the members, ordered for display. */
    async listMembers(opts) {
      return (await client.profiles(opts)).members;
    },

    /** getMember returns one member; a missing one is ApiError code member_not_found. */
    async getMember(id, { signal } = {}) {
      try {
        return await call(withParam(config.profilesUrl, 'id', id), { signal });
      } catch (err) {
        if (err instanceof ApiError && err.status === 404 && err.code === 'not_found') err.code = 'member_not_found';
        throw err;
      }
    },

    /** synthesize queues one job: {job_id, status, status_url}. format: wav (default), opus or mp3. */
    synthesize({ memberId, text, speed, requestId, format }, { signal } = {}) {
      const body = { member_id: memberId, text };
      if (speed !== undefined && speed !== null) body.speed = speed;
      if (requestId) body.request_id = requestId;
      if (format) body.format = format;
      return call(config.synthesizeUrl, { method: 'POST', body, signal });
    },

    /** batch queues one job per item: {batch_id, jobs:[{job_id, status, status_url}]}. */
    batch(items, { signal } = {}) {
      const body = {
        items: items.map(({ memberId, text, speed, requestId, format }) => {
          const it = { member_id: memberId, text };
          if (speed !== undefined && speed !== null) it.speed = speed;
          if (requestId) it.request_id = requestId;
          if (format) it.format = format;
          return it;
        }),
      };
      return call(config.batchUrl, { method: 'POST', body, signal });
    },

    /**
     * status returns one job; a missing one is ApiError code job_not_found.
     * wait > 0 asks for a long-poll (`?wait=`): the server answers when the
     * job ends or after that many seconds; a server that ignores it answers
     * at once, which poll allows for.
     */
    async status(jobId, { signal, wait = 0 } = {}) {
      let url = withParam(config.statusUrl, 'id', jobId);
      if (wait > 0) url = withParam(url, 'wait', String(wait));
      try {
        return await call(url, { signal, timeoutMs: wait > 0 ? wait * 1000 + LONG_POLL_SLACK_MS : 0 });
      } catch (err) {
        if (err instanceof ApiError && err.status === 404 && err.code === 'not_found') err.code = 'job_not_found';
        throw err;
      }
    },

    /** batchStatus returns {batch_id, jobs:[…]}. */
    batchStatus(batchId, { signal } = {}) {
      return call(withParam(config.statusUrl, 'batch', batchId), { signal });
    },

    /**
     * poll calls fetchOnce({signal, wait}) until done(result) holds. Between
     * calls it pauses for the backoff delay less the time the call took, so
     * a long-poll that waited on the server is followed at once, and a
     * server that answered at once (one that ignores `wait`) is polled on the
     * backoff schedule. Transient failures (network, 429, 5xx) are retried,
     * honouring Retry-After, up to maxTransientErrors in a row. deadlineMs
     * (> 0) bounds the whole wait: past it, poll fails with ApiError
     * job_timeout. Aborting signal stops it at once.
     */
    async poll(fetchOnce, done, { signal, onUpdate, backoff = DEFAULT_BACKOFF, deadlineMs = 0, waitSeconds = 0 } = {}) {
      const start = now();
      const left = () => (deadlineMs > 0 ? deadlineMs - (now() - start) : Infinity);
      let delay = backoff.initialMs;
      let failures = 0;
      for (let call = 0; ; call++) {
        // At least one call, even when the deadline has passed (a page
        // reloaded long after the job was sent asks once).
        if (call > 0 && left() <= 0) {
          throw new ApiError({ code: 'job_timeout', message: `no answer within ${Math.round(deadlineMs / 1000)} s` });
        }
        const wait = Math.max(0, Math.min(waitSeconds, Math.floor(left() / 1000)));
        const began = now();
        let pause;
        try {
          const r = await fetchOnce({ signal, wait });
          failures = 0;
          onUpdate?.(r);
          if (done(r)) return r;
          pause = delay - (now() - began);
        } catch (err) {
          if (!isTransient(err) || ++failures > backoff.maxTransientErrors) throw err;
          pause = err.retryAfter > 0 ? Math.max(delay, err.retryAfter * 1000) : delay;
        }
        pause = Math.min(pause, left());
        if (pause > 0) await sleepImpl(pause, signal);
        delay = nextDelay(delay, backoff);
      }
    },

    /**
     * pollJob waits until a job succeeds or fails and returns it, long-polling
     * status when waitSeconds > 0. deadlineMs: see poll.
     */
    pollJob(jobId, opts = {}) {
      return client.poll((o) => client.status(jobId, o), (j) => isTerminal(j.status), opts);
    },

    /** pollBatch waits until every job of a batch has ended and returns the batch. */
    pollBatch(batchId, opts = {}) {
      return client.poll(
        ({ signal }) => client.batchStatus(batchId, { signal }),
        (b) => Array.isArray(b.jobs) && b.jobs.every((j) => isTerminal(j.status)),
        opts,
      );
    },
  };
  return client;
}
