import { useState } from 'react';
import { downloadDocument, gql } from '../../api.js';
import { SESSION_FIELDS, Seats, placeOf } from '../../examSessions.jsx';
import { takeFlash } from '../../flash.js';
import {
  ENROLLMENT_SOURCE_LABELS,
  ENROLLMENT_STATUS,
  PAYMENT_METHOD_LABELS,
  PAYMENT_STATUS,
  fmtSpan,
  fmtTime,
  fmtYuan,
} from '../../format.js';
import { PledgeCheck, PledgeText } from '../../pledge.jsx';
import { BankTransferDialog, CANCEL_PAYMENT, PayButton, payOnline, resumeOnline } from '../../payments.jsx';
import { useReloadOnNotify } from '../../notify.js';
import { Link } from '../../router.jsx';
import {
  Alert,
  Badge,
  Button,
  Card,
  ConfirmButton,
  Empty,
  ErrorAlert,
  Modal,
  PageHeader,
  QueryState,
  StatusBadge,
  nodes,
  toast,
  useDialog,
  useQuery,
} from '../../ui.jsx';

export const ENROLLMENT_FIELDS = `id status source paymentStatus feeCents submittedAt reviewedAt reviewReason paidAt
  ticketNo admissionTicketOpensAt checkedInAt planID subjectID sessionID candidateID
  reviewDepartment { id name }
  plan { id name region { name } }
  subject { id name }
  session { id startsAt durationMinutes room { name location } site { name address } }
  payments { id method status amountCents orderNo reason createdAt paidAt }`;

const LIST = `query MyEnrollments { myEnrollments { ${ENROLLMENT_FIELDS} } serverTime }`;
const CANCEL = `mutation CancelEnrollment($id: ID!) { cancelEnrollment(id: $id) { id status } }`;
const PLAN_SESSIONS = `query PlanSessions($planID: ID!, $subjectID: ID!) {
  examSessions(first: 200, where: {planID: $planID, subjectID: $subjectID, status: SCHEDULED}, orderBy: {field: STARTS_AT, direction: ASC}) {
    edges { node { ${SESSION_FIELDS} } }
  }
  serverTime
}`;
const RESUBMIT = `mutation ResubmitEnrollment($id: ID!, $input: ResubmitEnrollmentInput!) {
  resubmitEnrollment(id: $id, input: $input) { id status }
}`;
const MOVE = `mutation MoveSeat($id: ID!, $to: ID!) { moveSeat(id: $id, toSessionID: $to) { id sessionID } }`;

const BACK = '/my/enrollments';

