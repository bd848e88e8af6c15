// The phone companion page (#/phone?t=<pairing token>), opened by scanning
// the QR code on the exam page; no login. It pairs once, then keeps a
// heartbeat, takes rear-camera snapshots when the server says and each time
// it comes back to the foreground, until the candidate ends it.
import { useCallback, useEffect, useRef, useState } from 'react';
import { gql, gqlUpload } from '../../api.js';
import { fmtTime } from '../../format.js';
import Icon from '../../icons.jsx';
import { Alert, ConfirmButton, Loading } from '../../ui.jsx';
import { grabFrame, openCamera, stopCamera } from './camera.js';

const PAIR = `mutation PairPhone($token: String!) { pairPhone(token: $token) { phoneToken attemptID } }`;
const HEARTBEAT = `mutation PhoneHeartbeat($t: String!) { phoneHeartbeat(phoneToken: $t) }`;
const SNAPSHOT = `mutation UploadPhoneSnapshot($t: String!, $file: Upload!, $fg: Boolean) {
  uploadPhoneSnapshot(phoneToken: $t, file: $file, foreground: $fg) { at nextInSeconds }
}`;
const END = `mutation EndPhone($t: String!) { endPhone(phoneToken: $t) }`;

const STORE = 'kaowu.phone';
const HEARTBEAT_MS = 10000;
// Phone calls carry no login: an UNAUTHENTICATED answer is about the phone
// token and must not log out an account this browser may also hold.
const OPTS = { keepSession: true };

function stored() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) || 'null');
  } catch {
    return null;
  }
}

function store(v) {
  try {
    if (v) sessionStorage.setItem(STORE, JSON.stringify(v));
    else sessionStorage.removeItem(STORE);
  } catch {
    /* private mode: a reload needs a new QR code */
  }
}

function Shell({ children }) {
  return (
    <div className="phone-page">
      <header className="phone-head">
        <span className="brand-mark">
          <Icon name="shield" size={18} />
        </span>
        <span>考试手机监控</span>
      </header>
      <main className="phone-main">{children}</main>
    </div>
  );
}

