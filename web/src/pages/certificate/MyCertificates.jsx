// 我的证书: the holder's certificates, the PDF, and change / renewal /
// cancellation requests with their review results.
import { useEffect, useState } from 'react';
import { downloadDocument, gql, gqlUpload } from '../../api.js';
import { fmtDate, fmtTime } from '../../format.js';
import { useReloadOnNotify } from '../../notify.js';
import {
  Alert,
  Badge,
  Button,
  Card,
  ConfirmButton,
  Empty,
  ErrorAlert,
  Field,
  FilePick,
  Modal,
  PageHeader,
  QueryState,
  StatusBadge,
  UPLOAD_ACCEPT,
  checkUpload,
  nodes,
  toast,
  useDialog,
  useQuery,
  useRowAction,
  useSubmit,
} from '../../ui.jsx';
import { CERT_STATUS, REQUEST_KIND_LABELS, REQUEST_STATUS, lastValidDay, monthDay, validity } from './labels.js';
import './certificate.css';

const REQUEST_FIELDS = `id kind status submittedAt reviewedAt reviewReason withdrawnAt
  newEmployer newRegionName leftJob oldEmployer oldRegionName oldValidUntil newValidUntil statement`;

export const CERT_FIELDS = `id number status currentStatus revision holderName holderIDMasked
  subjectCode subjectName category employer regionName siteName authority
  issuedAt validFrom validUntil renewalOpensAt pdfPath`;

const LIST = `query MyCertificates {
  myCertificates { ${CERT_FIELDS} requests { ${REQUEST_FIELDS} } }
  serverTime
}`;
const REGIONS = `query Regions { regions(first: 200, orderBy: {field: CODE, direction: ASC}) { edges { node { id code name } } } }`;
const UPLOAD = `mutation UploadProof($file: Upload!) {
  uploadAttachment(kind: OTHER, file: $file) { id url fileName contentType }
}`;
const CHANGE = `mutation RequestChange($id: ID!, $input: CertificateChangeInput!) {
  requestCertificateChange(certificateID: $id, input: $input) { id status }
}`;
const RENEW = `mutation RequestRenewal($id: ID!) { requestCertificateRenewal(certificateID: $id) { id status } }`;
const CANCEL = `mutation RequestCancellation($id: ID!, $statement: String!) {
  requestCertificateCancellation(certificateID: $id, statement: $statement) { id status }
}`;
const WITHDRAW = `mutation WithdrawRequest($id: ID!) { withdrawCertificateRequest(id: $id) { id status } }`;

/** Newest first. */
function sortedRequests(c) {
  return [...(c.requests || [])].sort((a, b) => new Date(b.submittedAt) - new Date(a.submittedAt));
}

/** What a request asked for, in one line. */
function requestSummary(r) {
  switch (r.kind) {
    case 'CHANGE':
      return [
        r.newEmployer && `工作单位：${r.oldEmployer || '—'} → ${r.newEmployer}`,
        r.newRegionName && `地区：${r.oldRegionName || '—'} → ${r.newRegionName}`,
        r.leftJob ? '已从原单位离职' : null,
      ]
        .filter(Boolean)
        .join('；');
    case 'RENEWAL':
      return r.newValidUntil
        ? `有效期延至 ${lastValidDay(r.newValidUntil)}`
        : `原有效期至 ${lastValidDay(r.oldValidUntil)}`;
    case 'CANCELLATION':
      return r.statement ? `声明：${r.statement}` : '';
    default:
      return '';
  }
}

