import { useEffect, useState } from 'react';
import { gql } from '../../api.js';
import { placeOf } from '../../examSessions.jsx';
import { takeFlash } from '../../flash.js';
import { PAYMENT_METHOD_LABELS, PAYMENT_STATE, fmtSpan, fmtTime, fmtYuan } from '../../format.js';
import { useCandidateNames } from '../../names.js';
import { BankTransferDialog, CANCEL_PAYMENT, PayButton, payOnline, resumeOnline } from '../../payments.jsx';
import { useNotify } from '../../notify.js';
import { Link } from '../../router.jsx';
import { Alert, Button, Card, ConfirmButton, Empty, ErrorAlert, PageHeader, QueryState, StatusBadge, nodes, toast, useQuery, useRowAction } from '../../ui.jsx';
import { ENROLLMENT_FIELDS } from '../candidate/MyEnrollments.jsx';
import { personLabel } from './StaffEnroll.jsx';

const ENROLLMENTS = `query CompanyEnrollments { myEnrollments { ${ENROLLMENT_FIELDS} } }`;
const PAYMENTS = `query CompanyPayments {
  payments(first: 50, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount
    edges { node { id orderNo method status amountCents createdAt paidAt reason enrollments { id subject { name } } } }
  }
}`;

const BACK = '/company/pay';

