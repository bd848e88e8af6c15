// 在线考试: the candidate's exams (approved, paid, seated), and with ?e=<enrollment>
// the exam room: camera consent, the mock paper, then the formal paper, results.
import { useCallback, useState } from 'react';
import { gql } from '../../api.js';
import { placeOf } from '../../examSessions.jsx';
import { fmtSpan, fmtTime } from '../../format.js';
import { Link } from '../../router.jsx';
import { Alert, Badge, Button, Card, Empty, ErrorAlert, PageHeader, QueryState, StatusBadge, nodes, useQuery } from '../../ui.jsx';
import AttemptView from './AttemptView.jsx';
import { CONSENT_TEXT, PAPER_KIND, RESULT, SUBMIT_REASON, sessionWindow } from './labels.js';

const ATTEMPT_FIELDS = 'id enrollmentID kind status score passMark result submitReason startedAt submittedAt deadline';
const SESSION_FIELDS = 'id startsAt durationMinutes onsite status room { name location } site { name address }';

const LIST = `query MyExams {
  myEnrollments { id status paymentStatus checkedInAt ticketNo subject { id name } plan { name } session { ${SESSION_FIELDS} } }
  attempts(first: 200) { edges { node { ${ATTEMPT_FIELDS} } } }
  serverTime
}`;
const START = `mutation StartAttempt($input: StartAttemptInput!) { startAttempt(input: $input) { id status } }`;

const ready = (e) => e.status === 'APPROVED' && e.paymentStatus === 'PAID' && e.session;

function attemptsOf(all, enrollmentID) {
  const out = {};
  for (const a of all) if (a.enrollmentID === enrollmentID) out[a.kind] = a;
  return out;
}

function AttemptLine({ a }) {
  if (!a) return <span className="muted">未开始</span>;
  if (a.status === 'IN_PROGRESS') return <Badge kind="success">答题中</Badge>;
  return (
    <span className="row gap">
      <span>
        {a.score ?? '—'} 分
      </span>
      {a.result && <StatusBadge map={RESULT} value={a.result} />}
      <span className="muted small">{fmtTime(a.submittedAt)} 交卷</span>
    </span>
  );
}

function ExamList() {
  const q = useQuery(LIST);
  return (
    <>
      <PageHeader
        title="在线考试"
        desc="审核通过并已缴费的报名在考试场次开放后可以进入考试。先完成测试试卷熟悉操作，再开始正式考试。"
        actions={
          <>
            <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
              刷新
            </Button>
            <Link to="/my/results" className="btn btn-secondary btn-sm">
              我的成绩
            </Link>
          </>
        }
      />
      <Card>
        <QueryState q={q}>
          {(data) => {
            const now = new Date(data.serverTime).getTime();
            const list = data.myEnrollments.filter(ready);
            const attempts = nodes(data.attempts);
            if (!list.length)
              return (
                <Empty>
                  暂无可参加的考试。报名审核通过并缴费后，考试安排会显示在这里。<Link to="/my/enrollments">查看我的报名 →</Link>
                </Empty>
              );
            return (
              <ul className="review-list" aria-label="我的考试">
                {list.map((e) => {
                  const s = e.session;
                  const win = sessionWindow(s, now);
                  const at = attemptsOf(attempts, e.id);
                  return (
                    <li key={e.id} className="review-item" data-exam-enrollment={e.id}>
                      <div className="review-info">
                        <div className="review-name">
                          {e.subject.name}
                          {s.onsite ? <Badge>考点机考</Badge> : <Badge kind="success">在线考试</Badge>}
                          {win === 'open' && <Badge kind="success">考试进行中</Badge>}
                          {win === 'soon' && <Badge kind="muted">未开始</Badge>}
                          {win === 'over' && <Badge kind="muted">已结束</Badge>}
                        </div>
                        <dl className="kv">
                          <dt>考试时间</dt>
                          <dd>{fmtSpan(s.startsAt, s.durationMinutes)}</dd>
                          <dt>考点考场</dt>
                          <dd>{placeOf(s)}</dd>
                          <dt>准考证号</dt>
                          <dd className="mono">{e.ticketNo || '—'}</dd>
                          <dt>测试试卷</dt>
                          <dd>
                            <AttemptLine a={at.MOCK} />
                          </dd>
                          <dt>正式试卷</dt>
                          <dd>
                            <AttemptLine a={at.FORMAL} />
                          </dd>
                        </dl>
                        {s.onsite && !e.checkedInAt && win !== 'over' && (
                          <div className="muted small" style={{ marginTop: 8 }}>
                            本场为考点机考，请先到考点完成实名认证签到后再进入考试。
                          </div>
                        )}
                      </div>
                      <div className="review-actions">
                        <div className="item-actions">
                          {win === 'open' && (!at.FORMAL || at.FORMAL.status === 'IN_PROGRESS') ? (
                            <Link to={`/exam?e=${e.id}`} className="btn btn-primary btn-sm">
                              进入考试
                            </Link>
                          ) : (
                            (at.MOCK || at.FORMAL) && (
                              <Link to={`/exam?e=${e.id}`} className="btn btn-secondary btn-sm">
                                查看
                              </Link>
                            )
                          )}
                        </div>
                      </div>
                    </li>
                  );
                })}
              </ul>
            );
          }}
        </QueryState>
      </Card>
    </>
  );
}