function Requests({ cert, onChanged }) {
  const { busy, error, run } = useRowAction();
  const list = sortedRequests(cert);
  if (!list.length) return null;
  function withdraw(r) {
    return run(r.id, async () => {
      await gql(WITHDRAW, { id: r.id });
      toast('申请已撤回');
      onChanged();
    });
  }
  return (
    <div className="cert-requests">
      <div className="section-title">申请记录</div>
      <ul aria-label={`${cert.number} 的申请记录`}>
        {list.map((r) => (
          <li key={r.id} data-request={r.id} data-kind={r.kind} data-status={r.status}>
            <div className="cert-req-head">
              <strong>{REQUEST_KIND_LABELS[r.kind] || r.kind}申请</strong>
              <StatusBadge map={REQUEST_STATUS} value={r.status} />
              <span className="muted">提交于 {fmtTime(r.submittedAt)}</span>
              {r.status === 'PENDING' && (
                <ConfirmButton busy={busy === r.id} confirm="撤回该申请？" onConfirm={() => withdraw(r)}>
                  撤回
                </ConfirmButton>
              )}
            </div>
            {requestSummary(r) && <div className="cert-req-body">{requestSummary(r)}</div>}
            {(r.status === 'APPROVED' || r.status === 'REJECTED') && (
              <div className={`cert-req-reason ${r.status === 'REJECTED' ? 'rejected' : ''}`}>
                审核意见（{fmtTime(r.reviewedAt)}）：{r.reviewReason || (r.status === 'APPROVED' ? '同意' : '未说明')}
              </div>
            )}
            {r.status === 'WITHDRAWN' && <div className="muted cert-req-body">已于 {fmtTime(r.withdrawnAt)} 撤回</div>}
          </li>
        ))}
      </ul>
      <ErrorAlert error={error} />
    </div>
  );
}

