import { useState } from 'react';
import { auth, gql } from '../api.js';
import { describeUA, fmtAgo, fmtTime } from '../format.js';
import { Badge, Button, Card, ConfirmButton, Empty, ErrorAlert, PageHeader, QueryState, toast, useQuery } from '../ui.jsx';

const LIST = 'query MySessions { mySessions { id createdAt lastSeenAt expiresAt ip userAgent current } }';
const END = 'mutation EndSession($id: ID!) { endSession(id: $id) }';

export default function Sessions() {
  const q = useQuery(LIST);
  const [ending, setEnding] = useState(null);
  const [error, setError] = useState(null);

  async function end(s) {
    setEnding(s.id);
    setError(null);
    try {
      await gql(END, { id: s.id });
      if (s.current) {
        auth.clear('logout');
        return;
      }
      toast('会话已结束');
      q.setData((d) => ({ ...d, mySessions: d.mySessions.filter((x) => x.id !== s.id) }));
    } catch (e) {
      setError(e);
    } finally {
      setEnding(null);
    }
  }

  return (
    <>
      <PageHeader
        title="我的会话"
        desc="以下是您的账号当前在各设备上的登录。如发现不是本人的登录，请立即结束该会话并修改密码。"
        actions={
          <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
            刷新
          </Button>
        }
      />
      <Card>
        <ErrorAlert error={error} />
        <QueryState q={q}>
          {(data) =>
            data.mySessions.length === 0 ? (
              <Empty>暂无会话</Empty>
            ) : (
              <div className="table-wrap">
                <table className="table" aria-label="会话列表">
                  <thead>
                    <tr>
                      <th>设备</th>
                      <th>IP 地址</th>
                      <th>登录时间</th>
                      <th>最近活动</th>
                      <th>有效期至</th>
                      <th className="right">操作</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.mySessions.map((s) => (
                      <tr key={s.id} className={s.current ? 'current' : ''}>
                        <td>
                          <div className="cell-main" title={s.userAgent || ''}>
                            {describeUA(s.userAgent)}
                            {s.current && <Badge kind="success">当前会话</Badge>}
                          </div>
                        </td>
                        <td className="mono">{s.ip || '—'}</td>
                        <td>{fmtTime(s.createdAt)}</td>
                        <td title={fmtTime(s.lastSeenAt)}>{fmtAgo(s.lastSeenAt)}</td>
                        <td>{fmtTime(s.expiresAt)}</td>
                        <td className="right">
                          <ConfirmButton
                            busy={ending === s.id}
                            confirm={s.current ? '结束后需重新登录' : '该设备将需重新登录'}
                            onConfirm={() => end(s)}
                          >
                            结束
                          </ConfirmButton>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </QueryState>
      </Card>
    </>
  );
}
