import { describe, expect, it, vi } from 'vitest';
import { prefersReducedMotion, reveal } from './motion.js';

const win = (reduce) => ({ matchMedia: (q) => ({ matches: reduce && q === '(prefers-reduced-motion: reduce)' }) });

describe('reveal', () => {
  it('scrolls smoothly, or at once when the fan asked for less motion', () => {
    const el = { scrollIntoView: vi.fn() };
    reveal(el, win(false));
    reveal(el, win(true));
    expect(el.scrollIntoView.mock.calls).toEqual([[{ behavior: 'smooth', block: 'nearest' }], [{ behavior: 'auto', block: 'nearest' }]]);
  });

  it('does without matchMedia or scrollIntoView', () => {
    expect(prefersReducedMotion({})).toBe(false);
    expect(prefersReducedMotion(undefined)).toBe(false);
    expect(() => reveal({}, {})).not.toThrow();
    expect(() => reveal(null)).not.toThrow();
  });
});
