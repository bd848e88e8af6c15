// Live proctoring of one exam session: a card per attempt (state, focus
// losses, phone, latest PC and phone snapshots), the session's event feed,
// and the proctor's actions (flag, note, warn, end).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { gql, subscribe, ws } from '../../api.js';
import { chinaClock } from '../../format.js';
import { navigate } from '../../router.jsx';
import {
  Alert,
  Badge,
  Button,
  Card,
  Empty,
  ErrorAlert,
  Field,
  Modal,
  PageHeader,
  StatusBadge,
  Tabs,
  nodes,
  toast,
  useQuery,
} from '../../ui.jsx';
import { ATTEMPT_KIND, ATTEMPT_STATUS, PHONE_STATE, SUBMIT_REASON, describeEvent, eventLevel } from './labels.js';
import { applyEvent, needsAttention } from './live.js';
import { WatchSessionSelect, sessionLabel, useWatchSessions } from './sessions.jsx';

// The exam service submits on the fifth focus loss (exam.FocusLossLimit).
const FOCUS_LIMIT = 5;
const FEED_MAX = 200;

const ATTEMPT_FIELDS = `id enrollmentID candidateID kind status submitReason startedAt deadline submittedAt
  focusLosses flagged phoneState phoneLastSeenAt`;
const ATTEMPTS = `query SessionAttempts($sid: ID!) {
  attempts(first: 500, where: {sessionID: $sid}, orderBy: {field: CREATED_AT, direction: ASC}) {
    totalCount
    edges { node { ${ATTEMPT_FIELDS} } }
  }
}`;
const ROSTER = `query ProctorRoster($sid: ID!) {
  sessionRoster(sessionID: $sid) {
    total checkedIn
    entries { candidateName maskedIDNumber ticketNo enrollment { id } checkIn { checkedInAt } }
  }
}`;
// The newest snapshots when the page opens, so tiles need not wait for the next capture.
const SNAPSHOTS = `query SessionSnapshots($sid: ID!) {
  sessionSnapshots(sessionID: $sid) { attemptID source at snapshotURL }
}`;
const EVENTS = `subscription SessionEvents($sid: ID!) {
  sessionEvents(sessionID: $sid) { type at attemptID enrollmentID count reason source snapshotURL text flagged }
}`;

const MUTATIONS = {
  flag: `mutation Flag($id: ID!, $note: String) { flagAttempt(attemptID: $id, flagged: true, note: $note) }`,
  unflag: `mutation Unflag($id: ID!, $note: String) { flagAttempt(attemptID: $id, flagged: false, note: $note) }`,
  note: `mutation Note($id: ID!, $text: String!) { noteAttempt(attemptID: $id, text: $text) }`,
  warn: `mutation Warn($id: ID!, $text: String!) { warnAttempt(attemptID: $id, text: $text) }`,
  end: `mutation End($id: ID!, $reason: String!) { endAttempt(attemptID: $id, reason: $reason) }`,
};

const ACTIONS = {
  flag: { title: '标记为可疑', label: '备注（选填）', placeholder: '如：疑似有他人在旁', required: false, button: '标记', done: '已标记为可疑', var: 'note' },
  unflag: { title: '取消可疑标记', label: '说明（选填）', placeholder: '如：经核实无异常', required: false, button: '取消标记', done: '已取消标记', var: 'note' },
  note: { title: '添加监考备注', label: '备注内容', placeholder: '记录观察到的情况，将存入考试证据', required: true, button: '保存备注', done: '备注已保存', var: 'text' },
  warn: { title: '向考生发出警告', label: '警告内容', placeholder: '考生的考试页面会立即显示这段文字', required: true, button: '发送警告', done: '警告已发送', var: 'text' },
  end: { title: '结束考生的考试', label: '结束原因', placeholder: '如：经两次警告仍有他人协助作答', required: true, button: '确认结束考试', done: '已结束该考生的考试', var: 'reason' },
};

const WARN_PRESETS = ['请将面部保持在摄像头画面内', '请勿离开考试页面', '请勿与他人交流或使用其他设备', '请将手机摄像头对准桌面和双手'];

