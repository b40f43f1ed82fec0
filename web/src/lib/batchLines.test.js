import { describe, expect, it } from 'vitest';
import { ApiError } from './api.js';
import { lineProblems, listRows, parseLines, rangeOf, rejectionFor, rowCount, withoutRows } from './batchLines.js';

const opts = { maxTextChars: 10, lang: 'en', memberName: 'Joon' };

describe('batch lines', () => {
  it('numbers lines as the box shows them, blank ones included', () => {
    expect(parseLines('one\n\n  two  \r\nthree 🎤\n')).toEqual([{ row: 1, text: 'one' }, { row: 3, text: 'two' }, { row: 4, text: 'three 🎤' }]);
    expect(rowCount('a\n\nb\n')).toBe(4);
  });

  it('finds each bad line, and keeps what the API refused on its line until it is edited', () => {
    const lines = parseLines('fine\n🎉🎉\n' + 'x'.repeat(11) + '\nrefused\n&');
    const p = lineProblems(lines, opts, [{ row: 4, text: 'refused', code: 'member_inactive', message: 'no' }, { row: 1, text: 'other', message: 'stale' }]);
    expect([...p.keys()]).toEqual([2, 3, 4]);
    expect(p.get(2).message).toMatch(/^nothing Joon can say/);
    expect(p.get(3).message).toBe('too long: 11 characters, the most is 10');
    expect(p.get(4)).toEqual({ code: 'member_inactive', message: 'no' });
    expect(lineProblems(parseLines('fine\n🎉🎉\n' + 'x'.repeat(11) + '\nrefused!'), opts, [{ row: 4, text: 'refused', message: 'no' }]).has(4)).toBe(false);
  });

  it('maps the API\'s item to the line it came from', () => {
    const sent = [{ row: 1, text: 'a' }, { row: 5, text: 'b' }];
    const r = rejectionFor(new ApiError({ status: 400, code: 'text_too_long', field: 'items[1].text' }), sent, { maxTextChars: 10 });
    expect(r).toMatchObject({ row: 5, text: 'b', code: 'text_too_long' });
    expect(r.message).toMatch(/^that's too long/);
    expect(rejectionFor(new ApiError({ status: 429, code: 'rate_limited' }), sent, {})).toBeNull();
  });

  it('says line numbers as words', () => {
    expect([[7], [2, 5], [2, 5, 7], [1, 2, 3, 4, 5, 6]].map((r) => listRows(r))).toEqual(['line 7', 'lines 2 and 5', 'lines 2, 5 and 7', 'lines 1, 2, 3 and 3 more']);
  });

  it('selects a line and removes sent lines', () => {
    const t = 'ab\n\ncde\r\nf';
    expect(rangeOf(t, 3)).toEqual([4, 7]);
    expect(t.slice(...rangeOf(t, 4))).toBe('f');
    expect(withoutRows('a\nb\n\nc', [1, 2])).toBe('c');
    expect(withoutRows('a\nb\nc', [2])).toBe('a\nc');
  });
});
