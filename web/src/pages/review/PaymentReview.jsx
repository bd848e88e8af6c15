import { useState } from 'react';
import { gql } from '../../api.js';
import { PAYMENT_STATE, ROLE_LABELS, fmtTime, fmtYuan } from '../../format.js';
import ReviewActions from '../../reviewActions.jsx';
import { Button, Card, Empty, PageHeader, QueryState, StatusBadge, Tabs, Thumb, nodes, toast, useQuery } from '../../ui.jsx';

const LIST = `query PaymentReview($status: PaymentState!, $dir: OrderDirection!) {
  payments(first: 100, where: {method: BANK_TRANSFER, status: $status}, orderBy: {field: CREATED_AT, direction: $dir}) {
    totalCount
    edges { node {
      id orderNo amountCents status createdAt confirmedAt paidAt reason
      payer { id name role idNumberMasked organization { name } }
      enrollments { id feeCents candidate { name idNumberMasked } subject { name } plan { name } }
      proof { id url fileName contentType createdAt }
    } }
  }
}`;
const CONFIRM = `mutation ConfirmPayment($id: ID!) { confirmPayment(id: $id) { id status } }`;
const REJECT = `mutation RejectPayment($id: ID!, $reason: String) { rejectPayment(id: $id, reason: $reason) { id status } }`;

const TABS = [
  ['PENDING_CONFIRMATION', '待确认'],
  ['PAID', '已确认'],
  ['REJECTED', '已驳回'],
];

function Item({ p, onDone }) {
  const payerName = p.payer?.role === 'COMPANY' ? p.payer?.organization?.name || p.payer?.name : p.payer?.name;
  return (
    <li className="review-item" data-payment={p.id}>
      {p.proof ? (
        <Thumb url={p.proof.url} contentType={p.proof.contentType} fileName={p.proof.fileName} label="转账凭证" />
      ) : (
        <span className="thumb-empty">无凭证</span>
      )}
      <div className="review-info">
        <div className="review-name">
          {fmtYuan(p.amountCents)} 元<span className="sub-inline">{payerName}</span>
          <StatusBadge map={PAYMENT_STATE} value={p.status} />
        </div>
        <dl className="kv">
          <dt>订单号</dt>
          <dd className="mono">{p.orderNo}</dd>
          <dt>缴费人</dt>
          <dd>
            {payerName}
            <span className="sub-inline">
              {ROLE_LABELS[p.payer?.role] || ''}
              {p.payer?.idNumberMasked ? ` · ${p.payer.idNumberMasked}` : ''}
            </span>
          </dd>
          <dt>提交时间</dt>
          <dd>{fmtTime(p.createdAt)}</dd>
          <dt>凭证</dt>
          <dd>
            {p.proof ? (
              <a href={p.proof.url} target="_blank" rel="noreferrer">
                {p.proof.fileName || '查看凭证'}
              </a>
            ) : (
              '—'
            )}
          </dd>
          {p.confirmedAt && (
            <>
              <dt>处理时间</dt>
              <dd>{fmtTime(p.confirmedAt)}</dd>
            </>
          )}
          {p.status === 'REJECTED' && (
            <>
              <dt>驳回原因</dt>
              <dd>{p.reason || '—'}</dd>
            </>
          )}
        </dl>
        <table className="table compact" style={{ marginTop: 10 }} aria-label="缴费明细">
          <thead>
            <tr>
              <th>考生</th>
              <th>报考科目</th>
              <th>考试批次</th>
              <th className="right">金额（元）</th>
            </tr>
          </thead>
          <tbody>
            {(p.enrollments || []).map((e) => (
              <tr key={e.id}>
                <td>
                  {e.candidate?.name}
                  <span className="sub-inline mono">{e.candidate?.idNumberMasked}</span>
                </td>
                <td>{e.subject?.name}</td>
                <td>{e.plan?.name}</td>
                <td className="right num">{fmtYuan(e.feeCents)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {p.status === 'PENDING_CONFIRMATION' && (
        <ReviewActions
          approveLabel="确认到账"
          approve={() => gql(CONFIRM, { id: p.id })}
          reject={(reason) => gql(REJECT, { id: p.id, reason })}
          placeholder="请填写驳回原因（如：未查到该笔转账、金额不符），将通知缴费人"
          onDone={(ok) => {
            toast(ok ? `已确认订单 ${p.orderNo} 到账` : `已驳回订单 ${p.orderNo}`);
            onDone(p.id);
          }}
        />
      )}
    </li>
  );
}

export default function PaymentReview() {
  const [status, setStatus] = useState('PENDING_CONFIRMATION');
  const q = useQuery(LIST, { status, dir: status === 'PENDING_CONFIRMATION' ? 'ASC' : 'DESC' }, [status]);
  const [done, setDone] = useState(() => new Set());
  return (
    <>
      <PageHeader
        title="缴费确认"
        desc="核对银行转账凭证与实际到账情况。确认后报名即为已缴费；驳回须说明原因，缴费人可重新缴费。"
        actions={
          <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
            刷新
          </Button>
        }
      />
      <Card
        title={`${TABS.find((t) => t[0] === status)[1]}的银行转账${q.data ? `（${q.data.payments.totalCount}）` : ''}`}
        actions={<Tabs tabs={TABS} value={status} onChange={setStatus} label="处理状态" />}
      >
        <QueryState q={q}>
          {(data) => {
            const list = nodes(data.payments).filter((p) => !(status === 'PENDING_CONFIRMATION' && done.has(p.id)));
            if (!list.length) return <Empty>{status === 'PENDING_CONFIRMATION' ? '没有待确认的银行转账' : '暂无记录'}</Empty>;
            return (
              <ul className="review-list" aria-label="银行转账列表">
                {list.map((p) => (
                  <Item key={p.id} p={p} onDone={(id) => setDone((s) => new Set([...s, id]))} />
                ))}
              </ul>
            );
          }}
        </QueryState>
      </Card>
    </>
  );
}
