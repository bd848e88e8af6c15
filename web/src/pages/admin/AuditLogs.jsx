import { useState } from 'react';
import { gql } from '../../api.js';
import { ROLE_LABELS, fmtTime } from '../../format.js';
import { Button, Card, Empty, ErrorAlert, PageHeader, QueryState, nodes, useQuery } from '../../ui.jsx';

const FIELDS = 'id at actorID actorRole operation entityType action entityID fields ip';
const LIST = `query AuditLogs($after: Cursor) {
  auditLogs(first: 50, after: $after, orderBy: {field: AT, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ${FIELDS} } }
  }
}`;

const ACTOR_LABELS = { ...ROLE_LABELS, SYSTEM: '系统', ANONYMOUS: '匿名' };
const ENTITY_LABELS = {
  User: '账号',
  Organization: '机构',
  Subject: '科目',
  Session: '会话',
  Room: '考场',
  Announcement: '公告',
  Notification: '通知',
};
const ACTION_LABELS = { CREATE: '新增', UPDATE: '修改', DELETE: '删除', create: '新增', update: '修改', delete: '删除' };

function fieldSummary(fields) {
  if (!fields || !fields.length) return '—';
  if (fields.length <= 3) return fields.join(', ');
  return `${fields.slice(0, 3).join(', ')} 等${fields.length}项`;
}

export default function AuditLogs() {
  const q = useQuery(LIST, {});
  const [more, setMore] = useState([]);
  const [page, setPage] = useState(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState(null);

  async function loadMore(after) {
    setLoading(true);
    setError(null);
    try {
      const d = await gql(LIST, { after });
      setMore((s) => [...s, ...nodes(d.auditLogs)]);
      setPage(d.auditLogs.pageInfo);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }

  function refresh() {
    setMore([]);
    setPage(null);
    q.reload();
  }

  return (
    <>
      <PageHeader
        title="审计日志"
        desc="系统中每一次数据变更的记录，按时间倒序排列，不可修改。"
        actions={
          <Button small kind="secondary" onClick={refresh}>
            刷新
          </Button>
        }
      />
      <Card>
        <QueryState q={q}>
          {(data) => {
            const list = [...nodes(data.auditLogs), ...more];
            const info = page || data.auditLogs.pageInfo;
            if (!list.length) return <Empty>暂无日志</Empty>;
            return (
              <>
                <div className="toolbar">
                  <span className="muted">
                    共 {data.auditLogs.totalCount} 条，已显示 {list.length} 条
                  </span>
                </div>
                <div className="table-wrap">
                  <table className="table compact">
                    <thead>
                      <tr>
                        <th>时间</th>
                        <th>操作人</th>
                        <th>动作</th>
                        <th>对象</th>
                        <th>操作</th>
                        <th>字段</th>
                        <th>IP</th>
                      </tr>
                    </thead>
                    <tbody>
                      {list.map((l) => (
                        <tr key={l.id}>
                          <td className="nowrap">{fmtTime(l.at)}</td>
                          <td className="nowrap">
                            {l.actorID ? (
                              <>
                                #{l.actorID}
                                {l.actorRole && <span className="sub-inline">{ACTOR_LABELS[l.actorRole] || l.actorRole}</span>}
                              </>
                            ) : (
                              <span className="muted">{ACTOR_LABELS[l.actorRole] || '系统'}</span>
                            )}
                          </td>
                          <td>{ACTION_LABELS[l.action] || l.action}</td>
                          <td className="nowrap" title={l.entityType}>
                            {ENTITY_LABELS[l.entityType] || l.entityType}
                            {l.entityID != null && <span className="sub-inline">#{l.entityID}</span>}
                          </td>
                          <td className="mono">{l.operation || '—'}</td>
                          <td className="fields" title={(l.fields || []).join(', ')}>
                            {fieldSummary(l.fields)}
                          </td>
                          <td className="mono">{l.ip || '—'}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <ErrorAlert error={error} />
                {info.hasNextPage && (
                  <div className="more">
                    <Button kind="secondary" busy={loading} onClick={() => loadMore(info.endCursor)}>
                      加载更多
                    </Button>
                  </div>
                )}
              </>
            );
          }}
        </QueryState>
      </Card>
    </>
  );
}
