// Paying enrollment fees: online (the gateway's page), bank transfer with an
// uploaded proof; shared by 我的报名 (candidates) and 缴费 (companies).
import { useState } from 'react';
import { gql, gqlUpload } from './api.js';
import { fmtYuan } from './format.js';
import { Alert, Button, ErrorAlert, Field, FilePick, Modal, UPLOAD_ACCEPT, checkUpload, toast, useSubmit } from './ui.jsx';

const AFTER_PAY_KEY = 'kaowu.afterPay';

const START_ONLINE = `mutation StartOnlinePayment($ids: [ID!]!) {
  startOnlinePayment(enrollmentIDs: $ids) { payURL payment { id status } }
}`;
const RESUME_ONLINE = `mutation ResumeOnlinePayment($id: ID!) { resumeOnlinePayment(id: $id) }`;
export const CANCEL_PAYMENT = `mutation CancelPayment($id: ID!) { cancelPayment(id: $id) { id status } }`;
const UPLOAD_PROOF = `mutation UploadProof($file: Upload!) {
  uploadAttachment(kind: PAYMENT_PROOF, file: $file) { id url }
}`;
const SUBMIT_TRANSFER = `mutation SubmitBankTransfer($ids: [ID!]!, $proof: ID!) {
  submitBankTransfer(enrollmentIDs: $ids, proofAttachmentID: $proof) { id status }
}`;

/**
 * Send the browser to the gateway's pay page. The gateway returns it to the
 * server's /payments/return page, whose link leads back to "/": remember
 * where to go from there.
 */
function goToGateway(url, back) {
  try {
    sessionStorage.setItem(AFTER_PAY_KEY, JSON.stringify({ path: back, at: Date.now() }));
  } catch {
    /* private mode: the user finds the page in the menu */
  }
  window.location.assign(url);
}

/** Where to go after returning from the gateway (once), or null. */
export function takeAfterPay() {
  try {
    const raw = sessionStorage.getItem(AFTER_PAY_KEY);
    if (!raw) return null;
    sessionStorage.removeItem(AFTER_PAY_KEY);
    const { path, at } = JSON.parse(raw);
    if (typeof path !== 'string' || !path.startsWith('/') || Date.now() - at > 2 * 3600 * 1000) return null;
    return path;
  } catch {
    return null;
  }
}

/** Open an online payment for the enrollments and go to the gateway. */
export async function payOnline(enrollmentIDs, back) {
  const d = await gql(START_ONLINE, { ids: enrollmentIDs });
  goToGateway(d.startOnlinePayment.payURL, back);
}

/** Get a new pay link for an open online payment and go to the gateway. */
export async function resumeOnline(paymentID, back) {
  const d = await gql(RESUME_ONLINE, { id: paymentID });
  goToGateway(d.resumeOnlinePayment, back);
}

/** Upload a transfer proof and submit the bank transfer for the enrollments. */
export function BankTransferDialog({ enrollmentIDs, amountCents, description, onClose, onDone }) {
  const [file, setFile] = useState(null);
  const [fileError, setFileError] = useState(null);
  const { busy, error, setError, run } = useSubmit();
  const [preview, setPreview] = useState(null);

  function pick(f) {
    setFile(f);
    setError(null);
    setFileError(f ? checkUpload(f) : null);
    if (preview) URL.revokeObjectURL(preview);
    setPreview(f && f.type.startsWith('image/') ? URL.createObjectURL(f) : null);
  }

  async function submit() {
    const problem = checkUpload(file);
    if (problem) {
      setFileError(problem);
      return;
    }
    await run(async () => {
      const up = await gqlUpload(UPLOAD_PROOF, {}, { file });
      await gql(SUBMIT_TRANSFER, { ids: enrollmentIDs, proof: up.uploadAttachment.id });
      toast('转账凭证已提交，等待管理部门确认');
      onDone();
    });
  }

  return (
    <Modal
      title="银行转账缴费"
      onClose={onClose}
      footer={
        <>
          <Button kind="ghost" onClick={onClose}>
            取消
          </Button>
          <Button onClick={submit} busy={busy} disabled={!file}>
            提交转账凭证
          </Button>
        </>
      }
    >
      <dl className="summary">
        <dt>缴费项目</dt>
        <dd>{description}</dd>
        <dt>应缴金额</dt>
        <dd>
          <strong>{fmtYuan(amountCents)}</strong> 元
        </dd>
      </dl>
      <Alert kind="info">
        请按报名通知中公布的收款账户转账，转账附言注明考生姓名及证件号码后四位。转账完成后上传银行回单或转账截图，管理部门核对到账后确认缴费。
      </Alert>
      <Field label="转账凭证" required error={fileError} hint="JPG、PNG 图片或 PDF">
        <FilePick accept={UPLOAD_ACCEPT} file={file} onFile={pick} label="选择凭证文件" />
      </Field>
      {preview && (
        <div className="thumbs" style={{ marginBottom: 14 }}>
          <figure>
            <span className="thumb">
              <img src={preview} alt="凭证预览" />
            </span>
            预览
          </figure>
        </div>
      )}
      <ErrorAlert error={error} />
    </Modal>
  );
}

/** A button that runs an async payment step and shows its error in a toast. */
export function PayButton({ children, run, kind = 'primary' }) {
  const [busy, setBusy] = useState(false);
  return (
    <Button
      small
      kind={kind}
      busy={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await run();
          // Navigation to the gateway keeps the spinner until the page goes.
        } catch (e) {
          toast(e.message || '操作失败', 'error');
          setBusy(false);
        }
      }}
    >
      {children}
    </Button>
  );
}
