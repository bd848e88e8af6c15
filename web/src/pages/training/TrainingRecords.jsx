import { useState } from 'react';
import { gql } from '../../api.js';
import { EXAM_CATEGORIES, REVIEW_STATUS, TRAINING_RESULT_LABELS, categoryLabel, chinaDay, chinaTime, fmtDate, fmtTime } from '../../format.js';
import { residentIdError } from '../../idcard.js';
import { useCandidateNames } from '../../names.js';
import ReviewActions from '../../reviewActions.jsx';
import { Alert, Button, Card, Empty, ErrorAlert, Field, PageHeader, QueryState, StatusBadge, Tabs, nodes, toast, useAction, useForm, useQuery } from '../../ui.jsx';
import { personLabel } from '../company/StaffEnroll.jsx';

const FIELDS = 'id candidateID category hours startedOn finishedOn result score status reviewReason reviewedAt createdAt';
const LIST = `query TrainingRecords($status: ReviewStatus!) {
  trainingRecords(first: 200, where: {status: $status}, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount
    edges { node { ${FIELDS} } }
  }
}`;
const RECORD = `mutation RecordTraining($input: RecordTrainingInput!) { recordTraining(input: $input) { ${FIELDS} } }`;
const REVIEW = `mutation ReviewTraining($id: ID!, $approve: Boolean!, $reason: String) {
  reviewTraining(id: $id, approve: $approve, reason: $reason) { id status }
}`;

const TABS = [
  ['PENDING', '待审核'],
  ['APPROVED', '已通过'],
  ['REJECTED', '已驳回'],
];

const EMPTY = {
  candidateIdNumber: '',
  candidateName: '',
  category: 'C2',
  hours: '',
  startedOn: '',
  finishedOn: '',
  result: '',
  score: '',
};

