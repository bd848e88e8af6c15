// Candidate-facing labels and texts of the online exam pages.

export const PAPER_KIND = { MOCK: '测试试卷', FORMAL: '正式试卷' };

// Candidates see the same result labels as the staff pages.
export { ATTEMPT_RESULT as RESULT } from '../proctor/labels.js';

export const SUBMIT_REASON = {
  CANDIDATE: '本人交卷',
  TIME_UP: '考试时间到，系统自动交卷',
  FOCUS_LOSS_LIMIT: '离开考试页面达到 5 次，系统自动交卷',
  PROCTOR_ENDED: '监考人员结束了本场考试',
};

export const PHONE_STATE = {
  NONE: { label: '手机未连接', kind: 'muted' },
  CONNECTED: { label: '手机已连接', kind: 'success' },
  LOST: { label: '手机连接中断', kind: 'danger' },
};

export const QUESTION_TYPE = { SINGLE: '单选题', MULTIPLE: '多选题', TRUE_FALSE: '判断题' };

/** The focus loss that ends the attempt (exam.FocusLossLimit on the server). */
export const FOCUS_LOSS_LIMIT = 5;

/**
 * The separate consent to image collection (PIPL art. 29: face images are
 * sensitive personal information). Sent verbatim with startAttempt and kept
 * with the attempt.
 */
export const CONSENT_TEXT = [
  '摄像头图像采集告知及单独同意书',
  '为保证考试公平，在线考试（含测试试卷和正式试卷）期间，系统将通过您电脑的摄像头，以及您扫码连接的手机摄像头，按随机间隔抓拍您本人及考试环境的图像，并记录离开考试页面等作答行为。',
  '人脸图像属于敏感个人信息。依据《中华人民共和国个人信息保护法》第二十九条，处理敏感个人信息应当取得您的单独同意。上述图像和记录仅用于本次考试的身份核验、监考及成绩审核，由考试主管部门按考试档案管理规定保存，不用于其他目的，不向无关第三方提供。',
  '您可以不同意，但将无法参加在线考试，可联系考点咨询其他考试安排。',
].join('\n');

/** "1:05:09" or "05:09" from seconds. */
export function fmtClock(total) {
  const s = Math.max(0, Math.floor(total));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/**
 * Whether a session can be started now (server time ms): 'open', 'soon',
 * 'over', or 'none' without a session. Mirrors the server's rule: OPEN, or
 * SCHEDULED within starts_at .. starts_at + duration.
 */
export function sessionWindow(s, now) {
  if (!s) return 'none';
  const start = new Date(s.startsAt).getTime();
  const end = start + s.durationMinutes * 60000;
  if (s.status === 'CANCELLED' || s.status === 'CLOSED' || now >= end) return 'over';
  if (s.status === 'OPEN' || now >= start) return 'open';
  return 'soon';
}
