// Paper templates of a subject: the rules by which papers are drawn from
// the question bank (type, category, count, points per question).
import { useState } from 'react';
import { gql } from '../../api.js';
import { fmtTime } from '../../format.js';
import { Alert, Badge, Button, Card, Empty, ErrorAlert, Field, Loading, Modal, PageHeader, QueryState, nodes, toast, useQuery } from '../../ui.jsx';
import { QUESTION_TYPE_LABELS, useSubjectChoice } from './QuestionBank.jsx';

const FIELDS = 'id subjectID kind name durationMinutes passMark active updatedAt rules { type category count points }';
const LIST = `query PaperTemplates($subjectID: ID!) {
  paperTemplates(first: 200, where: {subjectID: $subjectID}, orderBy: {field: NAME, direction: ASC}) {
    edges { node { ${FIELDS} } }
  }
}`;
const SAVE = `mutation SavePaperTemplate($input: PaperTemplateInput!) { savePaperTemplate(input: $input) { ${FIELDS} } }`;

const KIND_LABELS = { MOCK: '模拟试卷', FORMAL: '正式试卷' };
const MAX_RULES = 30;

function total(rules) {
  return rules.reduce((n, r) => n + (Number(r.count) || 0) * (Number(r.points) || 0), 0);
}

function questionCount(rules) {
  return rules.reduce((n, r) => n + (Number(r.count) || 0), 0);
}

const emptyRule = () => ({ type: 'SINGLE', category: '', count: '10', points: '1' });

