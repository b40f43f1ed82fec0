// Saving clips under names a fan recognises ("Aria - Hello everyone.wav"),
// safe on every common file system.

/** Characters no file system takes (Windows is the strictest), and controls. */
const FORBIDDEN = /[<>:"/\\|?*\p{Cc}]/gu;
/**
 * Invisible and direction-changing characters: a name should read as it is
 * stored. The zero-width joiner and non-joiner stay: they hold emoji
 * sequences (👩‍👩‍👧) and some scripts' letters together.
 */
const INVISIBLE = /[\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)$/i;
const utf8Length = (s) => new TextEncoder().encode(s).length;
const segmenter = typeof Intl !== 'undefined' && Intl.Segmenter ? new Intl.Segmenter('und', { granularity: 'grapheme' }) : null;

/**
 * graphemes splits text into what a reader sees as characters (grapheme
 * clusters: a Hangul syllable, a letter with its accents, an emoji with
 * its modifiers and joiners), so a name is never cut inside one.
 */
export function graphemes(text) {
  return segmenter ? Array.from(segmenter.segment(text), (x) => x.segment) : Array.from(text);
}

/** safePart makes one part of a file name: no forbidden or invisible characters, single spaces. */
export function safePart(s) {
  return String(s ?? '')
    .normalize('NFC')
    .replace(INVISIBLE, '')
    .replace(FORBIDDEN, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * startOf keeps the first words of text (NFC), at most maxChars grapheme
 * clusters, cut at a word boundary when there is one, without trailing
 * punctuation.
 */
export function startOf(text, maxChars = 40) {
  const chars = graphemes(safePart(text));
  let s = chars.join('');
  if (chars.length > maxChars) {
    s = chars.slice(0, maxChars).join('');
    const space = s.lastIndexOf(' ');
    if (chars[maxChars] !== ' ' && space >= maxChars / 2) s = s.slice(0, space);
  }
  return s.replace(/[\s\p{P}]+$/u, '').replace(/^[\s.]+/, '');
}

/**
 * downloadName names a clip's file, the same for a single clip and a batch
 * line: "Member - Start of the text.wav". Names are NFC (composed Hangul
 * syllables, not separate jamo), cut only between grapheme clusters, stay
 * under 200 bytes of UTF-8 (file systems allow 255), never start with a
 * dot, never end with a dot or a space, and are never a reserved Windows
 * device name.
 */
export function downloadName({ memberName = '', text = '' } = {}, ext = 'wav') {
  const who = startOf(memberName, 40) || 'Chorus';
  const suffix = `.${ext}`;
  let words = graphemes(startOf(text, 40));
  const name = () => (words.length ? `${who} - ${words.join('')}` : who).replace(/[\s.]+$/, '');
  while (words.length && utf8Length(name() + suffix) > 200) words = words.slice(0, -1);
  let base = name();
  if (RESERVED.test(base)) base = `${base} clip`;
  return (base + suffix).normalize('NFC');
}

/**
 * limitConcurrency wraps an async function so that at most n calls run at
 * once; the others wait their turn in order.
 */
export function limitConcurrency(fn, n) {
  let running = 0;
  const waiting = [];
  const next = () => {
    if (running >= n || waiting.length === 0) return;
    running++;
    const { args, resolve, reject } = waiting.shift();
    Promise.resolve()
      .then(() => fn(...args))
      .then(resolve, reject)
      .finally(() => {
        running--;
        next();
      });
  };
  return (...args) => new Promise((resolve, reject) => {
    waiting.push({ args, resolve, reject });
    next();
  });
}