function Unpaid({ q, names, selected, setSelected }) {
  return (
    <QueryState q={q}>
      {(data) => {
        const list = data.myEnrollments.filter((e) => e.status === 'APPROVED' && e.paymentStatus === 'UNPAID');
        if (!list.length) return <Empty>没有待缴费的报名。报名审核通过后会显示在这里。</Empty>;
        const all = list.every((e) => selected.has(e.id));
        const toggle = (id) =>
          setSelected((s) => {
            const n = new Set(s);
            if (n.has(id)) n.delete(id);
            else n.add(id);
            return n;
          });
        return (
          <div className="table-wrap">
            <table className="table" aria-label="待缴费报名">
              <thead>
                <tr>
                  <th>
                    <input
                      type="checkbox"
                      aria-label="全选"
                      checked={all}
                      onChange={() => setSelected(all ? new Set() : new Set(list.map((e) => e.id)))}
                    />
                  </th>
                  <th>考生</th>
                  <th>报考科目</th>
                  <th>考试时间 · 考场</th>
                  <th>审核通过</th>
                  <th className="right">报名费（元）</th>
                </tr>
              </thead>
              <tbody>
                {list.map((e) => (
                  <tr key={e.id} className={selected.has(e.id) ? 'current' : ''}>
                    <td>
                      <input type="checkbox" aria-label="选择" checked={selected.has(e.id)} onChange={() => toggle(e.id)} />
                    </td>
                    <td className="cell-main">{personLabel(names, e.candidateID).name}</td>
                    <td>
                      {e.subject?.name}
                      <div className="sub">{e.plan?.name}</div>
                    </td>
                    <td>
                      {e.session ? fmtSpan(e.session.startsAt, e.session.durationMinutes) : '—'}
                      <div className="sub">{e.session ? placeOf(e.session) : ''}</div>
                    </td>
                    <td className="nowrap">{fmtTime(e.reviewedAt)}</td>
                    <td className="right num">{fmtYuan(e.feeCents)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      }}
    </QueryState>
  );
}

function Payments({ q, onChanged }) {
  const { busy, error, run } = useRowAction();
  function cancel(p) {
    return run(p.id, async () => {
      await gql(CANCEL_PAYMENT, { id: p.id });
      toast('支付订单已取消');
      onChanged();
    });
  }
  return (
    <QueryState q={q}>
      {(data) => {
        const list = nodes(data.payments);
        if (!list.length) return <Empty>暂无缴费记录</Empty>;
        return (
          <>
            <ErrorAlert error={error} />
            <div className="table-wrap">
              <table className="table" aria-label="缴费记录">
                <thead>
                  <tr>
                    <th>订单号</th>
                    <th>方式</th>
                    <th className="right">人数</th>
                    <th className="right">金额（元）</th>
                    <th>状态</th>
                    <th>时间</th>
                    <th className="right">操作</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((p) => (
                    <tr key={p.id} data-payment={p.id}>
                      <td className="mono">{p.orderNo}</td>
                      <td>{PAYMENT_METHOD_LABELS[p.method]}</td>
                      <td className="right num">{(p.enrollments || []).length}</td>
                      <td className="right num">{fmtYuan(p.amountCents)}</td>
                      <td>
                        <StatusBadge map={PAYMENT_STATE} value={p.status} />
                        {p.status === 'REJECTED' && p.reason && <div className="sub">{p.reason}</div>}
                      </td>
                      <td className="nowrap">{fmtTime(p.paidAt || p.createdAt)}</td>
                      <td className="right nowrap">
                        {p.method === 'ONLINE' && p.status === 'CREATED' && (
                          <>
                            <PayButton run={() => resumeOnline(p.id, BACK)}>继续支付</PayButton>{' '}
                            <ConfirmButton busy={busy === p.id} confirm="取消该订单？" onConfirm={() => cancel(p)}>
                              取消
                            </ConfirmButton>
                          </>
                        )}
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
  );
}

export default function CompanyPay() {
  const enrQ = useQuery(ENROLLMENTS);
  const payQ = useQuery(PAYMENTS);
  const { onNew } = useNotify();
  const reloadEnr = enrQ.reload;
  const reloadPay = payQ.reload;
  useEffect(
    () =>
      onNew(() => {
        reloadEnr();
        reloadPay();
      }),
    [onNew, reloadEnr, reloadPay],
  );
  const names = useCandidateNames((enrQ.data?.myEnrollments || []).map((e) => e.candidateID));
  const [selected, setSelected] = useState(() => new Set());
  const [transfer, setTransfer] = useState(false);
  const [flash] = useState(takeFlash);
  const [error, setError] = useState(null);
  const all = enrQ.data?.myEnrollments || [];
  const chosen = all.filter((e) => selected.has(e.id) && e.status === 'APPROVED' && e.paymentStatus === 'UNPAID');
  const total = chosen.reduce((n, e) => n + e.feeCents, 0);
  const reload = () => {
    setSelected(new Set());
    enrQ.reload();
    payQ.reload();
  };

  return (
    <>
      <PageHeader
        title="缴费"
        desc="选择审核已通过的职工报名，合并为一笔在线支付或银行转账。银行转账须上传凭证，由管理部门确认到账。"
        actions={
          <Link to="/company/invoice" className="btn btn-secondary btn-sm">
            发票信息
          </Link>
        }
      />
      {flash && <Alert kind={flash.kind || 'info'}>{flash.message}</Alert>}
      <Card title="待缴费的报名">
        <Unpaid q={enrQ} names={names} selected={selected} setSelected={setSelected} />
        <ErrorAlert error={error} />
        <div className="totals">
          <span>
            已选 <strong>{chosen.length}</strong> 项，合计 <span className="amount">{fmtYuan(total)}</span> 元
          </span>
          <PayButton
            run={async () => {
              setError(null);
              if (!chosen.length) throw new Error('请先选择要缴费的报名');
              await payOnline(
                chosen.map((e) => e.id),
                BACK,
              );
            }}
          >
            在线支付
          </PayButton>
          <Button small kind="secondary" disabled={!chosen.length} onClick={() => setTransfer(true)}>
            银行转账
          </Button>
        </div>
      </Card>
      <Card title="缴费记录" actions={<Button small kind="secondary" onClick={payQ.reload}>刷新</Button>}>
        <Payments q={payQ} onChanged={reload} />
      </Card>
      {transfer && (
        <BankTransferDialog
          enrollmentIDs={chosen.map((e) => e.id)}
          amountCents={total}
          description={`${chosen.length} 名职工的考试报名费`}
          onClose={() => setTransfer(false)}
          onDone={() => {
            setTransfer(false);
            reload();
          }}
        />
      )}
    </>
  );
}