function CertificateItem({ cert, now, open, onChanged }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const status = cert.currentStatus;
  const pending = (cert.requests || []).some((r) => r.status === 'PENDING');
  const active = status === 'VALID';
  const opensAt = new Date(cert.renewalOpensAt).getTime();
  const renewalOpen = now >= opensAt;

  async function download() {
    setBusy(true);
    setError(null);
    try {
      await downloadDocument(cert.pdfPath, `证书-${cert.number}.pdf`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className={`review-item cert-item ${active ? '' : 'inactive'}`} data-certificate={cert.id} data-number={cert.number}>
      <div className="review-info">
        <div className="review-name">
          {cert.subjectName}
          <StatusBadge map={CERT_STATUS} value={status} />
          {pending && <Badge kind="warning">有待审核的申请</Badge>}
        </div>
        <dl className="kv">
          <dt>证书编号</dt>
          <dd className="mono">{cert.number}</dd>
          <dt>持证人</dt>
          <dd>
            {cert.holderName} <span className="mono muted">{cert.holderIDMasked}</span>
          </dd>
          <dt>有效期</dt>
          <dd>{validity(cert.validFrom, cert.validUntil)}</dd>
          <dt>发证日期</dt>
          <dd>{fmtDate(cert.issuedAt)}</dd>
          <dt>工作单位</dt>
          <dd>{cert.employer || '—'}</dd>
          <dt>所属地区</dt>
          <dd>{cert.regionName || '—'}</dd>
          <dt>发证考点</dt>
          <dd>{cert.siteName}</dd>
          <dt>发证机关</dt>
          <dd>{cert.authority}</dd>
        </dl>
        {active && renewalOpen && (
          <div className="cert-note warn">证书将于 {lastValidDay(cert.validUntil)} 到期，请在到期前申请延续。</div>
        )}
        <Requests cert={cert} onChanged={onChanged} />
      </div>
      <div className="review-actions">
        <div className="item-actions">
          {status !== 'CANCELLED' && (
            <Button small kind="secondary" busy={busy} onClick={download}>
              下载证书
            </Button>
          )}
          {active && (
            <>
              <Button small kind="ghost" disabled={pending} onClick={() => open({ kind: 'change', cert })}>
                申请变更
              </Button>
              <Button
                small
                kind="ghost"
                disabled={pending || !renewalOpen}
                onClick={() => open({ kind: 'renewal', cert })}
              >
                申请延续
              </Button>
              <Button small kind="danger-ghost" disabled={pending} onClick={() => open({ kind: 'cancel', cert })}>
                申请注销
              </Button>
            </>
          )}
        </div>
        {active && !renewalOpen && <span className="item-note renewal-note">延续：{monthDay(cert.renewalOpensAt)}起可申请</span>}
        {active && pending && <span className="item-note">有待审核的申请，审核完成或撤回后可再申请</span>}
        <ErrorAlert error={error} />
      </div>
    </li>
  );
}

/** The certificate line that heads each request dialog's summary. */
function CertTerm({ cert }) {
  return (
    <>
      <dt>证书</dt>
      <dd>
        {cert.subjectName} · <span className="mono">{cert.number}</span>
      </dd>
    </>
  );
}

function ChangeDialog({ cert, onClose, onDone }) {
  const regions = useQuery(REGIONS);
  const [regionCode, setRegionCode] = useState('');
  const [employer, setEmployer] = useState(cert.employer || '');
  const [leftJob, setLeftJob] = useState(false);
  const [files, setFiles] = useState([]); // uploaded: {id, fileName, url, contentType}
  const [uploading, setUploading] = useState(false);
  const [errors, setErrors] = useState({});
  const { busy, error, setError, run } = useSubmit();
  const list = nodes(regions.data?.regions);
  useEffect(() => {
    if (regionCode || !list.length) return;
    const cur = list.find((r) => r.name === cert.regionName);
    setRegionCode((cur || list[0]).code);
  }, [list, regionCode, cert.regionName]);

  async function add(file) {
    const problem = checkUpload(file);
    if (problem) {
      setErrors((s) => ({ ...s, attachmentIDs: problem }));
      return;
    }
    setUploading(true);
    setErrors((s) => ({ ...s, attachmentIDs: null }));
    try {
      const d = await gqlUpload(UPLOAD, {}, { file });
      setFiles((s) => [...s, d.uploadAttachment]);
    } catch (e) {
      setErrors((s) => ({ ...s, attachmentIDs: e.message }));
    } finally {
      setUploading(false);
    }
  }

  async function submit() {
    const errs = {};
    if (!employer.trim()) errs.employer = '请填写新的工作单位';
    if (!files.length) errs.attachmentIDs = '请上传至少一份证明材料';
    setErrors(errs);
    if (Object.keys(errs).length) return;
    await run(
      async () => {
        await gql(CHANGE, {
          id: cert.id,
          input: { regionCode, employer: employer.trim(), leftJob, attachmentIDs: files.map((f) => f.id) },
        });
        toast('变更申请已提交，请等待考点审核');
        onDone();
      },
      (e) => {
        const f = e?.extensions?.field;
        if (f === 'employer' || f === 'attachmentIDs' || f === 'regionCode') setErrors({ [f]: e.message });
        else setError(e);
      },
    );
  }

  return (
    <Modal
      title="申请证书变更"
      wide
      onClose={onClose}
      footer={
        <>
          <Button kind="ghost" onClick={onClose}>
            取消
          </Button>
          <Button onClick={submit} busy={busy} disabled={uploading}>
            提交申请
          </Button>
        </>
      }
    >
      <dl className="summary">
        <CertTerm cert={cert} />
        <dt>现工作单位</dt>
        <dd>{cert.employer || '—'}</dd>
        <dt>现所属地区</dt>
        <dd>{cert.regionName || '—'}</dd>
      </dl>
      <Field label="新所属地区" required error={errors.regionCode}>
        <select value={regionCode} onChange={(e) => setRegionCode(e.target.value)}>
          {list.map((r) => (
            <option key={r.code} value={r.code}>
              {r.name}
            </option>
          ))}
        </select>
      </Field>
      <Field
        label="新工作单位"
        required
        maxLength={128}
        value={employer}
        error={errors.employer}
        onChange={(e) => setEmployer(e.target.value)}
      />
      <label className="check">
        <input type="checkbox" checked={leftJob} onChange={(e) => setLeftJob(e.target.checked)} />
        已从原工作单位离职
      </label>
      <Field label="证明材料" required error={errors.attachmentIDs} hint="劳动合同、离职证明等，JPG、PNG 或 PDF，最多 10 份">
        <FilePick accept={UPLOAD_ACCEPT} file={null} label={uploading ? '上传中…' : '添加材料'} onFile={add} />
      </Field>
      {files.length > 0 && (
        <ul className="cert-files" aria-label="已上传的证明材料">
          {files.map((f) => (
            <li key={f.id}>
              <a href={f.url} target="_blank" rel="noreferrer">
                {f.fileName || '材料'}
              </a>
              <Button small kind="ghost" onClick={() => setFiles((s) => s.filter((x) => x.id !== f.id))}>
                移除
              </Button>
            </li>
          ))}
        </ul>
      )}
      <ErrorAlert error={error || regions.error} />
    </Modal>
  );
}

function RenewalDialog({ cert, onClose, onDone }) {
  const { busy, error, run } = useSubmit();
  function submit() {
    return run(async () => {
      await gql(RENEW, { id: cert.id });
      toast('延续申请已提交，请等待考点审核');
      onDone();
    });
  }
  return (
    <Modal
      title="申请证书延续"
      onClose={onClose}
      footer={
        <>
          <Button kind="ghost" onClick={onClose}>
            取消
          </Button>
          <Button onClick={submit} busy={busy}>
            确认申请
          </Button>
        </>
      }
    >
      <dl className="summary">
        <CertTerm cert={cert} />
        <dt>现有效期</dt>
        <dd>{validity(cert.validFrom, cert.validUntil)}</dd>
      </dl>
      <p className="muted">审核通过后，有效期自原到期日起顺延。请在证书到期前提出申请，到期后须重新参加考试。</p>
      <ErrorAlert error={error} />
    </Modal>
  );
}

function CancelDialog({ cert, onClose, onDone }) {
  const [statement, setStatement] = useState('');
  const [confirmed, setConfirmed] = useState(false);
  const [fieldError, setFieldError] = useState(null);
  const { busy, error, setError, run } = useSubmit();
  async function submit() {
    if (!statement.trim()) {
      setFieldError('请填写注销声明');
      return;
    }
    await run(
      async () => {
        await gql(CANCEL, { id: cert.id, statement: statement.trim() });
        toast('注销申请已提交，请等待考点审核');
        onDone();
      },
      (e) => {
        if (e?.extensions?.field === 'statement') setFieldError(e.message);
        else setError(e);
      },
    );
  }
  return (
    <Modal
      title="申请证书注销"
      onClose={onClose}
      footer={
        <>
          <Button kind="ghost" onClick={onClose}>
            取消
          </Button>
          <Button kind="danger" onClick={submit} busy={busy} disabled={!confirmed}>
            提交注销申请
          </Button>
        </>
      }
    >
      <dl className="summary">
        <CertTerm cert={cert} />
      </dl>
      <Alert kind="warning">注销经考点审核通过后立即生效且不可恢复，此后不能再下载证书或申请变更、延续。</Alert>
      <Field label="注销声明" required error={fieldError} hint="请说明注销原因，并声明系本人自愿申请（1000 字以内）">
        <textarea
          rows={4}
          maxLength={1000}
          value={statement}
          onChange={(e) => {
            setStatement(e.target.value);
            setFieldError(null);
          }}
        />
      </Field>
      <label className="check">
        <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} />
        本人自愿申请注销该证书，知悉注销后不可恢复
      </label>
      <ErrorAlert error={error} />
    </Modal>
  );
}

export default function MyCertificates() {
  const q = useQuery(LIST);
  const { dialog, setDialog, close, done } = useDialog(q.reload);
  // Issues and review results arrive as notifications: refresh.
  useReloadOnNotify(q.reload);
  return (
    <>
      <PageHeader
        title="我的证书"
        desc="查看和下载本人证书，申请变更、延续或注销，查看考点审核结果。"
        actions={
          <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
            刷新
          </Button>
        }
      />
      <Card>
        <QueryState q={q}>
          {(data) => {
            const list = data.myCertificates;
            if (!list.length) return <Empty>暂无证书。考试成绩合格并经省总站审批后，证书将显示在这里。</Empty>;
            const now = new Date(data.serverTime).getTime();
            return (
              <ul className="review-list" aria-label="我的证书">
                {list.map((c) => (
                  <CertificateItem key={c.id} cert={c} now={now} open={setDialog} onChanged={q.reload} />
                ))}
              </ul>
            );
          }}
        </QueryState>
      </Card>
      {dialog?.kind === 'change' && <ChangeDialog cert={dialog.cert} onClose={close} onDone={done} />}
      {dialog?.kind === 'renewal' && <RenewalDialog cert={dialog.cert} onClose={close} onDone={done} />}
      {dialog?.kind === 'cancel' && <CancelDialog cert={dialog.cert} onClose={close} onDone={done} />}
    </>
  );
}
