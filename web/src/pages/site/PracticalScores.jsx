// Practical scores: the site enters, once, the practical score of each
// candidate who sat the theory paper of a subject with a practical part.
import { useEffect, useState } from 'react';
import { gql } from '../../api.js';
import { addDays, chinaDay, chinaTime, fmtSpan, fmtTime } from '../../format.js';
import { Alert, Badge, Button, Card, ConfirmButton, Empty, ErrorAlert, PageHeader, QueryState, StatusBadge, Tabs, nodes, toast, useQuery } from '../../ui.jsx';
import { ATTEMPT_RESULT, SUBMIT_REASON } from '../proctor/labels.js';

const SESSIONS = `query PracticalSessions($siteID: ID!, $from: Time!) {
  examSessions(first: 300, where: {siteID: $siteID, startsAtGTE: $from, hasSubjectWith: [{hasPractical: true}]},
               orderBy: {field: STARTS_AT, direction: DESC}) {
    edges { node { id startsAt durationMinutes status subject { id name passMark } room { name } } }
  }
}`;
const ATTEMPTS = `query PracticalAttempts($sid: ID!) {
  attempts(first: 500, where: {sessionID: $sid, kind: FORMAL, status: SUBMITTED}, orderBy: {field: CREATED_AT, direction: ASC}) {
    edges { node { id enrollmentID candidateID submittedAt submitReason score passMark practicalScore result reviewedAt } }
  }
  sessionRoster(sessionID: $sid) { entries { candidateName maskedIDNumber ticketNo enrollment { id } } }
}`;
const ENTER = `mutation EnterPracticalScore($id: ID!, $score: Int!) {
  enterPracticalScore(attemptID: $id, score: $score) { id practicalScore }
}`;

// Practical scores come in after the exam day: look back this far.
const DAYS_BACK = 60;

const FILTERS = [
  ['TODO', '待录入'],
  ['ALL', '全部'],
];