const CONN = {
  open: { label: '实时连接正常', cls: 'live-open' },
  connecting: { label: '正在连接…', cls: 'live-retrying' },
  retrying: { label: '连接中断，正在重连…', cls: 'live-retrying' },
  idle: { label: '未连接', cls: '' },
};

function ActionDialog({ action, attempt, name, onClose, onDone }) {
  const spec = ACTIONS[action];
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function submit(e) {
    e.preventDefault();
    const t = text.trim();
    if (spec.required && !t) {
      setError(new Error(`请填写${spec.label}`));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await gql(MUTATIONS[action], { id: attempt.id, [spec.var]: t || (spec.var === 'note' ? null : t) });
      toast(`${name}：${spec.done}`);
      onDone(action);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <Modal
      title={`${spec.title} — ${name}`}
      onClose={onClose}
      footer={
        <>
          <Button kind="ghost" onClick={onClose}>
            取消
          </Button>
          <Button kind={action === 'end' ? 'danger' : 'primary'} busy={busy} type="submit" form="proctor-action">
            {spec.button}
          </Button>
        </>
      }
    >
      <form id="proctor-action" onSubmit={submit} noValidate>
        {action === 'end' && (
          <Alert kind="warning" title="结束后将立即为考生交卷，不能撤销">
            结束原因和您的账号会记入该考生的考试证据，供成绩审核时查看。
          </Alert>
        )}
        {action === 'warn' && (
          <div className="presets" aria-label="常用警告">
            {WARN_PRESETS.map((p) => (
              <button key={p} type="button" className="chip" onClick={() => setText(p)}>
                {p}
              </button>
            ))}
          </div>
        )}
        <Field label={spec.label} required={spec.required}>
          <textarea rows={3} maxLength={500} value={text} onChange={(e) => setText(e.target.value)} placeholder={spec.placeholder} autoFocus />
        </Field>
        <ErrorAlert error={error} />
      </form>
    </Modal>
  );
}

function SnapshotTile({ label, snap, live }) {
  return (
    <figure className="snap">
      {snap?.url ? (
        <a href={snap.url} target="_blank" rel="noreferrer" title={`${label}（${chinaClock(snap.at)}）`}>
          <img src={snap.url} alt={`${label}画面`} />
        </a>
      ) : (
        <span className="snap-empty">{live ? '等待抓拍' : '—'}</span>
      )}
      <figcaption>
        {label}
        {snap?.at && <span className="muted"> · {chinaClock(snap.at)}</span>}
      </figcaption>
    </figure>
  );
}

function AttemptCard({ a, who, snaps, canAct, onAction }) {
  const live = a.status === 'IN_PROGRESS';
  const lostPhone = a.phoneState === 'LOST';
  return (
    <li className={`attempt-card ${a.flagged ? 'is-flagged' : ''} ${live ? '' : 'is-done'}`} data-attempt={a.id} aria-label={`考生 ${who.name}`}>
      <div className="attempt-head">
        <div>
          <div className="attempt-name">{who.name}</div>
          <div className="sub mono">
            {who.ticketNo ? `准考证 ${who.ticketNo}` : ''}
            {who.maskedIDNumber ? ` ${who.maskedIDNumber}` : ''}
          </div>
        </div>
        <div className="attempt-badges">
          {a.kind === 'MOCK' && <StatusBadge map={ATTEMPT_KIND} value={a.kind} />}
          <StatusBadge map={ATTEMPT_STATUS} value={a.status} />
          {a.flagged && <Badge kind="danger">可疑</Badge>}
        </div>
      </div>
      <div className="snaps">
        <SnapshotTile label="电脑" snap={snaps?.PC} live={live} />
        <SnapshotTile label="手机" snap={snaps?.PHONE} live={live} />
      </div>
      <dl className="attempt-facts">
        <dt>离开页面</dt>
        <dd className={a.focusLosses > 0 ? 'warn-text' : ''} data-focus-losses={a.focusLosses}>
          {a.focusLosses} / {FOCUS_LIMIT} 次
        </dd>
        <dt>手机</dt>
        <dd>
          <StatusBadge map={PHONE_STATE} value={a.phoneState} />
        </dd>
        <dt>{live ? '截止' : '交卷'}</dt>
        <dd>
          {live ? chinaClock(a.deadline) : `${chinaClock(a.submittedAt)}${a.submitReason ? ` · ${SUBMIT_REASON[a.submitReason] || a.submitReason}` : ''}`}
        </dd>
      </dl>
      {lostPhone && live && <div className="attempt-alert">手机画面已中断，请提醒考生检查手机</div>}
      {canAct && (
        <div className="attempt-actions">
          {a.flagged ? (
            <Button small kind="ghost" onClick={() => onAction('unflag', a)}>
              取消标记
            </Button>
          ) : (
            <Button small kind="ghost" onClick={() => onAction('flag', a)}>
              标记
            </Button>
          )}
          <Button small kind="ghost" onClick={() => onAction('note', a)}>
            备注
          </Button>
          {live && (
            <>
              <Button small kind="secondary" onClick={() => onAction('warn', a)}>
                警告
              </Button>
              <Button small kind="danger-ghost" onClick={() => onAction('end', a)}>
                结束考试
              </Button>
            </>
          )}
        </div>
      )}
    </li>
  );
}

const FILTERS = [
  ['ALL', '全部'],
  ['LIVE', '考试中'],
  ['ATTENTION', '需关注'],
  ['DONE', '已交卷'],
];

function Feed({ items, nameOf, showSnaps, setShowSnaps }) {
  const shown = showSnaps ? items : items.filter((e) => e.type !== 'SNAPSHOT');
  return (
    <Card
      title="实时动态"
      className="feed-card"
      actions={
        <label className="check small-check">
          <input type="checkbox" checked={showSnaps} onChange={(e) => setShowSnaps(e.target.checked)} />
          显示抓拍
        </label>
      }
    >
      {shown.length ? (
        <ol className="feed" aria-label="实时动态" aria-live="polite">
          {shown.map((e) => (
            <li key={e.key} className={`feed-${eventLevel(e.type)}`} data-type={e.type}>
              <time dateTime={e.at}>{chinaClock(e.at)}</time>
              <span>
                {e.attemptID || e.enrollmentID ? <b>{nameOf(e)}</b> : null} {describeEvent(e)}
              </span>
            </li>
          ))}
        </ol>
      ) : (
        <Empty>打开页面后的考场动态会显示在这里</Empty>
      )}
    </Card>
  );
}

export default function ProctorDashboard({ me, route }) {
  const sessions = useWatchSessions(me);
  const sessionID = route.query.get('session') || '';
  const setSessionID = useCallback((id) => navigate(`/proctor?session=${encodeURIComponent(id)}`, { replace: true }), []);
  const session = sessions.list.find((s) => s.id === sessionID);

  const attemptsQ = useQuery(sessionID ? ATTEMPTS : null, { sid: sessionID }, [sessionID]);
  const rosterQ = useQuery(sessionID ? ROSTER : null, { sid: sessionID }, [sessionID]);
  const snapsQ = useQuery(sessionID ? SNAPSHOTS : null, { sid: sessionID }, [sessionID]);
  const [attempts, setAttempts] = useState([]);
  const [snaps, setSnaps] = useState({}); // attemptID -> {PC: {url, at}, PHONE: {url, at}}
  const [feed, setFeed] = useState([]);
  const [showSnaps, setShowSnaps] = useState(false);
  const [subError, setSubError] = useState(null);
  const [conn, setConn] = useState(ws.state);
  const [filter, setFilter] = useState('ALL');
  const [dialog, setDialog] = useState(null); // {action, attempt}
  const seq = useRef(0);

  useEffect(() => {
    if (attemptsQ.data) setAttempts(nodes(attemptsQ.data.attempts));
  }, [attemptsQ.data]);
  useEffect(() => {
    const list = snapsQ.data?.sessionSnapshots;
    if (!list) return;
    // A live event may already have brought a newer one: keep the newest.
    setSnaps((m) => {
      const next = { ...m };
      for (const s of list) {
        const cur = next[s.attemptID]?.[s.source];
        if (!cur || cur.at < s.at) next[s.attemptID] = { ...next[s.attemptID], [s.source]: { url: s.snapshotURL, at: s.at } };
      }
      return next;
    });
  }, [snapsQ.data]);
  useEffect(() => {
    setSnaps({});
    setFeed([]);
    setAttempts([]);
    setSubError(null);
  }, [sessionID]);

  // Latest actions in refs: the subscription lives as long as the session choice.
  const reloadAttempts = useRef(attemptsQ.reload);
  reloadAttempts.current = attemptsQ.reload;
  const reloadRoster = useRef(rosterQ.reload);
  reloadRoster.current = rosterQ.reload;
  const known = useRef(new Set());
  known.current = new Set(attempts.map((a) => a.id));

  useEffect(() => {
    if (!sessionID) return undefined;
    let reloadTimer = null;
    const reloadSoon = () => {
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(() => reloadAttempts.current(), 300);
    };
    const stop = subscribe(EVENTS, { sid: sessionID }, {
      next: (data) => {
        const e = data?.sessionEvents;
        if (!e) return;
        setSubError(null);
        const item = { ...e, key: ++seq.current };
        setFeed((f) => [item, ...f].slice(0, FEED_MAX));
        if (e.type === 'SNAPSHOT' && e.attemptID && e.snapshotURL) {
          const src = e.source === 'PHONE' ? 'PHONE' : 'PC';
          setSnaps((m) => ({ ...m, [e.attemptID]: { ...m[e.attemptID], [src]: { url: e.snapshotURL, at: e.at } } }));
        }
        if (e.type === 'CHECKED_IN') reloadRoster.current();
        if (e.attemptID && !known.current.has(e.attemptID)) {
          // A new attempt (or one started before the list loaded): fetch the list again.
          reloadSoon();
          return;
        }
        if (e.attemptID) {
          setAttempts((list) =>
            list.map((a) => {
              if (a.id !== e.attemptID) return a;
              return applyEvent(a, e) || a;
            }),
          );
        }
      },
      error: (err) => setSubError(err),
    });
    return () => {
      clearTimeout(reloadTimer);
      stop();
    };
  }, [sessionID]);

  // Connection state; after a reconnect the missed events are gone, so
  // reload the list to catch up.
  const dropped = useRef(false);
  useEffect(
    () =>
      ws.onState((s) => {
        setConn(s);
        if (s === 'retrying') dropped.current = true;
        if (s === 'open' && dropped.current) {
          dropped.current = false;
          reloadAttempts.current();
        }
      }),
    [],
  );

  const who = useMemo(() => {
    const m = {};
    for (const r of rosterQ.data?.sessionRoster?.entries || []) {
      if (r.enrollment?.id) m[r.enrollment.id] = r;
    }
    return m;
  }, [rosterQ.data]);
  const byAttempt = useMemo(() => Object.fromEntries(attempts.map((a) => [a.id, a])), [attempts]);
  const whoOf = (a) => {
    const r = who[a.enrollmentID];
    return { name: r?.candidateName || `考生 ${a.candidateID}`, ticketNo: r?.ticketNo, maskedIDNumber: r?.maskedIDNumber };
  };
  const nameOfEvent = (e) => {
    if (e.attemptID && byAttempt[e.attemptID]) return whoOf(byAttempt[e.attemptID]).name;
    if (e.enrollmentID && who[e.enrollmentID]) return who[e.enrollmentID].candidateName;
    return e.attemptID ? `考试 ${e.attemptID}` : '';
  };

  const canAct = me.role === 'PROCTOR';
  const counts = {
    live: attempts.filter((a) => a.status === 'IN_PROGRESS').length,
    done: attempts.filter((a) => a.status === 'SUBMITTED').length,
    flagged: attempts.filter((a) => a.flagged).length,
    lost: attempts.filter((a) => a.status === 'IN_PROGRESS' && a.phoneState === 'LOST').length,
  };
  const roster = rosterQ.data?.sessionRoster;
  const shown = attempts
    .filter((a) => {
      if (filter === 'LIVE') return a.status === 'IN_PROGRESS';
      if (filter === 'DONE') return a.status === 'SUBMITTED';
      if (filter === 'ATTENTION') return needsAttention(a);
      return true;
    })
    // In progress first, then by start time.
    .sort((x, y) => (x.status === y.status ? new Date(x.startedAt) - new Date(y.startedAt) : x.status === 'IN_PROGRESS' ? -1 : 1));
  const c = CONN[conn] || CONN.idle;

  return (
    <>
      <PageHeader
        title="在线监考"
        desc="实时查看本场考生的答题状态、离开页面次数、手机连接及电脑和手机摄像头抓拍。抓拍链接短时有效，每次抓拍自动刷新。"
        actions={
          <span className={`live ${c.cls}`} role="status" data-conn={conn}>
            <span className="dot" aria-hidden="true" />
            {c.label}
          </span>
        }
      />
      <div className="toolbar">
        {sessions.q.error && !sessions.q.data ? (
          <ErrorAlert error={sessions.q.error} />
        ) : (
          <WatchSessionSelect sessions={sessions} value={sessionID} onChange={setSessionID} showSite={me.role !== 'EXAM_SITE' && me.role !== 'PROCTOR'} />
        )}
        <Button
          small
          kind="secondary"
          busy={attemptsQ.loading && !!attemptsQ.data}
          disabled={!sessionID}
          onClick={() => {
            attemptsQ.reload();
            rosterQ.reload();
          }}
        >
          刷新
        </Button>
      </div>
      {sessions.q.data && !sessions.list.length && (
        <Alert kind="info">{me.role === 'PROCTOR' ? '您目前没有被安排监考的考试场次。' : '近期没有考试场次。'}</Alert>
      )}
      {subError && <Alert kind="error" title="无法接收实时动态">{subError.message}</Alert>}
      {conn === 'retrying' && sessionID && <Alert kind="warning">与服务器的实时连接已中断，正在自动重连；重连后列表会自动刷新。</Alert>}
      {sessionID && (
        <>
          {session && (
            <p className="muted session-line">
              {sessionLabel(session)}
              {session.site?.name ? ` · ${session.site.name}` : ''}
            </p>
          )}
          <div className="stats proctor-stats">
            <div className="stat">
              <b>{counts.live}</b>
              <span>考试中</span>
            </div>
            <div className="stat">
              <b>{counts.done}</b>
              <span>已交卷</span>
            </div>
            <div className="stat">
              <b>{counts.flagged}</b>
              <span>可疑标记</span>
            </div>
            <div className="stat">
              <b>{counts.lost}</b>
              <span>手机失联</span>
            </div>
            {roster && session?.onsite && (
              <div className="stat">
                <b>
                  {roster.checkedIn}/{roster.total}
                </b>
                <span>已签到/应考</span>
              </div>
            )}
          </div>
          <div className="proctor-layout">
            <Card title={`考生（${attempts.length}）`} actions={<Tabs tabs={FILTERS} value={filter} onChange={setFilter} label="筛选考生" />}>
              {attemptsQ.error && <ErrorAlert error={attemptsQ.error} />}
              {!attemptsQ.data && !attemptsQ.error ? (
                <Empty>正在加载…</Empty>
              ) : shown.length ? (
                <ul className="attempt-grid" aria-label="考生列表">
                  {shown.map((a) => (
                    <AttemptCard
                      key={a.id}
                      a={a}
                      who={whoOf(a)}
                      snaps={snaps[a.id]}
                      canAct={canAct}
                      onAction={(action, att) => setDialog({ action, attempt: att })}
                    />
                  ))}
                </ul>
              ) : (
                <Empty>{attempts.length ? '没有符合条件的考生' : '还没有考生开始答题'}</Empty>
              )}
              {!canAct && attempts.length > 0 && <p className="muted small">警告、标记和结束考试只能由本场的监考人员操作。</p>}
            </Card>
            <Feed items={feed} nameOf={nameOfEvent} showSnaps={showSnaps} setShowSnaps={setShowSnaps} />
          </div>
        </>
      )}
      {dialog && (
        <ActionDialog
          action={dialog.action}
          attempt={dialog.attempt}
          name={whoOf(dialog.attempt).name}
          onClose={() => setDialog(null)}
          onDone={(action) => {
            const id = dialog.attempt.id;
            setDialog(null);
            // The event follows; this keeps the card right if it is slow.
            if (action === 'flag' || action === 'unflag') {
              setAttempts((list) => list.map((a) => (a.id === id ? { ...a, flagged: action === 'flag' } : a)));
            }
            if (action === 'end') attemptsQ.reload();
          }}
        />
      )}
    </>
  );
}
