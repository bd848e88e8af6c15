import { useState } from 'react';
import { gql } from '../../api.js';
import { PLAN_STATUS, fmtDate, fmtTime } from '../../format.js';
import { PLAN_FIELDS, PLAN_SESSION_FIELDS, PlanSessionsTable } from '../../plans.jsx';
import { Button, Card, ConfirmButton, Empty, ErrorAlert, PageHeader, QueryState, StatusBadge, Tabs, nodes, toast, useQuery } from '../../ui.jsx';

const LIST = `query PlanQueue($status: PlanStatus!) {
  examPlans(first: 100, where: {status: $status}, orderBy: {field: EXAM_FROM, direction: ASC}) {
    totalCount
    edges { node {
      ${PLAN_FIELDS}
      sessions(first: 200, orderBy: {field: STARTS_AT, direction: ASC}) { totalCount edges { node { ${PLAN_SESSION_FIELDS} } } }
    } }
  }
}`;
const SUBMIT = `mutation SubmitExamPlan($id: ID!) { submitExamPlan(id: $id) { id status submittedAt } }`;

const TABS = [
  ['DRAFT', '未提交'],
  ['SUBMITTED', '已提交'],
];

function PlanItem({ plan, onDone }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const sessions = nodes(plan.sessions);
  const seats = sessions.reduce((n, s) => n + s.taken, 0);

  async function submit() {
    setBusy(true);
    setError(null);
    try {
      await gql(SUBMIT, { id: plan.id });
      toast(`考试计划“${plan.name}”已提交`);
      onDone(plan.id);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }

  return (
    <li className="review-item" data-plan={plan.id}>
      <div className="review-info">
        <div className="review-name">
          {plan.name}
          <StatusBadge map={PLAN_STATUS} value={plan.status} />
        </div>
        <dl className="kv">
          <dt>制定机构</dt>
          <dd>{plan.trainingOrg?.name || '省总站（在线报名）'}</dd>
          <dt>所属地区</dt>
          <dd>{plan.region?.name}</dd>
          <dt>报名时间</dt>
          <dd>
            {fmtTime(plan.enrollStartsAt)} 至 {fmtTime(plan.enrollEndsAt)}
          </dd>
          <dt>考试日期</dt>
          <dd>
            {fmtDate(plan.examFrom)} 至 {fmtDate(plan.examTo)}
          </dd>
          <dt>场次</dt>
          <dd>
            {plan.sessions.totalCount} 场，已安排 {seats} 人
          </dd>
          <dt>{plan.submittedAt ? '提交时间' : '创建时间'}</dt>
          <dd>{fmtTime(plan.submittedAt || plan.createdAt)}</dd>
        </dl>
        {open && (
          <div className="details">
            <PlanSessionsTable sessions={sessions} />
          </div>
        )}
      </div>
      <div className="review-actions">
        <div className="row gap">
          <Button small kind="ghost" onClick={() => setOpen((v) => !v)}>
            {open ? '收起场次' : '查看场次'}
          </Button>
          {plan.status === 'DRAFT' && (
            <ConfirmButton kind="primary" busy={busy} confirm="提交后计划不能再修改" onConfirm={submit}>
              提交计划
            </ConfirmButton>
          )}
        </div>
        <ErrorAlert error={error} />
      </div>
    </li>
  );
}

export default function PlanSubmit() {
  const [status, setStatus] = useState('DRAFT');
  const q = useQuery(LIST, { status }, [status]);
  const [done, setDone] = useState(() => new Set());
  return (
    <>
      <PageHeader
        title="考试计划提交"
        desc="核对培训机构制定的考试计划及场次安排。计划提交后即锁定，不能再修改场次和考生安排。"
        actions={
          <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
            刷新
          </Button>
        }
      />
      <Card
        title={`${TABS.find((t) => t[0] === status)[1]}的考试计划${q.data ? `（${q.data.examPlans.totalCount}）` : ''}`}
        actions={<Tabs tabs={TABS} value={status} onChange={setStatus} label="计划状态" />}
      >
        <QueryState q={q}>
          {(data) => {
            const list = nodes(data.examPlans).filter((p) => !(status === 'DRAFT' && done.has(p.id)));
            if (!list.length) return <Empty>{status === 'DRAFT' ? '没有待提交的考试计划' : '暂无记录'}</Empty>;
            return (
              <ul className="review-list" aria-label="考试计划列表">
                {list.map((p) => (
                  <PlanItem key={p.id} plan={p} onDone={(id) => setDone((s) => new Set([...s, id]))} />
                ))}
              </ul>
            );
          }}
        </QueryState>
      </Card>
    </>
  );
}
