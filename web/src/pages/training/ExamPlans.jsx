import { useMemo, useState } from 'react';
import { gql } from '../../api.js';
import { placeOf } from '../../examSessions.jsx';
import {
  ENROLLMENT_STATUS,
  PAYMENT_STATUS,
  PLAN_STATUS,
  addDays,
  categoryLabel,
  chinaDay,
  chinaDayEnd,
  chinaTime,
  fmtDate,
  fmtSpan,
  fmtTime,
} from '../../format.js';
import { useCandidateNames } from '../../names.js';
import { navigate } from '../../router.jsx';
import { PLAN_FIELDS, PLAN_SESSION_FIELDS, PlanSessionsTable } from '../../plans.jsx';
import {
  Alert,
  Button,
  Card,
  ConfirmButton,
  Empty,
  ErrorAlert,
  Field,
  PageHeader,
  QueryState,
  StatusBadge,
  Tabs,
  nodes,
  toast,
  useAction,
  useForm,
  useQuery,
  useRowAction,
} from '../../ui.jsx';
import { personLabel } from '../company/StaffEnroll.jsx';

const PLANS = `query ExamPlans($where: ExamPlanWhereInput) {
  examPlans(first: 100, where: $where, orderBy: {field: EXAM_FROM, direction: DESC}) {
    totalCount
    edges { node { ${PLAN_FIELDS} sessions { totalCount } } }
  }
}`;
const OPTIONS = `query PlanOptions {
  regions(first: 200, orderBy: {field: CODE, direction: ASC}) { edges { node { id name } } }
  subjects(first: 200, where: {active: true}, orderBy: {field: CODE, direction: ASC}) { edges { node { id name category } } }
  organizations(first: 200, where: {kind: EXAM_SITE}, orderBy: {field: NAME, direction: ASC}) { edges { node { id name } } }
}`;
const ROOMS = `query SiteRooms($siteID: ID!) {
  rooms(first: 500, where: {siteID: $siteID, disabled: false}, orderBy: {field: NAME, direction: ASC}) { edges { node { id name capacity location } } }
}`;
const PLAN = `query ExamPlan($id: ID!) {
  node(id: $id) { ... on ExamPlan {
    ${PLAN_FIELDS}
    sessions(first: 500, orderBy: {field: STARTS_AT, direction: ASC}) { totalCount edges { node { ${PLAN_SESSION_FIELDS} } } }
  } }
  enrollments(first: 1000, where: {planID: $id}, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount
    edges { node { id candidateID status paymentStatus source sessionID subject { name } session { startsAt durationMinutes room { name } site { name } } } }
  }
}`;
const TRAINED = `query TrainedCandidates($category: ExamCategory!) {
  trainingRecords(first: 1000, where: {status: APPROVED, category: $category}, orderBy: {field: CREATED_AT, direction: DESC}) {
    edges { node { id candidateID hours result } }
  }
}`;
const CREATE_PLAN = `mutation CreateExamPlan($input: CreateExamPlanInput!) { createExamPlan(input: $input) { id name } }`;
const ADD_SESSION = `mutation AddExamSession($input: AddExamSessionInput!) { addExamSession(input: $input) { id } }`;
const AUTO = `mutation AutoAssign($input: AutoAssignInput!) { autoAssignCandidates(input: $input) { id } }`;
const MANUAL = `mutation ManualAssign($input: ManualAssignInput!) { manualAssignCandidates(input: $input) { id } }`;
const UNASSIGN = `mutation Unassign($id: ID!) { unassignCandidate(enrollmentID: $id) { id status } }`;

