import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { DRAFT_KEY, loadDraft, saveDraft, useDraft } from './draft.js';

describe('drafts', () => {
  it('keep the fields of a form under its name, across remounts (a reload)', () => {
    const first = renderHook(() => useDraft('compose', { text: '', speed: 1 }));
    expect(first.result.current[0]).toEqual({ text: '', speed: 1 });
    act(() => first.result.current[1]({ text: '안녕' }));
    act(() => first.result.current[1]((d) => ({ speed: d.speed + 0.5 })));
    first.unmount();
    const second = renderHook(() => useDraft('compose', { text: '', speed: 1 }));
    expect(second.result.current[0]).toEqual({ text: '안녕', speed: 1.5 });
    const other = renderHook(() => useDraft('member:mina', { text: '', speed: 1 }));
    expect(other.result.current[0]).toEqual({ text: '', speed: 1 });
  });

  it('ignore fields of the wrong type and unreadable storage', () => {
    sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ compose: { text: 5, speed: 2, extra: 'x' } }));
    const { result } = renderHook(() => useDraft('compose', { text: '', speed: 1 }));
    expect(result.current[0]).toEqual({ text: '', speed: 2 });
    sessionStorage.setItem(DRAFT_KEY, '{broken');
    expect(loadDraft('compose')).toEqual({});
    saveDraft('compose', { text: 'a' });
    expect(loadDraft('compose')).toEqual({ text: 'a' });
    saveDraft('compose', {});
    expect(JSON.parse(sessionStorage.getItem(DRAFT_KEY))).toEqual({});
  });
});
