import { describe, expect, it } from 'vitest';
import { accentFor, contrast, hslToRgb, initials } from './identity.js';

describe('member identity', () => {
  it('gives the same member the same colour', () => {
    expect(accentFor('mina')).toEqual(accentFor('mina'));
    expect(accentFor('mina').hue).not.toBe(accentFor('joon').hue);
  });

  it('converts HSL like CSS does', () => {
    expect(hslToRgb(0, 100, 50)).toEqual([255, 0, 0]);
    expect(hslToRgb(120, 100, 25)).toEqual([0, 128, 0]);
    expect(hslToRgb(0, 0, 100)).toEqual([255, 255, 255]);
  });

  it('keeps white text on every accent readable (WCAG AA), whatever the hue', () => {
    for (let i = 0; i < 2000; i++) {
      const a = accentFor(`member-${i}`);
      const rgb = hslToRgb(a.hue, 65, a.lightness);
      expect(contrast(rgb, [255, 255, 255]), `hue ${a.hue}`).toBeGreaterThanOrEqual(4.5);
      expect(contrast(rgb, hslToRgb(a.hue, 80, 95)), `hue ${a.hue} on its tint`).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('makes initials from names in any script', () => {
    expect(initials('Mina')).toBe('M');
    expect(initials('Dae Hyun')).toBe('DH');
    expect(initials('서연')).toBe('서연');
    expect(initials('')).toBe('?');
  });
});
