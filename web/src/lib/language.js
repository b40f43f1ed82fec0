// A gentle warning when a fan writes in a language the member's voice does
// not speak (Korean text for an English voice): espeak-ng reads it with the
// voice's rules, and letters the voice has no sounds for come out garbled
// or not at all. It never blocks sending.

import { langOf } from './speakable.js';

/** The writing systems we tell apart, and what to call them. */
const SCRIPTS = [
  ['Hangul', /\p{Script=Hangul}/u, 'Korean (Hangul)'],
  ['Hiragana', /\p{Script=Hiragana}/u, 'Japanese (kana)'],
  ['Katakana', /\p{Script=Katakana}/u, 'Japanese (kana)'],
  ['Han', /\p{Script=Han}/u, 'Chinese characters'],
  ['Latin', /\p{Script=Latin}/u, 'Latin letters'],
  ['Cyrillic', /\p{Script=Cyrillic}/u, 'Cyrillic'],
  ['Greek', /\p{Script=Greek}/u, 'Greek'],
  ['Arabic', /\p{Script=Arabic}/u, 'Arabic'],
  ['Hebrew', /\p{Script=Hebrew}/u, 'Hebrew'],
  ['Thai', /\p{Script=Thai}/u, 'Thai'],
  ['Devanagari', /\p{Script=Devanagari}/u, 'Devanagari'],
];

const LATIN = ['Latin'];
/** The scripts each voice language reads (espeak-ng language codes, reduced by langOf). */
const LANGUAGE_SCRIPTS = {
  ko: ['Hangul', 'Han'],
  ja: ['Hiragana', 'Katakana', 'Han'],
  zh: ['Han'], cmn: ['Han'], yue: ['Han'],
  ru: ['Cyrillic'], uk: ['Cyrillic'], bg: ['Cyrillic'], sr: ['Cyrillic', 'Latin'], be: ['Cyrillic'], kk: ['Cyrillic'],
  el: ['Greek'], ar: ['Arabic'], fa: ['Arabic'], ur: ['Arabic'], he: ['Hebrew'], th: ['Thai'], hi: ['Devanagari'], ne: ['Devanagari'], mr: ['Devanagari'],
};
for (const l of ['en', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'sv', 'da', 'nb', 'no', 'fi', 'pl', 'cs', 'sk', 'sl', 'hr', 'hu', 'ro', 'tr', 'vi', 'id', 'ms',
  'ca', 'eu', 'gl', 'is', 'et', 'lv', 'lt', 'sw', 'cy', 'ga', 'sq', 'af', 'eo', 'la']) LANGUAGE_SCRIPTS[l] = LATIN;

function languageName(code) {
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(code) || code;
  } catch {
    return code;
  }
}

/**
 * languageMismatch says when most words of text are written in a script
 * the voice's language (voiceLang: "en-us", "ko") does not use: {voice
 * (its language's name), script (what those words are written in)}. Words
 * count, not letters (a Hangul syllable holds what takes three Latin
 * letters). null when the text fits, its foreign words hold fewer than two
 * letters, or the language is one this list does not know.
 */
export function languageMismatch(text, voiceLang) {
  const lang = langOf(voiceLang);
  const ours = LANGUAGE_SCRIPTS[lang];
  if (!ours) return null;
  let inside = 0;
  let outside = 0;
  let letters = 0;
  const scripts = new Map();
  for (const word of String(text).split(/[\s\p{P}\p{S}]+/u)) {
    const counts = new Map();
    for (const ch of word) {
      const hit = SCRIPTS.find(([, re]) => re.test(ch));
      if (hit) counts.set(hit, (counts.get(hit) || 0) + 1);
    }
    if (counts.size === 0) continue;
    const [[name, , label], n] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    if (ours.includes(name)) {
      inside++;
    } else {
      outside++;
      letters += n;
      scripts.set(label, (scripts.get(label) || 0) + 1);
    }
  }
  if (outside <= inside || letters < 2) return null;
  const script = [...scripts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  return { voice: languageName(lang), script };
}

/** languageWarning is the sentence a fan reads, or ''. */
export function languageWarning(text, voiceLang, memberName = '') {
  const m = languageMismatch(text, voiceLang);
  if (!m) return '';
  return `${memberName ? `${memberName}'s` : 'This'} voice speaks ${m.voice}, but this text is mostly ${m.script}: those parts may come out garbled or silent.`;
}
