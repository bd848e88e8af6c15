import { useState } from 'react';
import { gql } from '../../api.js';
import { PAYMENT_STATUS, fmtYuan } from '../../format.js';
import { Alert, Card, ConfirmButton, Empty, ErrorAlert, PageHeader, QueryState, StatusBadge, toast, useQuery, useRowAction } from '../../ui.jsx';
import { ROSTER_FIELDS, SessionSelect, useSiteSessions } from './siteSessions.jsx';

const ROSTER = `query SessionRoster($id: ID!) { sessionRoster(sessionID: $id) { ${ROSTER_FIELDS} } }`;
const RECORD = `mutation RecordOnsitePayment($ids: [ID!]!) {
  recordOnsitePayment(enrollmentIDs: $ids) { id orderNo amountCents status }
}`;

export default function OnsitePay({ me }) {
  const site = me.organization?.kind === 'EXAM_SITE' ? me.organization : null;
  const sessions = useSiteSessions(site?.id);
  const [sessionID, setSessionID] = useState('');
  const q = useQuery(sessionID ? ROSTER : null, { id: sessionID }, [sessionID]);
  const { busy, error, run } = useRowAction();

  function record(e) {
    return run(e.enrollment.id, async () => {
      const d = await gql(RECORD, { ids: [e.enrollment.id] });
      toast(`已登记 ${e.candidateName} 现场缴费 ${fmtYuan(d.recordOnsitePayment.amountCents)} 元`);
      q.reload();
    });
  }

  return (
    <>
      <PageHeader
        title="现场缴费"
        desc={`${site ? `${site.name} · ` : ''}考生到考点现场审核时缴纳考试费用，收费后在此登记，报名即为已缴费。`}
        actions={<SessionSelect sessions={sessions} value={sessionID} onChange={setSessionID} />}
      />
      {!site && <Alert kind="warning">您的账号未关联考点，不能登记现场缴费。</Alert>}
      <ErrorAlert error={sessions.q.error} />
      {sessionID && (
        <Card title="考场名单">
          <ErrorAlert error={error} />
          <QueryState q={q}>
            {(data) => {
              const entries = data.sessionRoster.entries;
              if (!entries.length) return <Empty>该场次暂无已审核的考生</Empty>;
              const unpaid = entries.filter((e) => e.paymentStatus !== 'PAID');
              const due = unpaid.reduce((n, e) => n + e.enrollment.feeCents, 0);
              return (
                <>
                  <div className="stats" style={{ marginBottom: 14 }}>
                    <div className="stat">
                      <b>{entries.length}</b>
                      <span>考生人数</span>
                    </div>
                    <div className="stat">
                      <b>{entries.length - unpaid.length}</b>
                      <span>已缴费</span>
                    </div>
                    <div className="stat">
                      <b>{fmtYuan(due)}</b>
                      <span>待收金额（元）</span>
                    </div>
                  </div>
                  <div className="table-wrap">
                    <table className="table" aria-label="缴费名单">
                      <thead>
                        <tr>
                          <th>姓名</th>
                          <th>证件号码</th>
                          <th>报考科目</th>
                          <th className="right">金额（元）</th>
                          <th>缴费状态</th>
                          <th className="right">操作</th>
                        </tr>
                      </thead>
                      <tbody>
                        {entries.map((e) => (
                          <tr key={e.enrollment.id}>
                            <td className="cell-main">{e.candidateName}</td>
                            <td className="mono">{e.maskedIDNumber}</td>
                            <td>{e.enrollment.subject?.name}</td>
                            <td className="right num">{fmtYuan(e.enrollment.feeCents)}</td>
                            <td>
                              <StatusBadge map={PAYMENT_STATUS} value={e.paymentStatus} />
                            </td>
                            <td className="right">
                              {e.paymentStatus === 'UNPAID' && (
                                <ConfirmButton
                                  kind="primary"
                                  busy={busy === e.enrollment.id}
                                  confirm={`已收取 ${fmtYuan(e.enrollment.feeCents)} 元？`}
                                  onConfirm={() => record(e)}
                                >
                                  登记缴费
                                </ConfirmButton>
                              )}
                              {e.paymentStatus === 'PENDING' && <span className="muted">线上缴费处理中</span>}
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                </>
              );
            }}
          </QueryState>
        </Card>
      )}
    </>
  );
}
