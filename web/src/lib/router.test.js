import { describe, expect, it } from 'vitest';
import { href, parseRoute } from './router.js';

describe('routes', () => {
  it('parses every page', () => {
    expect(parseRoute('')).toEqual({ name: 'members' });
    expect(parseRoute('#/')).toEqual({ name: 'members' });
    expect(parseRoute('#/members/%EC%84%9C%EC%97%B0')).toEqual({ name: 'member', id: '서연' });
    expect(parseRoute('#/compose?member=mina')).toEqual({ name: 'compose', memberId: 'mina' });
    expect(parseRoute('#/batch')).toEqual({ name: 'batch', memberId: '' });
    expect(parseRoute('#/recent')).toEqual({ name: 'recent' });
    expect(parseRoute('#/nope/x/y')).toEqual({ name: 'notfound' });
  });

  it('builds links that parse back', () => {
    expect(parseRoute(href.member('a/b c'))).toEqual({ name: 'member', id: 'a/b c' });
    expect(parseRoute(href.compose('mina'))).toEqual({ name: 'compose', memberId: 'mina' });
  });
});