function CreatePlan({ regions, onCreated }) {
  const today = chinaDay();
  const f = useForm({
    name: '',
    regionID: '',
    enrollFrom: today,
    enrollTo: addDays(today, 10),
    examFrom: addDays(today, 14),
    examTo: addDays(today, 28),
  });
  const act = useAction(f, { enrollStartsAt: 'enrollFrom', enrollEndsAt: 'enrollTo' });
  async function submit(e) {
    e.preventDefault();
    const v = f.values;
    const errs = {};
    if (!v.name.trim()) errs.name = '请输入计划名称';
    if (!v.regionID) errs.regionID = '请选择所属地区';
    for (const k of ['enrollFrom', 'enrollTo', 'examFrom', 'examTo']) if (!v[k]) errs[k] = '请选择日期';
    if (v.enrollTo && v.enrollFrom && v.enrollTo < v.enrollFrom) errs.enrollTo = '截止日期不能早于开始日期';
    if (v.examTo && v.examFrom && v.examTo < v.examFrom) errs.examTo = '结束日期不能早于开始日期';
    if (v.examFrom && v.enrollFrom && v.examFrom < v.enrollFrom) errs.examFrom = '考试不能早于报名开始';
    f.setErrors(errs);
    if (Object.keys(errs).length) return;
    const input = {
      name: v.name.trim(),
      regionID: v.regionID,
      enrollStartsAt: chinaTime(v.enrollFrom),
      enrollEndsAt: chinaDayEnd(v.enrollTo < v.examTo ? v.enrollTo : v.examTo),
      examFrom: chinaTime(v.examFrom),
      examTo: chinaDayEnd(v.examTo),
    };
    const d = await act.run(() => gql(CREATE_PLAN, { input }));
    if (d) {
      toast(`考试计划“${d.createExamPlan.name}”已创建`);
      f.reset();
      onCreated(d.createExamPlan.id);
    }
  }
  return (
    <form onSubmit={submit} noValidate className="grid-3">
      <Field label="计划名称" required className="span-2" error={f.errors.name} {...f.bind('name')} placeholder="如：2026年第二批C2类考核" />
      <Field label="所属地区" required error={f.errors.regionID}>
        <select {...f.bind('regionID')}>
          <option value="">请选择</option>
          {regions.map((r) => (
            <option key={r.id} value={r.id}>
              {r.name}
            </option>
          ))}
        </select>
      </Field>
      <Field label="报名开始" required error={f.errors.enrollFrom} {...f.bind('enrollFrom')} type="date" />
      <Field label="报名截止" required error={f.errors.enrollTo} {...f.bind('enrollTo')} type="date" hint="截止日 24:00" />
      <span />
      <Field label="考试开始日期" required error={f.errors.examFrom} {...f.bind('examFrom')} type="date" />
      <Field label="考试结束日期" required error={f.errors.examTo} {...f.bind('examTo')} type="date" hint="考试日期跨度不超过一年" />
      <div className="field field-submit">
        <Button type="submit" busy={act.busy}>
          创建考试计划
        </Button>
      </div>
      <div className="span-3">
        <ErrorAlert error={act.error} />
      </div>
    </form>
  );
}

