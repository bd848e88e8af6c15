// Exam plans (考试计划): fields and the sessions table shared by the
// institution's page and the department's submission queue.
import { SESSION_STATUS, fmtSpan } from './format.js';
import { Empty, StatusBadge } from './ui.jsx';

export const PLAN_FIELDS = `id name status createdAt submittedAt enrollStartsAt enrollEndsAt examFrom examTo regionID trainingOrgID
  region { id name }
  trainingOrg { id name }`;

export const PLAN_SESSION_FIELDS = `id startsAt durationMinutes capacity taken remainingSeats status onsite subjectID roomID siteID
  subject { id name category }
  room { id name }
  site { id name }`;

export function PlanSessionsTable({ sessions, action, selectable }) {
  if (!sessions.length) return <Empty>尚未安排考试场次</Empty>;
  return (
    <div className="table-wrap">
      <table className="table compact" aria-label="考试场次">
        <thead>
          <tr>
            {selectable && <th />}
            <th>科目</th>
            <th>考试时间</th>
            <th>考点 · 考场</th>
            <th>方式</th>
            <th className="right">已安排 / 座位</th>
            <th>状态</th>
            {action && <th className="right">操作</th>}
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.id} data-session={s.id}>
              {selectable && <td>{selectable(s)}</td>}
              <td className="cell-main">{s.subject?.name}</td>
              <td className="nowrap">{fmtSpan(s.startsAt, s.durationMinutes)}</td>
              <td>
                {s.site?.name}
                <span className="sub-inline">{s.room?.name}</span>
              </td>
              <td>{s.onsite ? '考点机考' : '在线考试'}</td>
              <td className="right num">
                {s.taken} / {s.capacity}
              </td>
              <td>
                <StatusBadge map={SESSION_STATUS} value={s.status} />
              </td>
              {action && <td className="right nowrap">{action(s)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
