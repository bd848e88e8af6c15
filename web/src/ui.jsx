// Small shared components and hooks.
import { useCallback, useEffect, useId, useRef, useState, cloneElement, isValidElement } from 'react';
import { gql } from './api.js';

/** Run a query on mount and when deps change: {data, error, loading, reload}. A null query is skipped. */
export function useQuery(query, variables, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const vars = useRef(variables);
  vars.current = variables;
  const run = useCallback(async () => {
    const n = ++seq.current;
    if (!query) {
      setState({ data: null, error: null, loading: false });
      return null;
    }
    setState((s) => ({ ...s, loading: true, error: null }));
    const v = vars.current;
    try {
      const data = await gql(query, v);
      // variables: what data was fetched for. While the next query runs,
      // data is still the previous one's, perhaps for another record.
      if (n === seq.current) setState({ data, error: null, loading: false, variables: v });
      return data;
    } catch (error) {
      if (n === seq.current) setState((s) => ({ ...s, error, loading: false }));
      return null;
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query, ...deps]);
  useEffect(() => {
    run();
  }, [run]);
  return { ...state, reload: run, setData: (fn) => setState((s) => ({ ...s, data: fn(s.data) })) };
}

/** Form state: values, a change handler per name, errors. */
export function useForm(initial) {
  const [values, setValues] = useState(initial);
  const [errors, setErrors] = useState({});
  const bind = (name) => ({
    name,
    value: values[name] ?? '',
    onChange: (e) => {
      const v = e.target.type === 'checkbox' ? e.target.checked : e.target.value;
      setValues((s) => ({ ...s, [name]: v }));
      if (errors[name]) setErrors((s) => ({ ...s, [name]: null }));
    },
  });
  const reset = () => {
    setValues(initial);
    setErrors({});
  };
  return { values, setValues, errors, setErrors, bind, reset };
}

/**
 * Run an async action with busy state and an error message. With a form, a
 * server error naming one of its fields (extensions.field, renamed through
 * aliases) is shown under that field instead.
 */
export function useAction(form, aliases = {}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const formRef = useRef(form);
  formRef.current = form;
  const run = useCallback(async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      const f = formRef.current;
      const raw = e?.extensions?.field;
      const name = raw && (aliases[raw] || raw);
      if (f && name && Object.prototype.hasOwnProperty.call(f.values, name)) {
        f.setErrors((s) => ({ ...s, [name]: e.message }));
      } else {
        setError(e);
      }
      return undefined;
    } finally {
      setBusy(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return { busy, error, setError, run };
}

/**
 * Busy and error state for per-row actions in a list: busy holds the key of
 * the row being acted on, so only that row's button spins.
 */
export function useRowAction() {
  const [busy, setBusy] = useState(null);
  const [error, setError] = useState(null);
  const run = async (key, fn) => {
    setBusy(key);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };
  return { busy, error, setError, run };
}

/**
 * Busy and error state for a dialog's submit. On success busy stays on: the
 * dialog is about to close. A failure goes to onError (default: the error
 * shown in the dialog) and re-enables the button.
 */
export function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (fn, onError = setError) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      onError(e);
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

/** Which dialog a page shows; done closes it and runs onDone (a reload). */
export function useDialog(onDone) {
  const [dialog, setDialog] = useState(null);
  const close = () => setDialog(null);
  const done = () => {
    setDialog(null);
    onDone();
  };
  return { dialog, setDialog, close, done };
}

/**
 * A labelled form control. With no child, renders an <input> with the
 * remaining props; otherwise the child (select, textarea, ...) gets the id.
 */
export function Field({ label, error, hint, required, children, className = '', extra, ...props }) {
  const id = useId();
  const describedBy = error ? `${id}-err` : hint ? `${id}-hint` : undefined;
  const control = isValidElement(children)
    ? cloneElement(children, {
        id,
        'aria-invalid': error ? true : undefined,
        'aria-describedby': describedBy,
      })
    : (
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...props} />
    );
  return (
    <div className={`field ${error ? 'has-error' : ''} ${className}`}>
      <label htmlFor={id}>
        {label}
        {required && <span className="req" aria-hidden="true">*</span>}
      </label>
      <div className="control">
        {control}
        {extra}
      </div>
      {error ? (
        <div className="field-error" id={`${id}-err`}>
          {error}
        </div>
      ) : hint ? (
        <div className="field-hint" id={`${id}-hint`}>
          {hint}
        </div>
      ) : null}
    </div>
  );
}

/**
 * A new password and its confirmation, bound to a useForm's password and
 * confirm values.
 */
export function PasswordFields({ form, label = '密码', confirmLabel = `确认${label}` }) {
  return (
    <>
      <Field
        label={label}
        required
        error={form.errors.password}
        hint="至少8位，不能全为数字"
        {...form.bind('password')}
        type="password"
        autoComplete="new-password"
      />
      <Field
        label={confirmLabel}
        required
        error={form.errors.confirm}
        {...form.bind('confirm')}
        type="password"
        autoComplete="new-password"
      />
    </>
  );
}

export function Alert({ kind = 'error', children, title }) {
  if (!children && !title) return null;
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {title && <strong>{title}</strong>}
      {children && <div>{children}</div>}
    </div>
  );
}

/** Shows an ApiError's message (or any error). */
export function ErrorAlert({ error }) {
  if (!error) return null;
  return <Alert kind="error">{error.message || String(error)}</Alert>;
}

export function Button({ busy, children, kind = 'primary', small, className = '', ...props }) {
  return (
    <button
      type="button"
      className={`btn btn-${kind} ${small ? 'btn-sm' : ''} ${className}`}
      disabled={busy || props.disabled}
      aria-busy={busy || undefined}
      {...props}
    >
      {busy && <span className="spinner" aria-hidden="true" />}
      {children}
    </button>
  );
}

export function PageHeader({ title, desc, actions }) {
  return (
    <div className="page-header">
      <div>
        <h1>{title}</h1>
        {desc && <p className="page-desc">{desc}</p>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </div>
  );
}

export function Card({ title, actions, children, className = '' }) {
  return (
    <section className={`card ${className}`}>
      {(title || actions) && (
        <div className="card-head">
          {title && <h2>{title}</h2>}
          {actions && <div className="card-actions">{actions}</div>}
        </div>
      )}
      <div className="card-body">{children}</div>
    </section>
  );
}

export function Empty({ children = '暂无数据' }) {
  return <div className="empty">{children}</div>;
}

export function Loading({ children = '加载中…' }) {
  return (
    <div className="loading" role="status">
      <span className="spinner dark" aria-hidden="true" />
      {children}
    </div>
  );
}

export function Badge({ kind = 'default', children }) {
  return <span className={`badge badge-${kind}`}>{children}</span>;
}

/** Loading / error / content of a useQuery result. */
export function QueryState({ q, children }) {
  if (q.error && !q.data) return <ErrorAlert error={q.error} />;
  if (!q.data) return <Loading />;
  return (
    <>
      {q.error && <ErrorAlert error={q.error} />}
      {children(q.data)}
    </>
  );
}

/** Connection edges to nodes. */
export function nodes(conn) {
  return (conn?.edges || []).map((e) => e?.node).filter(Boolean);
}

/** A transient message in the corner ("已保存"). */
let toastFn = null;
export function toast(msg, kind = 'success') {
  toastFn?.(msg, kind);
}

export function Toaster() {
  const [items, setItems] = useState([]);
  useEffect(() => {
    let n = 0;
    toastFn = (msg, kind) => {
      const id = ++n;
      setItems((s) => [...s, { id, msg, kind }]);
      setTimeout(() => setItems((s) => s.filter((t) => t.id !== id)), 4000);
    };
    return () => {
      toastFn = null;
    };
  }, []);
  return (
    <div className="toaster" aria-live="polite">
      {items.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`}>
          {t.msg}
        </div>
      ))}
    </div>
  );
}

/** A button that asks "确定？" inline before acting (no native dialogs). */
export function ConfirmButton({ children, confirm = '确定？', onConfirm, busy, kind = 'danger-ghost', small = true }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <Button small={small} kind={kind} busy={busy} onClick={() => setAsking(true)}>
        {children}
      </Button>
    );
  }
  return (
    <span className="confirm">
      <span className="confirm-text">{confirm}</span>
      <Button
        small={small}
        kind="danger"
        busy={busy}
        onClick={async () => {
          await onConfirm();
          setAsking(false);
        }}
      >
        确定
      </Button>
      <Button small={small} kind="ghost" onClick={() => setAsking(false)}>
        取消
      </Button>
    </span>
  );
}

/** A modal dialog: title, body, footer actions. Escape and the backdrop close it. */
export function Modal({ title, children, footer, onClose, wide = false }) {
  const id = useId();
  const box = useRef(null);
  useEffect(() => {
    const prev = document.activeElement;
    const el = box.current?.querySelector('[autofocus], input, select, textarea, button:not(.modal-x)');
    (el || box.current)?.focus();
    const onKey = (e) => {
      if (e.key === 'Escape') onClose?.();
    };
    document.addEventListener('keydown', onKey);
    document.body.classList.add('modal-open');
    return () => {
      document.removeEventListener('keydown', onKey);
      document.body.classList.remove('modal-open');
      if (prev && prev.focus) prev.focus();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose?.()}>
      <div className={`modal ${wide ? 'modal-wide' : ''}`} role="dialog" aria-modal="true" aria-labelledby={id} ref={box} tabIndex={-1}>
        <div className="modal-head">
          <h2 id={id}>{title}</h2>
          <button type="button" className="modal-x" aria-label="关闭" onClick={onClose}>
            ×
          </button>
        </div>
        <div className="modal-body">{children}</div>
        {footer && <div className="modal-foot">{footer}</div>}
      </div>
    </div>
  );
}

/** A badge from a {label, kind} table (ENROLLMENT_STATUS etc.). */
export function StatusBadge({ map, value }) {
  const s = map[value];
  if (!s) return value ? <Badge>{value}</Badge> : null;
  return <Badge kind={s.kind}>{s.label}</Badge>;
}

/** Tabs as in the review pages: [[key, label], ...]. */
export function Tabs({ tabs, value, onChange, label }) {
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map(([k, text]) => (
        <button
          key={k}
          type="button"
          role="tab"
          aria-selected={value === k}
          className={value === k ? 'active' : ''}
          onClick={() => onChange(k)}
        >
          {text}
        </button>
      ))}
    </div>
  );
}

/** A thumbnail of an uploaded file: the image itself, or a PDF tile; opens in a new tab. */
export function Thumb({ url, contentType, fileName, label }) {
  if (!url) return null;
  const pdf = (contentType || '').includes('pdf') || /\.pdf$/i.test(fileName || '');
  return (
    <a className="thumb" href={url} target="_blank" rel="noreferrer" title={fileName || label || '查看'}>
      {pdf ? <span className="thumb-pdf">PDF</span> : <img src={url} alt={label || fileName || ''} loading="lazy" />}
    </a>
  );
}

/** Accepted upload types. */
export const UPLOAD_ACCEPT = 'image/jpeg,image/png,application/pdf,.jpg,.jpeg,.png,.pdf';

/** A quick client-side check of an upload (the server checks the content). */
export function checkUpload(file, { imageOnly = false } = {}) {
  if (!file) return '请选择文件';
  const okType = imageOnly
    ? /^image\/(jpeg|png)$/.test(file.type) || /\.(jpe?g|png)$/i.test(file.name)
    : /^(image\/(jpeg|png)|application\/pdf)$/.test(file.type) || /\.(jpe?g|png|pdf)$/i.test(file.name);
  if (!okType) return imageOnly ? '请上传 JPG 或 PNG 图片' : '请上传 JPG、PNG 图片或 PDF 文件';
  if (file.size > 20 * 1024 * 1024) return '文件不能超过 20MB';
  return null;
}

/**
 * A file chooser styled as a button, with the chosen file's name (the native
 * control's text follows the browser's language, not the page's).
 */
export function FilePick({ id, accept, file, onFile, label = '选择文件', capture, 'aria-invalid': invalid, 'aria-describedby': describedBy }) {
  return (
    <span className="file-field">
      <span className="file-pick">
        <Button small kind="secondary" tabIndex={-1}>
          {file ? '重新选择' : label}
        </Button>
        <input
          id={id}
          type="file"
          accept={accept}
          capture={capture}
          aria-invalid={invalid}
          aria-describedby={describedBy}
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = ''; // choosing the same file again fires again
            if (f) onFile(f);
          }}
        />
      </span>
      <span className={`file-name ${file ? '' : 'muted'}`}>{file ? file.name : '未选择文件'}</span>
    </span>
  );
}
