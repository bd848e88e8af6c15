import { useState } from 'react';
import { gql } from '../api.js';
import { Link, navigate } from '../router.jsx';
import { setFlash } from '../flash.js';
import { passwordError, phoneError } from '../idcard.js';
import { Alert, Button, ErrorAlert, Field, PasswordFields, useAction, useForm } from '../ui.jsx';
import AuthShell from './AuthShell.jsx';

const REQUEST = 'mutation RequestPasswordReset($login: String!, $phone: String!) { requestPasswordReset(login: $login, phone: $phone) }';
const RESET = 'mutation ResetPassword($login: String!, $code: String!, $newPassword: String!) { resetPassword(login: $login, code: $code, newPassword: $newPassword) }';

export default function ForgotPassword() {
  const f = useForm({ login: '', phone: '', code: '', password: '', confirm: '' });
  const [step, setStep] = useState(1);
  const act = useAction();
  const v = f.values;

  async function sendCode(e) {
    e?.preventDefault();
    const errs = {};
    if (!v.login.trim()) errs.login = '请输入证件号码或账号';
    const pe = phoneError(v.phone);
    if (pe) errs.phone = pe;
    f.setErrors(errs);
    if (Object.keys(errs).length) return;
    const d = await act.run(() => gql(REQUEST, { login: v.login.trim(), phone: v.phone.trim() }));
    if (d) setStep(2);
  }

  async function reset(e) {
    e.preventDefault();
    const errs = {};
    if (!/^\d{4,8}$/.test(v.code.trim())) errs.code = '请输入短信验证码';
    const pe = passwordError(v.password);
    if (pe) errs.password = pe;
    if (!v.confirm) errs.confirm = '请再次输入新密码';
    else if (!pe && v.password !== v.confirm) errs.confirm = '两次输入的密码不一致';
    f.setErrors(errs);
    if (Object.keys(errs).length) return;
    const d = await act.run(() =>
      gql(RESET, { login: v.login.trim(), code: v.code.trim(), newPassword: v.password }),
    );
    if (d) {
      setFlash({ message: '密码已重置，请使用新密码登录。', login: v.login.trim() });
      navigate('/login');
    }
  }

  return (
    <AuthShell
      title="找回密码"
      subtitle="通过注册时预留的手机号码重置密码"
      footer={<Link to="/login">返回登录</Link>}
    >
      <ol className="steps" aria-label="步骤">
        <li className={step === 1 ? 'active' : 'done'}>验证身份</li>
        <li className={step === 2 ? 'active' : ''}>设置新密码</li>
      </ol>
      {step === 1 ? (
        <form onSubmit={sendCode} noValidate>
          <Field
            label="证件号码 / 账号"
            required
            error={f.errors.login}
            {...f.bind('login')}
            autoComplete="username"
            autoFocus
          />
          <Field
            label="预留手机号码"
            required
            error={f.errors.phone}
            {...f.bind('phone')}
            inputMode="numeric"
            maxLength={11}
            placeholder="注册时填写的手机号码"
          />
          <ErrorAlert error={act.error} />
          <Button type="submit" busy={act.busy} className="block">
            获取验证码
          </Button>
        </form>
      ) : (
        <form onSubmit={reset} noValidate>
          <Alert kind="info">
            如果账号与手机号码匹配，验证码已发送至 {v.phone.replace(/^(\d{3})\d{4}(\d{4})$/, '$1****$2')}。
          </Alert>
          <Field
            label="短信验证码"
            required
            error={f.errors.code}
            {...f.bind('code')}
            inputMode="numeric"
            maxLength={8}
            autoComplete="one-time-code"
            autoFocus
          />
          <PasswordFields form={f} label="新密码" />
          <ErrorAlert error={act.error} />
          <Button type="submit" busy={act.busy} className="block">
            重置密码
          </Button>
          <button type="button" className="link-btn center" onClick={() => { setStep(1); act.setError(null); }}>
            重新获取验证码
          </button>
        </form>
      )}
    </AuthShell>
  );
}
