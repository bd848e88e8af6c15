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

/**
 * The wall clock in China (UTC+8, no daylight saving) of an instant, as a
 * Date whose UTC fields read that clock. Exams, windows and deadlines are
 * China time whatever the browser's zone.
 */
function chinaClockDate(t) {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return null;
  return new Date(d.getTime() + 8 * 3600 * 1000);
}

/** "2026-03-01 09:05", China time. */
export function fmtTime(t) {
  if (!t) return '';
  const d = chinaClockDate(t);
  if (!d) return String(t);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
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

// ------------------------------------------------------------ stage 2–11 labels

export const EXAM_CATEGORIES = [
  { value: 'A', label: 'A类 · 企业主要负责人' },
  { value: 'B', label: 'B类 · 项目负责人' },
  { value: 'C1', label: 'C1类 · 机械类专职安全员' },
  { value: 'C2', label: 'C2类 · 土建类专职安全员' },
];

export const CANDIDATE_TYPE_LABELS = { SOCIAL: '社会化考生', NON_SOCIAL: '非社会化考生' };

export const SEX_LABELS = { MALE: '男', FEMALE: '女' };

export const EDUCATION_LABELS = {
  JUNIOR_HIGH: '初中',
  SENIOR_HIGH: '高中',
  SECONDARY_VOCATIONAL: '中专 / 中技',
  JUNIOR_COLLEGE: '大专',
  BACHELOR: '本科',
  MASTER: '硕士研究生',
  DOCTOR: '博士研究生',
};

export const ID_TYPE_LABELS = {
  RESIDENT_ID: '居民身份证',
  PASSPORT: '护照',
  HK_MACAO_PERMIT: '港澳居民来往内地通行证',
  TAIWAN_PERMIT: '台湾居民来往大陆通行证',
  FOREIGN_PERMANENT_RESIDENT: '外国人永久居留身份证',
};

export const ATTACHMENT_KIND_LABELS = {
  ID_PHOTO: '证件照',
  ID_CARD_FRONT: '身份证人像面',
  ID_CARD_BACK: '身份证国徽面',
  EDUCATION_CERT: '学历证书',
  COMMITMENT_LETTER: '单位承诺书（须加盖公章）',
  STUDY_PROOF: '学习证明（须加盖培训机构公章）',
  PAYMENT_PROOF: '缴费凭证',
  CHECKIN_READER_PHOTO: '证件读卡照片',
  CHECKIN_LIVE_PHOTO: '现场照片',
  OTHER: '其他材料',
};

export const ATTACHMENT_KIND_HINTS = {
  ID_PHOTO: '近期免冠正面照，白色或浅色背景，须为图片',
  ID_CARD_FRONT: '证件人像信息面，四角完整、字迹清晰',
  ID_CARD_BACK: '证件国徽面（签发机关、有效期限）',
  EDUCATION_CERT: '最高学历毕业证书',
  COMMITMENT_LETTER: '所在单位出具并加盖公章的承诺书',
  STUDY_PROOF: '社会化考生须上传培训机构盖章的学习证明',
  OTHER: '其他需要补充说明的材料',
};

export const ENROLLMENT_STATUS = {
  PENDING_REVIEW: { label: '待审核', kind: 'warning' },
  APPROVED: { label: '审核通过', kind: 'success' },
  REJECTED: { label: '已驳回', kind: 'danger' },
  CANCELLED: { label: '已撤销', kind: 'muted' },
};

export const PAYMENT_STATUS = {
  UNPAID: { label: '未缴费', kind: 'default' },
  PENDING: { label: '缴费确认中', kind: 'warning' },
  PAID: { label: '已缴费', kind: 'success' },
};

export const PAYMENT_STATE = {
  CREATED: { label: '待支付', kind: 'warning' },
  PENDING_CONFIRMATION: { label: '待确认', kind: 'warning' },
  PAID: { label: '已支付', kind: 'success' },
  REJECTED: { label: '已驳回', kind: 'danger' },
  FAILED: { label: '支付失败', kind: 'danger' },
  CANCELLED: { label: '已取消', kind: 'muted' },
};

export const PAYMENT_METHOD_LABELS = { ONLINE: '在线支付', BANK_TRANSFER: '银行转账', ONSITE: '现场缴费' };

export const ENROLLMENT_SOURCE_LABELS = { SELF: '个人报名', COMPANY: '单位报名', PLAN: '培训机构安排' };

export const SESSION_STATUS = {
  SCHEDULED: { label: '未开始', kind: 'default' },
  OPEN: { label: '进行中', kind: 'success' },
  CLOSED: { label: '已结束', kind: 'muted' },
  CANCELLED: { label: '已取消', kind: 'danger' },
};

export const PLAN_STATUS = {
  DRAFT: { label: '未提交', kind: 'warning' },
  SUBMITTED: { label: '已提交', kind: 'success' },
};

export const REVIEW_STATUS = {
  PENDING: { label: '待审核', kind: 'warning' },
  APPROVED: { label: '已通过', kind: 'success' },
  REJECTED: { label: '已驳回', kind: 'danger' },
};

export const TRAINING_RESULT_LABELS = { PASS: '合格', FAIL: '不合格' };

// ------------------------------------------------------------ dates (China time)

/** "2026-03-01", China time. */
export function fmtDate(t) {
  if (!t) return '';
  const d = chinaClockDate(t);
  if (!d) return String(t);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** "2026-03-01 09:00–10:30", China time. */
export function fmtSpan(startsAt, minutes) {
  if (!startsAt) return '';
  const e = chinaClockDate(new Date(new Date(startsAt).getTime() + (minutes || 0) * 60000));
  if (!e) return String(startsAt);
  return `${fmtTime(startsAt)}–${pad(e.getUTCHours())}:${pad(e.getUTCMinutes())}`;
}

/** The calendar day in China (UTC+8) of an instant, "YYYY-MM-DD". */
export function chinaDay(t = new Date()) {
  const d = new Date(new Date(t).getTime() + 8 * 3600 * 1000);
  return d.toISOString().slice(0, 10);
}

/** "YYYY-MM-DD" (+ "HH:MM") read as China time, as an RFC 3339 string. */
export function chinaTime(day, time = '00:00', seconds = '00') {
  return `${day}T${time}:${seconds}+08:00`;
}

/** A day's last second in China time. */
export function chinaDayEnd(day) {
  return chinaTime(day, '23:59', '59');
}

/** Add n days to "YYYY-MM-DD". */
export function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The China-time "HH:MM" of an instant. */
export function chinaClock(t) {
  const d = new Date(new Date(t).getTime() + 8 * 3600 * 1000);
  return d.toISOString().slice(11, 16);
}
