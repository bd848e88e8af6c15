// The exam sessions a watcher may pick: a PROCTOR's assigned ones, the
// site's own for EXAM_SITE, all recent ones for REVIEWER and ADMIN.
import { useEffect } from 'react';
import { SESSION_STATUS, addDays, chinaDay, chinaTime, fmtSpan } from '../../format.js';
import { nodes, useQuery } from '../../ui.jsx';

export const SESSION_FIELDS = `id startsAt durationMinutes status onsite
  subject { id name passMark hasPractical } room { name } site { id name }`;

const MINE = `query MyProctorSessions { myProctorSessions { ${SESSION_FIELDS} } serverTime }`;
const SITE = `query WatchSiteSessions($siteID: ID!, $from: Time!) {
  examSessions(first: 300, where: {siteID: $siteID, startsAtGTE: $from}, orderBy: {field: STARTS_AT, direction: ASC}) {
    edges { node { ${SESSION_FIELDS} } }
  }
  serverTime
}`;
const ALL = `query WatchSessions($from: Time!) {
  examSessions(first: 300, where: {startsAtGTE: $from}, orderBy: {field: STARTS_AT, direction: ASC}) {
    edges { node { ${SESSION_FIELDS} } }
  }
  serverTime
}`;

function endOf(s) {
  return new Date(s.startsAt).getTime() + s.durationMinutes * 60000;
}

/**
 * Sessions from a week ago on, by role; `current` is the one under way (or
 * the next to start, or the last), the default pick.
 */
export function useWatchSessions(me, { daysBack = 7 } = {}) {
  const from = chinaTime(addDays(chinaDay(), -daysBack));
  let query = ALL;
  let vars = { from };
  if (me.role === 'PROCTOR') {
    query = MINE;
    vars = {};
  } else if (me.role === 'EXAM_SITE') {
    query = me.organizationID ? SITE : null;
    vars = { siteID: me.organizationID, from };
  }
  const q = useQuery(query, vars, [me.role, me.organizationID, from]);
  const raw = q.data ? (q.data.myProctorSessions || nodes(q.data.examSessions)) : [];
  const list = raw
    .filter((s) => s.status !== 'CANCELLED')
    .sort((a, b) => new Date(a.startsAt) - new Date(b.startsAt));
  const now = q.data ? new Date(q.data.serverTime).getTime() : Date.now();
  const current =
    list.find((s) => new Date(s.startsAt).getTime() <= now && endOf(s) > now) ||
    list.find((s) => endOf(s) > now) ||
    list[list.length - 1];
  return { q, list, current };
}

export function sessionLabel(s) {
  return `${fmtSpan(s.startsAt, s.durationMinutes)} · ${s.subject?.name || ''}${s.room?.name ? ` · ${s.room.name}` : ''}`;
}

/** A session <select>; picks sessions.current when nothing is chosen. */
export function WatchSessionSelect({ sessions, value, onChange, showSite = false }) {
  const { current } = sessions;
  useEffect(() => {
    if (!value && current) onChange(current.id);
  }, [value, current, onChange]);
  return (
    <label className="inline-select">
      场次
      <select value={value || ''} onChange={(e) => onChange(e.target.value)} aria-label="选择场次">
        {!sessions.list.length && <option value="">暂无场次</option>}
        {value && !sessions.list.some((s) => s.id === value) && <option value={value}>场次 {value}</option>}
        {sessions.list.map((s) => (
          <option key={s.id} value={s.id}>
            {sessionLabel(s)}
            {showSite && s.site?.name ? ` · ${s.site.name}` : ''}
            {s.status !== 'SCHEDULED' ? `（${SESSION_STATUS[s.status]?.label || s.status}）` : ''}
          </option>
        ))}
      </select>
    </label>
  );
}
