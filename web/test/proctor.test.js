// The proctor dashboard's live state and the evidence timeline's texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEvent, needsAttention } from '../src/pages/proctor/live.js';
import { describeEvent, describeEvidence } from '../src/pages/proctor/labels.js';

const live = { id: '7', status: 'IN_PROGRESS', focusLosses: 1, flagged: false, phoneState: 'CONNECTED', submitReason: null };

test('session events update the attempt they name', () => {
  assert.equal(applyEvent(live, { type: 'FOCUS_LOSS', count: 3 }).focusLosses, 3);
  // A late, older count does not lower the one shown.
  assert.equal(applyEvent({ ...live, focusLosses: 4 }, { type: 'FOCUS_LOSS', count: 3 }).focusLosses, 4);
  assert.equal(applyEvent(live, { type: 'PHONE_LOST' }).phoneState, 'LOST');
  assert.equal(applyEvent({ ...live, phoneState: 'LOST' }, { type: 'PHONE_BACK', at: 't' }).phoneState, 'CONNECTED');
  assert.equal(applyEvent(live, { type: 'PHONE_ENDED' }).phoneState, 'NONE');
  assert.equal(applyEvent(live, { type: 'FLAG', flagged: true }).flagged, true);
  const done = applyEvent(live, { type: 'AUTO_SUBMITTED', at: '2026-11-22T03:00:00Z', reason: 'FOCUS_LOSS_LIMIT' });
  assert.equal(done.status, 'SUBMITTED');
  assert.equal(done.submitReason, 'FOCUS_LOSS_LIMIT');
  // Events that change no field of the attempt.
  assert.equal(applyEvent(live, { type: 'SNAPSHOT', source: 'PC' }), null);
  assert.equal(applyEvent(live, { type: 'WARNING', text: 'x' }), null);
  assert.equal(applyEvent(live, { type: 'FLAG' }), null);
});

test('which attempts need the proctor\'s attention', () => {
  assert.equal(needsAttention({ ...live, focusLosses: 0 }), false);
  assert.equal(needsAttention(live), true);
  assert.equal(needsAttention({ ...live, focusLosses: 0, phoneState: 'LOST' }), true);
  assert.equal(needsAttention({ ...live, focusLosses: 0, status: 'SUBMITTED', phoneState: 'NONE' }), false);
  assert.equal(needsAttention({ ...live, status: 'SUBMITTED', flagged: true }), true);
});

test('event feed lines', () => {
  assert.equal(describeEvent({ type: 'FOCUS_LOSS', count: 2, reason: 'BLUR' }), '离开考试页面（第 2 次，窗口失去焦点）');
  assert.equal(describeEvent({ type: 'WARNING', text: '请勿交谈' }), '收到警告：请勿交谈');
  assert.equal(describeEvent({ type: 'SUBMITTED', reason: 'PROCTOR_ENDED' }), '已交卷（监考人员结束考试）');
  assert.equal(describeEvent({ type: 'SNAPSHOT', source: 'PHONE' }), '手机画面已更新');
  assert.equal(describeEvent({ type: 'SOMETHING_NEW' }), 'SOMETHING_NEW');
});

test('evidence records are summarised without keys or hashes', () => {
  assert.equal(describeEvidence('FOCUS_LOSS', '{"count":1,"kind":"HIDDEN"}'), '第 1 次；切换到其他页面');
  assert.equal(describeEvidence('FLAG', '{"flagged":true,"note":"疑似替考"}'), '标记；疑似替考');
  assert.equal(describeEvidence('REVIEW_DECISION', '{"decision":"FAIL","reason":"实操不合格"}'), '不合格；原因：实操不合格');
  assert.equal(describeEvidence('SNAPSHOT_PHONE', '{"key":"a/b.jpg","sha256":"ff","size":4096,"foreground":true}'), '4 KB；回到前台时拍摄');
  assert.equal(describeEvidence('PHONE_BACK', '{"event":"PAIRED"}'), '手机扫码配对');
  assert.equal(describeEvidence('PHONE_LOST', '{"lastSeenAt":"2026-11-22T02:00:05Z"}'), '最后在线 10:00:05');
  assert.match(describeEvidence('CONSENT', `{"kind":"FORMAL","textSha256":"${'a'.repeat(64)}"}`), /^同意摄像头采集（正式考试）；告知文本摘要 a{12}…$/);
  assert.equal(describeEvidence('OTHER', '{"blobKey":"x","note":"ok","n":3}'), 'note: ok；n: 3');
  assert.equal(describeEvidence('NOTE', 'not json'), 'not json');
});
