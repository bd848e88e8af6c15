// Dates and times are shown in China time whatever the browser's zone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDays, chinaDay, chinaDayEnd, chinaTime, fmtDate, fmtSpan, fmtTime } from '../src/format.js';

test('fmtTime and fmtDate read instants in China time', () => {
  assert.equal(fmtTime('2026-12-06T01:00:00Z'), '2026-12-06 09:00');
  assert.equal(fmtTime('2026-12-06T09:00:00+08:00'), '2026-12-06 09:00');
  assert.equal(fmtDate('2026-11-30T16:00:00Z'), '2026-12-01');
  assert.equal(fmtTime(''), '');
  assert.equal(fmtTime('not a time'), 'not a time');
});

test('fmtSpan gives the end time of a session', () => {
  assert.equal(fmtSpan('2026-12-06T09:00:00+08:00', 90), '2026-12-06 09:00–10:30');
  assert.equal(fmtSpan('2026-12-06T23:30:00+08:00', 60), '2026-12-06 23:30–00:30');
});

test('China calendar days and their bounds', () => {
  assert.equal(chinaDay('2026-11-30T16:30:00Z'), '2026-12-01');
  assert.equal(chinaDay('2026-11-30T15:59:00Z'), '2026-11-30');
  assert.equal(chinaTime('2026-12-01'), '2026-12-01T00:00:00+08:00');
  assert.equal(chinaTime('2026-12-01', '09:30'), '2026-12-01T09:30:00+08:00');
  assert.equal(chinaDayEnd('2026-12-01'), '2026-12-01T23:59:59+08:00');
  assert.equal(addDays('2026-12-30', 3), '2027-01-02');
  assert.equal(addDays('2026-03-01', -1), '2026-02-28');
});
