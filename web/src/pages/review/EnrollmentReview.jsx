import { useState } from 'react';
import { gql } from '../../api.js';
import { placeOf } from '../../examSessions.jsx';
import {
  ATTACHMENT_KIND_LABELS,
  CANDIDATE_TYPE_LABELS,
  EDUCATION_LABELS,
  ENROLLMENT_SOURCE_LABELS,
  ENROLLMENT_STATUS,
  PAYMENT_STATUS,
  SEX_LABELS,
  categoryLabel,
  fmtSpan,
  fmtTime,
  fmtYuan,
} from '../../format.js';
import ReviewActions from '../../reviewActions.jsx';
import { Alert, Button, Card, Empty, ErrorAlert, Loading, PageHeader, QueryState, StatusBadge, Tabs, Thumb, nodes, toast, useQuery } from '../../ui.jsx';

const LIST = `query EnrollmentReview($status: EnrollmentStatus!, $dir: OrderDirection!) {
  enrollments(first: 100, where: {status: $status}, orderBy: {field: SUBMITTED_AT, direction: $dir}) {
    totalCount
    edges { node {
      id status source submittedAt reviewedAt reviewReason feeCents paymentStatus candidateID
      candidate { id name idNumberMasked phone }
      company { id name }
      reviewDepartment { name }
      plan { name region { name } }
      subject { name category }
      session { startsAt durationMinutes room { name } site { name } }
    } }
  }
}`;
const DETAILS = `query CandidateDetails($userID: ID!) {
  profiles(first: 1, where: {userID: $userID}) { edges { node {
    candidateType category sex birthDate companyName companyID yearsInTrade education ethnicity address title postCode
  } } }
  profileCompleteness(userID: $userID) { complete missing { field label } category approvedHours requiredHours candidateType }
  attachmentsOf(userID: $userID) { id kind url fileName contentType createdAt }
}`;
const REVIEW = `mutation ReviewEnrollment($id: ID!, $approve: Boolean!, $reason: String) {
  reviewEnrollment(id: $id, approve: $approve, reason: $reason) { id status }
}`;

const TABS = [
  ['PENDING_REVIEW', '待审核'],
  ['APPROVED', '已通过'],
  ['REJECTED', '已驳回'],
];

export function CandidateDetails({ userID }) {
  const q = useQuery(DETAILS, { userID }, [userID]);
  if (q.error && !q.data) return <ErrorAlert error={q.error} />;
  if (!q.data) return <Loading>正在加载考生资料…</Loading>;
  const p = nodes(q.data.profiles)[0];
  const c = q.data.profileCompleteness;
  const files = q.data.attachmentsOf.filter((a) => !a.kind.startsWith('CHECKIN_'));
  return (
    <div className="details">
      {c.complete ? (
        <Alert kind="success">考生资料完整。</Alert>
      ) : (
        <Alert kind="warning" title="考生资料不完整">
          {c.missing.map((m) => m.label).join('、')}
        </Alert>
      )}
      {p ? (
        <dl className="kv">
          <dt>考生类型</dt>
          <dd>{CANDIDATE_TYPE_LABELS[p.candidateType] || '—'}</dd>
          <dt>考试类别</dt>
          <dd>{c.category ? categoryLabel(c.category) : '—'}</dd>
          <dt>性别</dt>
          <dd>{SEX_LABELS[p.sex] || '—'}</dd>
          <dt>出生日期</dt>
          <dd>{p.birthDate ? String(p.birthDate).slice(0, 10) : '—'}</dd>
          <dt>工作单位</dt>
          <dd>
            {p.companyName || '—'}
            {p.companyID && <span className="sub-inline">（已注册单位）</span>}
          </dd>
          <dt>从业年限</dt>
          <dd>{p.yearsInTrade != null ? `${p.yearsInTrade} 年` : '—'}</dd>
          <dt>文化程度</dt>
          <dd>{EDUCATION_LABELS[p.education] || '—'}</dd>
          <dt>民族</dt>
          <dd>{p.ethnicity || '—'}</dd>
          <dt>职务职称</dt>
          <dd>{p.title || '—'}</dd>
          <dt>邮政编码</dt>
          <dd>{p.postCode || '—'}</dd>
          <dt>通讯地址</dt>
          <dd>{p.address || '—'}</dd>
          {c.candidateType === 'NON_SOCIAL' && (
            <>
              <dt>已审学时</dt>
              <dd>
                {c.approvedHours} / {c.requiredHours}
              </dd>
            </>
          )}
        </dl>
      ) : (
        <Empty>考生尚未填写个人资料</Empty>
      )}
      <div className="section-title" style={{ marginTop: 14 }}>
        证件及证明材料
      </div>
      {files.length ? (
        <div className="thumbs">
          {files.map((a) => (
            <figure key={a.id}>
              <Thumb url={a.url} contentType={a.contentType} fileName={a.fileName} label={ATTACHMENT_KIND_LABELS[a.kind]} />
              {ATTACHMENT_KIND_LABELS[a.kind] || a.kind}
            </figure>
          ))}
        </div>
      ) : (
        <span className="muted">未上传材料</span>
      )}
    </div>
  );
}

