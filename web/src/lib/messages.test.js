import { describe, expect, it } from 'vitest';
import { ApiError } from './api.js';
import { countChars, fieldOf, friendlyMessage } from './messages.js';

const CODES = ['text_required', 'text_too_long', 'invalid_utf8', 'speed_out_of_range', 'member_not_found', 'member_inactive',
  'body_too_large', 'unsupported_media_type', 'invalid_json', 'too_many_items', 'no_items', 'rate_limited', 'job_not_found',
  'unavailable', 'internal', 'network', 'text_unspeakable', 'audio_expired'];

describe('friendly messages', () => {
  it('has plain words for every API code, never the code itself', () => {
    for (const code of CODES) {
      const m = friendlyMessage(new ApiError({ code, message: 'server words' }), { maxTextChars: 1000, memberName: 'Mina' });
      expect(m, code).not.toContain(code);
      expect(m, code).not.toBe('server words');
      expect(m.length, code).toBeGreaterThan(10);
    }
  });

  it('makes messages concrete', () => {
    expect(friendlyMessage({ code: 'text_too_long' }, { maxTextChars: 1000 })).toMatch(/1,000 characters/);
    expect(friendlyMessage({ code: 'text_required' }, { memberName: 'Mina' })).toMatch(/Mina/);
    expect(friendlyMessage(new ApiError({ code: 'rate_limited', retryAfter: 5 }))).toMatch(/5 seconds/);
    expect(friendlyMessage(new ApiError({ code: 'rate_limited', retryAfter: 1 }))).toMatch(/1 second\./);
    expect(friendlyMessage(new ApiError({ code: 'rate_limited', retryAfter: 118 }), { blame: { size: 100 } }))
      .toBe('Your batch of 100 clips used up your allowance for now. You can make your next clip in 1 min 58 s.');
    expect(friendlyMessage(new ApiError({ code: 'rate_limited' }))).toMatch(/next clip in a moment\.$/);
    expect(friendlyMessage({ code: 'job_timeout' }, { deadlineSeconds: 180 })).toMatch(/much longer than usual \(over 3 minutes\)/);
    expect(friendlyMessage({ code: 'text_unspeakable' }, { memberName: 'Mina' })).toMatch(/^Mina can't say that: add some words or numbers/);
    expect(friendlyMessage(new ApiError({ status: 410, code: 'audio_expired', message: 'x' }))).toMatch(/audio was deleted.*Make it again/);
  });

  it("uses the server's words for codes it does not know, else a generic sentence", () => {
    expect(friendlyMessage({ code: 'voice_unavailable', message: 'This voice is being updated.' })).toBe('This voice is being updated.');
    expect(friendlyMessage(new ApiError({ code: 'weird' }))).toMatch(/couldn't make this clip/);
  });
});

describe('fieldOf', () => {
  it('uses the API field when it is one of ours', () => {
    expect(fieldOf({ code: 'x', field: 'speed' })).toEqual({ field: 'speed', line: -1 });
    expect(fieldOf({ code: 'text_too_long', field: 'items[3].text' })).toEqual({ field: 'text', line: 3 });
    expect(fieldOf({ code: 'member_inactive', field: 'items.0.member_id' })).toEqual({ field: 'member_id', line: 0 });
  });

  it('falls back to the field implied by the code, then to the form', () => {
    expect(fieldOf({ code: 'text_too_long' }).field).toBe('text');
    expect(fieldOf({ code: 'text_unspeakable' }).field).toBe('text');
    expect(fieldOf({ code: 'member_inactive' }).field).toBe('member_id');
    expect(fieldOf({ code: 'rate_limited' }).field).toBe('form');
    expect(fieldOf({ code: 'internal', field: 'something_else' }).field).toBe('form');
  });
});

describe('countChars', () => {
  it('counts code points like the server (Go runes)', () => {
    expect(countChars('안녕하세요')).toBe(5);
    expect(countChars('🎤')).toBe(1);
    expect(countChars('👩‍👩‍👧')).toBe(5); // three people joined by two zero-width joiners
    expect(countChars('')).toBe(0);
  });
});
