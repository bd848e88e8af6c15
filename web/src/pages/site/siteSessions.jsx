// Picking a session of the operator's own site (签到, 现场缴费).
import { useEffect } from 'react';
import { addDays, chinaDay, chinaTime, fmtSpan } from '../../format.js';
import { nodes, useQuery } from '../../ui.jsx';

const SESSIONS = `query SiteSessions($siteID: ID!, $from: Time!) {
  examSessions(first: 300, where: {siteID: $siteID, startsAtGTE: $from}, orderBy: {field: STARTS_AT, direction: ASC}) {
    edges { node { id startsAt durationMinutes status capacity taken subject { name } room { name } plan { name } } }
  }
  serverTime
}`;

export const ROSTER_FIELDS = `total checkedIn
  session { id startsAt durationMinutes status subject { name } room { name location } site { name } }
  entries {
    candidateName maskedIDNumber ticketNo paymentStatus livePhotoURL
    checkIn { id checkedInAt readerName }
    enrollment { id feeCents status subject { name } }
  }`;

/** The sessions of the site from a week ago on; picks the next one by default. */
export function useSiteSessions(siteID) {
  const from = chinaTime(addDays(chinaDay(), -7));
  const q = useQuery(siteID ? SESSIONS : null, { siteID, from }, [siteID]);
  const list = nodes(q.data?.examSessions).filter((s) => s.status !== 'CANCELLED');
  const now = q.data ? new Date(q.data.serverTime).getTime() : Date.now();
  const next = list.find((s) => new Date(s.startsAt).getTime() + s.durationMinutes * 60000 > now) || list[list.length - 1];
  return { q, list, next };
}

export function SessionSelect({ sessions, value, onChange }) {
  useEffect(() => {
    if (!value && sessions.next) onChange(sessions.next.id);
  }, [value, sessions.next, onChange]);
  return (
    <label className="inline-select">
        场次
        <select value={value} onChange={(e) => onChange(e.target.value)} aria-label="选择场次">
          {!sessions.list.length && <option value="">暂无场次</option>}
          {sessions.list.map((s) => (
            <option key={s.id} value={s.id}>
              {fmtSpan(s.startsAt, s.durationMinutes)} · {s.room?.name} · {s.subject?.name}
            </option>
          ))}
        </select>
    </label>
  );
}
