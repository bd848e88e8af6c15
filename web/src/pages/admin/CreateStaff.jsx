import { gql } from '../../api.js';
import { ACCOUNT_STATUS_LABELS, ORG_KIND_LABELS, ROLE_LABELS, fmtTime } from '../../format.js';
import { emailError, passwordError } from '../../idcard.js';
import {
  Alert,
  Badge,
  Button,
  Card,
  ConfirmButton,
  Empty,
  ErrorAlert,
  Field,
  PageHeader,
  PasswordFields,
  QueryState,
  nodes,
  toast,
  useAction,
  useForm,
  useQuery,
} from '../../ui.jsx';
import { useState } from 'react';

export const STAFF_ROLES = ['EXAM_SITE', 'TRAINING_ORG', 'REVIEWER', 'PROCTOR', 'ADMIN'];
// The kind of organisation each staff role belongs to (null: any but companies).
const ROLE_ORG_KIND = { EXAM_SITE: 'EXAM_SITE', TRAINING_ORG: 'TRAINING_ORG', REVIEWER: 'DEPARTMENT', PROCTOR: null, ADMIN: null };
const ORG_REQUIRED = new Set(['EXAM_SITE', 'TRAINING_ORG', 'REVIEWER', 'PROCTOR']);

const ORGS = `query StaffOrganizations {
  organizations(first: 500, where: {kindNEQ: COMPANY}, orderBy: {field: NAME, direction: ASC}) {
    edges { node { id name kind status } }
  }
}`;
const STAFF = `query StaffAccounts {
  users(first: 100, where: {roleNotIn: [CANDIDATE, COMPANY]}, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount
    edges { node { id name role status email phone createdAt organization { id name } } }
  }
}`;
const CREATE = `mutation CreateStaffAccount($input: CreateStaffAccountInput!) {
  createStaffAccount(input: $input) { id name role status }
}`;
const SET_DISABLED = `mutation SetAccountDisabled($id: ID!, $disabled: Boolean!) {
  setAccountDisabled(id: $id, disabled: $disabled) { id status }
}`;

