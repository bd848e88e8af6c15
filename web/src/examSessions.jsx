// Searching exam sessions open for enrollment (考试报名, 员工报名) and
// describing a session.
import { useState } from 'react';
import { addDays, chinaDay, chinaDayEnd, chinaTime, fmtSpan, fmtTime, fmtYuan } from './format.js';
import { Button, Card, Empty, ErrorAlert, Field, QueryState, nodes, useForm, useQuery } from './ui.jsx';

export const SESSION_FIELDS = `id startsAt durationMinutes capacity taken remainingSeats status onsite
  plan { id name region { id name } enrollStartsAt enrollEndsAt }
  subject { id code name category feeCents }
  room { id name location }
  site { id name address }`;

const OPTIONS = `query SearchOptions {
  regions(first: 200, orderBy: {field: CODE, direction: ASC}) { edges { node { id name } } }
  subjects(first: 200, where: {active: true}, orderBy: {field: CODE, direction: ASC}) { edges { node { id name category } } }
}`;
export const SEARCH = `query SearchExamSessions($input: SearchExamSessionsInput!) {
  searchExamSessions(input: $input) { ${SESSION_FIELDS} }
}`;

export function Seats({ s }) {
  const left = s.remainingSeats;
  const cls = left <= 0 ? 'full' : left <= Math.max(3, Math.floor(s.capacity / 10)) ? 'low' : '';
  return (
    <span className={`seats ${cls}`} title={`共 ${s.capacity} 座，已占 ${s.taken} 座`}>
      <strong>{left}</strong>
      <span className="muted"> / {s.capacity}</span>
    </span>
  );
}

/** Where and when, for summaries: "南山考点 · 第一考场". */
export function placeOf(s) {
  if (!s) return '—';
  return [s.site?.name, s.room?.name].filter(Boolean).join(' · ');
}

export function SessionSummary({ s, extra }) {
  return (
    <dl className="summary">
      <dt>考试批次</dt>
      <dd>
        {s.plan?.name}
        {s.plan?.region?.name ? `（${s.plan.region.name}）` : ''}
      </dd>
      <dt>报考科目</dt>
      <dd>{s.subject?.name}</dd>
      <dt>考试时间</dt>
      <dd>{fmtSpan(s.startsAt, s.durationMinutes)}</dd>
      <dt>考点考场</dt>
      <dd>
        {placeOf(s)}
        {s.room?.location ? <div className="sub">{s.room.location}</div> : null}
      </dd>
      <dt>报名费</dt>
      <dd>{fmtYuan(s.subject?.feeCents)} 元</dd>
      {extra}
    </dl>
  );
}

/**
 * Filters (date range, region, subject) and a table of sessions; action(s)
 * renders the last column. Returns the query so callers can reload it.
 */
export function SessionSearch({ title = '可报名的考试场次', action, reloadRef }) {
  const today = chinaDay();
  const opts = useQuery(OPTIONS);
  const f = useForm({ from: today, to: addDays(today, 90), regionID: '', subjectID: '', onlyAvailable: false });
  const [input, setInput] = useState(() => toInput(f.values));
  const q = useQuery(SEARCH, { input }, [JSON.stringify(input)]);
  if (reloadRef) reloadRef.current = q.reload;

  function toInput(v) {
    return {
      from: chinaTime(v.from),
      to: chinaDayEnd(v.to),
      regionID: v.regionID || null,
      subjectID: v.subjectID || null,
      onlyAvailable: !!v.onlyAvailable,
    };
  }

  function search(e) {
    e.preventDefault();
    const v = f.values;
    const errs = {};
    if (!v.from) errs.from = '请选择开始日期';
    if (!v.to) errs.to = '请选择结束日期';
    if (v.from && v.to && v.to < v.from) errs.to = '结束日期不能早于开始日期';
    if (v.from && v.to && addDays(v.from, 366) < v.to) errs.to = '查询范围不能超过一年';
    f.setErrors(errs);
    if (Object.keys(errs).length) return;
    const next = toInput(v);
    if (JSON.stringify(next) === JSON.stringify(input)) q.reload();
    else setInput(next);
  }

  const regions = nodes(opts.data?.regions);
  const subjects = nodes(opts.data?.subjects);

  return (
    <Card title={title}>
      <form className="filters" onSubmit={search} noValidate aria-label="场次查询">
        <Field label="考试日期自" error={f.errors.from} {...f.bind('from')} type="date" />
        <Field label="至" error={f.errors.to} {...f.bind('to')} type="date" />
        <Field label="地区">
          <select {...f.bind('regionID')}>
            <option value="">全部地区</option>
            {regions.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="科目">
          <select {...f.bind('subjectID')}>
            <option value="">全部科目</option>
            {subjects.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </Field>
        <div className="field field-submit">
          <Button type="submit" busy={q.loading && !!q.data}>
            查询
          </Button>
        </div>
        <div className="span-4" style={{ gridColumn: '1 / -1' }}>
          <label className="check">
            <input type="checkbox" {...f.bind('onlyAvailable')} checked={!!f.values.onlyAvailable} value={undefined} />
            只看有剩余座位的场次
          </label>
        </div>
      </form>
      <ErrorAlert error={opts.error} />
      <div style={{ marginTop: 12 }}>
        <QueryState q={q}>
          {(data) =>
            data.searchExamSessions.length === 0 ? (
              <Empty>所选范围内暂无开放报名的考试场次</Empty>
            ) : (
              <div className="table-wrap">
                <table className="table" aria-label="考试场次">
                  <thead>
                    <tr>
                      <th>考试批次</th>
                      <th>报考科目</th>
                      <th>考试时间</th>
                      <th>考点 · 考场</th>
                      <th className="right">报名费（元）</th>
                      <th className="right">剩余座位</th>
                      <th>报名截止</th>
                      <th className="right">操作</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.searchExamSessions.map((s) => (
                      <tr key={s.id} data-session={s.id}>
                        <td>
                          <div className="cell-main">{s.plan.name}</div>
                          <div className="sub">{s.plan.region?.name}</div>
                        </td>
                        <td>{s.subject.name}</td>
                        <td className="nowrap">{fmtSpan(s.startsAt, s.durationMinutes)}</td>
                        <td>
                          {s.site?.name}
                          <div className="sub">
                            {s.room?.name}
                            {s.onsite ? ' · 机考' : ''}
                          </div>
                        </td>
                        <td className="right num">{fmtYuan(s.subject.feeCents)}</td>
                        <td className="right">
                          <Seats s={s} />
                        </td>
                        <td className="nowrap">{fmtTime(s.plan.enrollEndsAt)}</td>
                        <td className="right nowrap">{action(s)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </QueryState>
      </div>
    </Card>
  );
}
