// Member identity: a stable accent colour and initials derived from the
// member id, so every member looks the same on every page and device.

/** hashString is FNV-1a over UTF-16 code units: stable, tiny, good spread. */
export function hashString(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** hslToRgb converts HSL (degrees, percent, percent) to sRGB bytes. */
export function hslToRgb(h, sPct, lPct) {
  const s = sPct / 100;
  const l = lPct / 100;
  const k = (n) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [f(0), f(8), f(4)].map((x) => Math.round(x * 255));
}

/** luminance is the WCAG relative luminance of an sRGB colour. */
export function luminance([r, g, b]) {
  const lin = (c) => {
    const x = c / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** contrast is the WCAG contrast ratio of two sRGB colours. */
export function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

const WHITE = [255, 255, 255];
/** Target contrast of the accent with white: AA (4.5) with room for its pale tint behind it. */
export const ACCENT_CONTRAST = 5.2;

/**
 * accentFor returns CSS colours for a member. The hue comes from the id;
 * the lightness is lowered per hue until white text on `accent` (and
 * `accent` text on white or on `soft`) meets WCAG AA, since yellows and
 * greens are far brighter than blues at the same HSL lightness.
 */
export function accentFor(id) {
  const h = hashString(String(id)) % 360;
  const sat = 65;
  const tint = hslToRgb(h, 80, 95);
  let l = 46;
  const readable = (rgb) => contrast(rgb, WHITE) >= ACCENT_CONTRAST && contrast(rgb, tint) >= 4.6;
  while (l > 10 && !readable(hslToRgb(h, sat, l))) l -= 1;
  return {
    hue: h,
    lightness: l,
    accent: `hsl(${h} ${sat}% ${l}%)`,
    strong: `hsl(${h} ${sat + 5}% ${Math.max(8, l - 9)}%)`,
    soft: `hsl(${h} 80% 95%)`,
    glow: `hsl(${(h + 40) % 360} 75% 60%)`,
  };
}

/** initials returns up to two letters for an avatar; Hangul names give one syllable-pair. */
export function initials(name) {
  const parts = String(name || '').trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return '?';
  const chars = (w) => Array.from(w);
  if (parts.length === 1) {
    const c = chars(parts[0]);
    return (/[\u3131-\uD79D]/.test(c[0]) ? c.slice(0, 2) : c.slice(0, 1)).join('').toUpperCase();
  }
  return (chars(parts[0])[0] + chars(parts[parts.length - 1])[0]).toUpperCase();
}
