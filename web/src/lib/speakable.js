// What the voice can say: the browser's copy of the server's rule
// (shared/textnorm SpeakableIn), so that text the API would refuse with
// 400 text_unspeakable is refused before it is sent.
//
// The rule: after the clean-up (zero-width space, BOM and soft hyphen
// removed, white space and control characters collapsed, NFC), emoji
// dropped and the language's expansions, the text has a letter (\p{L}) or
// a digit (\p{N}). Of emoji only keycaps ("1️⃣") hold a digit.
// Expansions only ever add words, so text with a letter or digit is
// speakable in every language; without one, only the expansions that turn
// symbols alone into words matter: "&" ("and" in English, "앤드" in Korean)
// and English "x@y" between underscores ("_ at _").

const INVISIBLE = /[\u200b\ufeff\u00ad]/g;
const SPACES = /[\s\p{Cc}]+/gu;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const KEYCAP = /[0-9#*]\uFE0F?\u20E3/gu;

/** langOf reduces "en-US" or "en_us" to "en", as the server does. */
export function langOf(lang) {
  return String(lang || '').toLowerCase().split(/[-_]/)[0];
}

/** cleanText mirrors textnorm.Clean: invisible characters gone, white space single, ends trimmed. */
export function cleanText(text) {
  return String(text).normalize('NFC').replace(INVISIBLE, '').replace(SPACES, ' ').trim();
}

/**
 * speakable reports whether a voice of language lang (a voice's
 * `language`: "en-us", "ko"; '' when unknown) can say text.
 */
export function speakable(text, lang = '') {
  const clean = cleanText(text).replace(KEYCAP, '');
  if (LETTER_OR_DIGIT.test(clean)) return true;
  switch (langOf(lang)) {
    case 'en':
      return clean.includes('&') || /_ ?@ ?_/.test(clean);
    case 'ko':
      return clean.includes('&');
    default:
      return false;
  }
}
