// The paper in progress: server clock countdown, answers saved one by one
// (acknowledged after commit), focus-loss reports, PC camera snapshots,
// phone pairing and the candidate's live events.
import { useCallback, useEffect, useRef, useState } from 'react';
import { gql, gqlUpload, subscribe, ws } from '../../api.js';
import { fmtTime } from '../../format.js';
import { Alert, Badge, Button, ErrorAlert, Loading, Modal, StatusBadge, toast } from '../../ui.jsx';
import { grabFrame, openCamera, stopCamera } from './camera.js';
import { FOCUS_LOSS_LIMIT, PAPER_KIND, PHONE_STATE, QUESTION_TYPE, fmtClock } from './labels.js';

const STATE = `query AttemptState($id: ID!) {
  attemptState(id: $id) {
    attempt { id kind status phoneState submitReason }
    paper { totalPoints items { questionID type stem options points } }
    deadline serverNow remainingSeconds focusLosses status
    answers { questionID seq response { options isTrue } }
  }
}`;
const SAVE = `mutation SaveAnswer($input: SaveAnswerInput!) { saveAnswer(input: $input) { questionID seq } }`;
const FOCUS = `mutation ReportFocusLoss($id: ID!, $kind: String!) { reportFocusLoss(attemptID: $id, kind: $kind) { count submitted } }`;
const SUBMIT = `mutation SubmitAttempt($id: ID!) { submitAttempt(id: $id) { id status } }`;
const SNAPSHOT = `mutation UploadSnapshot($id: ID!, $file: Upload!) { uploadSnapshot(attemptID: $id, file: $file) { at nextInSeconds } }`;
const PAIRING = `mutation NewPhonePairing($id: ID!) { newPhonePairing(attemptID: $id) { expiresAt qrPayload qrImage } }`;
const EVENTS = `subscription AttemptEvents($id: ID!) { attemptEvents(attemptID: $id) { type at text reason } }`;

// Errors worth retrying: the request may not have reached the server.
const TRANSIENT = new Set(['NETWORK', 'INTERNAL', 'TOO_MANY_REQUESTS']);

const pendingKey = (id) => `kaowu.exam.pending.${id}`;

function readPending(id) {
  try {
    return JSON.parse(localStorage.getItem(pendingKey(id)) || '{}');
  } catch {
    return {};
  }
}

/** Same answer? (saved responses come back with null fields) */
function toInput(r) {
  if (r == null) return {};
  if (r.isTrue != null) return { isTrue: r.isTrue };
  return { options: r.options || [] };
}

function isAnswered(r) {
  return r != null && (r.isTrue != null || (r.options && r.options.length > 0));
}

/** Counts down from the server's remainingSeconds on the monotonic clock. */
function useCountdown(remainingSeconds, stamp) {
  const [left, setLeft] = useState(remainingSeconds);
  useEffect(() => {
    if (remainingSeconds == null) return undefined;
    const end = stamp + remainingSeconds * 1000;
    const tick = () => setLeft(Math.max(0, (end - performance.now()) / 1000));
    tick();
    const t = setInterval(tick, 500);
    return () => clearInterval(t);
  }, [remainingSeconds, stamp]);
  return left;
}

