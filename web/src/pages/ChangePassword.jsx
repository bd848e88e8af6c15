import { gql } from '../api.js';
import { passwordError } from '../idcard.js';
import { Alert, Button, Card, ErrorAlert, Field, PageHeader, PasswordFields, useAction, useForm } from '../ui.jsx';
import { useState } from 'react';

const CHANGE = 'mutation ChangePassword($old: String!, $new: String!) { changePassword(oldPassword: $old, newPassword: $new) }';

export default function ChangePassword() {
  const f = useForm({ old: '', password: '', confirm: '' });
  const act = useAction(f, { oldPassword: 'old', newPassword: 'password' });
  const [done, setDone] = useState(false);

  async function submit(e) {
    e.preventDefault();
    const v = f.values;
    const errs = {};
    if (!v.old) errs.old = '请输入当前密码';
    const pe = passwordError(v.password);
    if (pe) errs.password = pe;
    else if (v.password === v.old) errs.password = '新密码不能与当前密码相同';
    if (!v.confirm) errs.confirm = '请再次输入新密码';
    else if (!errs.password && v.password !== v.confirm) errs.confirm = '两次输入的密码不一致';
    f.setErrors(errs);
    setDone(false);
    if (Object.keys(errs).length) return;
    // keepSession: a wrong current password must not log the user out.
    const ok = await act.run(() => gql(CHANGE, { old: v.old, new: v.password }, { keepSession: true }));
    if (ok) {
      f.reset();
      setDone(true);
    }
  }

  return (
    <>
      <PageHeader title="修改密码" desc="修改成功后，其他设备上的登录将全部退出。" />
      <Card className="narrow">
        <form onSubmit={submit} noValidate>
          {done && <Alert kind="success">密码已修改，其他设备上的登录已全部退出。</Alert>}
          <Field
            label="当前密码"
            required
            error={f.errors.old}
            {...f.bind('old')}
            type="password"
            autoComplete="current-password"
          />
          <PasswordFields form={f} label="新密码" />
          <ErrorAlert error={act.error} />
          <Button type="submit" busy={act.busy}>
            确认修改
          </Button>
        </form>
      </Card>
    </>
  );
}
