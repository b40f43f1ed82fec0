// The lines of a batch: one clip per non-blank line, numbered as the fan
// sees them in the box (blank lines count), each checked as the API would
// check it, so a bad line is pointed at in place and the others can go.

import { countChars, friendlyMessage } from './messages.js';
import { speakable } from './speakable.js';

/** parseLines returns the non-blank lines, trimmed, with their line number in the box (from 1). */
export function parseLines(text) {
  return String(text).split(/\r?\n/).map((l, i) => ({ row: i + 1, text: l.trim() })).filter((l) => l.text !== '');
}

/** rowCount is how many lines the box shows. */
export function rowCount(text) {
  return String(text).split(/\r?\n/).length;
}

/** problemOf says what the API would refuse in one line ({code, message}), or null. */
export function problemOf(text, { maxTextChars, lang = '', memberName = '' }) {
  const n = countChars(text);
  if (n > maxTextChars) {
    return { code: 'text_too_long', message: `too long: ${n.toLocaleString('en')} characters, the most is ${maxTextChars.toLocaleString('en')}` };
  }
  if (!speakable(text, lang)) {
    return { code: 'text_unspeakable', message: `nothing ${memberName || 'the member'} can say: add some words or numbers (emoji, punctuation and invisible characters alone can't be spoken)` };
  }
  return null;
}

/**
 * lineProblems checks every line: a Map from line number to {code,
 * message}. rejected holds what the API refused earlier ({row, text,
 * message}): it stays attached to its line until the line is edited.
 */
export function lineProblems(lines, opts, rejected = []) {
  const out = new Map();
  for (const l of lines) {
    const p = problemOf(l.text, opts);
    if (p) {
      out.set(l.row, p);
      continue;
    }
    const r = rejected.find((x) => x.row === l.row && x.text === l.text);
    if (r) out.set(l.row, { code: r.code || 'rejected', message: r.message });
  }
  return out;
}

/** listRows says line numbers as words: "line 7", "lines 2 and 5", "lines 2, 5, 7 and 3 more". */
export function listRows(rows, shown = 3) {
  if (rows.length === 0) return '';
  if (rows.length === 1) return `line ${rows[0]}`;
  if (rows.length <= shown) return `lines ${rows.slice(0, -1).join(', ')} and ${rows[rows.length - 1]}`;
  return `lines ${rows.slice(0, shown).join(', ')} and ${rows.length - shown} more`;
}

/** rejectionFor turns the API's refusal of item i of a sent list into the problem of its line. */
export function rejectionFor(err, sent, ctx) {
  const m = /^items(?:\[(\d+)\]|\.(\d+))/.exec(typeof err?.field === 'string' ? err.field : '');
  if (!m) return null;
  const item = sent[Number(m[1] ?? m[2])];
  if (!item) return null;
  const why = friendlyMessage(err, ctx);
  return { row: item.row, text: item.text, code: err.code, message: why.charAt(0).toLowerCase() + why.slice(1).replace(/\.$/, '') };
}

/** rangeOf finds the characters of line row (from 1) in text, for selecting it. */
export function rangeOf(text, row) {
  const rows = String(text).split('\n');
  let start = 0;
  for (let i = 0; i < row - 1 && i < rows.length; i++) start += rows[i].length + 1;
  const line = rows[row - 1] ?? '';
  return [start, start + line.replace(/\r$/, '').length];
}

/** withoutRows removes the given line numbers from text (lines sent; the others stay for later). */
export function withoutRows(text, rows) {
  const drop = new Set(rows);
  return String(text).split(/\r?\n/).filter((_, i) => !drop.has(i + 1)).join('\n').replace(/^\n+/, '');
}
