// 证书审批发放 (ADMIN): passed formal exams awaiting approval, issued in
// batches; a refused batch names the attempt at fault.
import { useState } from 'react';
import { gql } from '../../api.js';
import { fmtDate, fmtTime } from '../../format.js';
import { Alert, Button, Card, Empty, ErrorAlert, PageHeader, QueryState, useQuery } from '../../ui.jsx';
import { lastValidDay } from './labels.js';
import './certificate.css';

const PENDING = `query PendingCertificates {
  pendingCertificates {
    attemptID candidateID name maskedID subjectID subjectCode subjectName siteID siteName
    examDate score practicalScore reviewedAt
  }
}`;
const ISSUE = `mutation IssueCertificates($ids: [ID!]!) {
  issueCertificates(attemptIDs: $ids) { id number holderName subjectName validUntil }
}`;

export default function IssueCertificates() {
  const q = useQuery(PENDING);
  const [selected, setSelected] = useState(() => new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [issued, setIssued] = useState(null);

  const list = q.data?.pendingCertificates || [];
  const ids = list.map((p) => p.attemptID);
  const chosen = ids.filter((id) => selected.has(id));
  const all = ids.length > 0 && chosen.length === ids.length;
  const faulty = error?.extensions?.attemptID != null ? String(error.extensions.attemptID) : null;

  function toggle(id, on) {
    setSelected((s) => {
      const n = new Set(s);
      if (on) n.add(id);
      else n.delete(id);
      return n;
    });
  }

  async function issue() {
    setBusy(true);
    setError(null);
    setIssued(null);
    try {
      const d = await gql(ISSUE, { ids: chosen });
      setIssued(d.issueCertificates);
      setSelected(new Set());
      await q.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <PageHeader
        title="证书审批发放"
        desc="正式考试成绩合格的考生，经省总站审批后发放证书。勾选后批量发证；任一条不符合条件时整批不发放。"
        actions={
          <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
            刷新
          </Button>
        }
      />
      {issued && (
        <Alert kind="success" title={`已发放 ${issued.length} 本证书`}>
          <ul className="cert-issued">
            {issued.map((c) => (
              <li key={c.id}>
                {c.holderName} · {c.subjectName} · <span className="mono">{c.number}</span>（有效期至 {lastValidDay(c.validUntil)}）
              </li>
            ))}
          </ul>
        </Alert>
      )}
      <ErrorAlert error={error} />
      <Card
        title={`待发证（${list.length}）`}
        actions={
          <Button onClick={issue} busy={busy} disabled={!chosen.length}>
            批量发证{chosen.length ? `（${chosen.length}）` : ''}
          </Button>
        }
      >
        <QueryState q={q}>
          {() =>
            !list.length ? (
              <Empty>暂无待发证的合格成绩</Empty>
            ) : (
              <div className="table-wrap">
                <table className="table" aria-label="待发证">
                  <thead>
                    <tr>
                      <th>
                        <input
                          type="checkbox"
                          aria-label="全选"
                          checked={all}
                          onChange={(e) => setSelected(e.target.checked ? new Set(ids) : new Set())}
                        />
                      </th>
                      <th>考生</th>
                      <th>证件号码</th>
                      <th>科目</th>
                      <th>考点</th>
                      <th>考试日期</th>
                      <th className="right">成绩</th>
                      <th>审核时间</th>
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((p) => (
                      <tr key={p.attemptID} data-attempt={p.attemptID} className={faulty === String(p.attemptID) ? 'row-error' : ''}>
                        <td>
                          <input
                            type="checkbox"
                            aria-label={`选择 ${p.name} ${p.subjectName}`}
                            checked={selected.has(p.attemptID)}
                            onChange={(e) => toggle(p.attemptID, e.target.checked)}
                          />
                        </td>
                        <td>{p.name}</td>
                        <td className="mono">{p.maskedID}</td>
                        <td>{p.subjectName}</td>
                        <td>{p.siteName}</td>
                        <td className="nowrap">{fmtDate(p.examDate)}</td>
                        <td className="right">
                          {p.score ?? '—'}
                          {p.practicalScore != null ? ` / 实操 ${p.practicalScore}` : ''}
                        </td>
                        <td className="nowrap">{fmtTime(p.reviewedAt)}</td>
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
