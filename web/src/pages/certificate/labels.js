// Labels of certificates and their requests (issue #5).
import { fmtDate } from '../../format.js';

export const CERT_STATUS = {
  VALID: { label: '有效', kind: 'success' },
  EXPIRED: { label: '已过期', kind: 'muted' },
  CANCELLED: { label: '已注销', kind: 'danger' },
};

export const REQUEST_KIND_LABELS = { CHANGE: '变更', RENEWAL: '延续', CANCELLATION: '注销' };

export const REQUEST_STATUS = {
  PENDING: { label: '待审核', kind: 'warning' },
  APPROVED: { label: '已通过', kind: 'success' },
  REJECTED: { label: '已驳回', kind: 'danger' },
  WITHDRAWN: { label: '已撤回', kind: 'muted' },
};

export const FEE_METHOD_LABELS = {
  CASH: '现金',
  CARD: '银行卡',
  WECHAT: '微信',
  ALIPAY: '支付宝',
  BANK_TRANSFER: '银行转账',
};

// The verification verdicts, in words a person checking a certificate reads.
export const VERIFY_STATUS = {
  VALID: { label: '有效', tone: 'ok', hint: '证书真实有效，信息与系统一致。' },
  EXPIRED: { label: '已过期', tone: 'bad', hint: '证书已超过有效期，不再有效。' },
  CHANGED: { label: '信息已变更', tone: 'warn', hint: '证书信息已变更，此二维码所在的纸质证书已过时，以下方现行信息为准。' },
  RENEWED: { label: '已延续', tone: 'warn', hint: '证书已延续，以下方现行有效期为准。' },
  CANCELLED: { label: '已注销', tone: 'bad', hint: '证书已注销，不再有效。' },
  NOT_FOUND: { label: '查无此证', tone: 'bad', hint: '系统中没有与二维码一致的证书，请联系发证机关核实。' },
};

/** The last valid day of a validity ending (exclusive) at until. */
export function lastValidDay(until) {
  if (!until) return '';
  return fmtDate(new Date(new Date(until).getTime() - 24 * 3600 * 1000));
}

/** "2026-03-01 至 2029-02-28". */
export function validity(from, until) {
  return `${fmtDate(from)} 至 ${lastValidDay(until)}`;
}

/** "3月1日" (with the year unless it is now's), China time. */
export function monthDay(t, now = new Date()) {
  const d = fmtDate(t);
  if (!d) return '';
  const [y, m, day] = d.split('-');
  const thisYear = fmtDate(now).slice(0, 4);
  return `${y === thisYear ? '' : `${y}年`}${Number(m)}月${Number(day)}日`;
}
