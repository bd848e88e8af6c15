import { useCallback, useEffect, useRef, useState } from 'react';
import { gqlUpload, subscribe } from '../../api.js';
import { PAYMENT_STATUS, fmtSpan, fmtTime } from '../../format.js';
import { residentIdError } from '../../idcard.js';
import {
  Alert,
  Badge,
  Button,
  Card,
  Empty,
  ErrorAlert,
  Field,
  FilePick,
  PageHeader,
  QueryState,
  StatusBadge,
  useQuery,
} from '../../ui.jsx';
import { ROSTER_FIELDS, SessionSelect, useSiteSessions } from './siteSessions.jsx';

const ROSTER = `query SessionRoster($id: ID!) { sessionRoster(sessionID: $id) { ${ROSTER_FIELDS} } }`;
const CHECK_IN = `mutation CheckIn($input: CheckInInput!) {
  checkIn(input: $input) { id checkedInAt readerName }
}`;
const CHECKED_IN = `subscription SessionCheckIns($id: ID!) { sessionCheckIns(sessionID: $id) { enrollmentID at } }`;

/** The desk camera: live preview through getUserMedia, a still on demand; a file input where there is no camera. */
function LivePhoto({ photo, onPhoto }) {
  const video = useRef(null);
  const stream = useRef(null);
  const [state, setState] = useState('off'); // off | starting | on | unavailable
  const [note, setNote] = useState(null);
  const [preview, setPreview] = useState(null);

  const stop = useCallback(() => {
    stream.current?.getTracks().forEach((t) => t.stop());
    stream.current = null;
  }, []);
  useEffect(() => stop, [stop]);
  useEffect(() => {
    if (!photo) {
      setPreview(null);
      return undefined;
    }
    const url = URL.createObjectURL(photo);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [photo]);

  async function start() {
    setNote(null);
    if (!navigator.mediaDevices?.getUserMedia) {
      setState('unavailable');
      setNote('当前浏览器不支持调用摄像头（须通过 HTTPS 访问），请使用“选择照片”上传现场照片。');
      return;
    }
    setState('starting');
    try {
      const s = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user', width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false });
      stream.current = s;
      onPhoto(null);
      setState('on');
      requestAnimationFrame(() => {
        if (video.current) {
          video.current.srcObject = s;
          video.current.play().catch(() => {});
        }
      });
    } catch (e) {
      setState('unavailable');
      setNote(
        e && e.name === 'NotAllowedError'
          ? '摄像头权限被拒绝，请在浏览器地址栏允许使用摄像头，或使用“选择照片”上传。'
          : '未检测到可用的摄像头，请使用“选择照片”上传现场照片。',
      );
    }
  }

  function capture() {
    const v = video.current;
    if (!v || !v.videoWidth) return;
    const canvas = document.createElement('canvas');
    canvas.width = v.videoWidth;
    canvas.height = v.videoHeight;
    canvas.getContext('2d').drawImage(v, 0, 0);
    canvas.toBlob(
      (blob) => {
        if (!blob) return;
        onPhoto(new File([blob], `live-${Date.now()}.jpg`, { type: 'image/jpeg' }));
        stop();
        setState('off');
      },
      'image/jpeg',
      0.9,
    );
  }

  return (
    <div>
      <div className="camera" aria-live="polite">
        {preview ? (
          <img src={preview} alt="现场照片" />
        ) : state === 'on' ? (
          <video ref={video} playsInline muted aria-label="摄像头画面" />
        ) : (
          <span>{state === 'starting' ? '正在开启摄像头…' : '请开启摄像头拍摄考生现场照片'}</span>
        )}
      </div>
      <div className="camera-actions">
        {state === 'on' ? (
          <>
            <Button small onClick={capture}>
              拍照
            </Button>
            <Button
              small
              kind="ghost"
              onClick={() => {
                stop();
                setState('off');
              }}
            >
              关闭摄像头
            </Button>
          </>
        ) : (
          <Button small kind={photo ? 'secondary' : 'primary'} busy={state === 'starting'} onClick={start}>
            {photo ? '重新拍照' : '开启摄像头'}
          </Button>
        )}
        <span className="file-pick">
          <Button small kind="ghost" tabIndex={-1}>
            选择照片
          </Button>
          <input
            type="file"
            accept="image/jpeg,image/png"
            capture="user"
            aria-label="选择现场照片"
            onChange={(e) => {
              const f = e.target.files?.[0];
              e.target.value = '';
              if (f) {
                stop();
                setState('off');
                onPhoto(f);
              }
            }}
          />
        </span>
      </div>
      {note && <Alert kind="warning">{note}</Alert>}
    </div>
  );
}

function CheckInForm({ sessionID, onDone, prefillName }) {
  const [idNumber, setIdNumber] = useState('');
  const [name, setName] = useState('');
  const [readerPhoto, setReaderPhoto] = useState(null);
  const [photo, setPhoto] = useState(null);
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);

  useEffect(() => {
    if (prefillName) setName(prefillName.name);
  }, [prefillName]);

  async function submit(e) {
    e.preventDefault();
    const errs = {};
    const id = idNumber.trim().toUpperCase();
    if (!id) errs.readerIDNumber = '请输入或读取证件号码';
    else if (/^\d{17}[\dX]$/.test(id) && residentIdError(id)) errs.readerIDNumber = residentIdError(id);
    if (!name.trim()) errs.readerName = '请输入姓名';
    if (!photo) errs.livePhoto = '请拍摄或选择考生现场照片';
    setErrors(errs);
    setDone(null);
    if (Object.keys(errs).length) return;
    setBusy(true);
    setError(null);
    try {
      const d = await gqlUpload(
        CHECK_IN,
        { input: { sessionID, readerIDNumber: id, readerName: name.trim(), readerPhoto: null, livePhoto: null } },
        { 'input.livePhoto': photo, 'input.readerPhoto': readerPhoto },
      );
      setDone(`${d.checkIn.readerName} 签到成功（${fmtTime(d.checkIn.checkedInAt)}）`);
      setIdNumber('');
      setName('');
      setPhoto(null);
      setReaderPhoto(null);
      onDone();
    } catch (err) {
      const f = err.extensions?.field;
      if (f === 'readerName' || f === 'livePhoto' || f === 'readerPhoto' || f === 'readerIDNumber') setErrors({ [f]: err.message });
      else setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate>
      <div className="checkin-grid">
        <div>
          <Field
            label="证件号码"
            required
            error={errors.readerIDNumber}
            value={idNumber}
            onChange={(e) => setIdNumber(e.target.value)}
            autoComplete="off"
            placeholder="读卡器读取或手工输入"
            className="mono-input"
          />
          <Field label="姓名" required error={errors.readerName} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />
          <Field label="证件照片（读卡器）" error={errors.readerPhoto} hint="读卡器提供证件照片时上传，可不填">
            <FilePick accept="image/jpeg,image/png" file={readerPhoto} onFile={setReaderPhoto} label="选择证件照片" />
          </Field>
        </div>
        <div>
          <div className={`field ${errors.livePhoto ? 'has-error' : ''}`}>
            <label>
              现场照片<span className="req">*</span>
            </label>
            <LivePhoto photo={photo} onPhoto={setPhoto} />
            {errors.livePhoto && <div className="field-error">{errors.livePhoto}</div>}
          </div>
        </div>
      </div>
      {done && <Alert kind="success">{done}</Alert>}
      <ErrorAlert error={error} />
      <Button type="submit" busy={busy} disabled={!sessionID}>
        确认签到
      </Button>
    </form>
  );
}

function Roster({ q, onPick }) {
  return (
    <QueryState q={q}>
      {(data) => {
        const r = data.sessionRoster;
        return (
          <>
            <div className="stats" style={{ marginBottom: 14 }}>
              <div className="stat">
                <b>{r.total}</b>
                <span>应到人数</span>
              </div>
              <div className="stat">
                <b>{r.checkedIn}</b>
                <span>已签到</span>
              </div>
              <div className="stat">
                <b>{r.total - r.checkedIn}</b>
                <span>未签到</span>
              </div>
            </div>
            {!r.entries.length ? (
              <Empty>该场次暂无已审核的考生</Empty>
            ) : (
              <div className="table-wrap">
                <table className="table" aria-label="考场名单">
                  <thead>
                    <tr>
                      <th>准考证号</th>
                      <th>姓名</th>
                      <th>证件号码</th>
                      <th>缴费</th>
                      <th>签到</th>
                      <th className="right">操作</th>
                    </tr>
                  </thead>
                  <tbody>
                    {r.entries.map((e) => (
                      <tr key={e.enrollment.id} className={e.checkIn ? 'current' : ''}>
                        <td className="mono">{e.ticketNo || '—'}</td>
                        <td className="cell-main">{e.candidateName}</td>
                        <td className="mono">{e.maskedIDNumber}</td>
                        <td>
                          <StatusBadge map={PAYMENT_STATUS} value={e.paymentStatus} />
                        </td>
                        <td>
                          {e.checkIn ? (
                            <span className="row gap">
                              {e.livePhotoURL && (
                                <a href={e.livePhotoURL} target="_blank" rel="noreferrer">
                                  <img className="roster-photo" src={e.livePhotoURL} alt={`${e.candidateName}现场照片`} />
                                </a>
                              )}
                              <span>
                                <Badge kind="success">已签到</Badge>
                                <div className="sub">{fmtTime(e.checkIn.checkedInAt)}</div>
                              </span>
                            </span>
                          ) : (
                            <Badge kind="muted">未签到</Badge>
                          )}
                        </td>
                        <td className="right">
                          {!e.checkIn && (
                            <Button small kind="ghost" onClick={() => onPick({ name: e.candidateName, at: Date.now() })}>
                              填入姓名
                            </Button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        );
      }}
    </QueryState>
  );
}

export default function CheckIn({ me }) {
  const site = me.organization?.kind === 'EXAM_SITE' ? me.organization : null;
  const sessions = useSiteSessions(site?.id);
  const [sessionID, setSessionID] = useState('');
  const roster = useQuery(sessionID ? ROSTER : null, { id: sessionID }, [sessionID]);
  const [prefill, setPrefill] = useState(null);
  const reload = roster.reload;

  // Check-ins made at other desks arrive live.
  useEffect(() => {
    if (!sessionID) return undefined;
    return subscribe(CHECKED_IN, { id: sessionID }, { next: () => reload(), error: () => {} });
  }, [sessionID, reload]);

  const current = sessions.list.find((s) => s.id === sessionID);
  return (
    <>
      <PageHeader
        title="现场签到"
        desc={`${site ? `${site.name} · ` : ''}读取考生身份证件，核对考场名单并拍摄现场照片。签到时间为开考前60分钟至开考后30分钟；已审核并缴费的考生方可签到。`}
        actions={<SessionSelect sessions={sessions} value={sessionID} onChange={setSessionID} />}
      />
      {!site && <Alert kind="warning">您的账号未关联考点，不能办理签到。</Alert>}
      <ErrorAlert error={sessions.q.error} />
      {site && sessions.q.data && !sessions.list.length && (
        <Card>
          <Empty>本考点近期没有考试场次</Empty>
        </Card>
      )}
      {sessionID && (
        <>
          <Card title={current ? `签到登记 · ${fmtSpan(current.startsAt, current.durationMinutes)} ${current.room?.name || ''}` : '签到登记'}>
            <CheckInForm key={sessionID} sessionID={sessionID} onDone={reload} prefillName={prefill} />
          </Card>
          <Card
            title="考场名单"
            actions={
              <Button small kind="secondary" onClick={reload} busy={roster.loading && !!roster.data}>
                刷新
              </Button>
            }
          >
            <Roster q={roster} onPick={setPrefill} />
          </Card>
        </>
      )}
    </>
  );
}
