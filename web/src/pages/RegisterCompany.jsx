import { useState } from 'react';
import { gql } from '../api.js';
import { Link } from '../router.jsx';
import { emailError, passwordError, phoneError } from '../idcard.js';
import { Alert, Button, ErrorAlert, Field, PasswordFields, useAction, useForm } from '../ui.jsx';
import AuthShell from './AuthShell.jsx';

const REGISTER = `mutation RegisterCompany($input: RegisterCompanyInput!) {
  registerCompany(input: $input) { id name status }
}`;

function validate(v) {
  const e = {};
  if (!v.login.trim()) e.login = '请输入账号';
  else if (!/^[A-Za-z0-9_-]{4,32}$/.test(v.login.trim())) e.login = '账号为4-32位字母、数字、下划线或短横线';
  e.password = passwordError(v.password);
  if (!v.confirm) e.confirm = '请再次输入密码';
  else if (!e.password && v.password !== v.confirm) e.confirm = '两次输入的密码不一致';
  if (!v.companyName.trim()) e.companyName = '请输入单位名称';
  if (!v.contact.trim()) e.contact = '请输入联系人';
  e.phone = phoneError(v.phone);
  e.email = emailError(v.email);
  for (const k of Object.keys(e)) if (!e[k]) delete e[k];
  return e;
}

export default function RegisterCompany() {
  const f = useForm({
    login: '',
    password: '',
    confirm: '',
    companyName: '',
    contact: '',
    phone: '',
    email: '',
    address: '',
    region: '',
  });
  const act = useAction(f);
  const [done, setDone] = useState(null);

  async function submit(e) {
    e.preventDefault();
    const errs = validate(f.values);
    f.setErrors(errs);
    if (Object.keys(errs).length) return;
    const v = f.values;
    const input = {
      login: v.login.trim(),
      password: v.password,
      companyName: v.companyName.trim(),
      contact: v.contact.trim(),
      phone: v.phone.trim(),
    };
    for (const k of ['email', 'address', 'region']) if (v[k].trim()) input[k] = v[k].trim();
    const d = await act.run(() => gql(REGISTER, { input }));
    if (d) setDone({ login: input.login, company: input.companyName });
  }

  if (done) {
    return (
      <AuthShell title="注册已提交" subtitle="单位注册信息已提交，请等待管理部门审核">
        <Alert kind="success" title={done.company}>
          账号 <strong>{done.login}</strong> 已创建，当前状态为“待审核”。审核通过后即可为本单位职工报名；
          审核结果将通过短信和站内通知告知。审核期间可登录查看审核进度。
        </Alert>
        <Link to="/login" className="btn btn-primary block">
          返回登录
        </Link>
      </AuthShell>
    );
  }

  return (
    <AuthShell
      wide
      title="单位注册"
      subtitle="每个单位只能注册一个账号（按单位名称唯一）"
      footer={
        <>
          已有账号？<Link to="/login">返回登录</Link>
          <span className="sep">|</span>
          <Link to="/register">个人注册</Link>
        </>
      }
    >
      <Alert kind="info">
        单位账号注册后需经管理部门审核，<strong>审核通过后</strong>方可为职工报名和缴费。
      </Alert>
      <form onSubmit={submit} noValidate className="grid-2">
        <Field
          label="单位名称"
          required
          error={f.errors.companyName}
          {...f.bind('companyName')}
          placeholder="与营业执照一致"
          className="span-2"
        />
        <Field
          label="登录账号"
          required
          error={f.errors.login}
          hint="4-32位字母、数字、下划线或短横线"
          {...f.bind('login')}
          autoComplete="username"
        />
        <Field label="所在地区" {...f.bind('region')} placeholder="如：北京市朝阳区" />
        <PasswordFields form={f} />
        <Field label="联系人" required error={f.errors.contact} {...f.bind('contact')} />
        <Field
          label="联系电话"
          required
          error={f.errors.phone}
          {...f.bind('phone')}
          inputMode="numeric"
          maxLength={11}
          placeholder="11位手机号码"
        />
        <Field label="电子邮箱" error={f.errors.email} {...f.bind('email')} type="email" placeholder="选填" />
        <Field label="单位地址" {...f.bind('address')} placeholder="选填" />
        <div className="span-2">
          <ErrorAlert error={act.error} />
          <Button type="submit" busy={act.busy} className="block">
            提交注册
          </Button>
        </div>
      </form>
    </AuthShell>
  );
}
