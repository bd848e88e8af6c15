import { useEffect, useRef, useState } from 'react';
import { auth, gql } from '../api.js';
import { Link } from '../router.jsx';
import { takeFlash } from '../flash.js';
import { Alert, Button, ErrorAlert, Field, useAction } from '../ui.jsx';
import Icon from '../icons.jsx';
import AuthShell from './AuthShell.jsx';

const PAYLOAD = 'token expiresAt challenge phoneMasked user { id name role }';
const LOGIN = `mutation Login($input: LoginInput!) { login(input: $input) { ${PAYLOAD} } }`;
const VERIFY = `mutation VerifyLoginCode($challenge: String!, $code: String!) {
  verifyLoginCode(challenge: $challenge, code: $code) { ${PAYLOAD} }
}`;
const CAPTCHA = 'mutation RequestCaptcha { requestCaptcha { key image expiresAt } }';

export default function Login({ notice }) {
  const [flash] = useState(takeFlash);
  const [login, setLogin] = useState(flash?.login || '');
  const [password, setPassword] = useState('');
  const [captcha, setCaptcha] = useState(null);
  const [answer, setAnswer] = useState('');
  const [captchaError, setCaptchaError] = useState(null);
  const [step, setStep] = useState('password'); // password | sms
  const [challenge, setChallenge] = useState(null);
  const [code, setCode] = useState('');
  const [cooldown, setCooldown] = useState(0);
  const [fieldErrors, setFieldErrors] = useState({});
  const act = useAction();
  const codeRef = useRef(null);

  useEffect(() => {
    if (cooldown <= 0) return undefined;
    const t = setTimeout(() => setCooldown((c) => c - 1), 1000);
    return () => clearTimeout(t);
  }, [cooldown]);

  useEffect(() => {
    if (step === 'sms') codeRef.current?.focus();
  }, [step]);

  async function loadCaptcha() {
    setAnswer('');
    setCaptchaError(null);
    try {
      const d = await gql(CAPTCHA);
      setCaptcha(d.requestCaptcha);
    } catch (e) {
      setCaptcha(null);
      setCaptchaError(e.message);
    }
  }

  function accept(p) {
    if (p.token) {
      auth.set(p.token); // the app loads the account and leaves this page
      return;
    }
    if (p.challenge) {
      setChallenge({ id: p.challenge, phone: p.phoneMasked });
      setStep('sms');
      setCode('');
      setCooldown(60);
      return;
    }
    throw new Error('登录失败，请稍后重试');
  }

  async function submitPassword(e) {
    e?.preventDefault();
    const errs = {};
    if (!login.trim()) errs.login = '请输入证件号码或账号';
    if (!password) errs.password = '请输入密码';
    if (captcha && !answer.trim()) errs.answer = '请输入图中的验证码';
    setFieldErrors(errs);
    if (Object.keys(errs).length) return;
    const input = { login: login.trim(), password };
    if (captcha) {
      input.captchaKey = captcha.key;
      input.captchaAnswer = answer.trim();
    }
    await act.run(async () => {
      try {
        const d = await gql(LOGIN, { input });
        accept(d.login);
      } catch (err) {
        const needCaptcha = err.code === 'CAPTCHA_REQUIRED' || err.extensions?.captchaRequired === true;
        // A captcha answer is good for one try: fetch a new one after any failure.
        if (needCaptcha || captcha) await loadCaptcha();
        throw err;
      }
    });
  }

  async function submitCode(e) {
    e?.preventDefault();
    if (!/^\d{4,8}$/.test(code.trim())) {
      setFieldErrors({ code: '请输入短信验证码' });
      return;
    }
    setFieldErrors({});
    await act.run(async () => {
      const d = await gql(VERIFY, { challenge: challenge.id, code: code.trim() });
      accept(d.verifyLoginCode);
    });
  }

  function back() {
    setStep('password');
    setChallenge(null);
    setCode('');
    act.setError(null);
  }

  if (step === 'sms') {
    return (
      <AuthShell title="短信验证" subtitle="为保障账号安全，请输入短信验证码完成登录">
        <form onSubmit={submitCode} noValidate>
          <Alert kind="info">
            验证码已发送至 <strong>{challenge?.phone || '您的手机'}</strong>，请注意查收。
          </Alert>
          <Field
            label="短信验证码"
            required
            error={fieldErrors.code}
            extra={
              <Button
                kind="ghost"
                className="addon"
                disabled={cooldown > 0 || act.busy}
                onClick={() => submitPassword()}
              >
                {cooldown > 0 ? `${cooldown}秒后重发` : '重新发送'}
              </Button>
            }
          >
            <input
              ref={codeRef}
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={8}
              value={code}
              onChange={(e) => setCode(e.target.value.replace(/\D/g, ''))}
              placeholder="6位数字"
            />
          </Field>
          <ErrorAlert error={act.error} />
          <Button type="submit" busy={act.busy} className="block">
            验证并登录
          </Button>
          <button type="button" className="link-btn center" onClick={back}>
            返回密码登录
          </button>
        </form>
      </AuthShell>
    );
  }

  return (
    <AuthShell
      title="用户登录"
      subtitle="考生使用证件号码登录，单位及工作人员使用账号登录"
      footer={
        <>
          还没有账号？<Link to="/register">个人注册</Link>
          <span className="sep">|</span>
          <Link to="/register-company">单位注册</Link>
          <span className="sep">|</span>
          <Link to="/certificates/lookup">证书查询</Link>
          <span className="sep">|</span>
          <Link to="/results/lookup">成绩查询</Link>
        </>
      }
    >
      <form onSubmit={submitPassword} noValidate>
        {notice && <Alert kind="warning">{notice}</Alert>}
        {flash?.message && <Alert kind="success">{flash.message}</Alert>}
        <Field
          label="证件号码 / 账号"
          required
          error={fieldErrors.login}
          name="login"
          autoComplete="username"
          value={login}
          onChange={(e) => setLogin(e.target.value)}
          placeholder="身份证号码或单位/工作人员账号"
          autoFocus={!login}
        />
        <Field
          label="密码"
          required
          error={fieldErrors.password}
          type="password"
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          placeholder="请输入密码"
          autoFocus={!!login}
        />
        {(captcha || captchaError) && (
          <Field
            label="图形验证码"
            required
            error={fieldErrors.answer || captchaError}
            extra={
              <button
                type="button"
                className="captcha"
                onClick={loadCaptcha}
                title="看不清？换一张"
                aria-label="换一张验证码"
              >
                {captcha ? <img src={captcha.image} alt="验证码图片" /> : <Icon name="refresh" />}
              </button>
            }
          >
            <input
              value={answer}
              onChange={(e) => setAnswer(e.target.value)}
              autoComplete="off"
              maxLength={8}
              placeholder="请输入图中字符"
            />
          </Field>
        )}
        <ErrorAlert error={act.error} />
        <Button type="submit" busy={act.busy} className="block">
          登录
        </Button>
        <div className="form-aside">
          <Link to="/forgot">忘记密码？</Link>
        </div>
      </form>
    </AuthShell>
  );
}
