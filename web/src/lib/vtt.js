// Reading the WebVTT captions Chorus stores beside each clip (one cue per
// sentence, as the fan wrote it), to highlight the sentence being spoken.

const TIME = /^(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})$/;

function seconds(s) {
  const m = TIME.exec(s.trim());
  if (!m) return NaN;
  return Number(m[1] || 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
}

const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&nbsp;': '\u00a0' };

/** parseVTT returns the cues of a WebVTT text as [{start, end, text}] (seconds), or [] if it is not one. */
export function parseVTT(text) {
  const lines = String(text).replace(/^\ufeff/, '').split(/\r\n|\r|\n/);
  if (!lines[0]?.startsWith('WEBVTT')) return [];
  const cues = [];
  let i = 1;
  while (i < lines.length) {
    if (lines[i].trim() === '') {
      i++;
      continue;
    }
    // A block: NOTE/STYLE/REGION, or [identifier] timing text….
    if (/^(NOTE|STYLE|REGION)\b/.test(lines[i])) {
      while (i < lines.length && lines[i].trim() !== '') i++;
      continue;
    }
    if (!lines[i].includes('-->') && lines[i + 1]?.includes('-->')) i++;
    const [from, rest = ''] = lines[i].split('-->');
    const start = seconds(from);
    const end = seconds(rest.trim().split(/\s+/)[0] || '');
    i++;
    const body = [];
    while (i < lines.length && lines[i].trim() !== '') body.push(lines[i++]);
    if (Number.isFinite(start) && Number.isFinite(end)) {
      cues.push({ start, end, text: body.join('\n').replace(/&(amp|lt|gt|nbsp);/g, (e) => ENTITIES[e]) });
    }
  }
  return cues;
}

/** activeCue returns the index of the cue being heard at time t (seconds), or -1. */
export function activeCue(cues, t) {
  for (let i = 0; i < cues.length; i++) {
    if (t >= cues[i].start && t < cues[i].end) return i;
  }
  const last = cues.length - 1;
  return last >= 0 && t >= cues[last].end && t - cues[last].end < 0.05 ? last : -1;
}