export default function Phone({ route }) {
  const token = route.query.get('t');
  const [pair, setPair] = useState(null); // {phoneToken, attemptID}
  const [phase, setPhase] = useState('pairing'); // pairing | on | ended | failed
  const [message, setMessage] = useState(null);
  const [camError, setCamError] = useState(null);
  const [stream, setStream] = useState(null);
  const [beat, setBeat] = useState(null);
  const [shots, setShots] = useState({ n: 0, last: null, next: null });
  const [offline, setOffline] = useState(false);
  const video = useRef(null);
  const timer = useRef(null);

  // Pair with the QR token once (it is single-use), or resume a pairing
  // this tab already holds.
  useEffect(() => {
    let live = true;
    (async () => {
      const prev = stored();
      if (token) {
        try {
          const d = await gql(PAIR, { token }, OPTS);
          if (!live) return;
          const p = { phoneToken: d.pairPhone.phoneToken, attemptID: d.pairPhone.attemptID };
          store(p);
          setPair(p);
          setPhase('on');
          // A reload must not present the used token again.
          window.history.replaceState(null, '', '#/phone');
          return;
        } catch (e) {
          if (!live) return;
          if (!prev) {
            setMessage(e.message);
            setPhase(e.extensions?.reason === 'ATTEMPT_ENDED' ? 'ended' : 'failed');
            return;
          }
        }
      }
      if (prev) {
        setPair(prev);
        setPhase('on');
      } else {
        setMessage('请在电脑的考试页面点击“生成手机扫码二维码”，再用手机扫码打开本页面。');
        setPhase('failed');
      }
    })();
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const stop = useCallback((next, msg) => {
    clearTimeout(timer.current);
    setStream((s) => {
      stopCamera(s);
      return null;
    });
    store(null);
    setMessage(msg);
    setPhase(next);
  }, []);

  // An answer that ends the phone's part: the exam is over, or the token was replaced.
  const fatal = useCallback(
    (e) => {
      if (e.code === 'CONFLICT') stop('ended', e.message);
      else if (e.code === 'UNAUTHENTICATED') stop('failed', e.message);
      else return false;
      return true;
    },
    [stop],
  );

  // Rear camera.
  useEffect(() => {
    if (phase !== 'on') return undefined;
    let live = true;
    openCamera('environment')
      .then((s) => (live ? setStream(s) : stopCamera(s)))
      .catch((e) => live && setCamError(e.message));
    return () => {
      live = false;
    };
  }, [phase]);
  useEffect(() => {
    if (stream && video.current) {
      video.current.srcObject = stream;
      video.current.play().catch(() => {});
    }
  }, [stream]);
  useEffect(() => () => stopCamera(stream), [stream]);

  // Keep the screen on where the browser allows it.
  useEffect(() => {
    if (phase !== 'on' || !navigator.wakeLock) return undefined;
    let lock = null;
    navigator.wakeLock.request('screen').then((l) => (lock = l)).catch(() => {});
    return () => lock?.release().catch(() => {});
  }, [phase]);

  // Heartbeat.
  useEffect(() => {
    if (phase !== 'on' || !pair) return undefined;
    const send = async () => {
      try {
        await gql(HEARTBEAT, { t: pair.phoneToken }, OPTS);
        setBeat(new Date().toISOString());
        setOffline(false);
      } catch (e) {
        if (!fatal(e)) setOffline(true);
      }
    };
    send();
    const t = setInterval(send, HEARTBEAT_MS);
    return () => clearInterval(t);
  }, [phase, pair, fatal]);

  // Snapshots at the server's times, and on coming back to the foreground.
  const shoot = useCallback(
    async (foreground) => {
      clearTimeout(timer.current);
      let next = 30;
      try {
        const file = await grabFrame(video.current, 'phone');
        const d = await gqlUpload(SNAPSHOT, { t: pair.phoneToken, file: null, fg: foreground }, { file }, OPTS);
        next = d.uploadPhoneSnapshot.nextInSeconds;
        setShots((s) => ({ n: s.n + 1, last: d.uploadPhoneSnapshot.at, next }));
      } catch (e) {
        if (fatal(e)) return;
        next = 15;
      }
      timer.current = setTimeout(() => shoot(false), next * 1000);
    },
    [pair, fatal],
  );
  useEffect(() => {
    if (phase !== 'on' || !stream) return undefined;
    timer.current = setTimeout(() => shoot(false), 1500);
    const onVis = () => {
      if (document.hidden) return;
      gql(HEARTBEAT, { t: pair.phoneToken }, OPTS).catch(() => {});
      // Give the camera a moment to resume before the picture.
      setTimeout(() => shoot(true), 800);
    };
    document.addEventListener('visibilitychange', onVis);
    return () => {
      clearTimeout(timer.current);
      document.removeEventListener('visibilitychange', onVis);
    };
  }, [phase, stream, shoot, pair]);

  async function end() {
    try {
      await gql(END, { t: pair.phoneToken }, OPTS);
      stop('ended', '手机监控已结束，可以关闭本页面。');
    } catch (e) {
      if (!fatal(e)) setMessage(e.message);
    }
  }

  if (phase === 'pairing') {
    return (
      <Shell>
        <Loading>正在连接考试…</Loading>
      </Shell>
    );
  }
  if (phase !== 'on') {
    return (
      <Shell>
        <Alert kind={phase === 'ended' ? 'info' : 'error'} title={phase === 'ended' ? '监控已结束' : '无法连接考试'}>
          {message}
        </Alert>
      </Shell>
    );
  }
  return (
    <Shell>
      <div className="phone-status" data-phone-status="connected">
        <strong>已连接考试</strong>
        <span className="muted small">{beat ? `最近心跳 ${fmtTime(beat).slice(11)}` : '正在发送心跳…'}</span>
      </div>
      {offline && <Alert kind="warning">网络连接不稳定，正在重试。请保持手机联网。</Alert>}
      <div className="camera phone-camera">
        {stream ? <video ref={video} playsInline muted aria-label="手机摄像头画面" /> : <span>{camError || '正在开启后置摄像头…'}</span>}
      </div>
      {camError && <Alert kind="error">{camError}</Alert>}
      <ul className="phone-facts">
        <li>
          已上传照片 <strong data-phone-shots={shots.n}>{shots.n}</strong> 张
          {shots.last && <span className="muted">（最近 {fmtTime(shots.last).slice(11)}）</span>}
        </li>
        {shots.next && <li className="muted">约 {shots.next} 秒后拍下一张</li>}
      </ul>
      <Alert kind="info">
        请将手机横放固定在您的侧后方，使后置摄像头能拍到您本人、电脑屏幕和桌面。考试期间保持本页面在前台、屏幕常亮，不要锁屏或切换应用。
      </Alert>
      {message && <Alert kind="error">{message}</Alert>}
      <div className="phone-actions">
        <ConfirmButton confirm="交卷后再结束。确定结束手机监控？" onConfirm={end} small={false}>
          结束手机监控
        </ConfirmButton>
      </div>
    </Shell>
  );
}
