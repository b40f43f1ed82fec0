// The fan's allowance: this browser's copy of the API's per-client rate
// limit, so the app can say what a batch costs before it is sent and why a
// clip is refused after one. The API counts in clips: a token bucket of
// rateBurst tokens refilled at ratePerMinute (CHORUS_RATE_PER_MINUTE,
// CHORUS_RATE_BURST, from config.json); a clip costs one token and a batch
// of n costs n. A batch larger than the bucket is admitted only when the
// bucket is full, and leaves it in debt that later clips wait out
// (functions/api/limit.go). The server stays the judge: this copy only
// counts what this browser sent, and a refusal (429 with Retry-After)
// corrects it.

export const LEDGER_KEY = 'chorus.allowance.v1';

/** formatWait says a wait in seconds as a fan reads it: "45 seconds", "1 min 58 s", "3 minutes". */
export function formatWait(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.floor(s / 60);
  const r = s % 60;
  if (r === 0) return `${m} minute${m === 1 ? '' : 's'}`;
  return `${m} min ${r} s`;
}

/**
 * createLedger returns the allowance for a config ({ratePerMinute,
 * rateBurst}), persisted in storage (shared by the tabs of this browser)
 * and measured on now(). With ratePerMinute 0 the API does not limit, and
 * neither does the ledger (limited: false).
 */
export function createLedger(config, { storage = globalThis.localStorage, now = Date.now } = {}) {
  const perSecond = (config.ratePerMinute ?? 0) / 60;
  const burst = Math.max(1, config.rateBurst ?? 1);
  const limited = perSecond > 0;

  function read() {
    try {
      const v = JSON.parse(storage?.getItem(LEDGER_KEY) || 'null');
      if (v && Number.isFinite(v.tokens) && Number.isFinite(v.at)) return v;
    } catch {
      // unreadable: start full
    }
    return { tokens: burst, at: now(), batch: null };
  }
  function write(v) {
    try {
      storage?.setItem(LEDGER_KEY, JSON.stringify(v));
    } catch {
      // a full or blocked storage only makes the estimate coarser
    }
  }
  /** tokens now: refilled since the last write, never above the burst. */
  function level(v = read(), t = now()) {
    return Math.min(burst, v.tokens + Math.max(0, t - v.at) / 1000 * perSecond);
  }
  /** secondsUntil says how long until the bucket holds `need` tokens. */
  function secondsUntil(need, tokens) {
    return tokens >= need ? 0 : (need - tokens) / perSecond;
  }

  return {
    limited,
    perMinute: config.ratePerMinute ?? 0,
    burst,

    /**
     * quote says what sending n clips does now: whether the API would
     * take them (admitted), how long until it would (waitBefore, seconds),
     * how long the next single clip waits after them (waitAfter), and the
     * most clips that can go now leaving one for the next clip at once
     * (safeSize; 0 when none can).
     */
    quote(n) {
      if (!limited) return { limited: false, cost: n, admitted: true, waitBefore: 0, waitAfter: 0, safeSize: n, tokens: Infinity };
      const tokens = level();
      const need = Math.min(Math.max(n, 1), burst);
      const admitted = tokens >= need;
      const start = admitted ? tokens : need; // a refused batch is sent once the bucket holds `need`
      const waitAfter = secondsUntil(1, start - n);
      return {
        limited: true,
        cost: n,
        tokens,
        admitted,
        waitBefore: secondsUntil(need, tokens),
        waitAfter,
        safeSize: Math.max(0, Math.floor(tokens - 1 + 1e-9)),
      };
    },

    /** spend records n clips sent (batch: they went as one batch). */
    spend(n, { batch = false } = {}) {
      if (!limited) return;
      const v = read();
      const t = now();
      write({ tokens: level(v, t) - n, at: t, batch: batch ? { size: n, at: t } : v.batch });
    },

    /**
     * refused records a 429 for a request of n clips: the API says the
     * bucket holds `need` tokens only after retryAfter seconds.
     */
    refused(n, retryAfter) {
      if (!limited || !(retryAfter > 0)) return;
      const v = read();
      const t = now();
      const need = Math.min(Math.max(n, 1), burst);
      write({ ...v, tokens: Math.min(level(v, t), need - retryAfter * perSecond), at: t });
    },

    /**
     * blame explains a wait: the batch that put the bucket in debt when one
     * was sent recently enough to explain it ({size, secondsAgo}), else null.
     */
    blame() {
      if (!limited) return null;
      const v = read();
      if (!v.batch) return null;
      const ago = (now() - v.batch.at) / 1000;
      // A batch explains the wait while the tokens it took are not yet back.
      return ago < v.batch.size / perSecond ? { size: v.batch.size, secondsAgo: ago } : null;
    },
  };
}
