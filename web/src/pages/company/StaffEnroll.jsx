import { useMemo, useRef, useState } from 'react';
import { gql } from '../../api.js';
import { SessionSearch, SessionSummary, placeOf } from '../../examSessions.jsx';
import {
  CANDIDATE_TYPE_LABELS,
  EDUCATION_LABELS,
  ENROLLMENT_STATUS,
  PAYMENT_STATUS,
  SEX_LABELS,
  categoryLabel,
  fmtSpan,
  fmtTime,
} from '../../format.js';
import { useCandidateNames } from '../../names.js';
import { PledgeCheck, PledgeText } from '../../pledge.jsx';
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
  useQuery,
  useRowAction,
} from '../../ui.jsx';
import { ENROLLMENT_FIELDS, MoveDialog, ResubmitDialog } from '../candidate/MyEnrollments.jsx';

const STAFF = `query CompanyStaff($companyID: ID!) {
  profiles(first: 500, where: {companyID: $companyID}, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount
    edges { node { id userID candidateType category sex birthDate yearsInTrade education updatedAt } }
  }
}`;
const ENROLLMENTS = `query CompanyEnrollments { myEnrollments { ${ENROLLMENT_FIELDS} } }`;
const ENROLL_STAFF = `mutation EnrollStaff($input: EnrollStaffInput!) { enrollStaff(input: $input) { id status } }`;
const CANCEL = `mutation CancelEnrollment($id: ID!) { cancelEnrollment(id: $id) { id status } }`;

/** profileCompleteness for many candidates in one request. */
function completenessQuery(ids) {
  if (!ids.length) return null;
  const fields = ids.map((id, i) => `c${i}: profileCompleteness(userID: ${JSON.stringify(id)}) { complete missing { label } category }`);
  return `query StaffCompleteness { ${fields.join('\n')} }`;
}

export function personLabel(names, userID, profile) {
  if (!names) return { name: '…', sub: '' };
  const n = names[userID];
  if (n) return { name: n.name, sub: n.idNumberMasked || '' };
  const bits = [];
  if (profile?.sex) bits.push(SEX_LABELS[profile.sex]);
  if (profile?.birthDate) bits.push(`${String(profile.birthDate).slice(0, 10)} 出生`);
  return { name: `考生 ${String(userID).slice(-4)}`, sub: bits.join(' · '), hidden: true };
}

