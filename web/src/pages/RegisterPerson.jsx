import { gql } from '../api.js';
import { Link, navigate } from '../router.jsx';
import { setFlash } from '../flash.js';
import {
  ID_TYPES,
  emailError,
  idNumberError,
  normalizeId,
  passwordError,
  phoneError,
  residentIdInfo,
} from '../idcard.js';
import { Button, ErrorAlert, Field, PasswordFields, useAction, useForm } from '../ui.jsx';
import AuthShell from './AuthShell.jsx';

const REGISTER = `mutation RegisterPerson($input: RegisterPersonInput!) {
  registerPerson(input: $input) { id name role status }
}`;

export function validateRegisterPerson(v) {
  const e = {};
  e.idNumber = idNumberError(v.idType, v.idNumber);
  if (!v.name.trim()) e.name = '请输入姓名';
  else if (v.name.trim().length > 50) e.name = '姓名过长';
  e.phone = phoneError(v.phone);
  e.email = emailError(v.email);
  e.password = passwordError(v.password);
  if (!e.password && v.password !== v.confirm) e.confirm = '两次输入的密码不一致';
  if (!v.confirm) e.confirm = '请再次输入密码';
  for (const k of Object.keys(e)) if (!e[k]) delete e[k];
  return e;
}

export default function RegisterPerson() {
  const f = useForm({
    idType: 'RESIDENT_ID',
    idNumber: '',
    name: '',
    phone: '',
    email: '',
    password: '',
    confirm: '',
  });
  const act = useAction(f);
  const v = f.values;
  const resident = v.idType === 'RESIDENT_ID';
  const info = resident ? residentIdInfo(v.idNumber) : null;

  // Fast feedback on the ID number: as soon as 18 characters are typed, and on leaving the field.
  function checkId(final) {
    const n = normalizeId(v.idNumber);
    if (!final && !(resident && n.length >= 18)) return;
    if (!n && !final) return;
    f.setErrors((s) => ({ ...s, idNumber: idNumberError(v.idType, v.idNumber) }));
  }

  async function submit(e) {
    e.preventDefault();
    const errs = validateRegisterPerson(v);
    f.setErrors(errs);
    if (Object.keys(errs).length) {
      act.setError(null);
      return;
    }
    const input = {
      idType: v.idType,
      idNumber: normalizeId(v.idNumber),
      name: v.name.trim(),
      phone: v.phone.trim(),
      password: v.password,
    };
    if (v.email.trim()) input.email = v.email.trim();
    const ok = await act.run(() => gql(REGISTER, { input }));
    if (ok) {
      setFlash({ message: '注册成功，请使用证件号码和密码登录。', login: input.idNumber });
      navigate('/login');
    }
  }

  return (
    <AuthShell
      wide
      title="个人注册"
      subtitle="请如实填写本人证件信息，证件号码将作为登录账号，注册后不可修改"
      footer={
        <>
          已有账号？<Link to="/login">返回登录</Link>
          <span className="sep">|</span>
          <Link to="/register-company">单位注册</Link>
        </>
      }
    >
      <form onSubmit={submit} noValidate className="grid-2">
        <Field label="证件类型" required>
          <select
            {...f.bind('idType')}
            onChange={(e) => {
              f.setValues((s) => ({ ...s, idType: e.target.value }));
              f.setErrors((s) => ({ ...s, idNumber: null }));
            }}
          >
            {ID_TYPES.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </Field>
        <Field
          label="证件号码"
          required
          error={f.errors.idNumber}
          hint={info ? `出生日期 ${info.birth} · 性别 ${info.sex}` : resident ? '18位，末位可以是X' : undefined}
          {...f.bind('idNumber')}
          onKeyUp={() => checkId(false)}
          onBlur={() => checkId(true)}
          maxLength={resident ? 18 : 30}
          autoComplete="off"
          placeholder={resident ? '请输入18位身份证号码' : '请输入证件号码'}
        />
        <Field label="姓名" required error={f.errors.name} {...f.bind('name')} autoComplete="name" placeholder="与证件一致" />
        <Field
          label="手机号码"
          required
          error={f.errors.phone}
          hint="用于接收验证码和考试通知"
          {...f.bind('phone')}
          inputMode="numeric"
          maxLength={11}
          autoComplete="tel"
          placeholder="11位手机号码"
        />
        <Field
          label="电子邮箱"
          error={f.errors.email}
          {...f.bind('email')}
          type="email"
          autoComplete="email"
          placeholder="选填"
          className="span-2"
        />
        <PasswordFields form={f} />
        <div className="span-2">
          <ErrorAlert error={act.error} />
          <Button type="submit" busy={act.busy} className="block">
            注册
          </Button>
        </div>
      </form>
    </AuthShell>
  );
}
