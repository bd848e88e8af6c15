import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDigit, idNumberError, normalizeId, passwordError, phoneError, residentIdError, residentIdInfo } from '../src/idcard.js';
import { fmtYuan, parseYuan, describeUA } from '../src/format.js';

test('check digit (GB 11643 MOD 11-2)', () => {
  // Worked example from the standard.
  assert.equal(checkDigit('11010519491231002'), 'X');
  assert.equal(checkDigit('44030419900517123'), '4');
});

test('resident ID validation', () => {
  assert.equal(residentIdError('11010519491231002X'), null);
  assert.equal(residentIdError('11010519491231002x'), null, 'lower-case x');
  assert.equal(residentIdError('１１０１０５１９４９１２３１００２Ｘ'), null, 'full-width');
  assert.equal(residentIdError(' 440304199005171234 '), null);
  assert.equal(residentIdError('110105194912310021'), '身份证号码校验位不正确');
  assert.equal(residentIdError('11010519491231002'), '身份证号码应为18位');
  assert.equal(residentIdError('1101051949123100A1'), '身份证号码只能包含数字，最后一位可以是X');
  assert.equal(residentIdError('110105194902300021'.slice(0, 17) + checkDigit('11010519490230002')), '身份证号码中的出生日期无效');
  assert.equal(residentIdError(''), '请输入身份证号码');
});

test('resident ID info', () => {
  assert.deepEqual(residentIdInfo('11010519491231002X'), { birth: '1949-12-31', sex: '女' });
  assert.deepEqual(residentIdInfo('440304199005171234'), { birth: '1990-05-17', sex: '男' });
  assert.equal(residentIdInfo('110105194912310021'), null);
});

test('other documents are left to the server', () => {
  assert.equal(idNumberError('PASSPORT', 'E12345678'), null);
  assert.equal(idNumberError('PASSPORT', '  '), '请输入证件号码');
  assert.equal(normalizeId(' e1234 '), 'E1234');
});

test('phone and password rules', () => {
  assert.equal(phoneError('13800138000'), null);
  assert.ok(phoneError('12800138000'));
  assert.ok(phoneError('1380013800'));
  assert.equal(passwordError('Abcd@1234'), null);
  assert.equal(passwordError('12345678901'), '密码不能全为数字');
  assert.equal(passwordError('Ab@1'), '密码至少8位');
});

test('money in fen', () => {
  assert.equal(fmtYuan(6000), '60.00');
  assert.equal(fmtYuan(11005), '110.05');
  assert.equal(parseYuan('110.5'), 11050);
  assert.equal(parseYuan('60'), 6000);
  assert.equal(parseYuan('0.07'), 7);
  assert.equal(parseYuan('1.234'), null);
  assert.equal(parseYuan('-1'), null);
  assert.equal(parseYuan(''), null);
});

test('user agent summary', () => {
  assert.equal(describeUA('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'), 'Chrome · Windows');
  assert.equal(describeUA(''), '未知设备');
});