function Item({ e, onDone }) {
  const [open, setOpen] = useState(false);
  return (
    <li className="review-item" data-enrollment={e.id}>
      <div className="review-info">
        <div className="review-name">
          {e.candidate?.name}
          <span className="sub-inline mono">{e.candidate?.idNumberMasked}</span>
          <StatusBadge map={ENROLLMENT_STATUS} value={e.status} />
          {e.status === 'APPROVED' && <StatusBadge map={PAYMENT_STATUS} value={e.paymentStatus} />}
        </div>
        <dl className="kv">
          <dt>报考科目</dt>
          <dd>{e.subject?.name}</dd>
          <dt>考试批次</dt>
          <dd>
            {e.plan?.name}
            {e.plan?.region?.name ? `（${e.plan.region.name}）` : ''}
          </dd>
          <dt>考试时间</dt>
          <dd>{e.session ? fmtSpan(e.session.startsAt, e.session.durationMinutes) : '—'}</dd>
          <dt>考点考场</dt>
          <dd>{e.session ? placeOf(e.session) : '—'}</dd>
          <dt>报名方式</dt>
          <dd>
            {ENROLLMENT_SOURCE_LABELS[e.source] || e.source}
            {e.company?.name ? ` · ${e.company.name}` : ''}
          </dd>
          <dt>联系电话</dt>
          <dd className="mono">{e.candidate?.phone || '—'}</dd>
          <dt>报名费</dt>
          <dd>{fmtYuan(e.feeCents)} 元</dd>
          <dt>提交时间</dt>
          <dd>{fmtTime(e.submittedAt)}</dd>
          {e.reviewedAt && (
            <>
              <dt>审核</dt>
              <dd>
                {e.reviewDepartment?.name || '—'} · {fmtTime(e.reviewedAt)}
              </dd>
            </>
          )}
          {e.status === 'REJECTED' && (
            <>
              <dt>驳回原因</dt>
              <dd>{e.reviewReason || '—'}</dd>
            </>
          )}
        </dl>
        {open && <CandidateDetails userID={e.candidateID} />}
      </div>
      <div className="review-actions">
        {e.status === 'PENDING_REVIEW' ? (
          <ReviewActions
            approve={() => gql(REVIEW, { id: e.id, approve: true })}
            reject={(reason) => gql(REVIEW, { id: e.id, approve: false, reason })}
            placeholder="请填写驳回原因，考生可据此更正后重新提交"
            onDone={(ok) => {
              toast(ok ? `已通过${e.candidate?.name || ''}的报名` : `已驳回${e.candidate?.name || ''}的报名`);
              onDone(e.id);
            }}
          >
            <Button small kind="ghost" onClick={() => setOpen((v) => !v)}>
              {open ? '收起资料' : '查看资料'}
            </Button>
          </ReviewActions>
        ) : (
          <Button small kind="ghost" onClick={() => setOpen((v) => !v)}>
            {open ? '收起资料' : '查看资料'}
          </Button>
        )}
      </div>
    </li>
  );
}

export default function EnrollmentReview({ me }) {
  const [status, setStatus] = useState('PENDING_REVIEW');
  const q = useQuery(LIST, { status, dir: status === 'PENDING_REVIEW' ? 'ASC' : 'DESC' }, [status]);
  const [done, setDone] = useState(() => new Set());
  const noDept = me.role === 'REVIEWER' && !me.organization;

  return (
    <>
      <PageHeader
        title="报名审核"
        desc="核对考生资料与报考条件，通过或驳回报名。驳回须说明原因，座位随即释放，考生可更正后重新提交。"
        actions={
          <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
            刷新
          </Button>
        }
      />
      {noDept && <Alert kind="warning">您的账号未关联管理部门，不能审核报名，请联系管理员。</Alert>}
      <Card
        title={`${TABS.find((t) => t[0] === status)[1]}的报名${q.data ? `（${q.data.enrollments.totalCount}）` : ''}`}
        actions={<Tabs tabs={TABS} value={status} onChange={setStatus} label="审核状态" />}
      >
        <QueryState q={q}>
          {(data) => {
            const list = nodes(data.enrollments).filter((e) => !(status === 'PENDING_REVIEW' && done.has(e.id)));
            if (!list.length) return <Empty>{status === 'PENDING_REVIEW' ? '没有待审核的报名' : '暂无记录'}</Empty>;
            return (
              <ul className="review-list" aria-label="报名列表">
                {list.map((e) => (
                  <Item key={e.id} e={e} onDone={(id) => setDone((s) => new Set([...s, id]))} />
                ))}
              </ul>
            );
          }}
        </QueryState>
      </Card>
    </>
  );
}
