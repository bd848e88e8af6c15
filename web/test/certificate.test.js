import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastValidDay, monthDay, validity } from '../src/pages/certificate/labels.js';

test('the last valid day is the day before the exclusive end, China time', () => {
  // valid_until 2029-03-01 00:00 +08:00 is 2029-02-28 16:00 UTC.
  assert.equal(lastValidDay('2029-02-28T16:00:00Z'), '2029-02-28');
  assert.equal(validity('2026-02-28T16:00:00Z', '2029-02-28T16:00:00Z'), '2026-03-01 至 2029-02-28');
  assert.equal(lastValidDay(null), '');
});

test('monthDay names the China-time day, with the year only when it is not this one', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  // 2026-11-30 20:00 UTC is already 1 December in China.
  assert.equal(monthDay('2026-11-30T20:00:00Z', now), '12月1日');
  assert.equal(monthDay('2029-08-21T16:00:00Z', now), '2029年8月22日');
  assert.equal(monthDay('', now), '');
});
