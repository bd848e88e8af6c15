// Display helpers.

export const ROLE_LABELS = {
  CANDIDATE: '考生',
  COMPANY: '单位',
  TRAINING_ORG: '培训机构',
  EXAM_SITE: '考点',
  REVIEWER: '管理部门',
  PROCTOR: '监考',
  ADMIN: '省总站管理员',
};

export const ORG_KIND_LABELS = {
  COMPANY: '单位',
  EXAM_SITE: '考点',
  TRAINING_ORG: '培训机构',
  DEPARTMENT: '管理部门',
};

export const ORG_STATUS_LABELS = { PENDING: '待审核', APPROVED: '已通过', REJECTED: '已驳回' };

export const ACCOUNT_STATUS_LABELS = {
  ACTIVE: '正常',
  PENDING: '待审核',
  REJECTED: '已驳回',
  DISABLED: '已停用',
};

export const SUBJECT_CATEGORIES = [
  { value: 'A', label: 'A类 · 企业主要负责人' },
  { value: 'B', label: 'B类 · 项目负责人' },
  { value: 'C1', label: 'C1类 · 机械类专职安全员' },
  { value: 'C2', label: 'C2类 · 土建类专职安全员' },
  { value: 'OTHER', label: '其他' },
];

export function categoryLabel(v) {
  return SUBJECT_CATEGORIES.find((c) => c.value === v)?.label || v || '';
}

const pad = (n) => String(n).padStart(2, '0');

/** "2026-03-01 09:05" in the browser's time zone. */
export function fmtTime(t) {
  if (!t) return '';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "刚刚", "5分钟前", ... falling back to the date. */
export function fmtAgo(t) {
  if (!t) return '';
  const diff = (Date.now() - new Date(t).getTime()) / 1000;
  if (diff < 60) return '刚刚';
  if (diff < 3600) return `${Math.floor(diff / 60)}分钟前`;
  if (diff < 86400) return `${Math.floor(diff / 3600)}小时前`;
  if (diff < 7 * 86400) return `${Math.floor(diff / 86400)}天前`;
  return fmtTime(t);
}

/** 12345 fen -> "123.45". */
export function fmtYuan(cents) {
  if (cents == null) return '';
  const neg = cents < 0;
  const c = Math.abs(cents);
  return `${neg ? '-' : ''}${Math.floor(c / 100)}.${pad(c % 100)}`;
}

/** "123.4" yuan -> 12340 fen, or null when not a valid amount. */
export function parseYuan(s) {
  const t = String(s ?? '').trim();
  if (!/^\d+(\.\d{1,2})?$/.test(t)) return null;
  const [yuan, frac = ''] = t.split('.');
  return Number(yuan) * 100 + Number((frac + '00').slice(0, 2));
}

/** A short "浏览器 · 系统" summary of a user agent string. */
export function describeUA(ua) {
  if (!ua) return '未知设备';
  let browser = '浏览器';
  if (/Edg\//.test(ua)) browser = 'Edge';
  else if (/OPR\//.test(ua)) browser = 'Opera';
  else if (/MicroMessenger/i.test(ua)) browser = '微信';
  else if (/HeadlessChrome/.test(ua)) browser = 'Chrome (无界面)';
  else if (/Chrome\//.test(ua)) browser = 'Chrome';
  else if (/Firefox\//.test(ua)) browser = 'Firefox';
  else if (/Safari\//.test(ua)) browser = 'Safari';
  let os = '';
  if (/Windows/.test(ua)) os = 'Windows';
  else if (/Android/.test(ua)) os = 'Android';
  else if (/iPhone|iPad/.test(ua)) os = 'iOS';
  else if (/Mac OS X/.test(ua)) os = 'macOS';
  else if (/Linux/.test(ua)) os = 'Linux';
  return os ? `${browser} · ${os}` : browser;
}
