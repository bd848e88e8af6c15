// 证书申请审核 (EXAM_SITE): the holders' change, renewal and cancellation
// requests for certificates this site issued, with their documents.
import { gql } from '../../api.js';
import { fmtTime } from '../../format.js';
import ReviewActions from '../../reviewActions.jsx';
import { Badge, Card, Empty, PageHeader, QueryState, Thumb, Button, toast, useQuery } from '../../ui.jsx';
import { REQUEST_KIND_LABELS, lastValidDay, validity } from './labels.js';
import './certificate.css';

const PENDING = `query PendingCertificateRequests {
  pendingCertificateRequests {
    id kind status submittedAt newEmployer newRegionName leftJob oldEmployer oldRegionName oldValidUntil statement
    certificate { id number holderName holderIDMasked subjectName employer regionName validFrom validUntil }
    attachments { id url fileName contentType }
  }
}`;
const REVIEW = `mutation ReviewCertificateRequest($id: ID!, $approve: Boolean!, $reason: String) {
  reviewCertificateRequest(id: $id, approve: $approve, reason: $reason) { id status reviewReason }
}`;

const KIND_BADGE = { CHANGE: 'default', RENEWAL: 'success', CANCELLATION: 'danger' };

function Details({ r }) {
  const c = r.certificate;
  switch (r.kind) {
    case 'CHANGE':
      return (
        <>
          <dt>工作单位</dt>
          <dd>
            {r.oldEmployer || c.employer || '—'} → <strong>{r.newEmployer || '—'}</strong>
          </dd>
          <dt>所属地区</dt>
          <dd>
            {r.oldRegionName || c.regionName || '—'} → <strong>{r.newRegionName || '—'}</strong>
          </dd>
          <dt>离职</dt>
          <dd>{r.leftJob ? '已从原单位离职' : '否'}</dd>
        </>
      );
    case 'RENEWAL':
      return (
        <>
          <dt>原到期日</dt>
          <dd>{lastValidDay(r.oldValidUntil || c.validUntil)}</dd>
        </>
      );
    case 'CANCELLATION':
      return (
        <>
          <dt>注销声明</dt>
          <dd className="reason">{r.statement}</dd>
        </>
      );
    default:
      return null;
  }
}

export default function RequestReview() {
  const q = useQuery(PENDING);
  const review = (r, approve, reason) => gql(REVIEW, { id: r.id, approve, reason: reason || null });
  return (
    <>
      <PageHeader
        title="证书申请审核"
        desc="审核本考点所发证书的变更、延续和注销申请。驳回须填写原因，审核意见会通知持证人。"
        actions={
          <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
            刷新
          </Button>
        }
      />
      <Card>
        <QueryState q={q}>
          {(data) => {
            const list = data.pendingCertificateRequests;
            if (!list.length) return <Empty>暂无待审核的证书申请</Empty>;
            return (
              <ul className="review-list" aria-label="待审核的证书申请">
                {list.map((r) => (
                  <li key={r.id} className="review-item" data-request={r.id} data-kind={r.kind}>
                    <div className="review-info">
                      <div className="review-name">
                        {r.certificate.holderName}
                        <Badge kind={KIND_BADGE[r.kind]}>{REQUEST_KIND_LABELS[r.kind]}申请</Badge>
                      </div>
                      <dl className="kv">
                        <dt>证书编号</dt>
                        <dd className="mono">{r.certificate.number}</dd>
                        <dt>证件号码</dt>
                        <dd className="mono">{r.certificate.holderIDMasked}</dd>
                        <dt>证书类别</dt>
                        <dd>{r.certificate.subjectName}</dd>
                        <dt>有效期</dt>
                        <dd>{validity(r.certificate.validFrom, r.certificate.validUntil)}</dd>
                        <Details r={r} />
                        <dt>提交时间</dt>
                        <dd>{fmtTime(r.submittedAt)}</dd>
                      </dl>
                      {r.attachments.length > 0 && (
                        <div className="thumbs cert-thumbs" aria-label="证明材料">
                          {r.attachments.map((a) => (
                            <Thumb key={a.id} url={a.url} contentType={a.contentType} fileName={a.fileName} label="证明材料" />
                          ))}
                        </div>
                      )}
                    </div>
                    <ReviewActions
                      approve={() => review(r, true)}
                      reject={(reason) => review(r, false, reason)}
                      placeholder="请填写驳回原因，将通知持证人"
                      onDone={(ok) => {
                        toast(ok ? '已通过' : '已驳回');
                        q.reload();
                      }}
                    />
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
