import { useRef, useState } from 'react';
import { gql } from '../../api.js';
import { SessionSearch, SessionSummary } from '../../examSessions.jsx';
import { categoryLabel } from '../../format.js';
import { PledgeCheck, PledgeText } from '../../pledge.jsx';
import { Link, navigate } from '../../router.jsx';
import { Alert, Badge, Button, ErrorAlert, Modal, PageHeader, toast, useQuery } from '../../ui.jsx';

const STATE = `query EnrollState {
  profileCompleteness { complete missing { field label } category }
  myEnrollments { id status planID subjectID }
}`;
const ENROLL = `mutation Enroll($input: EnrollInput!) {
  enroll(input: $input) { id status }
}`;

const LIVE = new Set(['PENDING_REVIEW', 'APPROVED']);

function EnrollDialog({ session, onClose, onConflict }) {
  const [accepted, setAccepted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function submit() {
    setBusy(true);
    setError(null);
    try {
      await gql(ENROLL, { input: { sessionID: session.id, pledgeAccepted: accepted } });
      toast('报名已提交，请等待审核');
      navigate('/my/enrollments');
    } catch (e) {
      setError(e);
      setBusy(false);
      if (e.code === 'CONFLICT') onConflict();
    }
  }

  const profileMissing = error?.extensions?.field === 'profile';
  return (
    <Modal
      title="报名确认"
      wide
      onClose={onClose}
      footer={
        <>
          <Button kind="ghost" onClick={onClose}>
            取消
          </Button>
          <Button onClick={submit} busy={busy} disabled={!accepted}>
            确认报名
          </Button>
        </>
      }
    >
      <SessionSummary s={session} />
      <PledgeText />
      <PledgeCheck checked={accepted} onChange={setAccepted} />
      {error && (
        <div style={{ marginTop: 14 }}>
          <ErrorAlert error={error} />
          {profileMissing && (
            <p>
              <Link to="/profile">前往完善个人资料 →</Link>
            </p>
          )}
        </div>
      )}
    </Modal>
  );
}

export default function Enroll() {
  const st = useQuery(STATE);
  const [picked, setPicked] = useState(null);
  const reloadSearch = useRef(null);
  const comp = st.data?.profileCompleteness;
  const category = comp?.category;
  const live = (st.data?.myEnrollments || []).filter((e) => LIVE.has(e.status));

  function action(s) {
    if (live.some((e) => e.planID === s.plan.id && e.subjectID === s.subject.id)) {
      return <Badge kind="success">已报名</Badge>;
    }
    if (category && s.subject.category !== 'OTHER' && s.subject.category !== category) {
      return (
        <span className="muted" title={`您的考试类别为${categoryLabel(category)}`}>
          类别不符
        </span>
      );
    }
    if (s.remainingSeats <= 0) {
      return (
        <Button small kind="secondary" disabled>
          已满
        </Button>
      );
    }
    return (
      <Button small onClick={() => setPicked(s)}>
        报名
      </Button>
    );
  }

  return (
    <>
      <PageHeader
        title="考试报名"
        desc="按考试日期、地区和科目查询开放报名的场次，阅读并同意诚信考试承诺书后提交报名，由管理部门审核。"
        actions={
          <Link to="/my/enrollments" className="btn btn-secondary btn-sm">
            我的报名
          </Link>
        }
      />
      {st.error && <ErrorAlert error={st.error} />}
      {comp && !comp.complete && (
        <Alert kind="warning" title="个人资料尚不完整，暂不能报名">
          尚缺：{comp.missing.map((m) => m.label).join('、')}。<Link to="/profile">前往完善个人资料 →</Link>
        </Alert>
      )}
      {comp?.complete && category && (
        <Alert kind="info">
          您的考试类别：{categoryLabel(category)}。只能报考该类别的科目及不分类别的科目。
        </Alert>
      )}
      <SessionSearch action={action} reloadRef={reloadSearch} />
      {picked && (
        <EnrollDialog
          session={picked}
          onClose={() => setPicked(null)}
          onConflict={() => {
            reloadSearch.current?.();
            st.reload();
          }}
        />
      )}
    </>
  );
}
