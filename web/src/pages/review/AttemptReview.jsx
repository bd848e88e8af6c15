// Score review of formal attempts: the scores, the verified evidence chain
// (records and snapshots) and the pass / fail decision.
import { useEffect, useState } from 'react';
import { gql } from '../../api.js';
import { fmtSpan, fmtTime } from '../../format.js';
import { useCandidateNames } from '../../names.js';
import ReviewActions from '../../reviewActions.jsx';
import { Alert, Badge, Button, Card, Empty, ErrorAlert, Loading, PageHeader, QueryState, StatusBadge, Tabs, nodes, toast, useQuery } from '../../ui.jsx';
import { ATTEMPT_RESULT, BREAK_REASON, EVIDENCE_KIND, SUBMIT_REASON, describeEvidence } from '../proctor/labels.js';

const LIST = `query AttemptReview($result: AttemptResult!, $dir: OrderDirection!) {
  attempts(first: 100, where: {result: $result, kind: FORMAL}, orderBy: {field: CREATED_AT, direction: $dir}) {
    totalCount
    edges { node {
      id enrollmentID candidateID sessionID status submitReason startedAt submittedAt focusLosses flagged
      score passMark practicalScore result reviewedAt reviewReason
    } }
  }
}`;
const ENROLLMENTS = `query AttemptEnrollments($ids: [ID!]!) {
  enrollments(first: 100, where: {idIn: $ids}) { edges { node {
    id ticketNo
    candidate { id name idNumberMasked }
    subject { id name passMark hasPractical }
    session { startsAt durationMinutes room { name } site { name } }
  } } }
}`;
const EVIDENCE = `query AttemptEvidence($id: ID!, $after: Int, $limit: Int) {
  attemptEvidence(attemptID: $id, afterSeq: $after, limit: $limit) {
    ok records head
    firstBroken { seq reason detail }
    items { seq kind at actorID data snapshotURL hash }
  }
}`;
const REVIEW = `mutation ReviewAttempt($id: ID!, $pass: Boolean!, $reason: String) {
  reviewAttempt(id: $id, pass: $pass, reason: $reason) { id result reviewedAt reviewReason }
}`;

const PAGE = 200;

const TABS = [
  ['PENDING_REVIEW', '待审核'],
  ['PASS', '合格'],
  ['FAIL', '不合格'],
];

function actorLabel(actorID, a, names) {
  // Device uploads and the phone watchdog carry no actor.
  if (!actorID) return '—';
  if (actorID === a.candidateID) return '考生';
  return names?.[actorID]?.name || `工作人员（${actorID}）`;
}