function ScoreInput({ a, name, onSaved }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const n = Number(value);
  const valid = value.trim() !== '' && Number.isInteger(n) && n >= 0 && n <= 100;

  async function save() {
    if (!valid) {
      setError(new Error('实操成绩应为0到100的整数'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const d = await gql(ENTER, { id: a.id, score: n });
      toast(`已录入${name}的实操成绩 ${d.enterPracticalScore.practicalScore} 分`);
      onSaved(d.enterPracticalScore);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  if (a.reviewedAt) return <span className="muted">已审核，不能录入</span>;
  return (
    <div className="score-entry">
      <div className="row gap">
        <input
          className="num-input"
          type="number"
          min={0}
          max={100}
          step={1}
          inputMode="numeric"
          value={value}
          onChange={(e) => {
            setValue(e.target.value);
            setError(null);
          }}
          aria-label={`${name}的实操成绩`}
          aria-invalid={error ? true : undefined}
        />
        {valid ? (
          <ConfirmButton kind="primary" confirm={`录入 ${n} 分，录入后不能修改？`} busy={busy} onConfirm={save}>
            录入
          </ConfirmButton>
        ) : (
          <Button small onClick={save}>
            录入
          </Button>
        )}
      </div>
      {error && <div className="field-error">{error.message}</div>}
    </div>
  );
}

export default function PracticalScores({ me }) {
  const from = chinaTime(addDays(chinaDay(), -DAYS_BACK));
  const sq = useQuery(me.organizationID ? SESSIONS : null, { siteID: me.organizationID, from }, [me.organizationID]);
  const sessions = nodes(sq.data?.examSessions).filter((s) => s.status !== 'CANCELLED');
  const [sessionID, setSessionID] = useState('');
  useEffect(() => {
    if (!sessionID && sessions.length) {
      // The latest session that has started.
      const now = Date.now();
      setSessionID((sessions.find((s) => new Date(s.startsAt).getTime() <= now) || sessions[sessions.length - 1]).id);
    }
  }, [sessionID, sessions]);
  const session = sessions.find((s) => s.id === sessionID);
  const q = useQuery(sessionID ? ATTEMPTS : null, { sid: sessionID }, [sessionID]);
  const [filter, setFilter] = useState('TODO');

  return (
    <>
      <PageHeader
        title="实操成绩录入"
        desc="含实操考核的科目，考生交卷后由考点录入实操成绩（0–100 分）。每位考生只能录入一次，成绩审核后不能再录入；如需更正请联系省总站。"
      />
      {!me.organizationID && <Alert kind="warning">您的账号未关联考点，不能录入实操成绩。</Alert>}
      {sq.error && <ErrorAlert error={sq.error} />}
      {sq.data && !sessions.length && <Alert kind="info">近 {DAYS_BACK} 天内本考点没有含实操考核科目的考试场次。</Alert>}
      <div className="toolbar">
        <label className="inline-select">
          场次
          <select value={sessionID} onChange={(e) => setSessionID(e.target.value)} aria-label="选择场次">
            {!sessions.length && <option value="">近期没有含实操考核的场次</option>}
            {sessions.map((s) => (
              <option key={s.id} value={s.id}>
                {fmtSpan(s.startsAt, s.durationMinutes)} · {s.room?.name} · {s.subject?.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {session && (
        <Card
          title={`${session.subject?.name}（实操合格线 ${session.subject?.passMark} 分）`}
          actions={<Tabs tabs={FILTERS} value={filter} onChange={setFilter} label="筛选" />}
        >
          <QueryState q={q}>
            {(data) => {
              const who = {};
              for (const r of data.sessionRoster?.entries || []) if (r.enrollment?.id) who[r.enrollment.id] = r;
              const all = nodes(data.attempts);
              const list = filter === 'TODO' ? all.filter((a) => a.practicalScore == null && !a.reviewedAt) : all;
              if (!list.length) return <Empty>{filter === 'TODO' ? '没有待录入实操成绩的考生' : '本场还没有考生交卷'}</Empty>;
              return (
                <div className="table-wrap">
                  <table className="table" aria-label="实操成绩">
                    <thead>
                      <tr>
                        <th>考生</th>
                        <th>准考证号</th>
                        <th>交卷时间</th>
                        <th className="right">理论成绩</th>
                        <th>结果</th>
                        <th>实操成绩</th>
                      </tr>
                    </thead>
                    <tbody>
                      {list.map((a) => {
                        const r = who[a.enrollmentID];
                        const name = r?.candidateName || `考生 ${a.candidateID}`;
                        return (
                          <tr key={a.id} data-attempt={a.id}>
                            <td className="cell-main">
                              {name}
                              {r?.maskedIDNumber && <div className="sub mono">{r.maskedIDNumber}</div>}
                            </td>
                            <td className="mono">{r?.ticketNo || '—'}</td>
                            <td className="nowrap">
                              {fmtTime(a.submittedAt)}
                              {a.submitReason && a.submitReason !== 'CANDIDATE' && <div className="sub">{SUBMIT_REASON[a.submitReason]}</div>}
                            </td>
                            <td className="right num">
                              {a.score ?? '—'} <span className="muted">/ {a.passMark}</span>
                            </td>
                            <td>
                              <StatusBadge map={ATTEMPT_RESULT} value={a.result} />
                            </td>
                            <td>
                              {a.practicalScore != null ? (
                                <Badge kind={a.practicalScore >= (session.subject?.passMark ?? 60) ? 'success' : 'danger'}>{a.practicalScore} 分</Badge>
                              ) : (
                                <ScoreInput
                                  a={a}
                                  name={name}
                                  onSaved={(saved) =>
                                    q.setData((d) => ({
                                      ...d,
                                      attempts: {
                                        ...d.attempts,
                                        edges: d.attempts.edges.map((e) =>
                                          e.node.id === saved.id ? { ...e, node: { ...e.node, practicalScore: saved.practicalScore } } : e,
                                        ),
                                      },
                                    }))
                                  }
                                />
                              )}
                            </td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                </div>
              );
            }}
          </QueryState>
        </Card>
      )}
    </>
  );
}