function AddSession({ plan, subjects, sites, onAdded }) {
  const f = useForm({
    subjectID: '',
    siteID: '',
    roomID: '',
    day: fmtDate(plan.examFrom) || '',
    time: '09:00',
    durationMinutes: '90',
    capacity: '',
    onsite: true,
  });
  const act = useAction(f);
  const roomsQ = useQuery(f.values.siteID ? ROOMS : null, { siteID: f.values.siteID }, [f.values.siteID]);
  const rooms = nodes(roomsQ.data?.rooms);
  const room = rooms.find((r) => r.id === f.values.roomID);
  async function submit(e) {
    e.preventDefault();
    const v = f.values;
    const errs = {};
    if (!v.subjectID) errs.subjectID = '请选择科目';
    if (!v.siteID) errs.siteID = '请选择考点';
    if (!v.roomID) errs.roomID = '请选择考场';
    if (!v.day) errs.day = '请选择考试日期';
    if (!/^\d{2}:\d{2}$/.test(v.time)) errs.time = '请选择开考时间';
    const dur = Number(v.durationMinutes);
    if (!Number.isInteger(dur) || dur < 10 || dur > 600) errs.durationMinutes = '时长为10-600分钟';
    const cap = v.capacity === '' ? null : Number(v.capacity);
    if (cap !== null && (!Number.isInteger(cap) || cap < 1)) errs.capacity = '人数为正整数';
    else if (cap !== null && room && cap > room.capacity) errs.capacity = `不能超过考场核定人数（${room.capacity}人）`;
    f.setErrors(errs);
    if (Object.keys(errs).length) return;
    const input = {
      planID: plan.id,
      subjectID: v.subjectID,
      roomID: v.roomID,
      startsAt: chinaTime(v.day, v.time),
      durationMinutes: dur,
      capacity: cap,
      onsite: !!v.onsite,
    };
    const d = await act.run(() => gql(ADD_SESSION, { input }));
    if (d) {
      toast('考试场次已添加');
      f.setValues((s) => ({ ...s, capacity: '' }));
      onAdded();
    }
  }
  const siteBind = f.bind('siteID');
  return (
    <form onSubmit={submit} noValidate className="grid-3">
      <Field label="科目" required error={f.errors.subjectID}>
        <select {...f.bind('subjectID')}>
          <option value="">请选择</option>
          {subjects.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </Field>
      <Field label="考点" required error={f.errors.siteID}>
        <select
          {...siteBind}
          onChange={(e) => {
            siteBind.onChange(e);
            f.setValues((s) => ({ ...s, siteID: e.target.value, roomID: '' }));
          }}
        >
          <option value="">请选择</option>
          {sites.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </Field>
      <Field label="考场" required error={f.errors.roomID} hint={room ? `核定 ${room.capacity} 人${room.location ? ` · ${room.location}` : ''}` : null}>
        <select {...f.bind('roomID')} disabled={!f.values.siteID}>
          <option value="">{f.values.siteID ? (roomsQ.loading ? '加载中…' : '请选择') : '请先选择考点'}</option>
          {rooms.map((r) => (
            <option key={r.id} value={r.id}>
              {r.name}（{r.capacity}座）
            </option>
          ))}
        </select>
      </Field>
      <Field label="考试日期" required error={f.errors.day} {...f.bind('day')} type="date" min={fmtDate(plan.examFrom)} max={fmtDate(plan.examTo)} />
      <Field label="开考时间" required error={f.errors.time} {...f.bind('time')} type="time" step={300} />
      <Field label="考试时长" required error={f.errors.durationMinutes} {...f.bind('durationMinutes')} type="number" min={10} max={600} extra={<span className="unit">分钟</span>} />
      <Field label="安排人数" error={f.errors.capacity} hint="不填则为考场核定人数" {...f.bind('capacity')} type="number" min={1} placeholder={room ? String(room.capacity) : ''} />
      <div className="field field-submit">
        <label className="check">
          <input type="checkbox" {...f.bind('onsite')} checked={!!f.values.onsite} value={undefined} />
          在考点机房考试
        </label>
      </div>
      <div className="field field-submit">
        <Button type="submit" busy={act.busy}>
          添加场次
        </Button>
      </div>
      <div className="span-3">
        <ErrorAlert error={act.error || roomsQ.error} />
      </div>
    </form>
  );
}

function AutoAssign({ plan, sessions, subjects, onDone }) {
  const planSubjects = subjects.filter((s) => sessions.some((x) => x.subjectID === s.id));
  const [subjectID, setSubjectID] = useState(planSubjects[0]?.id || '');
  const [picked, setPicked] = useState(() => new Set());
  const [count, setCount] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const options = sessions.filter((s) => s.subjectID === subjectID && s.status === 'SCHEDULED');
  const free = options.filter((s) => picked.has(s.id)).reduce((n, s) => n + s.remainingSeats, 0);

  async function run() {
    const n = Number(count);
    if (!picked.size) return setError(new Error('请选择参与分配的场次'));
    if (!Number.isInteger(n) || n < 1 || n > 2000) return setError(new Error('分配人数为1-2000的整数'));
    if (n > free) return setError(new Error(`所选场次剩余座位不足：需要 ${n}，剩余 ${free}`));
    setBusy(true);
    setError(null);
    try {
      const d = await gql(AUTO, { input: { planID: plan.id, subjectID, sessionIDs: [...picked], count: n } });
      toast(`已随机分配 ${d.autoAssignCandidates.length} 名考生`);
      setCount('');
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  if (!planSubjects.length) return <Empty>请先添加考试场次</Empty>;
  return (
    <div>
      <p className="muted" style={{ marginTop: 0 }}>
        从本机构培训合格（已审核）且尚未安排的考生中随机抽取，轮流分配到所选场次，全部成功或全部不分配。
      </p>
      <div className="grid-3">
        <Field label="科目">
          <select
            value={subjectID}
            onChange={(e) => {
              setSubjectID(e.target.value);
              setPicked(new Set());
            }}
          >
            {planSubjects.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="分配人数" value={count} onChange={(e) => setCount(e.target.value)} type="number" min={1} hint={picked.size ? `所选场次剩余 ${free} 座` : null} />
        <div className="field field-submit">
          <Button busy={busy} onClick={run}>
            自动分配
          </Button>
        </div>
      </div>
      <div className="field">
        <label>参与分配的场次</label>
        <div className="pick-list">
          {options.map((s) => (
            <label key={s.id} className="check">
              <input
                type="checkbox"
                checked={picked.has(s.id)}
                onChange={() =>
                  setPicked((p) => {
                    const n = new Set(p);
                    if (n.has(s.id)) n.delete(s.id);
                    else n.add(s.id);
                    return n;
                  })
                }
              />
              {fmtSpan(s.startsAt, s.durationMinutes)} · {placeOf(s)}（剩余 {s.remainingSeats} 座）
            </label>
          ))}
          {!options.length && <span className="muted">该科目没有可分配的场次</span>}
        </div>
      </div>
      <ErrorAlert error={error} />
    </div>
  );
}

function ManualAssign({ plan, sessions, subjects, assigned, onDone }) {
  const open = sessions.filter((s) => s.status === 'SCHEDULED');
  const [sessionID, setSessionID] = useState(open[0]?.id || '');
  const session = open.find((s) => s.id === sessionID);
  const subject = subjects.find((s) => s.id === session?.subjectID);
  const category = subject && subject.category !== 'OTHER' ? subject.category : null;
  const trainedQ = useQuery(category ? TRAINED : null, { category }, [category]);
  const taken = new Set(assigned.filter((e) => e.status !== 'CANCELLED' && e.subject?.name === subject?.name).map((e) => e.candidateID));
  const candidates = useMemo(() => {
    const seen = new Map();
    for (const r of nodes(trainedQ.data?.trainingRecords)) if (!seen.has(r.candidateID)) seen.set(r.candidateID, r);
    return [...seen.values()];
  }, [trainedQ.data]);
  const names = useCandidateNames(candidates.map((c) => c.candidateID));
  const [picked, setPicked] = useState(() => new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  async function run() {
    if (!picked.size) return setError(new Error('请选择考生'));
    setBusy(true);
    setError(null);
    try {
      const d = await gql(MANUAL, { input: { planID: plan.id, sessionID, candidateIDs: [...picked] } });
      toast(`已安排 ${d.manualAssignCandidates.length} 名考生`);
      setPicked(new Set());
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  if (!open.length) return <Empty>请先添加考试场次</Empty>;
  return (
    <div>
      <div className="grid-3">
        <Field label="场次" className="span-2">
          <select
            value={sessionID}
            onChange={(e) => {
              setSessionID(e.target.value);
              setPicked(new Set());
            }}
          >
            {open.map((s) => (
              <option key={s.id} value={s.id}>
                {s.subject?.name} · {fmtSpan(s.startsAt, s.durationMinutes)} · {placeOf(s)}（剩余 {s.remainingSeats} 座）
              </option>
            ))}
          </select>
        </Field>
        <div className="field field-submit">
          <Button busy={busy} onClick={run} disabled={!picked.size}>
            安排所选考生（{picked.size}）
          </Button>
        </div>
      </div>
      {!category ? (
        <Alert kind="info">该科目不分考试类别，不能按培训记录分配考生。</Alert>
      ) : (
        <div className="field">
          <label>
            本机构{categoryLabel(category)}培训已审核的考生
          </label>
          <QueryState q={trainedQ}>
            {() =>
              candidates.length ? (
                <div className="pick-list">
                  {candidates.map((c) => {
                    const who = personLabel(names, c.candidateID);
                    const already = taken.has(c.candidateID);
                    return (
                      <label key={c.candidateID} className="check">
                        <input
                          type="checkbox"
                          disabled={already}
                          checked={picked.has(c.candidateID)}
                          onChange={() =>
                            setPicked((p) => {
                              const n = new Set(p);
                              if (n.has(c.candidateID)) n.delete(c.candidateID);
                              else n.add(c.candidateID);
                              return n;
                            })
                          }
                        />
                        {who.name}
                        <span className="sub-inline">
                          {c.hours} 学时{already ? ' · 已安排' : ''}
                        </span>
                      </label>
                    );
                  })}
                </div>
              ) : (
                <Empty>暂无该类别已审核的培训记录</Empty>
              )
            }
          </QueryState>
        </div>
      )}
      <ErrorAlert error={error} />
    </div>
  );
}

function Assigned({ list, draft, onChanged }) {
  const names = useCandidateNames(list.map((e) => e.candidateID));
  const { busy, error, run } = useRowAction();
  function unassign(e) {
    return run(e.id, async () => {
      await gql(UNASSIGN, { id: e.id });
      toast('已取消安排');
      onChanged();
    });
  }
  if (!list.length) return <Empty>尚未安排考生</Empty>;
  return (
    <>
      <ErrorAlert error={error} />
      <div className="table-wrap">
        <table className="table compact" aria-label="已安排考生">
          <thead>
            <tr>
              <th>考生</th>
              <th>科目</th>
              <th>考试时间 · 考场</th>
              <th>来源</th>
              <th>审核</th>
              <th>缴费</th>
              <th className="right">操作</th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <tr key={e.id} className={e.status === 'CANCELLED' ? 'inactive' : ''}>
                <td className="cell-main">{personLabel(names, e.candidateID).name}</td>
                <td>{e.subject?.name}</td>
                <td>
                  {e.session ? fmtSpan(e.session.startsAt, e.session.durationMinutes) : '—'}
                  <span className="sub-inline">{e.session ? placeOf(e.session) : ''}</span>
                </td>
                <td>{e.source === 'PLAN' ? '计划安排' : e.source === 'COMPANY' ? '单位报名' : '个人报名'}</td>
                <td>
                  <StatusBadge map={ENROLLMENT_STATUS} value={e.status} />
                </td>
                <td>
                  <StatusBadge map={PAYMENT_STATUS} value={e.paymentStatus} />
                </td>
                <td className="right">
                  {draft && e.source === 'PLAN' && e.status !== 'CANCELLED' && e.paymentStatus === 'UNPAID' && (
                    <ConfirmButton busy={busy === e.id} confirm="取消该考生的安排？" onConfirm={() => unassign(e)}>
                      取消安排
                    </ConfirmButton>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function PlanDetail({ id, options, onBack, onChanged }) {
  const q = useQuery(PLAN, { id }, [id]);
  const [tab, setTab] = useState('auto');
  const subjects = nodes(options?.subjects);
  const sites = nodes(options?.organizations);
  const reload = () => {
    q.reload();
    onChanged();
  };
  return (
    <QueryState q={q}>
      {(data) => {
        const plan = data.node;
        if (!plan) return <Empty>考试计划不存在</Empty>;
        const sessions = nodes(plan.sessions);
        const assigned = nodes(data.enrollments);
        const draft = plan.status === 'DRAFT';
        return (
          <>
            <Card
              title={
                <>
                  {plan.name}
                  <StatusBadge map={PLAN_STATUS} value={plan.status} />
                </>
              }
              actions={
                <Button small kind="ghost" onClick={onBack}>
                  返回计划列表
                </Button>
              }
            >
              <dl className="kv">
                <dt>所属地区</dt>
                <dd>{plan.region?.name}</dd>
                <dt>制定机构</dt>
                <dd>{plan.trainingOrg?.name || '省总站（在线报名）'}</dd>
                <dt>报名时间</dt>
                <dd>
                  {fmtTime(plan.enrollStartsAt)} 至 {fmtTime(plan.enrollEndsAt)}
                </dd>
                <dt>考试日期</dt>
                <dd>
                  {fmtDate(plan.examFrom)} 至 {fmtDate(plan.examTo)}
                </dd>
              </dl>
              {!draft && (
                <div style={{ marginTop: 12 }}>
                  <Alert kind="info">该计划已于 {fmtTime(plan.submittedAt)} 由管理部门提交，不能再修改。</Alert>
                </div>
              )}
              {draft && (
                <p className="muted" style={{ margin: '12px 0 0' }}>
                  计划在管理部门提交前可修改；提交后场次与考生安排即锁定。
                </p>
              )}
            </Card>
            <Card title={`考试场次（${sessions.length}）`}>
              <PlanSessionsTable sessions={sessions} />
            </Card>
            {draft && (
              <Card title="添加考试场次">
                <AddSession plan={plan} subjects={subjects} sites={sites} onAdded={reload} />
              </Card>
            )}
            {draft && plan.trainingOrgID && (
              <Card
                title="安排考生"
                actions={
                  <Tabs
                    tabs={[
                      ['auto', '自动分配'],
                      ['manual', '手动分配'],
                    ]}
                    value={tab}
                    onChange={setTab}
                    label="分配方式"
                  />
                }
              >
                {tab === 'auto' ? (
                  <AutoAssign plan={plan} sessions={sessions} subjects={subjects} onDone={reload} />
                ) : (
                  <ManualAssign plan={plan} sessions={sessions} subjects={subjects} assigned={assigned} onDone={reload} />
                )}
              </Card>
            )}
            <Card title={`已安排 / 已报名考生（${data.enrollments.totalCount}）`}>
              <Assigned list={assigned} draft={draft} onChanged={reload} />
            </Card>
          </>
        );
      }}
    </QueryState>
  );
}

export default function ExamPlans({ me, route }) {
  const own = me.role === 'TRAINING_ORG' ? me.organization : null;
  const [status, setStatus] = useState('DRAFT');
  const where = { status, ...(own ? { trainingOrgID: own.id } : {}) };
  const q = useQuery(PLANS, { where }, [status, own?.id]);
  const opts = useQuery(OPTIONS);
  const planID = route.query.get('plan');
  const [creating, setCreating] = useState(false);
  const go = (id) => {
    navigate(id ? `/training/plans?plan=${encodeURIComponent(id)}` : '/training/plans');
  };

  return (
    <>
      <PageHeader
        title="考试计划"
        desc={
          own
            ? `${own.name} · 制定考试计划，安排考点、考场和时间，将培训合格的考生自动或手动分配到场次。计划由管理部门提交。`
            : '制定考试计划并安排场次。省总站制定的计划通过在线报名安排考生。'
        }
        actions={
          !planID && (
            <Button small onClick={() => setCreating((v) => !v)}>
              {creating ? '收起' : '新建考试计划'}
            </Button>
          )
        }
      />
      {planID ? (
        <PlanDetail id={planID} options={opts.data} onBack={() => go(null)} onChanged={q.reload} />
      ) : (
        <>
          {creating && (
            <Card title="新建考试计划">
              <CreatePlan
                regions={nodes(opts.data?.regions)}
                onCreated={(id) => {
                  setCreating(false);
                  go(id);
                }}
              />
            </Card>
          )}
          <Card
            title={`考试计划${q.data ? `（${q.data.examPlans.totalCount}）` : ''}`}
            actions={
              <Tabs
                tabs={[
                  ['DRAFT', '未提交'],
                  ['SUBMITTED', '已提交'],
                ]}
                value={status}
                onChange={setStatus}
                label="计划状态"
              />
            }
          >
            <QueryState q={q}>
              {(data) => {
                const list = nodes(data.examPlans);
                if (!list.length) return <Empty>暂无考试计划</Empty>;
                return (
                  <div className="table-wrap">
                    <table className="table" aria-label="考试计划">
                      <thead>
                        <tr>
                          <th>计划名称</th>
                          <th>地区</th>
                          <th>报名时间</th>
                          <th>考试日期</th>
                          <th className="right">场次</th>
                          <th>状态</th>
                          <th className="right">操作</th>
                        </tr>
                      </thead>
                      <tbody>
                        {list.map((p) => (
                          <tr key={p.id}>
                            <td>
                              <div className="cell-main">{p.name}</div>
                              {!own && <div className="sub">{p.trainingOrg?.name || '省总站'}</div>}
                            </td>
                            <td>{p.region?.name}</td>
                            <td className="nowrap">
                              {fmtDate(p.enrollStartsAt)} 至 {fmtDate(p.enrollEndsAt)}
                            </td>
                            <td className="nowrap">
                              {fmtDate(p.examFrom)} 至 {fmtDate(p.examTo)}
                            </td>
                            <td className="right num">{p.sessions.totalCount}</td>
                            <td>
                              <StatusBadge map={PLAN_STATUS} value={p.status} />
                            </td>
                            <td className="right">
                              <Button small kind="ghost" onClick={() => go(p.id)}>
                                {p.status === 'DRAFT' ? '管理' : '查看'}
                              </Button>
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                );
              }}
            </QueryState>
          </Card>
          <ErrorAlert error={opts.error} />
        </>
      )}
    </>
  );
}
