import { describe, expect, it } from 'vitest';
import { LEDGER_KEY, createLedger, formatWait } from './allowance.js';

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)) };
}

// The API's defaults: 60 clips a minute (one a second), 20 at once.
const config = { ratePerMinute: 60, rateBurst: 20 };

function ledgerAt(start = 1_000_000) {
  let t = start;
  const storage = memoryStorage();
  const ledger = createLedger(config, { storage, now: () => t });
  return { ledger, storage, advance: (s) => { t += s * 1000; } };
}

describe('allowance', () => {
  it('says what a batch costs from a full allowance, as functions/api/limit.go counts it', () => {
    const { ledger } = ledgerAt();
    expect(ledger.quote(19)).toMatchObject({ admitted: true, waitBefore: 0, waitAfter: 0, safeSize: 19 });
    expect(ledger.quote(20)).toMatchObject({ admitted: true, waitAfter: 1 });
    // 100 from a full bucket: admitted, leaving 80 clips of debt: the next clip waits 81 s.
    expect(ledger.quote(100)).toMatchObject({ admitted: true, waitBefore: 0, waitAfter: 81, safeSize: 19 });
  });

  it('counts what this browser sent and refills with time', () => {
    const { ledger, advance } = ledgerAt();
    ledger.spend(100, { batch: true });
    expect(ledger.quote(1)).toMatchObject({ admitted: false, waitBefore: 81, safeSize: 0 });
    expect(ledger.blame()).toMatchObject({ size: 100 });
    advance(81);
    expect(ledger.quote(1)).toMatchObject({ admitted: true, waitBefore: 0 });
    advance(19);
    expect(ledger.blame()).toBeNull(); // 100 s later the batch's clips are back
    expect(ledger.quote(5).safeSize).toBe(19); // full again
  });

  it('a batch larger than the allowance waits for a full one', () => {
    const { ledger, advance } = ledgerAt();
    ledger.spend(5);
    expect(ledger.quote(50)).toMatchObject({ admitted: false, waitBefore: 5, waitAfter: 31 });
    expect(ledger.blame()).toBeNull(); // single clips are not a batch
    advance(5);
    expect(ledger.quote(50).admitted).toBe(true);
  });

  it('believes the server\'s Retry-After over its own count', () => {
    const { ledger, storage } = ledgerAt();
    ledger.refused(1, 30); // another tab or device spent the allowance
    expect(ledger.quote(1)).toMatchObject({ admitted: false, waitBefore: 30 });
    expect(JSON.parse(storage.getItem(LEDGER_KEY)).tokens).toBe(-29);
  });

  it('is shared through storage and survives a reload', () => {
    const { ledger, storage } = ledgerAt();
    ledger.spend(10);
    const again = createLedger(config, { storage, now: () => 1_000_000 });
    expect(again.quote(1).safeSize).toBe(9);
    expect(createLedger(config, { storage: { getItem: () => '{bad', setItem: () => {} }, now: () => 0 }).quote(1).safeSize).toBe(19);
  });

  it('does nothing where the deployment sets no limit', () => {
    const l = createLedger({ ratePerMinute: 0, rateBurst: 20 }, { storage: memoryStorage(), now: () => 0 });
    l.spend(1000, { batch: true });
    expect(l.limited).toBe(false);
    expect(l.quote(100)).toMatchObject({ admitted: true, waitAfter: 0, safeSize: 100 });
    expect(l.blame()).toBeNull();
  });

  it('says waits as a fan reads them', () => {
    expect([0.2, 1, 45, 60, 118, 180, 3601].map(formatWait)).toEqual(['1 second', '1 second', '45 seconds', '1 minute', '1 min 58 s', '3 minutes', '60 min 1 s']);
  });
});