/** The camera consent and the start of a paper. */
function StartPaper({ enrollment, kind, onStarted }) {
  const [accepted, setAccepted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function start() {
    setBusy(true);
    setError(null);
    try {
      // The server decides: it refuses a start without consent, with its reason.
      const d = await gql(START, {
        input: { enrollmentID: enrollment.id, kind, consentText: CONSENT_TEXT, consentAccepted: accepted },
      });
      onStarted(d.startAttempt.id);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }
  const [title, ...paras] = CONSENT_TEXT.split('\n');
  return (
    <Card title={`开始${PAPER_KIND[kind]}`}>
      {kind === 'MOCK' ? (
        <p>测试试卷用于熟悉在线考试的操作（答题、保存、交卷、手机扫码连接），成绩不计入考试结果。完成测试试卷后才能开始正式考试。</p>
      ) : (
        <p>正式试卷只能作答一次，开始后计时不会暂停。请关闭其他程序，确认网络、摄像头和手机均已就绪。</p>
      )}
      <ul className="exam-rules">
        <li>考试时间以服务器时间为准，时间到系统自动交卷。</li>
        <li>每道题的答案作答后立即保存，显示“已保存”即表示服务器已收到；刷新页面不会丢失已保存的答案。</li>
        <li>考试期间请勿切换窗口或标签页：每次离开都会被记录，累计第 5 次将自动交卷。</li>
        <li>考试期间电脑摄像头和手机摄像头将随机抓拍，请保持面部在画面内。</li>
      </ul>
      <div className="pledge consent" aria-label="摄像头图像采集同意书">
        <h3>{title}</h3>
        {paras.map((p) => (
          <p key={p}>{p}</p>
        ))}
      </div>
      <label className="check" style={{ margin: '12px 0' }}>
        <input type="checkbox" checked={accepted} onChange={(e) => setAccepted(e.target.checked)} />
        我已阅读并单独同意考试期间采集本人及考试环境图像
      </label>
      <ErrorAlert error={error} />
      <div className="row gap" style={{ marginTop: 12 }}>
        <Button onClick={start} busy={busy}>
          同意并开始{PAPER_KIND[kind]}
        </Button>
        <Link to="/exam" className="btn btn-ghost">
          返回
        </Link>
      </div>
    </Card>
  );
}

function ResultCard({ a, onNext }) {
  const formal = a.kind === 'FORMAL';
  return (
    <Card title={`${PAPER_KIND[a.kind]}已交卷`} className="exam-result">
      <dl className="summary" data-attempt-result={a.result || 'NONE'}>
        <dt>得分</dt>
        <dd>
          <strong className="exam-score">{a.score ?? '—'}</strong> 分
          {formal && <span className="muted">（及格分 {a.passMark}）</span>}
        </dd>
        {formal && (
          <>
            <dt>结果</dt>
            <dd>
              <StatusBadge map={RESULT} value={a.result} />
            </dd>
          </>
        )}
        <dt>交卷方式</dt>
        <dd>{SUBMIT_REASON[a.submitReason] || a.submitReason || '—'}</dd>
        <dt>交卷时间</dt>
        <dd>{fmtTime(a.submittedAt)}</dd>
      </dl>
      {formal ? (
        a.result === 'PENDING_REVIEW' ? (
          <Alert kind="info">理论成绩已达到及格分，须经管理部门审核后生效，审核结果会以通知告知您。</Alert>
        ) : a.result === 'FAIL' ? (
          <Alert kind="warning">本次考试未达到及格分。</Alert>
        ) : null
      ) : (
        <Alert kind="info">测试试卷成绩不计入考试结果。</Alert>
      )}
      <div className="row gap" style={{ marginTop: 12 }}>
        {onNext && <Button onClick={onNext}>开始正式考试</Button>}
        {formal && (
          <Link to="/my/results" className="btn btn-secondary">
            查看我的成绩
          </Link>
        )}
        <Link to="/exam" className="btn btn-ghost">
          返回在线考试
        </Link>
      </div>
    </Card>
  );
}

function Room({ enrollmentID }) {
  const q = useQuery(LIST);
  const [stage, setStage] = useState(null); // null: derived; 'formal-consent'
  const reload = q.reload;
  const ended = useCallback(() => {
    setStage(null);
    reload();
  }, [reload]);

  return (
    <QueryState q={q}>
      {(data) => {
        const e = data.myEnrollments.find((x) => x.id === enrollmentID);
        if (!e) return <Alert kind="error">报名记录不存在。</Alert>;
        const at = attemptsOf(nodes(data.attempts), e.id);
        const s = e.session;
        const header = (
          <PageHeader
            title={`在线考试 · ${e.subject.name}`}
            desc={s ? `${fmtSpan(s.startsAt, s.durationMinutes)} · ${placeOf(s)}` : ''}
          />
        );
        const running = [at.MOCK, at.FORMAL].find((a) => a && a.status === 'IN_PROGRESS');
        if (running) {
          return <AttemptView key={running.id} attemptID={running.id} onEnded={ended} />;
        }
        if (!ready(e)) {
          return (
            <>
              {header}
              <Alert kind="warning">报名尚未审核通过或尚未缴费，不能参加考试。</Alert>
            </>
          );
        }
        const now = new Date(data.serverTime).getTime();
        const win = sessionWindow(s, now);
        const closed =
          win === 'soon' ? (
            <Alert kind="info">考试尚未开始，请于 {fmtTime(s.startsAt)} 后进入。</Alert>
          ) : win === 'over' ? (
            <Alert kind="info">本场考试已结束。</Alert>
          ) : null;
        let body;
        if (at.FORMAL) body = <ResultCard a={at.FORMAL} />;
        else if (!at.MOCK) body = closed || <StartPaper enrollment={e} kind="MOCK" onStarted={reload} />;
        else if (stage === 'formal-consent' && !closed) body = <StartPaper enrollment={e} kind="FORMAL" onStarted={ended} />;
        else body = <ResultCard a={at.MOCK} onNext={closed ? null : () => setStage('formal-consent')} />;
        return (
          <>
            {header}
            {body}
          </>
        );
      }}
    </QueryState>
  );
}

export default function Exam({ route }) {
  const e = route.query.get('e');
  if (e) return <Room key={e} enrollmentID={e} />;
  return <ExamList />;
}
