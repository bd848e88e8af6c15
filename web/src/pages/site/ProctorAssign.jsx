// 监考安排: the site puts its PROCTOR accounts on its exam sessions and
// takes them off (a proctor taken off loses the session's live feed within
// a minute). ADMIN may do the same for any site.
import { useCallback, useState } from 'react';
import { gql } from '../../api.js';
import { fmtTime } from '../../format.js';
import { navigate } from '../../router.jsx';
import { Button, Card, ConfirmButton, Empty, ErrorAlert, PageHeader, QueryState, nodes, toast, useQuery } from '../../ui.jsx';
import { WatchSessionSelect, sessionLabel, useWatchSessions } from '../proctor/sessions.jsx';

const PROCTORS = `query SessionProctors($sid: ID!) {
  sessionProctors(sessionID: $sid) { id proctorID proctorName proctorLogin createdAt }
}`;
// The site's proctor accounts (EXAM_SITE sees the members of its site).
const CANDIDATES = `query SiteProctors($siteID: ID!) {
  users(first: 200, where: {role: PROCTOR, status: ACTIVE, organizationID: $siteID}) { edges { node { id name } } }
}`;
const ASSIGN = `mutation AssignProctor($p: ID!, $s: ID!) { assignProctor(proctorID: $p, sessionID: $s) { id } }`;
const UNASSIGN = `mutation UnassignProctor($p: ID!, $s: ID!) { unassignProctor(proctorID: $p, sessionID: $s) }`;

export default function ProctorAssign({ me, route }) {
  const sessions = useWatchSessions(me, { daysBack: 1 });
  const sessionID = route.query.get('session') || '';
  const setSessionID = useCallback((id) => navigate(`/site/proctors?session=${encodeURIComponent(id)}`, { replace: true }), []);
  const session = sessions.list.find((s) => s.id === sessionID);
  const siteID = me.role === 'EXAM_SITE' ? me.organizationID : session?.site?.id;
  const assigned = useQuery(sessionID ? PROCTORS : null, { sid: sessionID }, [sessionID]);
  const staff = useQuery(siteID ? CANDIDATES : null, { siteID }, [siteID]);
  const [pick, setPick] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const list = assigned.data?.sessionProctors || [];
  const free = nodes(staff.data?.users).filter((u) => !list.some((a) => a.proctorID === u.id));

  async function run(query, vars, done) {
    setBusy(true);
    setError(null);
    try {
      await gql(query, vars);
      toast(done);
      setPick('');
      assigned.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <PageHeader title="监考安排" desc="为本考点的考试场次安排监考人员；被撤下的监考人员在一分钟内失去该场次的实时画面。" />
      <Card>
        <WatchSessionSelect sessions={sessions} value={sessionID} onChange={setSessionID} showSite={me.role === 'ADMIN'} />
        {session && <p className="muted">{sessionLabel(session)}</p>}
      </Card>
      {sessionID && (
        <Card title="本场监考人员">
          <ErrorAlert error={error} />
          <QueryState q={assigned}>
            {() => list.length ? (
              <ul className="plain-list" aria-label="本场监考人员">
                {list.map((a) => (
                  <li key={a.id} data-proctor={a.proctorID} data-login={a.proctorLogin}>
                    <strong>{a.proctorName}</strong> <span className="muted">（{a.proctorLogin}） 安排于 {fmtTime(a.createdAt)}</span>{' '}
                    <ConfirmButton
                      confirm={`撤下 ${a.proctorName}？`}
                      busy={busy}
                      onConfirm={() => run(UNASSIGN, { p: a.proctorID, s: sessionID }, `已撤下 ${a.proctorName}`)}
                    >
                      撤下
                    </ConfirmButton>
                  </li>
                ))}
              </ul>
            ) : (
              <Empty>尚未安排监考人员</Empty>
            )}
          </QueryState>
          <div className="form-row">
            <label className="inline-select">
              监考人员
              <select value={pick} onChange={(e) => setPick(e.target.value)} aria-label="选择监考人员">
                <option value="">{free.length ? '请选择' : '没有可安排的监考账号'}</option>
                {free.map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.name}
                  </option>
                ))}
              </select>
            </label>
            <Button
              busy={busy}
              disabled={!pick}
              onClick={() => run(ASSIGN, { p: pick, s: sessionID }, '已安排监考')}
            >
              安排监考
            </Button>
          </div>
        </Card>
      )}
    </>
  );
}
