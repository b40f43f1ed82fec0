// Words a fan understands for every API error code, and which form field
// an error belongs next to.

import { formatWait } from './allowance.js';

/**
 * friendlyMessage turns an error into a sentence for a fan. ctx may hold
 * maxTextChars, memberName, deadlineSeconds (the deployment's wait for a
 * clip) and blame (the batch that used the fan's allowance, from the
 * ledger) to make the sentence concrete.
 */
export function friendlyMessage(err, ctx = {}) {
  const code = err?.code ?? (err instanceof Error ? 'unknown' : String(err));
  const who = ctx.memberName || 'this member';
  switch (code) {
    case 'text_required':
      return `Type something for ${who} to say.`;
    case 'text_too_long':
      return ctx.maxTextChars
        ? `That's too long. Keep it to ${ctx.maxTextChars.toLocaleString('en')} characters or fewer.`
        : "That's too long. Try a shorter text.";
    case 'text_unspeakable':
      return `${ctx.memberName || 'This member'} can't say that: add some words or numbers. Emoji, punctuation and invisible characters alone can't be spoken.`;
    case 'invalid_utf8':
      return "Some characters couldn't be read. Try retyping or pasting the text again.";
    case 'speed_out_of_range':
      return 'Pick a speed between 0.5× and 2×.';
    case 'member_not_found':
      return "We couldn't find this member. Pick someone from the members list.";
    case 'member_inactive':
      return `${ctx.memberName || 'This member'} is taking a break right now. Pick another member.`;
    case 'body_too_large':
      return "That's too much to send at once. Make the text shorter or send fewer lines.";
    case 'unsupported_media_type':
    case 'invalid_json':
    case 'bad_request':
      return 'Your browser sent something Chorus could not read. Reload the page and try again.';
    case 'too_many_items':
      return ctx.maxItems
        ? `That is more than ${ctx.maxItems.toLocaleString('en')} lines. Split them into smaller batches.`
        : 'That is too many lines at once. Split them into smaller batches.';
    case 'no_items':
      return 'Add at least one line to say.';
    case 'rate_limited': {
      // The limit is per fan (per address), not Chorus being busy: say
      // what used the allowance when this browser knows (ctx.blame: the
      // batch it sent) and when the fan can go on.
      const s = err?.retryAfter;
      const when = s > 0 ? `in ${formatWait(s)}` : 'in a moment';
      if (ctx.blame?.size > 1) {
        return `Your batch of ${ctx.blame.size.toLocaleString('en')} clips used up your allowance for now. You can make your next clip ${when}.`;
      }
      return `You've made a lot of clips in a short time, so Chorus needs a short pause. You can make your next clip ${when}.`;
    }
    case 'job_timeout': {
      const limit = ctx.deadlineSeconds ? ` (over ${formatWait(ctx.deadlineSeconds)})` : '';
      return `This clip is taking much longer than usual${limit}: Chorus may be very busy or short of voices right now. It stays in Recent, where you can check on it again later.`;
    }
    case 'job_not_found':
      return 'This clip has expired and is no longer available. Make it again.';
    case 'audio_expired':
      return 'This clip is older than Chorus keeps recordings, so its audio was deleted. Make it again to hear it.';
    case 'unavailable':
      return 'Chorus is taking a short break. Please try again in a moment.';
    case 'network':
      return "We couldn't reach Chorus. Check your connection and try again.";
    case 'audio_unavailable':
      return "We couldn't load this clip. Please try again.";
    case 'bad_response':
    case 'internal':
      return 'Something went wrong on our side. Please try again.';
    default:
      // Job failures and codes this version does not know: the server's
      // message is written for people; fall back to a generic sentence.
      return typeof err?.message === 'string' && err.message && err.message !== code
        ? err.message
        : "We couldn't make this clip. Please try again.";
  }
}

/** Form fields errors can belong to. */
export const FIELDS = Object.freeze(['member_id', 'text', 'speed']);

/**
 * fieldOf says which form field an error belongs next to: the API's field
 * when it names one of ours (items[3].text → text, line 3), else a field
 * implied by the code, else "form" (shown by the submit button).
 */
export function fieldOf(err) {
  const raw = typeof err?.field === 'string' ? err.field : '';
  const m = /^items(?:\[(\d+)\]|\.(\d+))\.?(.*)$/.exec(raw);
  if (m) {
    const line = Number(m[1] ?? m[2]);
    const sub = m[3] || 'text';
    return { field: FIELDS.includes(sub) ? sub : 'text', line };
  }
  if (FIELDS.includes(raw)) return { field: raw, line: -1 };
  if (raw === 'items') return { field: 'text', line: -1 };
  switch (err?.code) {
    case 'text_required':
    case 'text_too_long':
    case 'text_unspeakable':
    case 'invalid_utf8':
    case 'body_too_large':
    case 'too_many_items':
    case 'no_items':
      return { field: 'text', line: -1 };
    case 'speed_out_of_range':
      return { field: 'speed', line: -1 };
    case 'member_not_found':
    case 'member_inactive':
      return { field: 'member_id', line: -1 };
    default:
      return { field: 'form', line: -1 };
  }
}

/** countChars counts Unicode code points, as the server does (Go runes). */
export function countChars(text) {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