/** A session picker for an enrollment's plan and subject (resubmit, move). */
function SessionPicker({ enrollment, value, onChange, exclude }) {
  const q = useQuery(PLAN_SESSIONS, { planID: enrollment.planID, subjectID: enrollment.subjectID }, [enrollment.id]);
  return (
    <QueryState q={q}>
      {(data) => {
        const now = new Date(data.serverTime).getTime();
        const list = nodes(data.examSessions).filter((s) => s.id !== exclude && new Date(s.startsAt).getTime() > now);
        if (!list.length) return <Empty>该批次本科目暂无其他可选场次</Empty>;
        return (
          <div className="table-wrap">
            <table className="table compact" aria-label="可选场次">
              <thead>
                <tr>
                  <th />
                  <th>考试时间</th>
                  <th>考点 · 考场</th>
                  <th className="right">剩余座位</th>
                </tr>
              </thead>
              <tbody>
                {list.map((s) => (
                  <tr key={s.id} className={s.remainingSeats <= 0 ? 'inactive' : ''}>
                    <td>
                      <input
                        type="radio"
                        name={`session-${enrollment.id}`}
                        aria-label={fmtSpan(s.startsAt, s.durationMinutes)}
                        checked={value === s.id}
                        disabled={s.remainingSeats <= 0}
                        onChange={() => onChange(s.id)}
                      />
                    </td>
                    <td className="nowrap">{fmtSpan(s.startsAt, s.durationMinutes)}</td>
                    <td>{placeOf(s)}</td>
                    <td className="right">
                      <Seats s={s} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      }}
    </QueryState>
  );
}

export function ResubmitDialog({ enrollment, onClose, onDone, company = false }) {
  const [sessionID, setSessionID] = useState(enrollment.sessionID || '');
  const [accepted, setAccepted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function submit() {
    setBusy(true);
    setError(null);
    try {
      await gql(RESUBMIT, { id: enrollment.id, input: { sessionID, pledgeAccepted: accepted } });
      toast('已重新提交，请等待审核');
      onDone();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }
  return (
    <Modal
      title="重新提交报名"
      wide
      onClose={onClose}
      footer={
        <>
          <Button kind="ghost" onClick={onClose}>
            取消
          </Button>
          <Button onClick={submit} busy={busy} disabled={!sessionID || !accepted}>
            重新提交
          </Button>
        </>
      }
    >
      <Alert kind="warning" title="驳回原因">
        {enrollment.reviewReason || '未说明'}
      </Alert>
      <p className="muted" style={{ marginTop: 0 }}>
        {company ? (
          '请先通知考生按驳回原因更正个人资料或重新上传材料，再选择场次重新提交。'
        ) : (
          <>
            请先按驳回原因在 <Link to="/profile">个人资料</Link> 中更正信息或重新上传材料，再选择场次重新提交。
          </>
        )}
      </p>
      <div className="section-title">选择场次（{enrollment.subject.name}）</div>
      <SessionPicker enrollment={enrollment} value={sessionID} onChange={setSessionID} />
      <div style={{ marginTop: 16 }}>
        <PledgeText company={company} />
        <PledgeCheck checked={accepted} onChange={setAccepted} company={company} />
      </div>
      {error && (
        <div style={{ marginTop: 14 }}>
          <ErrorAlert error={error} />
        </div>
      )}
    </Modal>
  );
}

export function MoveDialog({ enrollment, onClose, onDone }) {
  const [sessionID, setSessionID] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function submit() {
    setBusy(true);
    setError(null);
    try {
      await gql(MOVE, { id: enrollment.id, to: sessionID });
      toast('考场已调换');
      onDone();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }
  const s = enrollment.session;
  return (
    <Modal
      title="调换考场"
      wide
      onClose={onClose}
      footer={
        <>
          <Button kind="ghost" onClick={onClose}>
            取消
          </Button>
          <Button onClick={submit} busy={busy} disabled={!sessionID}>
            确认调换
          </Button>
        </>
      }
    >
      <dl className="summary">
        <dt>当前场次</dt>
        <dd>
          {s ? fmtSpan(s.startsAt, s.durationMinutes) : '—'} · {placeOf(s)}
        </dd>
      </dl>
      <p className="muted" style={{ marginTop: 0 }}>
        只能调换到同一批次、同一科目尚有空位的场次。新座位确认后才会释放原座位，调换失败时原座位保留。
      </p>
      <SessionPicker enrollment={enrollment} value={sessionID} onChange={setSessionID} exclude={enrollment.sessionID} />
      {error && (
        <div style={{ marginTop: 14 }}>
          <ErrorAlert error={error} />
        </div>
      )}
    </Modal>
  );
}

/** Download buttons for the registration form and the admission ticket. */
export function DocumentButtons({ e, now }) {
  const [busy, setBusy] = useState(null);
  const ticketReady = e.status === 'APPROVED' && e.paymentStatus === 'PAID';
  const opensAt = e.admissionTicketOpensAt ? new Date(e.admissionTicketOpensAt).getTime() : null;
  const ticketOpen = ticketReady && opensAt !== null && now >= opensAt;
  async function get(kind) {
    setBusy(kind);
    try {
      const path = kind === 'form' ? `/documents/forms/${e.id}.pdf` : `/documents/tickets/${e.id}.pdf`;
      const name = `${kind === 'form' ? '报名表' : '准考证'}-${e.subject?.name || ''}-${e.ticketNo || e.id}.pdf`;
      await downloadDocument(path, name);
    } catch (err) {
      toast(err.message || '下载失败', 'error');
    } finally {
      setBusy(null);
    }
  }
  return (
    <>
      {e.status !== 'CANCELLED' && (
        <Button small kind="ghost" busy={busy === 'form'} onClick={() => get('form')}>
          下载报名表
        </Button>
      )}
      {ticketReady &&
        (ticketOpen ? (
          <Button small kind="secondary" busy={busy === 'ticket'} onClick={() => get('ticket')}>
            下载准考证
          </Button>
        ) : (
          <span className="item-note">准考证将于 {fmtTime(e.admissionTicketOpensAt)} 起开放打印</span>
        ))}
    </>
  );
}

function PaymentNotes({ e }) {
  const list = [...(e.payments || [])].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  const latest = list[0];
  if (!latest) return null;
  if (latest.status === 'PENDING_CONFIRMATION') {
    return <Alert kind="info">银行转账凭证已提交（{fmtTime(latest.createdAt)}），等待管理部门确认到账。</Alert>;
  }
  if (latest.status === 'CREATED') {
    return <Alert kind="info">在线支付订单 {latest.orderNo} 尚未完成支付，可继续支付或取消后改用其他方式。</Alert>;
  }
  if (latest.status === 'REJECTED' && e.paymentStatus !== 'PAID') {
    return (
      <Alert kind="error" title="银行转账未被确认">
        {latest.reason || '请核对后重新缴费'}
      </Alert>
    );
  }
  if (latest.status === 'FAILED' && e.paymentStatus !== 'PAID') {
    return <Alert kind="error">在线支付未成功，请重新缴费。</Alert>;
  }
  return null;
}

function EnrollmentItem({ e, now, onChanged, open }) {
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const openOnline = (e.payments || []).find((p) => p.method === 'ONLINE' && p.status === 'CREATED');
  const paidBy = (e.payments || []).find((p) => p.status === 'PAID');

  async function run(kind, fn, done) {
    setBusy(kind);
    setError(null);
    try {
      await fn();
      if (done) toast(done);
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }

  const cancellable =
    (e.status === 'PENDING_REVIEW' || e.status === 'REJECTED' || e.status === 'APPROVED') && e.paymentStatus === 'UNPAID';

  return (
    <li className={`review-item ${e.status === 'CANCELLED' ? 'inactive' : ''}`} data-enrollment={e.id}>
      <div className="review-info">
        <div className="review-name">
          {e.subject?.name}
          <StatusBadge map={ENROLLMENT_STATUS} value={e.status} />
          {e.status === 'APPROVED' && <StatusBadge map={PAYMENT_STATUS} value={e.paymentStatus} />}
          {e.checkedInAt && <Badge kind="success">已签到</Badge>}
        </div>
        <dl className="kv">
          <dt>考试批次</dt>
          <dd>
            {e.plan?.name}
            {e.plan?.region?.name ? `（${e.plan.region.name}）` : ''}
          </dd>
          <dt>报名方式</dt>
          <dd>{ENROLLMENT_SOURCE_LABELS[e.source] || e.source}</dd>
          <dt>考试时间</dt>
          <dd>{e.session ? fmtSpan(e.session.startsAt, e.session.durationMinutes) : '—'}</dd>
          <dt>考点考场</dt>
          <dd>{e.session ? placeOf(e.session) : '—'}</dd>
          <dt>报名费</dt>
          <dd>{fmtYuan(e.feeCents)} 元</dd>
          <dt>准考证号</dt>
          <dd className="mono">{e.ticketNo || '—'}</dd>
          <dt>提交时间</dt>
          <dd>{fmtTime(e.submittedAt)}</dd>
          <dt>审核部门</dt>
          <dd>{e.reviewDepartment?.name || (e.status === 'PENDING_REVIEW' ? '待分配' : '—')}</dd>
          {e.reviewedAt && (
            <>
              <dt>审核时间</dt>
              <dd>{fmtTime(e.reviewedAt)}</dd>
            </>
          )}
          {paidBy && (
            <>
              <dt>缴费</dt>
              <dd>
                {PAYMENT_METHOD_LABELS[paidBy.method]} · {fmtTime(paidBy.paidAt || e.paidAt)}
              </dd>
            </>
          )}
          {e.status === 'REJECTED' && (
            <>
              <dt>驳回原因</dt>
              <dd className="reason">{e.reviewReason || '未说明'}</dd>
            </>
          )}
        </dl>
        {e.status === 'APPROVED' && e.paymentStatus !== 'PAID' && (
          <div style={{ marginTop: 10 }}>
            <PaymentNotes e={e} />
          </div>
        )}
        {e.status === 'APPROVED' && e.paymentStatus === 'UNPAID' && !(e.payments || []).length && (
          <div className="muted" style={{ marginTop: 8, fontSize: 13 }}>
            审核已通过，请缴纳报名费 {fmtYuan(e.feeCents)} 元。缴费后方可打印准考证。
          </div>
        )}
      </div>
      <div className="review-actions">
        <div className="item-actions">
          {e.status === 'APPROVED' && e.paymentStatus === 'UNPAID' && (
            <>
              <PayButton run={() => payOnline([e.id], BACK)}>在线支付</PayButton>
              <Button small kind="secondary" onClick={() => open({ kind: 'transfer', e })}>
                银行转账
              </Button>
            </>
          )}
          {openOnline && (
            <>
              <PayButton run={() => resumeOnline(openOnline.id, BACK)}>继续支付</PayButton>
              <ConfirmButton
                busy={busy === 'cancelPay'}
                confirm="取消该支付订单？"
                onConfirm={() => run('cancelPay', () => gql(CANCEL_PAYMENT, { id: openOnline.id }), '支付订单已取消')}
              >
                取消支付
              </ConfirmButton>
            </>
          )}
          {e.status === 'REJECTED' && (
            <Button small onClick={() => open({ kind: 'resubmit', e })}>
              重新提交
            </Button>
          )}
          {e.status === 'APPROVED' && e.paymentStatus === 'PAID' && e.session && (
            <Link to={`/exam?e=${e.id}`} className="btn btn-secondary btn-sm">
              在线考试
            </Link>
          )}
          {e.status === 'APPROVED' && e.paymentStatus === 'PAID' && !e.checkedInAt && (
            <Button small kind="secondary" onClick={() => open({ kind: 'move', e })}>
              调换考场
            </Button>
          )}
          <DocumentButtons e={e} now={now} />
          {cancellable && (
            <ConfirmButton
              busy={busy === 'cancel'}
              confirm="撤销后座位将释放"
              onConfirm={() => run('cancel', () => gql(CANCEL, { id: e.id }), '报名已撤销')}
            >
              撤销报名
            </ConfirmButton>
          )}
        </div>
        <ErrorAlert error={error} />
      </div>
    </li>
  );
}

export default function MyEnrollments() {
  const q = useQuery(LIST);
  const { dialog, setDialog, close, done } = useDialog(q.reload);
  const [flash] = useState(takeFlash);
  // Review results and payment confirmations arrive as notifications: refresh.
  useReloadOnNotify(q.reload);

  return (
    <>
      <PageHeader
        title="我的报名"
        desc="查看报名审核结果，缴纳报名费，调换考场，下载报名表和准考证。"
        actions={
          <>
            <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
              刷新
            </Button>
            <Link to="/enroll" className="btn btn-primary btn-sm">
              考试报名
            </Link>
          </>
        }
      />
      {flash && <Alert kind={flash.kind || 'info'}>{flash.message}</Alert>}
      <Card>
        <QueryState q={q}>
          {(data) => {
            const list = data.myEnrollments;
            if (!list.length)
              return (
                <Empty>
                  暂无报名记录。<Link to="/enroll">去报名 →</Link>
                </Empty>
              );
            const now = new Date(data.serverTime).getTime();
            return (
              <ul className="review-list" aria-label="报名记录">
                {list.map((e) => (
                  <EnrollmentItem key={e.id} e={e} now={now} onChanged={q.reload} open={setDialog} />
                ))}
              </ul>
            );
          }}
        </QueryState>
      </Card>
      {dialog?.kind === 'transfer' && (
        <BankTransferDialog
          enrollmentIDs={[dialog.e.id]}
          amountCents={dialog.e.feeCents}
          description={`${dialog.e.subject?.name}（${dialog.e.plan?.name}）`}
          onClose={close}
          onDone={done}
        />
      )}
      {dialog?.kind === 'resubmit' && <ResubmitDialog enrollment={dialog.e} onClose={close} onDone={done} />}
      {dialog?.kind === 'move' && <MoveDialog enrollment={dialog.e} onClose={close} onDone={done} />}
    </>
  );
}
