import { useEffect, useState } from 'react';
import { gql } from '../api.js';
import { fmtAgo, fmtTime } from '../format.js';
import { NOTIFICATION_FIELDS, useNotify } from '../notify.js';
import { Button, Card, Empty, ErrorAlert, PageHeader, QueryState, nodes, useAction, useQuery } from '../ui.jsx';

const LIST = `query Notifications {
  notifications(first: 50, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount
    edges { node { ${NOTIFICATION_FIELDS} } }
  }
}`;
const MARK = 'mutation MarkNotificationsRead($ids: [ID!]!) { markNotificationsRead(ids: $ids) }';

const LIVE_LABELS = { open: '实时推送已连接', connecting: '正在连接…', retrying: '连接中断，正在重连…', idle: '' };

export default function Notifications() {
  const q = useQuery(LIST);
  const notify = useNotify();
  const [live, setLive] = useState([]);
  const [readIds, setReadIds] = useState(() => new Set());
  const act = useAction();

  useEffect(() => notify.onNew((n) => setLive((s) => [n, ...s])), [notify]);

  async function mark(ids) {
    if (!ids.length) return;
    const ok = await act.run(() => gql(MARK, { ids }));
    if (ok !== undefined) {
      setReadIds((s) => new Set([...s, ...ids]));
      notify.refreshUnread();
    }
  }

  return (
    <>
      <PageHeader
        title="通知"
        desc="报名、审核、缴费、考试与证书等事项的办理进度通知"
        actions={
          notify.live !== 'idle' && (
            <span className={`live live-${notify.live}`}>
              <span className="dot" />
              {LIVE_LABELS[notify.live]}
            </span>
          )
        }
      />
      <Card>
        <ErrorAlert error={act.error} />
        <QueryState q={q}>
          {(data) => {
            const seen = new Set();
            const list = [...live, ...nodes(data.notifications)]
              .filter((n) => !seen.has(n.id) && seen.add(n.id))
              .map((n) => (readIds.has(n.id) && !n.readAt ? { ...n, readAt: new Date().toISOString() } : n));
            const unread = list.filter((n) => !n.readAt).map((n) => n.id);
            if (!list.length) return <Empty>暂无通知</Empty>;
            return (
              <>
                <div className="toolbar">
                  <span className="muted">
                    共 {list.length} 条，未读 {unread.length} 条
                  </span>
                  <Button small kind="secondary" disabled={!unread.length} busy={act.busy} onClick={() => mark(unread)}>
                    全部标为已读
                  </Button>
                </div>
                <ul className="notifications">
                  {list.map((n) => (
                    <li key={n.id} className={n.readAt ? 'read' : 'unread'}>
                      <span className="dot" aria-label={n.readAt ? '已读' : '未读'} />
                      <div className="n-main">
                        <div className="n-title">{n.title}</div>
                        {n.body && <div className="n-body">{n.body}</div>}
                        <time dateTime={n.createdAt} title={fmtTime(n.createdAt)}>
                          {fmtAgo(n.createdAt)}
                        </time>
                      </div>
                      {!n.readAt && (
                        <Button small kind="ghost" onClick={() => mark([n.id])}>
                          标为已读
                        </Button>
                      )}
                    </li>
                  ))}
                </ul>
              </>
            );
          }}
        </QueryState>
      </Card>
    </>
  );
}
