import { useState } from 'react';
import { gql } from '../../api.js';
import { ORG_STATUS_LABELS, fmtTime } from '../../format.js';
import { Badge, Button, Card, Empty, ErrorAlert, PageHeader, QueryState, nodes, toast, useQuery } from '../../ui.jsx';

const LIST = `query CompanyReview($status: OrganizationStatus!) {
  organizations(first: 100, where: {kind: COMPANY, status: $status}, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount
    edges { node { id name region contact phone email address status reviewReason reviewedAt createdAt } }
  }
}`;
const REVIEW = `mutation ReviewCompany($id: ID!, $approve: Boolean!, $reason: String) {
  reviewCompany(id: $id, approve: $approve, reason: $reason) { id status reviewReason }
}`;

const TABS = [
  ['PENDING', '待审核'],
  ['APPROVED', '已通过'],
  ['REJECTED', '已驳回'],
];

function ReviewActions({ org, onDone }) {
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);

  async function review(approve) {
    if (!approve && !reason.trim()) {
      setError(new Error('请填写驳回原因'));
      return;
    }
    setBusy(approve ? 'approve' : 'reject');
    setError(null);
    try {
      await gql(REVIEW, { id: org.id, approve, reason: approve ? null : reason.trim() });
      toast(approve ? `已通过“${org.name}”的注册` : `已驳回“${org.name}”的注册`);
      onDone(org.id);
    } catch (e) {
      setError(e);
      setBusy(null);
    }
  }

  return (
    <div className="review-actions">
      {rejecting ? (
        <div className="reject-box">
          <label className="sr-only" htmlFor={`reason-${org.id}`}>
            驳回原因
          </label>
          <textarea
            id={`reason-${org.id}`}
            rows={2}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            placeholder="请填写驳回原因，将告知申请单位"
            autoFocus
          />
          <div className="row gap">
            <Button small kind="danger" busy={busy === 'reject'} onClick={() => review(false)}>
              确认驳回
            </Button>
            <Button small kind="ghost" onClick={() => { setRejecting(false); setError(null); }}>
              取消
            </Button>
          </div>
        </div>
      ) : (
        <div className="row gap">
          <Button small busy={busy === 'approve'} disabled={!!busy} onClick={() => review(true)}>
            通过
          </Button>
          <Button small kind="danger-ghost" disabled={!!busy} onClick={() => setRejecting(true)}>
            驳回
          </Button>
        </div>
      )}
      <ErrorAlert error={error} />
    </div>
  );
}

export default function CompanyReview() {
  const [status, setStatus] = useState('PENDING');
  const q = useQuery(LIST, { status }, [status]);
  const [done, setDone] = useState(() => new Set());

  return (
    <>
      <PageHeader title="单位审核" desc="核对单位注册信息，审核通过后单位方可为职工报名。驳回时须说明原因。" />
      <Card
        actions={
          <div className="tabs" role="tablist">
            {TABS.map(([k, label]) => (
              <button
                key={k}
                type="button"
                role="tab"
                aria-selected={status === k}
                className={status === k ? 'active' : ''}
                onClick={() => setStatus(k)}
              >
                {label}
              </button>
            ))}
          </div>
        }
        title={`${TABS.find((t) => t[0] === status)[1]}的单位`}
      >
        <QueryState q={q}>
          {(data) => {
            const list = nodes(data.organizations).filter((o) => !(status === 'PENDING' && done.has(o.id)));
            if (!list.length) return <Empty>{status === 'PENDING' ? '没有待审核的单位' : '暂无记录'}</Empty>;
            return (
              <ul className="review-list">
                {list.map((o) => (
                  <li key={o.id} className="review-item">
                    <div className="review-info">
                      <div className="review-name">
                        {o.name}
                        <Badge kind={o.status === 'APPROVED' ? 'success' : o.status === 'PENDING' ? 'warning' : 'danger'}>
                          {ORG_STATUS_LABELS[o.status]}
                        </Badge>
                      </div>
                      <dl className="kv">
                        <dt>联系人</dt>
                        <dd>{o.contact || '—'}</dd>
                        <dt>联系电话</dt>
                        <dd className="mono">{o.phone || '—'}</dd>
                        <dt>电子邮箱</dt>
                        <dd>{o.email || '—'}</dd>
                        <dt>所在地区</dt>
                        <dd>{o.region || '—'}</dd>
                        <dt>地址</dt>
                        <dd>{o.address || '—'}</dd>
                        <dt>申请时间</dt>
                        <dd>{fmtTime(o.createdAt)}</dd>
                        {o.reviewedAt && (
                          <>
                            <dt>审核时间</dt>
                            <dd>{fmtTime(o.reviewedAt)}</dd>
                          </>
                        )}
                        {o.reviewReason && (
                          <>
                            <dt>驳回原因</dt>
                            <dd>{o.reviewReason}</dd>
                          </>
                        )}
                      </dl>
                    </div>
                    {o.status === 'PENDING' && (
                      <ReviewActions org={o} onDone={(id) => setDone((s) => new Set([...s, id]))} />
                    )}
                  </li>
                ))}
              </ul>
            );
          }}
        </QueryState>
      </Card>
    </>
  );
}
