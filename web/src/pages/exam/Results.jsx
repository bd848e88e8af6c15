// 我的成绩 (the logged-in candidate) and the public result lookup by name and ID number.
import { useState } from 'react';
import { gql } from '../../api.js';
import { fmtDate, fmtTime } from '../../format.js';
import { residentIdError } from '../../idcard.js';
import { Link } from '../../router.jsx';
import { Button, Card, Empty, ErrorAlert, Field, PageHeader, QueryState, StatusBadge, useAction, useForm, useQuery } from '../../ui.jsx';
import AuthShell from '../AuthShell.jsx';
import { RESULT } from './labels.js';

const RESULT_FIELDS = 'attemptID subjectCode subjectName examDate score passMark practicalScore hasPractical result reviewedAt';
const MINE = `query MyResults { myResults { ${RESULT_FIELDS} } }`;
const LOOKUP = `query LookupResults($name: String!, $idNumber: String!) {
  lookupResults(name: $name, idNumber: $idNumber) { name maskedID results { ${RESULT_FIELDS} } }
}`;

function ResultTable({ results, label }) {
  if (!results.length) return <Empty>暂无考试成绩</Empty>;
  return (
    <div className="table-wrap">
      <table className="table" aria-label={label}>
        <thead>
          <tr>
            <th>考试科目</th>
            <th>考试日期</th>
            <th className="right">理论成绩</th>
            <th className="right">及格分</th>
            <th className="right">实操成绩</th>
            <th>结果</th>
            <th>审核时间</th>
          </tr>
        </thead>
        <tbody>
          {results.map((r) => (
            <tr key={r.attemptID} data-result={r.result}>
              <td>
                <div className="cell-main">{r.subjectName}</div>
                <div className="sub mono">{r.subjectCode}</div>
              </td>
              <td className="nowrap">{fmtDate(r.examDate)}</td>
              <td className="right num">{r.score ?? '—'}</td>
              <td className="right num">{r.passMark}</td>
              <td className="right num">{r.hasPractical ? (r.practicalScore ?? '待录入') : '—'}</td>
              <td>
                <StatusBadge map={RESULT} value={r.result} />
              </td>
              <td className="nowrap">{r.reviewedAt ? fmtTime(r.reviewedAt) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default function MyResults() {
  const q = useQuery(MINE);
  return (
    <>
      <PageHeader
        title="我的成绩"
        desc="正式考试的成绩。理论成绩达到及格分后须经管理部门审核，审核通过（有实操考试的科目还需实操合格）方为合格。"
        actions={
          <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
            刷新
          </Button>
        }
      />
      <Card>
        <QueryState q={q}>{(data) => <ResultTable results={data.myResults} label="我的成绩" />}</QueryState>
      </Card>
    </>
  );
}

/** Public: anyone may look a result up with the name and the ID number. */
export function ResultLookup() {
  const form = useForm({ name: '', idNumber: '' });
  const act = useAction(form);
  const [found, setFound] = useState(null);
  async function submit(ev) {
    ev.preventDefault();
    const errs = {};
    if (!form.values.name.trim()) errs.name = '请输入姓名';
    const idErr = residentIdError(form.values.idNumber);
    if (idErr) errs.idNumber = idErr;
    form.setErrors(errs);
    if (Object.keys(errs).length) return;
    const d = await act.run(() => gql(LOOKUP, { name: form.values.name.trim(), idNumber: form.values.idNumber.trim() }));
    if (d) setFound(d.lookupResults);
  }
  return (
    <AuthShell
      title="成绩查询"
      subtitle="输入考生姓名和居民身份证号码查询安全生产考试成绩"
      wide
      footer={
        <>
          <Link to="/login">返回登录</Link>
        </>
      }
    >
      <form onSubmit={submit} noValidate>
        <Field label="姓名" required autoComplete="name" error={form.errors.name} {...form.bind('name')} />
        <Field label="身份证号码" required autoComplete="off" error={form.errors.idNumber} {...form.bind('idNumber')} />
        <ErrorAlert error={act.error} />
        <Button type="submit" busy={act.busy} className="block">
          查询
        </Button>
      </form>
      {found &&
        (found.length ? (
          found.map((p) => (
            <div key={p.maskedID} className="lookup-result">
              <div className="section-title">
                {p.name} <span className="mono muted">{p.maskedID}</span>
              </div>
              <ResultTable results={p.results} label="查询结果" />
            </div>
          ))
        ) : (
          <div className="lookup-result">
            <Empty>未查到成绩，请核对姓名和身份证号码。</Empty>
          </div>
        ))}
    </AuthShell>
  );
}
