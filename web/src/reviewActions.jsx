// Approve / reject-with-reason buttons for review queues.
import { useId, useState } from 'react';
import { Button, ErrorAlert } from './ui.jsx';

/**
 * approve() and reject(reason) are async and throw on failure; onDone runs
 * after either succeeds. Labels can be changed (确认到账 / 驳回).
 */
export default function ReviewActions({
  approve,
  reject,
  onDone,
  approveLabel = '通过',
  rejectLabel = '驳回',
  placeholder = '请填写驳回原因，将通知申请人',
  reasonRequired = '请填写驳回原因',
  children,
}) {
  const id = useId();
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);

  async function go(ok) {
    if (!ok && !reason.trim()) {
      setError(new Error(reasonRequired));
      return;
    }
    setBusy(ok ? 'approve' : 'reject');
    setError(null);
    try {
      if (ok) await approve();
      else await reject(reason.trim());
      onDone?.(ok);
    } catch (e) {
      setError(e);
      setBusy(null);
    }
  }

  return (
    <div className="review-actions">
      {rejecting ? (
        <div className="reject-box">
          <label className="sr-only" htmlFor={id}>
            驳回原因
          </label>
          <textarea id={id} rows={2} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} placeholder={placeholder} autoFocus />
          <div className="row gap">
            <Button small kind="danger" busy={busy === 'reject'} onClick={() => go(false)}>
              确认{rejectLabel}
            </Button>
            <Button
              small
              kind="ghost"
              onClick={() => {
                setRejecting(false);
                setError(null);
              }}
            >
              取消
            </Button>
          </div>
        </div>
      ) : (
        <div className="row gap">
          {children}
          <Button small busy={busy === 'approve'} disabled={!!busy} onClick={() => go(true)}>
            {approveLabel}
          </Button>
          <Button small kind="danger-ghost" disabled={!!busy} onClick={() => setRejecting(true)}>
            {rejectLabel}
          </Button>
        </div>
      )}
      <ErrorAlert error={error} />
    </div>
  );
}
