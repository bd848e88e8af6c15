// The question bank of a subject: import from XLSX/CSV (all or nothing,
// errors by line), export, and the list of questions.
import { useEffect, useState } from 'react';
import { downloadDocument, gql, gqlUpload } from '../../api.js';
import { fmtTime } from '../../format.js';
import { navigate } from '../../router.jsx';
import { Alert, Badge, Button, Card, Empty, ErrorAlert, Field, FilePick, Loading, PageHeader, QueryState, nodes, toast, useQuery } from '../../ui.jsx';

export const SUBJECTS = `query BankSubjects {
  subjects(first: 200, orderBy: {field: CODE, direction: ASC}) { edges { node { id code name active passMark hasPractical } } }
}`;
const QUESTIONS = `query Questions($where: QuestionWhereInput!, $after: Cursor) {
  questions(first: 50, after: $after, where: $where, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id type category stem options explanation points active createdAt } }
  }
}`;
const IMPORT = `mutation ImportQuestions($subjectID: ID!, $file: Upload!) {
  importQuestions(subjectID: $subjectID, file: $file) { created }
}`;

export const QUESTION_TYPE_LABELS = { SINGLE: '单选题', MULTIPLE: '多选题', TRUE_FALSE: '判断题' };

// The import file's columns (internal/exam/bank), with two sample rows: the
// template an administrator fills in.
const TEMPLATE_ROWS = [
  ['题型', '分类', '题干', '选项A', '选项B', '选项C', '选项D', '选项E', '选项F', '选项G', '选项H', '答案', '解析', '分值'],
  ['单选题', '法律法规', '生产经营单位的主要负责人对本单位安全生产工作负有什么责任？', '全面负责', '部分负责', '不负责任', '协助负责', '', '', '', '', 'A', '', '1'],
  ['多选题', '现场管理', '进入受限空间作业前应当做到哪些？', '先通风', '再检测', '后作业', '无需审批', '', '', '', '', 'ABC', '', '2'],
  ['判断题', '消防安全', '发现火灾应立即拨打119报警。', '', '', '', '', '', '', '', '', '对', '', '1'],
];