function EnrollStaffDialog({ session, chosen, names, onClose, onDone }) {
  const [accepted, setAccepted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function submit() {
    setBusy(true);
    setError(null);
    try {
      const d = await gql(ENROLL_STAFF, {
        input: { sessionID: session.id, candidateIDs: chosen.map((p) => p.userID), pledgeAccepted: accepted },
      });
      toast(`已为 ${d.enrollStaff.length} 名职工提交报名，等待审核`);
      onDone();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }
  return (
    <Modal
      title="职工报名确认"
      wide
      onClose={onClose}
      footer={
        <>
          <Button kind="ghost" onClick={onClose}>
            取消
          </Button>
          <Button onClick={submit} busy={busy} disabled={!accepted}>
            确认报名（{chosen.length} 人）
          </Button>
        </>
      }
    >
      <SessionSummary
        s={session}
        extra={
          <>
            <dt>报名人员</dt>
            <dd>{chosen.map((p) => personLabel(names, p.userID, p).name).join('、')}</dd>
          </>
        }
      />
      <Alert kind="info">同一场次的报名全部成功或全部不成功；剩余座位不足时不会占用任何座位。</Alert>
      <PledgeText company />
      <PledgeCheck checked={accepted} onChange={setAccepted} company />
      {error && (
        <div style={{ marginTop: 14 }}>
          <ErrorAlert error={error} />
        </div>
      )}
    </Modal>
  );
}

function StaffTable({ staff, comp, names, selected, toggle }) {
  if (!staff.length) {
    return (
      <Empty>
        暂无关联本单位的考生。考生在“个人资料”中填写的工作单位与本单位注册名称完全一致时，会显示在这里。
      </Empty>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table" aria-label="本单位考生">
        <thead>
          <tr>
            <th />
            <th>考生</th>
            <th>考生类型</th>
            <th>考试类别</th>
            <th>文化程度</th>
            <th className="right">从业年限</th>
            <th>资料</th>
          </tr>
        </thead>
        <tbody>
          {staff.map((p, i) => {
            const c = comp?.[`c${i}`];
            const who = personLabel(names, p.userID, p);
            return (
              <tr key={p.id} className={selected.has(p.userID) ? 'current' : ''}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`选择${who.name}`}
                    checked={selected.has(p.userID)}
                    disabled={c && !c.complete}
                    onChange={() => toggle(p.userID)}
                  />
                </td>
                <td>
                  <div className="cell-main">{who.name}</div>
                  <div className="sub">{who.sub}</div>
                </td>
                <td>{CANDIDATE_TYPE_LABELS[p.candidateType] || '—'}</td>
                <td>{c?.category || p.category ? categoryLabel(c?.category || p.category) : '—'}</td>
                <td>{EDUCATION_LABELS[p.education] || '—'}</td>
                <td className="right num">{p.yearsInTrade ?? '—'}</td>
                <td>
                  {!c ? (
                    <span className="muted">…</span>
                  ) : c.complete ? (
                    <Badge kind="success">完整</Badge>
                  ) : (
                    <span title={c.missing.map((m) => m.label).join('、')}>
                      <Badge kind="warning">缺 {c.missing.length} 项</Badge>
                    </span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function EnrollmentsTable({ q, names, onChanged, open }) {
  const { busy, error, run } = useRowAction();
  function cancel(e) {
    return run(e.id, async () => {
      await gql(CANCEL, { id: e.id });
      toast('报名已撤销');
      onChanged();
    });
  }
  return (
    <QueryState q={q}>
      {(data) => {
        const list = data.myEnrollments;
        if (!list.length) return <Empty>暂无报名记录</Empty>;
        return (
          <>
            <ErrorAlert error={error} />
            <div className="table-wrap">
              <table className="table" aria-label="本单位报名记录">
                <thead>
                  <tr>
                    <th>考生</th>
                    <th>报考科目</th>
                    <th>考试时间 · 考场</th>
                    <th>审核</th>
                    <th>缴费</th>
                    <th>提交时间</th>
                    <th className="right">操作</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((e) => {
                    const who = personLabel(names, e.candidateID);
                    return (
                      <tr key={e.id} className={e.status === 'CANCELLED' ? 'inactive' : ''} data-enrollment={e.id}>
                        <td className="cell-main">{who.name}</td>
                        <td>
                          {e.subject?.name}
                          <div className="sub">{e.plan?.name}</div>
                        </td>
                        <td>
                          {e.session ? fmtSpan(e.session.startsAt, e.session.durationMinutes) : '—'}
                          <div className="sub">{e.session ? placeOf(e.session) : ''}</div>
                        </td>
                        <td>
                          <StatusBadge map={ENROLLMENT_STATUS} value={e.status} />
                          {e.status === 'REJECTED' && <div className="sub">{e.reviewReason}</div>}
                        </td>
                        <td>{e.status === 'APPROVED' ? <StatusBadge map={PAYMENT_STATUS} value={e.paymentStatus} /> : '—'}</td>
                        <td className="nowrap">{fmtTime(e.submittedAt)}</td>
                        <td className="right nowrap">
                          {e.status === 'REJECTED' && (
                            <Button small kind="ghost" onClick={() => open({ kind: 'resubmit', e })}>
                              重新提交
                            </Button>
                          )}
                          {e.status === 'APPROVED' && e.paymentStatus === 'PAID' && !e.checkedInAt && (
                            <Button small kind="ghost" onClick={() => open({ kind: 'move', e })}>
                              调换考场
                            </Button>
                          )}
                          {e.status !== 'CANCELLED' && e.paymentStatus === 'UNPAID' && (
                            <ConfirmButton busy={busy === e.id} confirm="撤销后座位将释放" onConfirm={() => cancel(e)}>
                              撤销
                            </ConfirmButton>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </>
        );
      }}
    </QueryState>
  );
}

export default function StaffEnroll({ me }) {
  const org = me.organization;
  const approved = org?.status === 'APPROVED';
  const staffQ = useQuery(org ? STAFF : null, { companyID: org?.id }, [org?.id]);
  const staff = useMemo(() => nodes(staffQ.data?.profiles), [staffQ.data]);
  const compQ = useQuery(completenessQuery(staff.map((p) => p.userID)), {}, [staff.map((p) => p.id).join()]);
  const enrQ = useQuery(ENROLLMENTS);
  useReloadOnNotify(enrQ.reload);
  const names = useCandidateNames([...staff.map((p) => p.userID), ...(enrQ.data?.myEnrollments || []).map((e) => e.candidateID)]);
  const [selected, setSelected] = useState(() => new Set());
  const [session, setSession] = useState(null);
  const [dialog, setDialog] = useState(null);
  const reloadSearch = useRef(null);
  const namesHidden = staff.length > 0 && names && !Object.keys(names).length;

  const toggle = (id) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const chosen = staff.filter((p) => selected.has(p.userID));

  return (
    <>
      <PageHeader
        title="员工报名"
        desc="勾选本单位考生，查询并选择考试场次，一次为多名职工报名。报名经管理部门审核通过后，可在“缴费”中统一缴费。"
        actions={
          <Link to="/company/pay" className="btn btn-secondary btn-sm">
            去缴费
          </Link>
        }
      />
      {!approved && <Alert kind="warning">单位注册尚未审核通过，暂不能为职工报名。</Alert>}
      {namesHidden && (
        <Alert kind="info">
          暂时无法读取考生姓名及证件号码，以下以考生编号、性别和出生日期区分，请与考生核对后报名。
        </Alert>
      )}
      <Card
        title={`本单位考生${staffQ.data ? `（${staffQ.data.profiles.totalCount}）` : ''}`}
        actions={selected.size > 0 && <span className="muted">已选 {selected.size} 人</span>}
      >
        <QueryState q={staffQ}>{() => <StaffTable staff={staff} comp={compQ.data} names={names} selected={selected} toggle={toggle} />}</QueryState>
        <ErrorAlert error={compQ.error} />
      </Card>
      {approved && staff.length > 0 && !selected.size && (
        <Alert kind="info">请先在上方勾选要报名的考生（资料完整者方可勾选），再在下方选择考试场次。</Alert>
      )}
      <SessionSearch
        title="选择考试场次"
        reloadRef={reloadSearch}
        action={(s) => (
          <Button small disabled={!approved || !selected.size || s.remainingSeats < selected.size} onClick={() => setSession(s)}>
            {s.remainingSeats < selected.size ? '座位不足' : selected.size ? `为 ${selected.size} 人报名` : '报名'}
          </Button>
        )}
      />
      <Card title="本单位报名记录" actions={<Button small kind="secondary" onClick={enrQ.reload}>刷新</Button>}>
        <EnrollmentsTable q={enrQ} names={names} onChanged={enrQ.reload} open={setDialog} />
      </Card>
      {session && (
        <EnrollStaffDialog
          session={session}
          chosen={chosen}
          names={names}
          onClose={() => setSession(null)}
          onDone={() => {
            setSession(null);
            setSelected(new Set());
            enrQ.reload();
            reloadSearch.current?.();
          }}
        />
      )}
      {dialog?.kind === 'resubmit' && (
        <ResubmitDialog
          company
          enrollment={dialog.e}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            enrQ.reload();
          }}
        />
      )}
      {dialog?.kind === 'move' && (
        <MoveDialog
          enrollment={dialog.e}
          onClose={() => setDialog(null)}
          onDone={() => {
            setDialog(null);
            enrQ.reload();
          }}
        />
      )}
    </>
  );
}