function Editor({ subject, template, onClose, onSaved }) {
  const [v, setV] = useState(() =>
    template
      ? {
          name: template.name,
          kind: template.kind,
          durationMinutes: String(template.durationMinutes),
          passMark: String(template.passMark),
          active: template.active,
          rules: template.rules.map((r) => ({ type: r.type, category: r.category || '', count: String(r.count), points: String(r.points) })),
        }
      : { name: '', kind: 'FORMAL', durationMinutes: '90', passMark: String(subject.passMark ?? 60), active: true, rules: [emptyRule()] },
  );
  const [errors, setErrors] = useState({});
  const [badRule, setBadRule] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const set = (k) => (e) => {
    const val = e.target.type === 'checkbox' ? e.target.checked : e.target.value;
    setV((s) => ({ ...s, [k]: val }));
    setErrors((s) => ({ ...s, [k]: null }));
  };
  const setRule = (i, k) => (e) => {
    const val = e.target.value;
    setV((s) => ({ ...s, rules: s.rules.map((r, j) => (j === i ? { ...r, [k]: val } : r)) }));
    setBadRule(null);
  };
  const sum = total(v.rules);

  async function submit(e) {
    e.preventDefault();
    const errs = {};
    if (!v.name.trim()) errs.name = '请填写模板名称';
    const dur = Number(v.durationMinutes);
    if (!Number.isInteger(dur) || dur < 5 || dur > 600) errs.durationMinutes = '考试时长为5–600分钟';
    const pm = Number(v.passMark);
    if (!Number.isInteger(pm) || pm < 0 || pm > 100) errs.passMark = '及格分为0–100的整数';
    const rules = [];
    let bad = null;
    v.rules.forEach((r, i) => {
      const count = Number(r.count);
      const points = Number(r.points);
      if (bad == null && (!Number.isInteger(count) || count < 1 || !Number.isInteger(points) || points < 0)) bad = i;
      rules.push({ type: r.type, category: r.category.trim() || null, count, points });
    });
    if (!rules.length) errs.rules = '至少需要一条抽题规则';
    else if (bad != null) errs.rules = `第${bad + 1}条规则：题数应为正整数，每题分值为不小于0的整数`;
    else if (v.kind === 'FORMAL' && sum !== 100) errs.rules = `正式试卷总分应为100分，当前为${sum}分`;
    setErrors(errs);
    setBadRule(bad);
    if (Object.keys(errs).length) return;
    setBusy(true);
    setError(null);
    try {
      const input = {
        subjectID: subject.id,
        kind: v.kind,
        name: v.name.trim(),
        durationMinutes: dur,
        passMark: pm,
        active: !!v.active,
        rules,
      };
      if (template) input.id = template.id;
      const d = await gql(SAVE, { input });
      toast(template ? '试卷模板已保存' : '试卷模板已创建');
      onSaved(d.savePaperTemplate);
    } catch (err) {
      const field = err.extensions?.field;
      if (field && ['name', 'durationMinutes', 'passMark', 'rules'].includes(field)) {
        setErrors((s) => ({ ...s, [field]: err.message }));
        if (field === 'rules' && Number.isInteger(err.extensions?.rule)) setBadRule(err.extensions.rule);
      } else {
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      wide
      title={template ? `编辑试卷模板 — ${template.name}` : `新建试卷模板 — ${subject.name}`}
      onClose={onClose}
      footer={
        <>
          <Button kind="ghost" onClick={onClose}>
            取消
          </Button>
          <Button type="submit" form="paper-editor" busy={busy}>
            保存
          </Button>
        </>
      }
    >
      <form id="paper-editor" onSubmit={submit} noValidate>
        <div className="grid-3">
          <Field label="模板名称" required error={errors.name} className="span-2" value={v.name} onChange={set('name')} maxLength={64} placeholder="如：正式考试A卷" />
          <Field label="试卷类型" required>
            <select value={v.kind} onChange={set('kind')}>
              {Object.entries(KIND_LABELS).map(([k, l]) => (
                <option key={k} value={k}>
                  {l}
                </option>
              ))}
            </select>
          </Field>
          <Field label="考试时长（分钟）" required error={errors.durationMinutes} type="number" min={5} max={600} value={v.durationMinutes} onChange={set('durationMinutes')} />
          <Field label="及格分" required error={errors.passMark} type="number" min={0} max={100} value={v.passMark} onChange={set('passMark')} />
          <div className="checks">
            <label className="check">
              <input type="checkbox" checked={!!v.active} onChange={set('active')} />
              启用（考生开考时按此模板组卷）
            </label>
          </div>
        </div>
        <div className="section-title">抽题规则</div>
        <p className="muted small">
          每条规则从本科目启用的题目中随机抽取指定题型（及分类）的题目。分类留空表示不限分类；每题分值填 0 表示按题目自身分值（仅模拟试卷）。正式试卷总分须为 100 分。
        </p>
        <div className="table-wrap">
          <table className="table rules-table" aria-label="抽题规则">
            <thead>
              <tr>
                <th>#</th>
                <th>题型</th>
                <th>分类</th>
                <th className="right">题数</th>
                <th className="right">每题分值</th>
                <th className="right">小计</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {v.rules.map((r, i) => (
                <tr key={i} className={badRule === i ? 'row-broken' : ''}>
                  <td className="num">{i + 1}</td>
                  <td>
                    <select value={r.type} onChange={setRule(i, 'type')} aria-label={`第${i + 1}条规则的题型`}>
                      {Object.entries(QUESTION_TYPE_LABELS).map(([k, l]) => (
                        <option key={k} value={k}>
                          {l}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <input value={r.category} onChange={setRule(i, 'category')} maxLength={32} placeholder="不限" aria-label={`第${i + 1}条规则的分类`} />
                  </td>
                  <td className="right">
                    <input className="num-input" type="number" min={1} max={200} value={r.count} onChange={setRule(i, 'count')} aria-label={`第${i + 1}条规则的题数`} />
                  </td>
                  <td className="right">
                    <input className="num-input" type="number" min={0} max={100} value={r.points} onChange={setRule(i, 'points')} aria-label={`第${i + 1}条规则的每题分值`} />
                  </td>
                  <td className="right num">{(Number(r.count) || 0) * (Number(r.points) || 0)}</td>
                  <td className="right">
                    <Button
                      small
                      kind="danger-ghost"
                      disabled={v.rules.length <= 1}
                      onClick={() => setV((s) => ({ ...s, rules: s.rules.filter((_, j) => j !== i) }))}
                    >
                      删除
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <td colSpan={3}>
                  <Button
                    small
                    kind="secondary"
                    disabled={v.rules.length >= MAX_RULES}
                    onClick={() => setV((s) => ({ ...s, rules: [...s.rules, emptyRule()] }))}
                  >
                    添加规则
                  </Button>
                </td>
                <td className="right num">{questionCount(v.rules)} 题</td>
                <td />
                <td className={`right num ${v.kind === 'FORMAL' && sum !== 100 ? 'warn-text' : ''}`}>共 {sum} 分</td>
                <td />
              </tr>
            </tfoot>
          </table>
        </div>
        {errors.rules && <Alert kind="error">{errors.rules}</Alert>}
        <ErrorAlert error={error} />
      </form>
    </Modal>
  );
}

export default function PaperTemplates({ route }) {
  const subjects = useSubjectChoice(route, '/admin/papers');
  const subject = subjects.subject;
  const q = useQuery(subject ? LIST : null, { subjectID: subject?.id }, [subject?.id]);
  const [editing, setEditing] = useState(null); // {template} or {template: null} for new

  return (
    <>
      <PageHeader
        title="试卷模板"
        desc="为每个科目设置模拟试卷和正式试卷的组卷规则。考生开考时按启用的模板从题库随机抽题，每位考生的题目顺序和选项顺序各不相同。"
        actions={
          subject && (
            <Button small onClick={() => setEditing({ template: null })}>
              新建试卷模板
            </Button>
          )
        }
      />
      <div className="toolbar">{subjects.select}</div>
      {subjects.q.error && <ErrorAlert error={subjects.q.error} />}
      {subject && (
        <Card title={`“${subject.name}”的试卷模板`}>
          <QueryState q={q}>
            {(data) => {
              // Another subject's templates, still shown while this one's load.
              if (q.variables?.subjectID !== subject.id) return <Loading />;
              const list = nodes(data.paperTemplates);
              if (!list.length) return <Empty>本科目还没有试卷模板</Empty>;
              return (
                <div className="table-wrap">
                  <table className="table" aria-label="试卷模板">
                    <thead>
                      <tr>
                        <th>名称</th>
                        <th>类型</th>
                        <th className="right">时长</th>
                        <th className="right">及格分</th>
                        <th>抽题规则</th>
                        <th>状态</th>
                        <th>更新时间</th>
                        <th className="right">操作</th>
                      </tr>
                    </thead>
                    <tbody>
                      {list.map((t) => (
                        <tr key={t.id} className={t.active ? '' : 'inactive'} data-template={t.id}>
                          <td className="cell-main">{t.name}</td>
                          <td>{KIND_LABELS[t.kind] || t.kind}</td>
                          <td className="right num">{t.durationMinutes} 分钟</td>
                          <td className="right num">{t.passMark}</td>
                          <td>
                            {t.rules.map((r, i) => (
                              <div key={i} className="small">
                                {QUESTION_TYPE_LABELS[r.type] || r.type}
                                {r.category ? `（${r.category}）` : ''} × {r.count}
                                {r.points ? `，每题 ${r.points} 分` : '，按题目分值'}
                              </div>
                            ))}
                            <div className="muted small">
                              共 {questionCount(t.rules)} 题{t.rules.every((r) => r.points) ? `，${total(t.rules)} 分` : ''}
                            </div>
                          </td>
                          <td>
                            <Badge kind={t.active ? 'success' : 'muted'}>{t.active ? '启用' : '停用'}</Badge>
                          </td>
                          <td className="nowrap">{fmtTime(t.updatedAt)}</td>
                          <td className="right">
                            <Button small kind="ghost" onClick={() => setEditing({ template: t })}>
                              编辑
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
          {['MOCK', 'FORMAL'].some((k) => nodes(q.data?.paperTemplates).filter((t) => t.active && t.kind === k).length > 1) && (
            <Alert kind="info">同一类型启用了多个模板时，开考时使用最新创建的一个；不再使用的模板请停用。</Alert>
          )}
        </Card>
      )}
      {editing && subject && (
        <Editor
          subject={subject}
          template={editing.template}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            q.reload();
          }}
        />
      )}
    </>
  );
}
