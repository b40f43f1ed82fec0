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

/**
 * accentFor returns CSS colours for a member: `accent` is dark enough for
 * white text on it (WCAG AA at 4.5:1 holds for L ≤ 40% at these
 * saturations), `soft` is a pale tint for backgrounds.
 */
export function accentFor(id) {
  const h = hashString(String(id)) % 360;
  return {
    hue: h,
    accent: `hsl(${h} 62% 38%)`,
    strong: `hsl(${h} 70% 30%)`,
    soft: `hsl(${h} 80% 95%)`,
    glow: `hsl(${(h + 40) % 360} 75% 55%)`,
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
