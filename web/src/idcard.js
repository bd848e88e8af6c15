// Client-side checks of identity documents, for fast feedback only: the
// server validates again and its message is the one that counts.

export const ID_TYPES = [
  { value: 'RESIDENT_ID', label: '居民身份证' },
  { value: 'PASSPORT', label: '护照' },
  { value: 'HK_MACAO_PERMIT', label: '港澳居民来往内地通行证' },
  { value: 'TAIWAN_PERMIT', label: '台湾居民来往大陆通行证' },
  { value: 'FOREIGN_PERMANENT_RESIDENT', label: '外国人永久居留身份证' },
];

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

/** Full-width to half-width, trimmed, upper-case (as the server does). */
export function normalizeId(s) {
  return String(s || '')
    .replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, ' ')
    .trim()
    .toUpperCase();
}

/** GB 11643 / ISO 7064 MOD 11-2 check character of the first 17 digits. */
export function checkDigit(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK[sum % 11];
}

/**
 * Check a resident ID number. Returns null when it looks valid, otherwise a
 * Chinese message. Area codes are left to the server.
 */
export function residentIdError(raw) {
  const n = normalizeId(raw);
  if (!n) return '请输入身份证号码';
  if (n.length !== 18) return '身份证号码应为18位';
  if (!/^\d{17}[\dX]$/.test(n)) return '身份证号码只能包含数字，最后一位可以是X';
  const y = +n.slice(6, 10);
  const m = +n.slice(10, 12);
  const d = +n.slice(12, 14);
  const birth = new Date(Date.UTC(y, m - 1, d));
  if (
    y < 1900 ||
    birth.getUTCFullYear() !== y ||
    birth.getUTCMonth() !== m - 1 ||
    birth.getUTCDate() !== d ||
    birth.getTime() > Date.now()
  ) {
    return '身份证号码中的出生日期无效';
  }
  if (checkDigit(n) !== n[17]) return '身份证号码校验位不正确';
  return null;
}

/** Birth date (YYYY-MM-DD) and sex read from a valid resident ID number. */
export function residentIdInfo(raw) {
  const n = normalizeId(raw);
  if (residentIdError(n)) return null;
  return {
    birth: `${n.slice(6, 10)}-${n.slice(10, 12)}-${n.slice(12, 14)}`,
    sex: Number(n[16]) % 2 === 1 ? '男' : '女',
  };
}

/** Client check of any document type; null when it looks fine. */
export function idNumberError(type, raw) {
  if (type === 'RESIDENT_ID') return residentIdError(raw);
  if (!normalizeId(raw)) return '请输入证件号码';
  return null;
}

/** Mainland mobile number. */
export function phoneError(raw) {
  const s = String(raw || '').trim();
  if (!s) return '请输入手机号码';
  if (!/^1[3-9]\d{9}$/.test(s)) return '请输入11位中国大陆手机号码';
  return null;
}

export function emailError(raw) {
  const s = String(raw || '').trim();
  if (!s) return null;
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s)) return '邮箱格式不正确';
  return null;
}

/** Password rules: at least 8 characters, not digits only. */
export function passwordError(pw) {
  if (!pw) return '请输入密码';
  if (pw.length < 8) return '密码至少8位';
  if (pw.length > 128) return '密码不能超过128位';
  if (/^\d+$/.test(pw)) return '密码不能全为数字';
  return null;
}
