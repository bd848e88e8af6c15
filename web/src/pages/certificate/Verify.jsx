// The public verification page at /verify/<payload> (the QR code on a
// certificate): the signature first (authentic or forged / altered), then
// the live status and what is in force now; a name check against the
// code's name hash.
import { useEffect, useState } from 'react';
import { gql } from '../../api.js';
import { OFFLINE_TEXT, verifyOffline } from './offline.js';
import { fmtDate } from '../../format.js';
import Icon from '../../icons.jsx';
import { Button, ErrorAlert, Loading } from '../../ui.jsx';
import PublicCertificate, { PUBLIC_FIELDS } from './PublicCertificate.jsx';
import { VERIFY_STATUS, lastValidDay } from './labels.js';
import './certificate.css';

const VERIFY = `query VerifyCertificate($code: String!) {
  verifyCertificate(code: $code) {
    authentic problem message status
    claims { keyID number subjectCode validFrom validUntil revision }
    current { ${PUBLIC_FIELDS} }
  }
}`;
const NAME = `query CertificateNameMatches($code: String!, $name: String!) { certificateNameMatches(code: $code, name: $name) }`;

const PROBLEMS = {
  BAD_SIGNATURE: '伪造/篡改',
  UNKNOWN_KEY: '未知签发方',
  MALFORMED: '无法识别',
};

function Verdict({ r }) {
  if (!r.authentic) {
    return (
      <div className="verify-verdict bad" role="status" data-problem={r.problem}>
        <div className="verify-word">证书无效 · {PROBLEMS[r.problem] || r.problem}</div>
        <div className="verify-msg">{r.message}</div>
      </div>
    );
  }
  const s = VERIFY_STATUS[r.status] || { label: r.status, tone: 'warn', hint: '' };
  return (
    <div className={`verify-verdict ${s.tone}`} role="status" data-status={r.status}>
      <div className="verify-sub">签名有效 · 本系统签发</div>
      <div className="verify-word">{s.label}</div>
      <div className="verify-msg">{r.message}</div>
      {s.hint && r.message !== s.hint && <div className="verify-hint">{s.hint}</div>}
    </div>
  );
}

function NameCheck({ code }) {
  const [name, setName] = useState('');
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function check(e) {
    e.preventDefault();
    if (!name.trim()) {
      setError(new Error('请输入持证人姓名'));
      return;
    }
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const d = await gql(NAME, { code, name: name.trim() });
      setResult(d.certificateNameMatches);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="verify-name" onSubmit={check} aria-label="核对姓名">
      <div className="section-title">核对姓名</div>
      <p className="muted">二维码不含姓名明文。输入证书上或持证人出示的姓名，核对是否与二维码一致。</p>
      <div className="row gap">
        <input aria-label="持证人姓名" placeholder="持证人姓名" value={name} onChange={(e) => setName(e.target.value)} maxLength={64} />
        <Button type="submit" small busy={busy}>
          核对
        </Button>
      </div>
      {result !== null && (
        <div className={`verify-name-result ${result ? 'ok' : 'bad'}`} role="status">
          {result ? '姓名一致' : '姓名不一致：与二维码所载持证人不符'}
        </div>
      )}
      <ErrorAlert error={error} />
    </form>
  );
}

export default function Verify() {
  const code = window.location.href;
  const [state, setState] = useState({ data: null, error: null });
  const [offline, setOffline] = useState(null);
  useEffect(() => {
    let live = true;
    verifyOffline(code)
      .then((o) => live && setOffline(o))
      .catch(() => live && setOffline({ state: 'UNSUPPORTED' }));
    gql(VERIFY, { code })
      .then((d) => live && setState({ data: d.verifyCertificate, error: null }))
      .catch((error) => live && setState({ data: null, error }));
    return () => {
      live = false;
    };
  }, [code]);
  const r = state.data;
  return (
    <div className="verify-page">
      <header className="verify-top">
        <span className="brand-mark">
          <Icon name="shield" size={20} />
        </span>
        <span>安全生产考核合格证书 · 在线核验</span>
      </header>
      <main className="verify-card">
        <h1>证书核验</h1>
        {state.error && <ErrorAlert error={state.error} />}
        {!r && !state.error && <Loading>正在核验…</Loading>}
        {r && (
          <>
            <Verdict r={r} />
            {offline && (
              <p className={`verify-offline ${offline.state === 'VALID' ? 'ok' : 'bad'}`} data-offline={offline.state}>
                本机离线核验（用公布的公钥在浏览器中核对签名）：{OFFLINE_TEXT[offline.state]}
                {offline.keyID ? `（密钥 ${offline.keyID}）` : ''}
              </p>
            )}
            {r.claims && r.authentic && (
              <>
                <div className="section-title">二维码所载信息</div>
                <dl className="summary" aria-label="二维码所载信息">
                  <dt>证书编号</dt>
                  <dd className="mono">{r.claims.number}</dd>
                  <dt>科目代码</dt>
                  <dd>{r.claims.subjectCode}</dd>
                  <dt>有效期</dt>
                  <dd>
                    {fmtDate(r.claims.validFrom)} 至 {lastValidDay(r.claims.validUntil)}
                  </dd>
                  <dt>版本</dt>
                  <dd>
                    第 {r.claims.revision} 版 · 密钥 {r.claims.keyID}
                  </dd>
                </dl>
              </>
            )}
            {r.current && (
              <>
                <div className="section-title">现行证书信息</div>
                <PublicCertificate c={r.current} />
              </>
            )}
            {r.authentic && <NameCheck code={code} />}
          </>
        )}
        <div className="verify-foot muted">
          核验结果以本系统实时数据为准。离线核验可使用
          <a href="/verify/keys.json" target="_blank" rel="noreferrer">
            公钥
          </a>
          。
          <a href="/#/certificates/lookup">证书查询</a>
        </div>
      </main>
    </div>
  );
}
