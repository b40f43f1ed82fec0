// Drafts: what a fan has typed (and the clip they are waiting for) survives
// moving between pages and reloading the tab. They live in sessionStorage:
// per tab, gone when the tab closes, never sent anywhere.

import { useCallback, useEffect, useRef, useState } from 'react';

export const DRAFT_KEY = 'chorus.drafts.v1';

function readAll(storage) {
  try {
    const v = JSON.parse(storage?.getItem(DRAFT_KEY) || '{}');
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

/** loadDraft returns the draft saved under name (an object), or {}. */
export function loadDraft(name, storage = globalThis.sessionStorage) {
  const d = readAll(storage)[name];
  return d && typeof d === 'object' && !Array.isArray(d) ? d : {};
}

/** saveDraft saves (or, for an empty object, forgets) the draft under name. */
export function saveDraft(name, draft, storage = globalThis.sessionStorage) {
  try {
    const all = readAll(storage);
    if (Object.keys(draft).length === 0) delete all[name];
    else all[name] = draft;
    storage?.setItem(DRAFT_KEY, JSON.stringify(all));
  } catch {
    // a full or blocked storage only loses the draft
  }
}

/**
 * useDraft is useState for a form's fields, saved under name as they
 * change: initial gives the fields and their defaults; a saved draft of
 * the same name fills them in (fields of the wrong type are ignored).
 */
export function useDraft(name, initial, storage = globalThis.sessionStorage) {
  const [state, setState] = useState(() => {
    const saved = loadDraft(name, storage);
    const out = { ...initial };
    for (const k of Object.keys(initial)) {
      if (k in saved && typeof saved[k] === typeof initial[k]) out[k] = saved[k];
    }
    return out;
  });
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    saveDraft(name, state, storage);
  }, [name, state, storage]);
  const set = useCallback((patch) => setState((s) => ({ ...s, ...(typeof patch === 'function' ? patch(s) : patch) })), []);
  return [state, set];
}
