import { useState } from 'react';
import { gql } from '../../api.js';
import { ORG_KIND_LABELS, ORG_STATUS_LABELS, fmtTime } from '../../format.js';
import { emailError } from '../../idcard.js';
import {
  Alert,
  Badge,
  Button,
  Card,
  Empty,
  ErrorAlert,
  Field,
  PageHeader,
  QueryState,
  nodes,
  useAction,
  useForm,
  useQuery,
} from '../../ui.jsx';

const KINDS = ['EXAM_SITE', 'TRAINING_ORG', 'DEPARTMENT'];
const LIST = `query Organizations($where: OrganizationWhereInput) {
  organizations(first: 200, where: $where, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount
    edges { node { id kind name region contact phone email address status createdAt } }
  }
}`;
const CREATE = `mutation CreateOrganization($input: CreateOrganizationInput!) {
  createOrganization(input: $input) { id name kind }
}`;

export default function Organizations() {
  const [filter, setFilter] = useState('');
  const where = filter ? { kind: filter } : { kindNEQ: 'COMPANY' };
  const q = useQuery(LIST, { where }, [filter]);
  const f = useForm({ kind: 'EXAM_SITE', name: '', region: '', contact: '', phone: '', email: '', address: '' });
  const act = useAction(f);
  const [created, setCreated] = useState(null);

  async function submit(e) {
    e.preventDefault();
    const v = f.values;
    const errs = {};
    if (!v.name.trim()) errs.name = '请输入机构名称';
    if (v.phone.trim() && !/^[\d\-+() ]{7,20}$/.test(v.phone.trim())) errs.phone = '电话号码格式不正确';
    const ee = emailError(v.email);
    if (ee) errs.email = ee;
    f.setErrors(errs);
    setCreated(null);
    if (Object.keys(errs).length) return;
    const input = { kind: v.kind, name: v.name.trim() };
    for (const k of ['region', 'contact', 'phone', 'email', 'address']) if (v[k].trim()) input[k] = v[k].trim();
    const d = await act.run(() => gql(CREATE, { input }));
    if (d) {
      setCreated(d.createOrganization);
      f.reset();
      f.setValues((s) => ({ ...s, kind: v.kind }));
      q.reload();
    }
  }

  return (
    <>
      <PageHeader title="机构管理" desc="考点、培训机构与管理部门由省总站创建；单位通过“单位注册”自行申请。" />
      <Card title="新建机构">
        <form onSubmit={submit} noValidate className="grid-3">
          <Field label="机构类型" required>
            <select {...f.bind('kind')}>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {ORG_KIND_LABELS[k]}
                </option>
              ))}
            </select>
          </Field>
          <Field label="机构名称" required error={f.errors.name} {...f.bind('name')} className="span-2" />
          <Field label="所在地区" {...f.bind('region')} placeholder="如：北京市海淀区" />
          <Field label="联系人" {...f.bind('contact')} />
          <Field label="联系电话" error={f.errors.phone} {...f.bind('phone')} />
          <Field label="电子邮箱" error={f.errors.email} {...f.bind('email')} type="email" />
          <Field label="地址" {...f.bind('address')} className="span-2" />
          <div className="span-3">
            {created && (
              <Alert kind="success">
                已创建{ORG_KIND_LABELS[created.kind]}“{created.name}”。
              </Alert>
            )}
            <ErrorAlert error={act.error} />
            <Button type="submit" busy={act.busy}>
              创建机构
            </Button>
          </div>
        </form>
      </Card>
      <Card
        title="机构列表"
        actions={
          <div className="tabs" role="tablist">
            {[['', '全部'], ...KINDS.map((k) => [k, ORG_KIND_LABELS[k]]), ['COMPANY', '单位']].map(([k, label]) => (
              <button
                key={k || 'all'}
                type="button"
                role="tab"
                aria-selected={filter === k}
                className={filter === k ? 'active' : ''}
                onClick={() => setFilter(k)}
              >
                {label}
              </button>
            ))}
          </div>
        }
      >
        <QueryState q={q}>
          {(data) => {
            const list = nodes(data.organizations);
            if (!list.length) return <Empty>暂无机构</Empty>;
            return (
              <div className="table-wrap">
                <table className="table">
                  <thead>
                    <tr>
                      <th>名称</th>
                      <th>类型</th>
                      <th>地区</th>
                      <th>联系人</th>
                      <th>联系电话</th>
                      <th>状态</th>
                      <th>创建时间</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((o) => (
                      <tr key={o.id}>
                        <td className="cell-main">
                          {o.name}
                          {o.address && <div className="sub">{o.address}</div>}
                        </td>
                        <td>{ORG_KIND_LABELS[o.kind] || o.kind}</td>
                        <td>{o.region || '—'}</td>
                        <td>{o.contact || '—'}</td>
                        <td className="mono">{o.phone || '—'}</td>
                        <td>
                          <Badge kind={o.status === 'APPROVED' ? 'success' : o.status === 'PENDING' ? 'warning' : 'danger'}>
                            {ORG_STATUS_LABELS[o.status] || o.status}
                          </Badge>
                        </td>
                        <td>{fmtTime(o.createdAt)}</td>
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
