import { useState } from 'react';
import { gql } from '../../api.js';
import { Alert, Button, Card, ErrorAlert, Field, PageHeader, useAction, useForm } from '../../ui.jsx';
import { ANNOUNCEMENT_FIELDS, AnnouncementList } from '../Announcements.jsx';

const CREATE = `mutation CreateAnnouncement($input: CreateAnnouncementInput!) {
  createAnnouncement(input: $input) { ${ANNOUNCEMENT_FIELDS} }
}`;

export default function PublishAnnouncement() {
  const f = useForm({ title: '', body: '', publishedAt: '' });
  const act = useAction(f);
  const [published, setPublished] = useState([]);
  const [last, setLast] = useState(null);

  async function submit(e) {
    e.preventDefault();
    const v = f.values;
    const errs = {};
    if (!v.title.trim()) errs.title = '请输入公告标题';
    else if (v.title.trim().length > 200) errs.title = '标题不能超过200字';
    if (!v.body.trim()) errs.body = '请输入公告内容';
    let publishedAt;
    if (v.publishedAt) {
      const d = new Date(v.publishedAt);
      if (Number.isNaN(d.getTime())) errs.publishedAt = '时间格式不正确';
      else publishedAt = d.toISOString();
    }
    f.setErrors(errs);
    setLast(null);
    if (Object.keys(errs).length) return;
    const input = { title: v.title.trim(), body: v.body.trim() };
    if (publishedAt) input.publishedAt = publishedAt;
    const d = await act.run(() => gql(CREATE, { input }));
    if (d) {
      setPublished((s) => [d.createAnnouncement, ...s]);
      setLast(d.createAnnouncement);
      f.reset();
    }
  }

  return (
    <>
      <PageHeader title="发布公告" desc="公告对所有用户可见，发布后在“系统公告”中按时间倒序显示。" />
      <Card title="新公告">
        <form onSubmit={submit} noValidate>
          <Field label="标题" required error={f.errors.title} {...f.bind('title')} maxLength={200} placeholder="如：关于2026年第一批安全生产考试报名的通知" />
          <Field label="内容" required error={f.errors.body}>
            <textarea {...f.bind('body')} rows={8} placeholder="公告正文" />
          </Field>
          <Field
            label="发布时间"
            error={f.errors.publishedAt}
            hint="留空则立即发布"
            {...f.bind('publishedAt')}
            type="datetime-local"
            className="narrow-field"
          />
          {last && <Alert kind="success">公告“{last.title}”已发布。</Alert>}
          <ErrorAlert error={act.error} />
          <Button type="submit" busy={act.busy}>
            发布公告
          </Button>
        </form>
      </Card>
      <Card title="已发布的公告">
        <AnnouncementList fresh={published} />
      </Card>
    </>
  );
}