function Question({ n, item, entry, onAnswer, disabled }) {
  const r = entry?.response;
  const name = `q-${item.questionID}`;
  let state = null;
  if (entry?.status === 'saved') state = <Badge kind="success">已保存</Badge>;
  else if (entry?.status === 'saving') state = <Badge kind="default">保存中…</Badge>;
  else if (entry?.status === 'unsaved') state = <Badge kind="warning">未保存，等待重试</Badge>;
  else if (entry?.status === 'error') state = <Badge kind="danger">保存失败</Badge>;
  const choose = (i) => {
    if (item.type === 'MULTIPLE') {
      const cur = new Set(r?.options || []);
      if (cur.has(i)) cur.delete(i);
      else cur.add(i);
      onAnswer(item.questionID, { options: [...cur].sort((a, b) => a - b) });
    } else {
      onAnswer(item.questionID, { options: [i] });
    }
  };
  return (
    <li className="exam-q" id={`q-${n}`} data-question={item.questionID} aria-label={`第 ${n} 题`}>
      <div className="exam-q-head">
        <span className="exam-q-no">{n}</span>
        <Badge>{QUESTION_TYPE[item.type] || item.type}</Badge>
        <span className="muted small">{item.points} 分</span>
        <span className="exam-q-state" data-save-state={entry?.status || 'none'}>
          {state}
        </span>
      </div>
      <div className="exam-q-stem">{item.stem}</div>
      {entry?.status === 'error' && <div className="field-error">{entry.message}</div>}
      <div className="exam-q-options" role={item.type === 'MULTIPLE' ? 'group' : 'radiogroup'}>
        {item.type === 'TRUE_FALSE'
          ? [
              [true, '正确'],
              [false, '错误'],
            ].map(([v, label]) => (
              <label key={label} className={`exam-opt ${r?.isTrue === v ? 'chosen' : ''}`}>
                <input
                  type="radio"
                  name={name}
                  checked={r?.isTrue === v}
                  disabled={disabled}
                  onChange={() => onAnswer(item.questionID, { isTrue: v })}
                />
                {label}
              </label>
            ))
          : (item.options || []).map((o, i) => {
              const on = (r?.options || []).includes(i);
              return (
                <label key={i} className={`exam-opt ${on ? 'chosen' : ''}`}>
                  <input
                    type={item.type === 'MULTIPLE' ? 'checkbox' : 'radio'}
                    name={name}
                    checked={on}
                    disabled={disabled}
                    onChange={() => choose(i)}
                  />
                  <span className="exam-opt-key">{String.fromCharCode(65 + i)}.</span>
                  {o}
                </label>
              );
            })}
      </div>
    </li>
  );
}

