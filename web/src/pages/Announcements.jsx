import { useEffect, useState } from 'react';
import { subscribe } from '../api.js';
import { fmtTime } from '../format.js';
import { Badge, Card, Empty, PageHeader, QueryState, nodes, useQuery } from '../ui.jsx';

export const ANNOUNCEMENT_FIELDS = 'id title body publishedAt createdAt';
export const ANNOUNCEMENTS = `query Announcements {
  announcements(first: 20, orderBy: {field: PUBLISHED_AT, direction: DESC}) {
    totalCount
    edges { node { ${ANNOUNCEMENT_FIELDS} } }
  }
}`;
const PUBLISHED = `subscription AnnouncementPublished { announcementPublished { ${ANNOUNCEMENT_FIELDS} } }`;

/** Announcements, newest first; new ones arrive live. */
export function AnnouncementList({ fresh = [] }) {
  const q = useQuery(ANNOUNCEMENTS);
  const [live, setLive] = useState([]);
  const [open, setOpen] = useState(null);

  useEffect(
    () =>
      subscribe(PUBLISHED, {}, {
        next: (d) => d?.announcementPublished && setLive((s) => [d.announcementPublished, ...s]),
        error: () => {},
      }),
    [],
  );

  return (
    <QueryState q={q}>
      {(data) => {
        const seen = new Set();
        const list = [...fresh, ...live, ...nodes(data.announcements)]
          .filter((a) => !seen.has(a.id) && seen.add(a.id))
          .sort((a, b) => new Date(b.publishedAt) - new Date(a.publishedAt));
        if (!list.length) return <Empty>暂无公告</Empty>;
        const now = Date.now();
        return (
          <ul className="announcements">
            {list.map((a, i) => {
              const isNew = now - new Date(a.publishedAt).getTime() < 3 * 86400 * 1000;
              const expanded = open === a.id || (open === null && i === 0);
              return (
                <li key={a.id} className={`announcement ${expanded ? 'open' : ''}`}>
                  <button
                    type="button"
                    className="announcement-head"
                    aria-expanded={expanded}
                    onClick={() => setOpen(expanded ? '' : a.id)}
                  >
                    <span className="announcement-title">
                      {a.title}
                      {isNew && <Badge kind="new">新</Badge>}
                    </span>
                    <time dateTime={a.publishedAt}>{fmtTime(a.publishedAt)}</time>
                  </button>
                  {expanded && <div className="announcement-body">{a.body}</div>}
                </li>
              );
            })}
          </ul>
        );
      }}
    </QueryState>
  );
}

export default function Announcements({ me }) {
  return (
    <>
      <PageHeader title="系统公告" desc={`${me.name}，您好！请及时关注考务通知与公告。`} />
      <Card>
        <AnnouncementList />
      </Card>
    </>
  );
}
