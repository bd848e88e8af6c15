// 制证缴费与发放 (EXAM_SITE): the certificates this site issued; record the
// certificate fee, then who collected the certificate.
import { useState } from 'react';
import { gql } from '../../api.js';
import { fmtDate, fmtTime, fmtYuan, parseYuan } from '../../format.js';
import { Badge, Button, Card, Empty, ErrorAlert, PageHeader, QueryState, StatusBadge, Tabs, nodes, toast, useQuery } from '../../ui.jsx';
import { CERT_STATUS, FEE_METHOD_LABELS, lastValidDay } from './labels.js';
import './certificate.css';

const FIELDS = `id number status currentStatus holderName holderIDMasked subjectName issuedAt validUntil
  feeCents feeMethod feePaidAt collectedBy collectedAt`;
const LIST = `query SiteCertificates($where: CertificateWhereInput) {
  certificates(first: 200, where: $where, orderBy: {field: ISSUED_AT, direction: DESC}) {
    totalCount edges { node { ${FIELDS} } }
  }
}`;
const FEE = `mutation RecordCertificateFee($id: ID!, $input: CertificateFeeInput!) {
  recordCertificateFee(certificateID: $id, input: $input) { ${FIELDS} }
}`;
const COLLECT = `mutation RecordCertificateCollection($id: ID!, $recipient: String!) {
  recordCertificateCollection(certificateID: $id, recipient: $recipient) { ${FIELDS} }
}`;

const TABS = [
  ['fee', '待缴费'],
  ['collect', '待发放'],
  ['done', '已发放'],
  ['all', '全部'],
];

const WHERE = {
  fee: { feePaidAtIsNil: true, statusNEQ: 'CANCELLED' },
  collect: { feePaidAtNotNil: true, collectedAtIsNil: true },
  done: { collectedAtNotNil: true },
  all: {},
};

function FeeForm({ cert, onDone }) {
  const [amount, setAmount] = useState('');
  const [method, setMethod] = useState('CASH');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function submit(e) {
    e.preventDefault();
    const cents = parseYuan(amount);
    if (cents == null) {
      setError(new Error('请输入正确的金额（元）'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await gql(FEE, { id: cert.id, input: { amountCents: cents, method } });
      toast(`已登记制证费 ${fmtYuan(cents)} 元`);
      onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <form className="cert-inline" onSubmit={submit} aria-label={`登记 ${cert.number} 制证费`}>
      <input
        aria-label="制证费（元）"
        placeholder="金额（元）"
        inputMode="decimal"
        value={amount}
        onChange={(e) => setAmount(e.target.value)}
      />
      <select aria-label="缴费方式" value={method} onChange={(e) => setMethod(e.target.value)}>
        {Object.entries(FEE_METHOD_LABELS).map(([k, v]) => (
          <option key={k} value={k}>
            {v}
          </option>
        ))}
      </select>
      <Button small type="submit" busy={busy}>
        登记缴费
      </Button>
      <ErrorAlert error={error} />
    </form>
  );
}

function CollectForm({ cert, onDone }) {
  const [recipient, setRecipient] = useState(cert.holderName);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function submit(e) {
    e.preventDefault();
    if (!recipient.trim()) {
      setError(new Error('请填写收件人'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await gql(COLLECT, { id: cert.id, recipient: recipient.trim() });
      toast('已登记证书发放');
      onDone();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }
  return (
    <form className="cert-inline" onSubmit={submit} aria-label={`登记 ${cert.number} 发放`}>
      <input aria-label="收件人" maxLength={64} value={recipient} onChange={(e) => setRecipient(e.target.value)} />
      <Button small type="submit" busy={busy}>
        登记发放
      </Button>
      <ErrorAlert error={error} />
    </form>
  );
}

export default function SiteCertificates() {
  const [tab, setTab] = useState('fee');
  const [search, setSearch] = useState('');
  const [term, setTerm] = useState('');
  const where = { ...WHERE[tab], ...(term ? { or: [{ numberContains: term }, { holderNameContains: term }] } : {}) };
  const q = useQuery(LIST, { where }, [tab, term]);
  return (
    <>
      <PageHeader
        title="制证缴费与发放"
        desc="本考点所发证书：登记制证费，证书领取时登记收件人。已注销的证书不能登记。"
        actions={
          <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
            刷新
          </Button>
        }
      />
      <Card>
        <div className="row gap cert-toolbar">
          <Tabs tabs={TABS} value={tab} onChange={setTab} label="证书分类" />
          <form
            className="row gap"
            onSubmit={(e) => {
              e.preventDefault();
              setTerm(search.trim());
            }}
          >
            <input aria-label="证书编号或姓名" placeholder="证书编号或姓名" value={search} onChange={(e) => setSearch(e.target.value)} />
            <Button small kind="secondary" type="submit">
              查找
            </Button>
          </form>
        </div>
        <QueryState q={q}>
          {(data) => {
            const list = nodes(data.certificates);
            if (!list.length) return <Empty>暂无证书</Empty>;
            return (
              <div className="table-wrap">
                <table className="table" aria-label="本考点证书">
                  <thead>
                    <tr>
                      <th>证书编号</th>
                      <th>持证人</th>
                      <th>证书类别</th>
                      <th>发证日期</th>
                      <th>状态</th>
                      <th>制证费</th>
                      <th>发放</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((c) => (
                      <tr key={c.id} data-certificate={c.id} data-number={c.number}>
                        <td className="mono nowrap">{c.number}</td>
                        <td>
                          {c.holderName}
                          <div className="mono muted">{c.holderIDMasked}</div>
                        </td>
                        <td>{c.subjectName}</td>
                        <td className="nowrap">
                          {fmtDate(c.issuedAt)}
                          <div className="muted">至 {lastValidDay(c.validUntil)}</div>
                        </td>
                        <td>
                          <StatusBadge map={CERT_STATUS} value={c.currentStatus} />
                        </td>
                        <td>
                          {c.feePaidAt ? (
                            <span className="cert-done">
                              <Badge kind="success">已缴 {fmtYuan(c.feeCents)} 元</Badge>
                              <span className="muted">
                                {FEE_METHOD_LABELS[c.feeMethod] || c.feeMethod} · {fmtTime(c.feePaidAt)}
                              </span>
                            </span>
                          ) : c.status === 'CANCELLED' ? (
                            '—'
                          ) : (
                            <FeeForm cert={c} onDone={q.reload} />
                          )}
                        </td>
                        <td>
                          {c.collectedAt ? (
                            <span className="cert-done">
                              <Badge kind="success">已发放</Badge>
                              <span className="muted">
                                {c.collectedBy} · {fmtTime(c.collectedAt)}
                              </span>
                            </span>
                          ) : c.feePaidAt && c.status !== 'CANCELLED' ? (
                            <CollectForm cert={c} onDone={q.reload} />
                          ) : (
                            <span className="muted">缴费后发放</span>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
          }}
        </QueryState>
      </Card>
    </>
  );
}
