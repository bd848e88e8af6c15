// Labels for attempts, live session events and evidence records, shared by
// the proctor dashboard, the score review and the practical-score pages.

export const ATTEMPT_KIND = {
  MOCK: { label: '模拟考试', kind: 'muted' },
  FORMAL: { label: '正式考试', kind: 'default' },
};

export const ATTEMPT_STATUS = {
  IN_PROGRESS: { label: '考试中', kind: 'success' },
  SUBMITTED: { label: '已交卷', kind: 'muted' },
};

export const ATTEMPT_RESULT = {
  PENDING_REVIEW: { label: '待审核', kind: 'warning' },
  PASS: { label: '合格', kind: 'success' },
  FAIL: { label: '不合格', kind: 'danger' },
};

export const PHONE_STATE = {
  NONE: { label: '手机未连接', kind: 'muted' },
  CONNECTED: { label: '手机在线', kind: 'success' },
  LOST: { label: '手机失联', kind: 'danger' },
};

export const SUBMIT_REASON = {
  CANDIDATE: '考生交卷',
  TIME_UP: '时间到自动交卷',
  FOCUS_LOSS_LIMIT: '离开考试页面次数达到上限',
  PROCTOR_ENDED: '监考人员结束考试',
};

export const FOCUS_KIND = {
  BLUR: '窗口失去焦点',
  HIDDEN: '切换到其他页面',
  VISIBILITY: '切换到其他页面',
  FULLSCREEN_EXIT: '退出全屏',
};

/** The one-line text of a sessionEvents event (without the candidate's name). */
export function describeEvent(e) {
  switch (e.type) {
    case 'ATTEMPT_STARTED':
      return '开始答题';
    case 'FOCUS_LOSS':
      return `离开考试页面（第 ${e.count ?? '?'} 次${e.reason ? `，${FOCUS_KIND[e.reason] || e.reason}` : ''}）`;
    case 'SNAPSHOT':
      return e.source === 'PHONE' ? '手机画面已更新' : '电脑画面已更新';
    case 'PHONE_CONNECTED':
      return '手机已连接';
    case 'PHONE_LOST':
      return '手机失去联系';
    case 'PHONE_BACK':
      return '手机恢复连接';
    case 'PHONE_ENDED':
      return '手机端已退出';
    case 'WARNING':
      return `收到警告：${e.text || ''}`;
    case 'NOTE':
      return `监考备注：${e.text || ''}`;
    case 'FLAG':
      return e.flagged ? `被标记为可疑${e.text ? `：${e.text}` : ''}` : `取消可疑标记${e.text ? `：${e.text}` : ''}`;
    case 'SUBMITTED':
    case 'AUTO_SUBMITTED':
      return `已交卷（${SUBMIT_REASON[e.reason] || e.reason || '交卷'}）`;
    case 'CHECKED_IN':
      return '已签到';
    default:
      return e.type;
  }
}

/** Events worth drawing the proctor's eye to. */
export function eventLevel(type) {
  switch (type) {
    case 'FOCUS_LOSS':
    case 'PHONE_LOST':
    case 'PHONE_ENDED':
    case 'WARNING':
    case 'FLAG':
      return 'warn';
    case 'SNAPSHOT':
      return 'quiet';
    default:
      return 'info';
  }
}

export const EVIDENCE_KIND = {
  CONSENT: '摄像头使用同意',
  SNAPSHOT_PC: '电脑摄像头抓拍',
  SNAPSHOT_PHONE: '手机摄像头抓拍',
  FOCUS_LOSS: '离开考试页面',
  PHONE_LOST: '手机失联',
  PHONE_BACK: '手机恢复连接',
  PHONE_ENDED: '手机端退出',
  WARNING: '监考警告',
  FLAG: '可疑标记',
  NOTE: '监考备注',
  END: '监考结束考试',
  SUBMIT: '交卷',
  PRACTICAL_SCORE: '录入实操成绩',
  REVIEW_DECISION: '成绩审核',
};

export const BREAK_REASON = {
  GAP: '记录缺失（序号不连续）',
  SEQ_ORDER: '序号顺序错误',
  HASH_MISMATCH: '记录内容被改动（哈希不符）',
  PREV_MISMATCH: '与上一条记录的链接不符',
  PAYLOAD_NOT_CANONICAL: '记录格式不规范',
};

/** "HH:MM:SS", China time. */
function chinaClockSec(t) {
  const d = new Date(new Date(t).getTime() + 8 * 3600 * 1000);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString().slice(11, 19);
}

/** A short summary of an evidence record's JSON data, for the timeline. */
export function describeEvidence(kind, raw) {
  let d = {};
  try {
    d = raw ? JSON.parse(raw) : {};
  } catch {
    return raw || '';
  }
  if (!d || typeof d !== 'object') return String(d);
  const parts = [];
  switch (kind) {
    case 'FOCUS_LOSS':
      if (d.count != null) parts.push(`第 ${d.count} 次`);
      if (d.kind) parts.push(FOCUS_KIND[d.kind] || d.kind);
      break;
    case 'WARNING':
    case 'NOTE':
      if (d.text) parts.push(d.text);
      break;
    case 'FLAG':
      parts.push(d.flagged ? '标记' : '取消标记');
      if (d.note) parts.push(d.note);
      break;
    case 'END':
      if (d.reason) parts.push(`原因：${d.reason}`);
      break;
    case 'SUBMIT':
      if (d.reason) parts.push(SUBMIT_REASON[d.reason] || d.reason);
      if (d.score != null) parts.push(`得分 ${d.score}`);
      break;
    case 'PRACTICAL_SCORE':
      if (d.practicalScore != null) parts.push(`${d.practicalScore} 分`);
      break;
    case 'REVIEW_DECISION':
      if (d.decision) parts.push(ATTEMPT_RESULT[d.decision]?.label || d.decision);
      if (d.reason) parts.push(`原因：${d.reason}`);
      break;
    case 'SNAPSHOT_PC':
    case 'SNAPSHOT_PHONE':
      if (d.size) parts.push(`${Math.max(1, Math.round(d.size / 1024))} KB`);
      if (d.foreground) parts.push('回到前台时拍摄');
      break;
    case 'CONSENT':
      parts.push(`同意摄像头采集（${d.kind === 'MOCK' ? '模拟考试' : '正式考试'}）`);
      if (d.textSha256) parts.push(`告知文本摘要 ${String(d.textSha256).slice(0, 12)}…`);
      break;
    case 'PHONE_BACK':
      parts.push(d.event === 'PAIRED' ? '手机扫码配对' : '手机恢复连接');
      break;
    case 'PHONE_LOST':
      if (d.lastSeenAt) parts.push(`最后在线 ${chinaClockSec(d.lastSeenAt)}`);
      break;
    default: {
      // Unknown kinds: show their plain fields, not keys or hashes.
      for (const [k, v] of Object.entries(d)) {
        if (v == null || typeof v === 'object' || /key|hash|sha/i.test(k)) continue;
        const text = String(v);
        parts.push(`${k}: ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`);
      }
    }
  }
  return parts.join('；');
}