export default function CreateStaff({ me }) {
  const orgsQ = useQuery(ORGS);
  const staffQ = useQuery(STAFF);
  const f = useForm({ role: 'EXAM_SITE', login: '', name: '', phone: '', email: '', organizationID: '', password: '', confirm: '' });
  const act = useAction(f);
  const [created, setCreated] = useState(null);
  const [toggling, setToggling] = useState(null);
  const [listError, setListError] = useState(null);
  const v = f.values;

  const orgs = nodes(orgsQ.data?.organizations);
  const kind = ROLE_ORG_KIND[v.role];
  const options = kind ? orgs.filter((o) => o.kind === kind) : orgs;

  async function submit(e) {
    e.preventDefault();
    const errs = {};
    if (!/^[A-Za-z0-9_-]{4,32}$/.test(v.login.trim())) errs.login = '账号为4-32位字母、数字、下划线或短横线';
    if (!v.name.trim()) errs.name = '请输入姓名';
    if (v.phone.trim() && !/^1[3-9]\d{9}$/.test(v.phone.trim())) errs.phone = '请输入11位中国大陆手机号码';
    const ee = emailError(v.email);
    if (ee) errs.email = ee;
    if (ORG_REQUIRED.has(v.role) && !v.organizationID) errs.organizationID = '请选择所属机构';
    const pe = passwordError(v.password);
    if (pe) errs.password = pe;
    if (!pe && v.password !== v.confirm) errs.confirm = '两次输入的密码不一致';
    f.setErrors(errs);
    setCreated(null);
    if (Object.keys(errs).length) return;
    const input = { role: v.role, login: v.login.trim(), name: v.name.trim(), password: v.password };
    if (v.phone.trim()) input.phone = v.phone.trim();
    if (v.email.trim()) input.email = v.email.trim();
    if (v.organizationID) input.organizationID = v.organizationID;
    const d = await act.run(() => gql(CREATE, { input }));
    if (d) {
      setCreated({ ...d.createStaffAccount, login: input.login });
      f.reset();
      f.setValues((s) => ({ ...s, role: v.role }));
      staffQ.reload();
    }
  }

  async function toggle(u) {
    setToggling(u.id);
    setListError(null);
    try {
      const d = await gql(SET_DISABLED, { id: u.id, disabled: u.status !== 'DISABLED' });
      toast(d.setAccountDisabled.status === 'DISABLED' ? '账号已停用' : '账号已启用');
      staffQ.reload();
    } catch (e) {
      setListError(e);
    } finally {
      setToggling(null);
    }
  }

  return (
    <>
      <PageHeader title="创建工作人员账号" desc="为考点、培训机构、管理部门、监考人员及管理员创建登录账号。考生与单位请自行注册。" />
      <Card title="新建账号">
        <form onSubmit={submit} noValidate className="grid-3">
          <Field label="角色" required>
            <select
              {...f.bind('role')}
              onChange={(e) => f.setValues((s) => ({ ...s, role: e.target.value, organizationID: '' }))}
            >
              {STAFF_ROLES.map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
          </Field>
          <Field
            label="所属机构"
            required={ORG_REQUIRED.has(v.role)}
            error={f.errors.organizationID || (orgsQ.error && orgsQ.error.message)}
            hint={kind && !options.length && orgsQ.data ? `暂无${ORG_KIND_LABELS[kind]}，请先在“机构管理”中创建` : undefined}
            className="span-2"
          >
            <select {...f.bind('organizationID')}>
              <option value="">{ORG_REQUIRED.has(v.role) ? '请选择机构' : '不属于任何机构'}</option>
              {options.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}（{ORG_KIND_LABELS[o.kind] || o.kind}）
                </option>
              ))}
            </select>
          </Field>
          <Field label="登录账号" required error={f.errors.login} hint="4-32位字母、数字、_ 或 -" {...f.bind('login')} autoComplete="off" />
          <Field label="姓名" required error={f.errors.name} {...f.bind('name')} />
          <Field label="手机号码" error={f.errors.phone} {...f.bind('phone')} inputMode="numeric" maxLength={11} placeholder="选填" />
          <Field label="电子邮箱" error={f.errors.email} {...f.bind('email')} type="email" placeholder="选填" />
          <PasswordFields form={f} label="初始密码" confirmLabel="确认密码" />
          <div className="span-3">
            {created && (
              <Alert kind="success">
                已创建{ROLE_LABELS[created.role]}账号 <strong>{created.login}</strong>（{created.name}），请将初始密码告知本人并提醒其登录后修改。
              </Alert>
            )}
            <ErrorAlert error={act.error} />
            <Button type="submit" busy={act.busy}>
              创建账号
            </Button>
          </div>
        </form>
      </Card>
      <Card title="工作人员账号">
        <ErrorAlert error={listError} />
        <QueryState q={staffQ}>
          {(data) => {
            const list = nodes(data.users);
            if (!list.length) return <Empty />;
            return (
              <div className="table-wrap">
                <table className="table">
                  <thead>
                    <tr>
                      <th>姓名</th>
                      <th>角色</th>
                      <th>所属机构</th>
                      <th>手机</th>
                      <th>状态</th>
                      <th>创建时间</th>
                      <th className="right">操作</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((u) => (
                      <tr key={u.id}>
                        <td className="cell-main">{u.name}</td>
                        <td>{ROLE_LABELS[u.role] || u.role}</td>
                        <td>{u.organization?.name || '—'}</td>
                        <td className="mono">{u.phone || '—'}</td>
                        <td>
                          <Badge kind={u.status === 'ACTIVE' ? 'success' : u.status === 'DISABLED' ? 'muted' : 'warning'}>
                            {ACCOUNT_STATUS_LABELS[u.status] || u.status}
                          </Badge>
                        </td>
                        <td>{fmtTime(u.createdAt)}</td>
                        <td className="right">
                          {u.id === me.id ? (
                            <span className="muted">本人</span>
                          ) : u.status === 'DISABLED' ? (
                            <Button small kind="ghost" busy={toggling === u.id} onClick={() => toggle(u)}>
                              启用
                            </Button>
                          ) : (
                            <ConfirmButton busy={toggling === u.id} confirm="停用后立即下线" onConfirm={() => toggle(u)}>
                              停用
                            </ConfirmButton>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
          }}
        </QueryState>
      </Card>
    </>
  );
}
