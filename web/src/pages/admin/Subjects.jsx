import { useState } from 'react';
import { gql } from '../../api.js';
import { SUBJECT_CATEGORIES, categoryLabel, fmtYuan, parseYuan } from '../../format.js';
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
  toast,
  useAction,
  useForm,
  useQuery,
} from '../../ui.jsx';

const FIELDS = 'id code name category feeCents passMark hasPractical active';
const LIST = `query Subjects {
  subjects(first: 200, orderBy: {field: CODE, direction: ASC}) {
    totalCount
    edges { node { ${FIELDS} } }
  }
}`;
const CREATE = `mutation CreateSubject($input: CreateSubjectInput!) { createSubject(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation UpdateSubject($id: ID!, $input: UpdateSubjectInput!) { updateSubject(id: $id, input: $input) { ${FIELDS} } }`;

export default function Subjects() {
  const q = useQuery(LIST);
  const f = useForm({ code: '', name: '', category: 'OTHER', fee: '', passMark: '60', hasPractical: false, active: true });
  const act = useAction(f, { feeCents: 'fee' });
  const [created, setCreated] = useState(null);
  const [toggling, setToggling] = useState(null);
  const [listError, setListError] = useState(null);

  async function submit(e) {
    e.preventDefault();
    const v = f.values;
    const errs = {};
    if (!v.code.trim()) errs.code = '请输入科目代码';
    if (!v.name.trim()) errs.name = '请输入科目名称';
    const cents = parseYuan(v.fee);
    if (cents === null) errs.fee = '请输入金额，如 60 或 110.50';
    const pm = Number(v.passMark);
    if (!Number.isInteger(pm) || pm < 0 || pm > 100) errs.passMark = '及格分为0-100的整数';
    f.setErrors(errs);
    setCreated(null);
    if (Object.keys(errs).length) return;
    const input = {
      code: v.code.trim(),
      name: v.name.trim(),
      category: v.category,
      feeCents: cents,
      passMark: pm,
      hasPractical: !!v.hasPractical,
      active: !!v.active,
    };
    const d = await act.run(() => gql(CREATE, { input }));
    if (d) {
      setCreated(d.createSubject);
      f.reset();
      q.reload();
    }
  }

  async function toggle(s) {
    setToggling(s.id);
    setListError(null);
    try {
      const d = await gql(UPDATE, { id: s.id, input: { active: !s.active } });
      toast(d.updateSubject.active ? '科目已启用' : '科目已停用');
      q.setData((data) => ({
        ...data,
        subjects: {
          ...data.subjects,
          edges: data.subjects.edges.map((e) => (e.node.id === s.id ? { ...e, node: d.updateSubject } : e)),
        },
      }));
    } catch (e) {
      setListError(e);
    } finally {
      setToggling(null);
    }
  }

  return (
    <>
      <PageHeader title="科目目录" desc="考试科目及收费标准。费用以元为单位填写，精确到分。" />
      <Card title="新增科目">
        <form onSubmit={submit} noValidate className="grid-3">
          <Field label="科目代码" required error={f.errors.code} {...f.bind('code')} placeholder="如：SAFE-A" />
          <Field label="科目名称" required error={f.errors.name} {...f.bind('name')} className="span-2" placeholder="如：市安规考试" />
          <Field label="类别" required>
            <select {...f.bind('category')}>
              {SUBJECT_CATEGORIES.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label}
                </option>
              ))}
            </select>
          </Field>
          <Field
            label="考试费用（元）"
            required
            error={f.errors.fee}
            {...f.bind('fee')}
            inputMode="decimal"
            placeholder="如：60.00"
            extra={<span className="unit">元</span>}
          />
          <Field label="及格分" required error={f.errors.passMark} {...f.bind('passMark')} type="number" min={0} max={100} />
          <div className="span-3 checks">
            <label className="check">
              <input type="checkbox" {...f.bind('hasPractical')} checked={!!f.values.hasPractical} value={undefined} />
              含实操考核（由考点录入实操成绩）
            </label>
            <label className="check">
              <input type="checkbox" {...f.bind('active')} checked={!!f.values.active} value={undefined} />
              启用（可报名）
            </label>
          </div>
          <div className="span-3">
            {created && (
              <Alert kind="success">
                已新增科目“{created.name}”，费用 {fmtYuan(created.feeCents)} 元。
              </Alert>
            )}
            <ErrorAlert error={act.error} />
            <Button type="submit" busy={act.busy}>
              新增科目
            </Button>
          </div>
        </form>
      </Card>
      <Card title="科目列表">
        <ErrorAlert error={listError} />
        <QueryState q={q}>
          {(data) => {
            const list = nodes(data.subjects);
            if (!list.length) return <Empty>暂无科目</Empty>;
            return (
              <div className="table-wrap">
                <table className="table">
                  <thead>
                    <tr>
                      <th>代码</th>
                      <th>科目名称</th>
                      <th>类别</th>
                      <th className="right">费用（元）</th>
                      <th className="right">及格分</th>
                      <th>实操</th>
                      <th>状态</th>
                      <th className="right">操作</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((s) => (
                      <tr key={s.id} className={s.active ? '' : 'inactive'}>
                        <td className="mono">{s.code}</td>
                        <td className="cell-main">{s.name}</td>
                        <td>{categoryLabel(s.category)}</td>
                        <td className="right num">{fmtYuan(s.feeCents)}</td>
                        <td className="right num">{s.passMark}</td>
                        <td>{s.hasPractical ? '有' : '—'}</td>
                        <td>
                          <Badge kind={s.active ? 'success' : 'muted'}>{s.active ? '启用' : '停用'}</Badge>
                        </td>
                        <td className="right">
                          <Button small kind="ghost" busy={toggling === s.id} onClick={() => toggle(s)}>
                            {s.active ? '停用' : '启用'}
                          </Button>
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