function csvCell(s) {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function downloadTemplate() {
  // UTF-8 BOM so that Excel opens the Chinese text correctly.
  const text = '\ufeff' + TEMPLATE_ROWS.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = '题库导入模板.csv';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** The per-line problems of a refused import (extensions.rowErrors). */
export function rowErrorsOf(err) {
  const ext = err?.extensions || {};
  const rows = ext.rowErrors || ext.rows;
  return Array.isArray(rows) ? rows : null;
}

function ImportCard({ subject, onImported }) {
  const [file, setFile] = useState(null);
  const [fileError, setFileError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [created, setCreated] = useState(null);
  const [exporting, setExporting] = useState(null);

  useEffect(() => {
    setFile(null);
    setError(null);
    setCreated(null);
  }, [subject.id]);

  function pick(f) {
    setCreated(null);
    setError(null);
    if (!/\.(xlsx|csv)$/i.test(f.name)) {
      setFileError('请选择 .xlsx 或 .csv 文件');
      setFile(null);
      return;
    }
    if (f.size > 10 * 1024 * 1024) {
      setFileError('文件不能超过 10MB');
      setFile(null);
      return;
    }
    setFileError(null);
    setFile(f);
  }

  async function submit(e) {
    e.preventDefault();
    if (!file) {
      setFileError('请选择要导入的文件');
      return;
    }
    setBusy(true);
    setError(null);
    setCreated(null);
    try {
      const d = await gqlUpload(IMPORT, { subjectID: subject.id, file: null }, { file });
      setCreated(d.importQuestions.created);
      setFile(null);
      toast(`已导入 ${d.importQuestions.created} 道题目`);
      onImported();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  async function exportAs(format) {
    setExporting(format);
    setError(null);
    try {
      await downloadDocument(
        `/exports/questions?subjectID=${encodeURIComponent(subject.id)}&format=${format}`,
        `题库-${subject.code || subject.id}.${format}`,
      );
    } catch (err) {
      setError(err);
    } finally {
      setExporting(null);
    }
  }

  const rows = rowErrorsOf(error);
  return (
    <Card
      title="导入与导出"
      actions={
        <div className="row gap">
          <Button small kind="ghost" onClick={downloadTemplate}>
            下载导入模板
          </Button>
          <Button small kind="secondary" busy={exporting === 'xlsx'} onClick={() => exportAs('xlsx')}>
            导出 Excel
          </Button>
          <Button small kind="secondary" busy={exporting === 'csv'} onClick={() => exportAs('csv')}>
            导出 CSV
          </Button>
        </div>
      }
    >
      <form onSubmit={submit} noValidate>
        <p className="muted">
          文件第一行为表头：题型、分类、题干、选项A…选项H、答案、解析、分值。题型为单选题、多选题或判断题；选择题的答案填选项字母（如 A 或
          AC），判断题填“对”或“错”；分值为 1–10，不填为 1 分。整个文件无误才会导入，有错误时一道题也不导入。
        </p>
        <Field label="题库文件" required error={fileError}>
          <FilePick accept=".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv" file={file} onFile={pick} />
        </Field>
        {created != null && <Alert kind="success">导入成功：已向“{subject.name}”题库新增 {created} 道题目。</Alert>}
        {error && (
          <Alert kind="error" title={rows?.length ? `文件中有 ${rows.length} 处错误，未导入任何题目` : undefined}>
            {rows?.length ? '请按下表修改后重新导入。' : error.message}
          </Alert>
        )}
        {rows?.length > 0 && (
          <div className="table-wrap import-errors">
            <table className="table" aria-label="导入错误">
              <thead>
                <tr>
                  <th className="right">行号</th>
                  <th>列</th>
                  <th>问题</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr key={i} data-line={r.line}>
                    <td className="right num">{r.line ? `第 ${r.line} 行` : '—'}</td>
                    <td>{r.column || '—'}</td>
                    <td className="reason">{r.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Button type="submit" busy={busy}>
          导入到“{subject.name}”
        </Button>
      </form>
    </Card>
  );
}

const TYPE_FILTERS = [['', '全部题型'], ...Object.entries(QUESTION_TYPE_LABELS)];

function QuestionList({ subject, version }) {
  const [type, setType] = useState('');
  const [search, setSearch] = useState('');
  const [term, setTerm] = useState('');
  const [extra, setExtra] = useState([]);
  const [more, setMore] = useState(null); // {busy, error}
  const where = { subjectID: subject.id };
  if (type) where.type = type;
  if (term) where.stemContainsFold = term;
  const q = useQuery(QUESTIONS, { where }, [subject.id, type, term, version]);
  useEffect(() => setExtra([]), [q.data]);

  // While a query runs, data is the previous one's: perhaps another
  // subject's, so its count is not shown under this subject's name.
  const conn = q.data?.questions;
  const page = extra.length ? extra[extra.length - 1] : conn;
  async function loadMore() {
    setMore({ busy: true });
    try {
      const d = await gql(QUESTIONS, { where, after: page.pageInfo.endCursor });
      setExtra((x) => [...x, d.questions]);
      setMore(null);
    } catch (e) {
      setMore({ error: e });
    }
  }

  return (
    <Card
      title={`“${subject.name}”题库${conn && !q.loading ? `（${conn.totalCount} 题）` : ''}`}
      actions={
        <form
          className="bank-filter"
          onSubmit={(e) => {
            e.preventDefault();
            setTerm(search.trim());
          }}
        >
          <select value={type} onChange={(e) => setType(e.target.value)} aria-label="题型">
            {TYPE_FILTERS.map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="搜索题干" aria-label="搜索题干" />
          <Button small kind="secondary" type="submit">
            搜索
          </Button>
        </form>
      }
    >
      <QueryState q={q}>
        {(data) => {
          // Another subject's questions, still shown while this one's load.
          if (q.variables?.where?.subjectID !== subject.id) return <Loading />;
          const list = [...nodes(data.questions), ...extra.flatMap((c) => nodes(c))];
          if (!list.length) return <Empty>{term || type ? '没有符合条件的题目' : '题库中还没有题目，请先导入'}</Empty>;
          return (
            <>
              <ol className="question-list" aria-label="题目列表">
                {list.map((x) => (
                  <li key={x.id} className={x.active ? '' : 'inactive'}>
                    <div className="question-head">
                      <Badge>{QUESTION_TYPE_LABELS[x.type] || x.type}</Badge>
                      {x.category && <Badge kind="muted">{x.category}</Badge>}
                      <span className="muted small">
                        {x.points} 分 · {fmtTime(x.createdAt)}
                      </span>
                      {!x.active && <Badge kind="muted">已停用</Badge>}
                    </div>
                    <div className="question-stem">{x.stem}</div>
                    {x.options?.length > 0 && (
                      <ol className="question-options">
                        {x.options.map((o, i) => (
                          <li key={i}>
                            <span className="mono">{String.fromCharCode(65 + i)}.</span> {o}
                          </li>
                        ))}
                      </ol>
                    )}
                    {x.explanation && <div className="muted small">解析：{x.explanation}</div>}
                  </li>
                ))}
              </ol>
              {more?.error && <ErrorAlert error={more.error} />}
              {page?.pageInfo?.hasNextPage && (
                <Button small kind="secondary" busy={more?.busy} onClick={loadMore}>
                  加载更多
                </Button>
              )}
            </>
          );
        }}
      </QueryState>
    </Card>
  );
}

/** A subject <select> kept in the page's ?subject= (so a reload keeps it). */
export function useSubjectChoice(route, path) {
  const q = useQuery(SUBJECTS);
  const list = nodes(q.data?.subjects);
  const chosen = route.query.get('subject') || '';
  const subject = list.find((s) => s.id === chosen) || null;
  useEffect(() => {
    if (!chosen && list.length) navigate(`${path}?subject=${encodeURIComponent(list[0].id)}`, { replace: true });
  }, [chosen, list, path]);
  const select = (
    <label className="inline-select">
      科目
      <select
        value={chosen}
        onChange={(e) => navigate(`${path}?subject=${encodeURIComponent(e.target.value)}`, { replace: true })}
        aria-label="选择科目"
      >
        {!list.length && <option value="">暂无科目</option>}
        {list.map((s) => (
          <option key={s.id} value={s.id}>
            {s.code} {s.name}
            {s.active ? '' : '（停用）'}
          </option>
        ))}
      </select>
    </label>
  );
  return { q, list, subject, select };
}

export default function QuestionBank({ route }) {
  const subjects = useSubjectChoice(route, '/admin/questions');
  const [version, setVersion] = useState(0);
  return (
    <>
      <PageHeader title="题库管理" desc="按科目维护考试题库：从 Excel 或 CSV 文件批量导入题目，导出现有题目。组卷时按试卷模板的规则从题库随机抽题。" />
      <div className="toolbar">{subjects.select}</div>
      {subjects.q.error && <ErrorAlert error={subjects.q.error} />}
      {subjects.subject && (
        <>
          <ImportCard subject={subjects.subject} onImported={() => setVersion((v) => v + 1)} />
          <QuestionList subject={subjects.subject} version={version} />
        </>
      )}
    </>
  );
}
