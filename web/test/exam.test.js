import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONSENT_TEXT, fmtClock, sessionWindow } from '../src/pages/exam/labels.js';

test('fmtClock shows minutes and seconds, hours when there are any', () => {
  assert.equal(fmtClock(0), '00:00');
  assert.equal(fmtClock(59.9), '00:59');
  assert.equal(fmtClock(5 * 60 + 9), '05:09');
  assert.equal(fmtClock(3600 + 5 * 60 + 9), '1:05:09');
  assert.equal(fmtClock(-3), '00:00');
});

test('sessionWindow follows the server: OPEN, or SCHEDULED inside its time', () => {
  const startsAt = '2026-05-15T01:00:00Z';
  const at = (iso) => new Date(iso).getTime();
  const s = { startsAt, durationMinutes: 90, status: 'SCHEDULED' };
  assert.equal(sessionWindow(null, at(startsAt)), 'none');
  assert.equal(sessionWindow(s, at('2026-05-15T00:59:59Z')), 'soon');
  assert.equal(sessionWindow(s, at(startsAt)), 'open');
  assert.equal(sessionWindow(s, at('2026-05-15T02:29:59Z')), 'open');
  assert.equal(sessionWindow(s, at('2026-05-15T02:30:00Z')), 'over');
  assert.equal(sessionWindow({ ...s, status: 'OPEN' }, at('2026-05-15T00:00:00Z')), 'open');
  assert.equal(sessionWindow({ ...s, status: 'OPEN' }, at('2026-05-15T02:30:00Z')), 'over');
  assert.equal(sessionWindow({ ...s, status: 'CLOSED' }, at(startsAt)), 'over');
});

test('the consent names the law, the purpose and the right to refuse', () => {
  assert.match(CONSENT_TEXT, /个人信息保护法》第二十九条/);
  assert.match(CONSENT_TEXT, /单独同意/);
  assert.match(CONSENT_TEXT, /可以不同意/);
  // The server keeps at most 4000 characters (exam.MaxConsentText).
  assert.ok([...CONSENT_TEXT].length <= 4000);
});