function RecordForm({ onSaved }) {
  const f = useForm(EMPTY);
  const act = useAction(f);
  const [saved, setSaved] = useState(null);
  async function submit(e) {
    e.preventDefault();
    const v = f.values;
    const errs = {};
    const idNo = v.candidateIdNumber.trim().toUpperCase();
    if (!idNo) errs.candidateIdNumber = '请输入考生证件号码';
    else if (/^\d{17}[\dX]$/.test(idNo)) {
      const msg = residentIdError(idNo);
      if (msg) errs.candidateIdNumber = msg;
    }
    const hours = Number(v.hours);
    if (!v.hours || !Number.isFinite(hours) || hours <= 0 || hours > 200 || Math.round(hours * 2) !== hours * 2) {
      errs.hours = '学时为0.5的整数倍，且不超过200';
    }
    const today = chinaDay();
    if (!v.startedOn) errs.startedOn = '请选择开始日期';
    else if (v.startedOn > today) errs.startedOn = '开始日期不能晚于今天';
    if (v.finishedOn && v.startedOn && v.finishedOn < v.startedOn) errs.finishedOn = '结束日期不能早于开始日期';
    const score = v.score === '' ? null : Number(v.score);
    if (score !== null && (!Number.isInteger(score) || score < 0 || score > 100)) errs.score = '成绩为0-100的整数';
    f.setErrors(errs);
    setSaved(null);
    if (Object.keys(errs).length) return;
    const input = {
      candidateIdNumber: idNo,
      candidateName: v.candidateName.trim() || null,
      details: {
        category: v.category,
        hours,
        startedOn: chinaTime(v.startedOn),
        finishedOn: v.finishedOn ? chinaTime(v.finishedOn) : null,
        result: v.result || null,
        score,
      },
    };
    const d = await act.run(() => gql(RECORD, { input }));
    if (d) {
      setSaved({ ...d.recordTraining, name: v.candidateName.trim(), idNo });
      toast('培训记录已录入，待审核');
      f.reset();
      onSaved();
    }
  }
  return (
    <form onSubmit={submit} noValidate className="grid-3">
      <Field label="考生证件号码" required error={f.errors.candidateIdNumber} {...f.bind('candidateIdNumber')} autoComplete="off" placeholder="考生登录用的证件号码" />
      <Field label="考生姓名" error={f.errors.candidateName} hint="填写后将与账号姓名核对，防止录错人" {...f.bind('candidateName')} />
      <Field label="培训类别" required error={f.errors.category}>
        <select {...f.bind('category')}>
          {EXAM_CATEGORIES.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </Field>
      <Field label="学时" required error={f.errors.hours} {...f.bind('hours')} type="number" min={0.5} step={0.5} max={200} extra={<span className="unit">学时</span>} />
      <Field label="开始日期" required error={f.errors.startedOn} {...f.bind('startedOn')} type="date" />
      <Field label="结束日期" error={f.errors.finishedOn} hint="培训仍在进行可不填" {...f.bind('finishedOn')} type="date" />
      <Field label="培训结果" error={f.errors.result}>
        <select {...f.bind('result')}>
          <option value="">未评定</option>
          {Object.entries(TRAINING_RESULT_LABELS).map(([k, l]) => (
            <option key={k} value={k}>
              {l}
            </option>
          ))}
        </select>
      </Field>
      <Field label="考核成绩" error={f.errors.score} {...f.bind('score')} type="number" min={0} max={100} extra={<span className="unit">分</span>} />
      <div className="field field-submit">
        <Button type="submit" busy={act.busy}>
          录入培训记录
        </Button>
      </div>
      <div className="span-3">
        {saved && (
          <Alert kind="success">
            已录入 {saved.name || saved.idNo} 的{categoryLabel(saved.category)}培训 {saved.hours} 学时，审核通过后计入考生学时。
          </Alert>
        )}
        <ErrorAlert error={act.error} />
      </div>
    </form>
  );
}

export default function TrainingRecords() {
  const [status, setStatus] = useState('PENDING');
  const q = useQuery(LIST, { status }, [status]);
  const list = nodes(q.data?.trainingRecords);
  const names = useCandidateNames(list.map((r) => r.candidateID));
  const [done, setDone] = useState(() => new Set());
  const shown = list.filter((r) => !(status === 'PENDING' && done.has(r.id)));

  return (
    <>
      <PageHeader
        title="培训记录"
        desc="录入考生的培训学时与考核结果，审核通过后计入考生学时。非社会化考生须满32学时方可报名。"
      />
      <Card title="录入培训记录">
        <RecordForm
          onSaved={() => {
            if (status === 'PENDING') q.reload();
            else setStatus('PENDING');
          }}
        />
      </Card>
      <Card
        title={`${TABS.find((t) => t[0] === status)[1]}的培训记录${q.data ? `（${q.data.trainingRecords.totalCount}）` : ''}`}
        actions={
          <div className="row gap">
            <Button small kind="ghost" onClick={q.reload} busy={q.loading && !!q.data}>
              刷新
            </Button>
            <Tabs tabs={TABS} value={status} onChange={setStatus} label="审核状态" />
          </div>
        }
      >
        <QueryState q={q}>
          {() =>
            !shown.length ? (
              <Empty>{status === 'PENDING' ? '没有待审核的培训记录' : '暂无记录'}</Empty>
            ) : (
              <ul className="review-list" aria-label="培训记录">
                {shown.map((r) => {
                  const who = personLabel(names, r.candidateID);
                  return (
                    <li key={r.id} className="review-item" data-record={r.id}>
                      <div className="review-info">
                        <div className="review-name">
                          {who.name}
                          <span className="sub-inline mono">{who.sub}</span>
                          <StatusBadge map={REVIEW_STATUS} value={r.status} />
                        </div>
                        <dl className="kv">
                          <dt>培训类别</dt>
                          <dd>{categoryLabel(r.category)}</dd>
                          <dt>学时</dt>
                          <dd>{r.hours}</dd>
                          <dt>培训日期</dt>
                          <dd>
                            {fmtDate(r.startedOn)} 至 {r.finishedOn ? fmtDate(r.finishedOn) : '进行中'}
                          </dd>
                          <dt>结果</dt>
                          <dd>
                            {TRAINING_RESULT_LABELS[r.result] || '未评定'}
                            {r.score != null ? ` · ${r.score} 分` : ''}
                          </dd>
                          <dt>录入时间</dt>
                          <dd>{fmtTime(r.createdAt)}</dd>
                          {r.reviewedAt && (
                            <>
                              <dt>审核时间</dt>
                              <dd>{fmtTime(r.reviewedAt)}</dd>
                            </>
                          )}
                          {r.status === 'REJECTED' && (
                            <>
                              <dt>驳回原因</dt>
                              <dd>{r.reviewReason || '—'}</dd>
                            </>
                          )}
                        </dl>
                      </div>
                      {r.status === 'PENDING' && (
                        <ReviewActions
                          approve={() => gql(REVIEW, { id: r.id, approve: true })}
                          reject={(reason) => gql(REVIEW, { id: r.id, approve: false, reason })}
                          placeholder="请填写驳回原因，将通知考生"
                          onDone={(ok) => {
                            toast(ok ? '培训记录已通过' : '培训记录已驳回');
                            setDone((s) => new Set([...s, r.id]));
                          }}
                        />
                      )}
                    </li>
                  );
                })}
              </ul>
            )
          }
        </QueryState>
      </Card>
    </>
  );
}