/** The PC camera: a small live preview and snapshots when the server asks. */
function PcCamera({ attemptID, active, onReady }) {
  const video = useRef(null);
  const [error, setError] = useState(null);
  const [last, setLast] = useState(null);
  const [count, setCount] = useState(0);
  const [stream, setStream] = useState(null);

  useEffect(() => {
    let live = true;
    let s = null;
    openCamera('user')
      .then((st) => {
        if (!live) {
          stopCamera(st);
          return;
        }
        s = st;
        setStream(st);
      })
      .catch((e) => live && setError(e.message))
      .finally(() => live && onReady());
    return () => {
      live = false;
      stopCamera(s);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    if (stream && video.current) {
      video.current.srcObject = stream;
      video.current.play().catch(() => {});
    }
  }, [stream]);

  // Snapshot loop: the first once the picture plays, then when the server says.
  useEffect(() => {
    if (!stream || !active) return undefined;
    let timer = null;
    let stopped = false;
    const next = (sec) => {
      if (!stopped) timer = setTimeout(shoot, sec * 1000);
    };
    async function shoot() {
      try {
        const file = await grabFrame(video.current, 'pc');
        const d = await gqlUpload(SNAPSHOT, { id: attemptID, file: null }, { file });
        setLast(d.uploadSnapshot.at);
        setCount((c) => c + 1);
        next(d.uploadSnapshot.nextInSeconds);
      } catch (e) {
        if (e?.code === 'CONFLICT') return; // the attempt has ended
        next(e?.code && !TRANSIENT.has(e.code) ? 60 : 15);
      }
    }
    next(2);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [stream, active, attemptID]);

  return (
    <div className="exam-camera">
      <div className="camera small-camera">
        {stream ? <video ref={video} playsInline muted aria-label="电脑摄像头画面" /> : <span>{error ? '摄像头不可用' : '正在开启摄像头…'}</span>}
      </div>
      {error ? (
        <Alert kind="error">{error} 抓拍无法进行，监考人员会看到这一情况。</Alert>
      ) : (
        <div className="muted small" data-snapshots={count}>
          {count ? `已抓拍 ${count} 张，最近 ${fmtTime(last).slice(11)}` : '考试期间将随机抓拍'}
        </div>
      )}
    </div>
  );
}

/** Pairing the phone: a QR code of the phone page, and the phone's state. */
function PhonePanel({ attemptID, phoneState, active }) {
  const [pairing, setPairing] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (phoneState === 'CONNECTED') setPairing(null);
  }, [phoneState]);
  async function create() {
    setBusy(true);
    setError(null);
    try {
      const d = await gql(PAIRING, { id: attemptID });
      setPairing(d.newPhonePairing);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="exam-phone" data-phone-state={phoneState}>
      <div className="row gap">
        <strong>手机监控</strong>
        <StatusBadge map={PHONE_STATE} value={phoneState} />
      </div>
      {phoneState !== 'CONNECTED' && (
        <p className="muted small">
          用手机扫描二维码打开监控页面，将手机固定在侧后方，拍到您本人、屏幕和桌面。
          {phoneState === 'LOST' && '手机连接已中断，请检查手机网络，或重新扫码连接。'}
        </p>
      )}
      {pairing && (
        <div className="exam-qr">
          <img src={pairing.qrImage} alt="手机扫码二维码" data-qr-payload={pairing.qrPayload} />
          <div className="muted small">二维码 {fmtTime(pairing.expiresAt).slice(11)} 前有效，只能使用一次</div>
        </div>
      )}
      {active && phoneState !== 'CONNECTED' && (
        <Button small kind={pairing ? 'ghost' : 'secondary'} busy={busy} onClick={create}>
          {pairing ? '重新生成二维码' : '生成手机扫码二维码'}
        </Button>
      )}
      <ErrorAlert error={error} />
    </div>
  );
}

export default function AttemptView({ attemptID, onEnded }) {
  const [st, setSt] = useState(null); // attemptState
  const [loadError, setLoadError] = useState(null);
  const [stamp, setStamp] = useState(0); // performance.now() when st arrived
  const [, setVersion] = useState(0);
  const entries = useRef({}); // questionID -> {response, seq, status, message}
  const seq = useRef(0);
  const [focus, setFocus] = useState(null); // the last report {count, submitted}, while its notice shows
  const [losses, setLosses] = useState(0);
  const [warnings, setWarnings] = useState([]);
  const [phoneState, setPhoneState] = useState('NONE');
  const [wsState, setWsState] = useState(ws.state);
  const [confirming, setConfirming] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState(null);
  const [cameraSettled, setCameraSettled] = useState(false);
  const ended = useRef(false);
  const rerender = useCallback(() => setVersion((v) => v + 1), []);

  const end = useCallback(
    (reason) => {
      if (ended.current) return;
      ended.current = true;
      onEnded(reason);
    },
    [onEnded],
  );

  const load = useCallback(async () => {
    try {
      const d = await gql(STATE, { id: attemptID });
      const s = d.attemptState;
      if (s.status !== 'IN_PROGRESS') {
        end(s.attempt.submitReason);
        return;
      }
      // Saved answers, then what this browser sent but never saw acknowledged.
      const next = {};
      let max = seq.current;
      for (const a of s.answers) {
        next[a.questionID] = { response: toInput(a.response), seq: a.seq, status: 'saved' };
        max = Math.max(max, a.seq);
      }
      const pending = readPending(attemptID);
      for (const [qid, p] of Object.entries(pending)) {
        if (!next[qid] || next[qid].seq < p.seq) next[qid] = { response: p.response, seq: p.seq, status: 'unsaved' };
        max = Math.max(max, p.seq);
      }
      // Keep newer local edits made while this load was under way.
      for (const [qid, e] of Object.entries(entries.current)) {
        if (e.status !== 'saved' && (!next[qid] || next[qid].seq < e.seq)) next[qid] = e;
      }
      entries.current = next;
      seq.current = max;
      setSt(s);
      setStamp(performance.now());
      setPhoneState(s.attempt.phoneState);
      setLosses((n) => Math.max(n, s.focusLosses));
      setLoadError(null);
      rerender();
    } catch (e) {
      setLoadError(e);
    }
  }, [attemptID, end, rerender]);

  useEffect(() => {
    load();
  }, [load]);

  // ---- saving

  const persist = useCallback(() => {
    const out = {};
    for (const [qid, e] of Object.entries(entries.current)) {
      if (e.status !== 'saved') out[qid] = { response: e.response, seq: e.seq };
    }
    try {
      if (Object.keys(out).length) localStorage.setItem(pendingKey(attemptID), JSON.stringify(out));
      else localStorage.removeItem(pendingKey(attemptID));
    } catch {
      /* private mode: unsaved answers live in memory only */
    }
  }, [attemptID]);

  const send = useCallback(
    async (qid, e) => {
      try {
        const d = await gql(SAVE, { input: { attemptID, questionID: qid, response: e.response, seq: e.seq } });
        const cur = entries.current[qid];
        if (cur && cur.seq <= d.saveAnswer.seq) entries.current[qid] = { ...cur, status: 'saved' };
      } catch (err) {
        const cur = entries.current[qid];
        if (cur && cur.seq === e.seq) {
          entries.current[qid] = TRANSIENT.has(err.code)
            ? { ...cur, status: 'unsaved' }
            : { ...cur, status: 'error', message: err.message };
        }
        if (err.code === 'CONFLICT') load(); // submitted or time is up
      }
      persist();
      rerender();
    },
    [attemptID, load, persist, rerender],
  );

  const answer = useCallback(
    (qid, response) => {
      const e = { response, seq: ++seq.current, status: 'saving' };
      entries.current[qid] = e;
      persist();
      rerender();
      send(qid, e);
    },
    [persist, rerender, send],
  );

  const retry = useCallback(() => {
    for (const [qid, e] of Object.entries(entries.current)) {
      if (e.status === 'unsaved') {
        entries.current[qid] = { ...e, status: 'saving' };
        send(qid, e);
      }
    }
    rerender();
  }, [send, rerender]);

  // Unsaved answers are retried every few seconds, and at once when the
  // network or the live channel comes back.
  useEffect(() => {
    const t = setInterval(retry, 5000);
    window.addEventListener('online', retry);
    return () => {
      clearInterval(t);
      window.removeEventListener('online', retry);
    };
  }, [retry]);
  useEffect(() => {
    // The first pass sends what a reload found unacknowledged.
    if (st) retry();
  }, [st, retry]);

  // ---- live events

  useEffect(
    () =>
      ws.onState((s) => {
        setWsState(s);
        if (s === 'open') retry();
      }),
    [retry],
  );
  useEffect(
    () =>
      subscribe(EVENTS, { id: attemptID }, {
        next: (d) => {
          const e = d.attemptEvents;
          switch (e.type) {
            case 'WARNING':
              setWarnings((w) => [{ at: e.at, text: e.text }, ...w]);
              toast(`监考提醒：${e.text}`, 'error');
              break;
            case 'PHONE_CONNECTED':
            case 'PHONE_BACK':
              setPhoneState('CONNECTED');
              break;
            case 'PHONE_LOST':
              setPhoneState('LOST');
              break;
            case 'PHONE_ENDED':
              setPhoneState('NONE');
              break;
            case 'SUBMITTED':
            case 'AUTO_SUBMITTED':
              end(e.reason);
              break;
            default:
              break;
          }
        },
      }),
    [attemptID, end],
  );

  // ---- focus loss: one report per time away (blur and hidden come together)

  const away = useRef(false);
  useEffect(() => {
    if (!st || !cameraSettled) return undefined;
    const report = async (kind) => {
      try {
        const d = await gql(FOCUS, { id: attemptID, kind });
        setFocus(d.reportFocusLoss);
        setLosses((n) => Math.max(n, d.reportFocusLoss.count));
        if (d.reportFocusLoss.submitted) end('FOCUS_LOSS_LIMIT');
      } catch (e) {
        if (e.code === 'CONFLICT') load();
      }
    };
    const lost = (kind) => {
      if (away.current || ended.current) return;
      away.current = true;
      setTimeout(() => report(document.hidden ? 'HIDDEN' : kind), 250);
    };
    const back = () => {
      if (!document.hidden) away.current = false;
    };
    const onVis = () => (document.hidden ? lost('HIDDEN') : back());
    const onBlur = () => lost('BLUR');
    window.addEventListener('blur', onBlur);
    window.addEventListener('focus', back);
    document.addEventListener('visibilitychange', onVis);
    return () => {
      window.removeEventListener('blur', onBlur);
      window.removeEventListener('focus', back);
      document.removeEventListener('visibilitychange', onVis);
    };
  }, [st, cameraSettled, attemptID, end, load]);

  // ---- clock

  const left = useCountdown(st?.remainingSeconds, stamp);
  const timeUp = st && left <= 0;
  useEffect(() => {
    // The server submits at the deadline; ask until it has.
    if (!timeUp) return undefined;
    const t = setInterval(load, 3000);
    return () => clearInterval(t);
  }, [timeUp, load]);

  async function submit() {
    setSubmitting(true);
    setSubmitError(null);
    try {
      await gql(SUBMIT, { id: attemptID });
      try {
        localStorage.removeItem(pendingKey(attemptID));
      } catch {
        /* ignore */
      }
      end('CANDIDATE');
    } catch (e) {
      setSubmitError(e);
      setSubmitting(false);
      if (e.code === 'CONFLICT') load();
    }
  }

  if (!st) return loadError ? <ErrorAlert error={loadError} /> : <Loading>正在载入试卷…</Loading>;

  const items = st.paper.items;
  const list = items.map((it) => entries.current[it.questionID]);
  const answered = list.filter((e) => e && isAnswered(e.response)).length;
  const unsaved = list.filter((e) => e && e.status !== 'saved').length;
  const jump = (n) => document.getElementById(`q-${n}`)?.scrollIntoView({ behavior: 'smooth', block: 'start' });

  return (
    <div className="exam-room" data-attempt={attemptID}>
      <div className="exam-bar">
        <div>
          <strong>{PAPER_KIND[st.attempt.kind]}</strong>
          <span className="muted small">
            {' '}
            共 {items.length} 题 · {st.paper.totalPoints} 分
          </span>
        </div>
        <div className={`exam-clock ${left < 300 ? 'urgent' : ''}`} aria-live="off" role="timer" aria-label="剩余时间">
          {timeUp ? '时间到，正在交卷…' : `剩余 ${fmtClock(left)}`}
        </div>
        <div className="row gap">
          <span className={`live live-${wsState === 'open' ? 'open' : 'retrying'}`}>{wsState === 'open' ? '实时连接正常' : '实时连接中断，正在重连'}</span>
          <Button onClick={() => setConfirming(true)} disabled={timeUp}>
            交卷
          </Button>
        </div>
      </div>
      {unsaved > 0 && !timeUp && (
        <Alert kind="warning">有 {unsaved} 题的答案尚未保存到服务器，网络恢复后将自动重试；答案已暂存在本机。</Alert>
      )}
      {warnings.map((w) => (
        <Alert key={w.at} kind="error" title={`监考提醒（${fmtTime(w.at).slice(11)}）`}>
          {w.text}
        </Alert>
      ))}
      <div className="exam-layout">
        <ol className="exam-questions">
          {items.map((it, i) => (
            <Question key={it.questionID} n={i + 1} item={it} entry={entries.current[it.questionID]} onAnswer={answer} disabled={timeUp} />
          ))}
        </ol>
        <aside className="exam-side">
          <div className="exam-card">
            <div className="exam-nav" aria-label="答题卡">
              {items.map((it, i) => {
                const e = entries.current[it.questionID];
                const cls = !e || !isAnswered(e.response) ? '' : e.status === 'saved' ? 'done' : 'pending';
                return (
                  <button key={it.questionID} type="button" className={cls} onClick={() => jump(i + 1)} aria-label={`跳到第 ${i + 1} 题`}>
                    {i + 1}
                  </button>
                );
              })}
            </div>
            <div className="muted small">
              已答 {answered} / {items.length} · 离开页面 {losses} 次（第 {FOCUS_LOSS_LIMIT} 次将自动交卷）
            </div>
          </div>
          <div className="exam-card">
            <PcCamera attemptID={attemptID} active={!timeUp} onReady={() => setCameraSettled(true)} />
          </div>
          <div className="exam-card">
            <PhonePanel attemptID={attemptID} phoneState={phoneState} active={!timeUp} />
          </div>
        </aside>
      </div>
      {focus && !focus.submitted && (
        <Modal
          title="请勿离开考试页面"
          onClose={() => {
            away.current = false;
            setFocus(null);
          }}
          footer={
            <Button
              onClick={() => {
                away.current = false;
                setFocus(null);
              }}
            >
              我知道了，继续答题
            </Button>
          }
        >
          <p className="focus-count" data-count={focus.count}>
            系统检测到您离开了考试页面，这是第 <strong>{focus.count}</strong> 次。
          </p>
          <p>离开考试页面累计达到第 {FOCUS_LOSS_LIMIT} 次时，系统将自动交卷。每次离开都会被记录并提供给监考人员。</p>
        </Modal>
      )}
      {confirming && (
        <Modal
          title="确认交卷"
          onClose={() => setConfirming(false)}
          footer={
            <>
              <Button kind="ghost" onClick={() => setConfirming(false)}>
                继续答题
              </Button>
              <Button onClick={submit} busy={submitting}>
                确认交卷
              </Button>
            </>
          }
        >
          <dl className="summary">
            <dt>已答</dt>
            <dd>
              {answered} / {items.length} 题
            </dd>
            <dt>未答</dt>
            <dd>{items.length - answered} 题</dd>
            <dt>剩余时间</dt>
            <dd>{fmtClock(left)}</dd>
          </dl>
          {unsaved > 0 && <Alert kind="warning">还有 {unsaved} 题的答案未保存，交卷后未保存的答案不计分。请稍候或检查网络。</Alert>}
          <p>交卷后不能再修改答案。{st.attempt.kind === 'FORMAL' ? '正式试卷的成绩须经管理部门审核后生效。' : ''}</p>
          <ErrorAlert error={submitError} />
        </Modal>
      )}
    </div>
  );
}