/** The attempt's evidence: chain verification, snapshots and the record timeline. */
export function Evidence({ a, onState }) {
  const [pages, setPages] = useState([]);
  const [head, setHead] = useState(null);
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);

  async function load(after) {
    setLoading(true);
    setError(null);
    try {
      const d = await gql(EVIDENCE, { id: a.id, after, limit: PAGE });
      const ev = d.attemptEvidence;
      setHead(ev);
      setPages((p) => (after ? [...p, ...ev.items] : ev.items));
      onState?.(ev);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => {
    load(0);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [a.id]);

  const names = useCandidateNames(pages.map((r) => r.actorID).filter((id) => id && id !== a.candidateID));

  if (!head) return error ? <ErrorAlert error={error} /> : <Loading>正在校验考试证据…</Loading>;
  const snaps = pages.filter((r) => r.snapshotURL);
  const last = pages[pages.length - 1];
  const more = last && last.seq < head.records && pages.length < head.records;
  const broken = head.firstBroken;
  return (
    <div className="details evidence" data-evidence-ok={head.ok ? 'true' : 'false'}>
      {head.records === 0 ? (
        <Alert kind="warning" title="没有考试证据">该考试没有任何证据记录，不能审核，请联系管理员核查。</Alert>
      ) : head.ok ? (
        <Alert kind="success" title="证据链校验通过">
          共 {head.records} 条记录，哈希链完整，未发现改动。
          <span className="mono hash" title={head.head}>
            {' '}
            末条哈希 {head.head.slice(0, 16)}…
          </span>
        </Alert>
      ) : (
        <Alert kind="error" title="证据链已被破坏，不能据此审核">
          第一处断裂在第 {broken?.seq} 条：{BREAK_REASON[broken?.reason] || broken?.reason}
          {broken?.detail ? `（${broken.detail}）` : ''}。请联系管理员核查。
        </Alert>
      )}
      <div className="section-title">抓拍画面（{snaps.length}）</div>
      {snaps.length ? (
        <div className="thumbs evidence-snaps">
          {snaps.map((r) => (
            <figure key={r.seq}>
              <a className="thumb" href={r.snapshotURL} target="_blank" rel="noreferrer">
                <img src={r.snapshotURL} alt={`${EVIDENCE_KIND[r.kind] || r.kind} 第${r.seq}条`} loading="lazy" />
              </a>
              {r.kind === 'SNAPSHOT_PHONE' ? '手机' : '电脑'} · {fmtTime(r.at).slice(11)}
            </figure>
          ))}
        </div>
      ) : (
        <span className="muted">没有抓拍画面</span>
      )}
      <div className="section-title">证据记录</div>
      <div className="table-wrap">
        <table className="table evidence-table">
          <thead>
            <tr>
              <th className="right">序号</th>
              <th>时间</th>
              <th>事件</th>
              <th>操作人</th>
              <th>内容</th>
              <th>哈希</th>
            </tr>
          </thead>
          <tbody>
            {pages.map((r) => (
              <tr key={r.seq} className={broken && r.seq >= broken.seq ? 'row-broken' : ''}>
                <td className="right num">{r.seq}</td>
                <td className="nowrap">{fmtTime(r.at)}</td>
                <td className="nowrap">{EVIDENCE_KIND[r.kind] || r.kind}</td>
                <td className="nowrap">{actorLabel(r.actorID, a, names)}</td>
                <td className="evidence-data">{describeEvidence(r.kind, r.data)}</td>
                <td className="mono muted" title={r.hash}>
                  {r.hash.slice(0, 10)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ErrorAlert error={error} />
      {more && (
        <Button small kind="secondary" busy={loading} onClick={() => load(last.seq)}>
          加载更多记录
        </Button>
      )}
    </div>
  );
}

function Item({ a, e, onDone }) {
  const [open, setOpen] = useState(false);
  const [ev, setEv] = useState(null);
  const name = e?.candidate?.name || `考生 ${a.candidateID}`;
  const subj = e?.subject;
  const needPractical = subj?.hasPractical && a.practicalScore == null;
  const toggle = (
    <Button small kind="ghost" onClick={() => setOpen((v) => !v)}>
      {open ? '收起证据' : '查看证据'}
    </Button>
  );
  return (
    <li className="review-item" data-attempt={a.id}>
      <div className="review-info">
        <div className="review-name">
          {name}
          {e?.candidate?.idNumberMasked && <span className="sub-inline mono">{e.candidate.idNumberMasked}</span>}
          <StatusBadge map={ATTEMPT_RESULT} value={a.result} />
          {a.flagged && <Badge kind="danger">监考标记可疑</Badge>}
        </div>
        <dl className="kv">
          <dt>考试科目</dt>
          <dd>{subj?.name || '—'}</dd>
          <dt>考试场次</dt>
          <dd>
            {e?.session ? `${fmtSpan(e.session.startsAt, e.session.durationMinutes)} · ${e.session.site?.name || ''} ${e.session.room?.name || ''}` : '—'}
          </dd>
          <dt>理论成绩</dt>
          <dd>
            <b className={a.score != null && a.score < a.passMark ? 'warn-text' : ''}>{a.score ?? '—'}</b> 分（合格线 {a.passMark} 分）
          </dd>
          <dt>实操成绩</dt>
          <dd>
            {subj?.hasPractical ? (
              a.practicalScore != null ? (
                <>
                  <b className={a.practicalScore < subj.passMark ? 'warn-text' : ''}>{a.practicalScore}</b> 分（合格线 {subj.passMark} 分）
                </>
              ) : (
                <span className="warn-text">考点尚未录入</span>
              )
            ) : (
              '本科目无实操考核'
            )}
          </dd>
          <dt>离开页面</dt>
          <dd>{a.focusLosses} 次</dd>
          <dt>交卷</dt>
          <dd>
            {fmtTime(a.submittedAt)}
            {a.submitReason ? ` · ${SUBMIT_REASON[a.submitReason] || a.submitReason}` : ''}
          </dd>
          {a.reviewedAt && (
            <>
              <dt>审核时间</dt>
              <dd>{fmtTime(a.reviewedAt)}</dd>
            </>
          )}
          {a.reviewReason && (
            <>
              <dt>审核意见</dt>
              <dd>{a.reviewReason}</dd>
            </>
          )}
        </dl>
        {needPractical && a.result === 'PENDING_REVIEW' && (
          <Alert kind="warning">该科目含实操考核，须待考点录入实操成绩后再审核。</Alert>
        )}
        {open && <Evidence a={a} onState={setEv} />}
      </div>
      <div className="review-actions">
        {a.result === 'PENDING_REVIEW' ? (
          <ReviewActions
            approve={() => gql(REVIEW, { id: a.id, pass: true })}
            reject={(reason) => gql(REVIEW, { id: a.id, pass: false, reason })}
            approveLabel="评为合格"
            rejectLabel="评为不合格"
            placeholder="请填写不合格原因，将通知考生"
            reasonRequired="请填写不合格原因"
            onDone={(ok) => {
              toast(ok ? `已将${name}评为合格` : `已将${name}评为不合格`);
              onDone(a.id);
            }}
          >
            {toggle}
          </ReviewActions>
        ) : (
          toggle
        )}
        {open && ev && !ev.ok && a.result === 'PENDING_REVIEW' && <span className="muted small">证据链未通过校验，系统将拒绝审核。</span>}
      </div>
    </li>
  );
}

export default function AttemptReview() {
  const [result, setResult] = useState('PENDING_REVIEW');
  const q = useQuery(LIST, { result, dir: result === 'PENDING_REVIEW' ? 'ASC' : 'DESC' }, [result]);
  const list = nodes(q.data?.attempts);
  const ids = [...new Set(list.map((a) => a.enrollmentID))];
  const key = ids.join(',');
  const eq = useQuery(key ? ENROLLMENTS : null, { ids }, [key]);
  const byEnrollment = Object.fromEntries(nodes(eq.data?.enrollments).map((e) => [e.id, e]));
  const [done, setDone] = useState(() => new Set());

  return (
    <>
      <PageHeader
        title="成绩审核"
        desc="核对正式考试的成绩与考试证据（监考记录、抓拍画面，证据链经哈希校验），评定合格或不合格。评为不合格须填写原因，考生会收到通知。"
        actions={
          <Button kind="secondary" small onClick={q.reload} busy={q.loading && !!q.data}>
            刷新
          </Button>
        }
      />
      <Card
        title={`${TABS.find((t) => t[0] === result)[1]}的考试${q.data ? `（${q.data.attempts.totalCount}）` : ''}`}
        actions={<Tabs tabs={TABS} value={result} onChange={setResult} label="审核结果" />}
      >
        {eq.error && <ErrorAlert error={eq.error} />}
        <QueryState q={q}>
          {() => {
            const shown = list.filter((a) => !(result === 'PENDING_REVIEW' && done.has(a.id)));
            if (!shown.length) return <Empty>{result === 'PENDING_REVIEW' ? '没有待审核的考试' : '暂无记录'}</Empty>;
            return (
              <ul className="review-list" aria-label="考试列表">
                {shown.map((a) => (
                  <Item key={a.id} a={a} e={byEnrollment[a.enrollmentID]} onDone={(id) => setDone((s) => new Set([...s, id]))} />
                ))}
              </ul>
            );
          }}
        </QueryState>
      </Card>
    </>
  );
}
