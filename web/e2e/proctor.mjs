// Browser e2e scenario: live proctoring, score review and the question bank.
//
// The proctor watches the demo exam session while a candidate (a second
// browser, calling the API with fetch from the page so that each event is
// known exactly) starts a paper, loses focus and uploads a camera snapshot:
// the dashboard shows each live. The candidate then opens the exam page;
// the proctor warns (the exam page shows it) and flags. The reviewer checks the evidence of
// the demo attempt awaiting review and passes it. The administrator imports
// a question file with a bad row (errors by line), then a good one.
//
// Needs the demo data of internal/demo (DEMO=1): the open-now session with
// the demo proctor assigned, a candidate ready to start in it, and one
// formal attempt waiting for review.

const EXAM_SUBJECT = /C2/;

const CONSENT = '本人同意在考试期间由摄像头定时采集本人及考试环境图像，用于考试监督和事后复核。';

/** GraphQL over fetch from inside a page, with the page's stored token. */
async function pageGql(p, query, variables = {}) {
  const res = await p.evaluate(
    async ([q, v]) => {
      const token = localStorage.getItem('kaowu.token');
      const r = await fetch('/graphql', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: q, variables: v }),
      });
      return r.json();
    },
    [query, variables],
  );
  if (res.errors?.length) {
    const e = new Error(res.errors[0].message);
    e.code = res.errors[0].extensions?.code;
    throw e;
  }
  return res.data;
}

/** h: the exports of lib.mjs plus { browser, newPage, step, shotsOf } (run.mjs). */
export default async function proctorScenario(h) {
  const { BASE, DEMO, TIMEOUT, browser, step, expect, login, logout, button, newPage, nav, shotsOf } = h;
  const ctxOpts = { viewport: { width: 1366, height: 860 }, locale: 'zh-CN' };
  const proctorCtx = await browser.newContext(ctxOpts);
  proctorCtx.setDefaultTimeout(TIMEOUT);
  // The exam page takes camera snapshots (Chromium's fake camera).
  const candCtx = await browser.newContext({ ...ctxOpts, permissions: ['camera'] });
  candCtx.setDefaultTimeout(TIMEOUT);
  const pp = await newPage(proctorCtx);
  const cp = await newPage(candCtx);
  shotsOf(pp);
  const s = {};

  await step('the proctor opens 在线监考: the demo exam session, live connection up', async () => {
    await login(DEMO.proctor.login, DEMO.proctor.password, pp);
    await nav('在线监考', pp).click();
    await pp.getByRole('heading', { name: '在线监考' }).waitFor();
    const select = pp.getByLabel('选择场次');
    await pp.waitForURL(/#\/proctor\?session=/);
    s.session = new URL(pp.url().replace('#/', '')).searchParams.get('session');
    const label = await select.locator('option:checked').innerText();
    expect(EXAM_SUBJECT.test(label), `the session picked is "${label}"`);
    await pp.locator('[data-conn="open"]').waitFor();
    await pp.locator('.attempt-grid, .empty').first().waitFor();
    console.log(`  session ${s.session}: ${label}`);
  });

  await step('a candidate (second browser) starts a paper → its card appears live', async () => {
    // The demo's second examinee: exam.mjs keeps the first to itself.
    await login(DEMO.examinee2.login, DEMO.examinee2.password, cp);
    const d = await pageGql(cp, '{ myEnrollments { id status paymentStatus session { id } } }');
    const e = d.myEnrollments.find((x) => x.session?.id === s.session);
    expect(e, `the candidate has no enrollment in session ${s.session}`);
    s.enrollment = e.id;
    // The mock paper comes first; a rerun (mock already submitted) goes on to the formal one.
    let started = null;
    for (const kind of ['MOCK', 'FORMAL']) {
      try {
        started = await pageGql(
          cp,
          'mutation($in: StartAttemptInput!) { startAttempt(input: $in) { id kind status } }',
          { in: { enrollmentID: e.id, kind, consentText: CONSENT, consentAccepted: true } },
        );
        break;
      } catch (err) {
        if (err.code !== 'CONFLICT') throw err;
        console.log(`  ${kind}: ${err.message}`);
      }
    }
    expect(started, 'no paper could be started');
    s.attempt = started.startAttempt.id;
    s.card = pp.locator(`li[data-attempt="${s.attempt}"]`);
    await s.card.waitFor();
    await s.card.getByText('考试中').waitFor();
    s.focus = Number(await s.card.locator('[data-focus-losses]').getAttribute('data-focus-losses'));
    await s.card.getByText(DEMO.examinee2.name).waitFor();
    console.log(`  ${DEMO.examinee2.name}: ${started.startAttempt.kind} attempt ${s.attempt}`);
  });

  await step('a focus loss shows on the card and in the feed at once', async () => {
    const d = await pageGql(cp, 'mutation($id: ID!) { reportFocusLoss(attemptID: $id, kind: "BLUR") { count submitted } }', { id: s.attempt });
    expect(d.reportFocusLoss.count === s.focus + 1, `count ${d.reportFocusLoss.count} after ${s.focus}`);
    await s.card.locator(`[data-focus-losses="${s.focus + 1}"]`).waitFor();
    await pp.locator('.feed li[data-type="FOCUS_LOSS"]').first().waitFor();
  });

  await step('a PC camera snapshot appears on the card', async () => {
    const ack = await cp.evaluate(async (attemptID) => {
      const canvas = document.createElement('canvas');
      canvas.width = 320;
      canvas.height = 240;
      const g = canvas.getContext('2d');
      g.fillStyle = '#2a6';
      g.fillRect(0, 0, 320, 240);
      g.fillStyle = '#fff';
      g.fillRect(120, 60, 80, 100);
      const blob = await new Promise((r) => canvas.toBlob(r, 'image/jpeg', 0.85));
      const form = new FormData();
      form.append('operations', JSON.stringify({
        query: 'mutation($id: ID!, $file: Upload!) { uploadSnapshot(attemptID: $id, file: $file) { key nextInSeconds } }',
        variables: { id: attemptID, file: null },
      }));
      form.append('map', JSON.stringify({ 0: ['variables.file'] }));
      form.append('0', blob, 'pc.jpg');
      const r = await fetch('/graphql', { method: 'POST', headers: { Authorization: `Bearer ${localStorage.getItem('kaowu.token')}` }, body: form });
      return r.json();
    }, s.attempt);
    expect(!ack.errors, `upload refused: ${ack.errors?.[0]?.message}`);
    const img = s.card.locator('.snap img').first();
    await img.waitFor();
    const loaded = await img.evaluate((el) => (el.complete ? el.naturalWidth : new Promise((r) => { el.onload = () => r(el.naturalWidth); el.onerror = () => r(0); })));
    expect(loaded > 0, 'the snapshot image did not load');
    console.log(`  next snapshot in ${ack.data.uploadSnapshot.nextInSeconds} s`);
  });

  await step('the candidate opens the exam page (在线考试) on the running paper', async () => {
    await cp.goto(`${BASE}/#/exam?e=${encodeURIComponent(s.enrollment)}`);
    await cp.locator('.exam-questions').waitFor();
  });

  await step('the proctor warns the candidate, whose exam page shows the warning', async () => {
    const text = '请将面部保持在摄像头画面内';
    await s.card.getByRole('button', { name: '警告', exact: true }).click();
    const dialog = pp.getByRole('dialog');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: text }).click();
    await dialog.getByRole('button', { name: '发送警告' }).click();
    await dialog.waitFor({ state: 'detached' });
    await pp.locator('.feed li[data-type="WARNING"]', { hasText: text }).first().waitFor();
    await cp.locator('.alert-error', { hasText: text }).getByText(/监考提醒/).waitFor();
  });

  await step('a warning without text is refused with a message', async () => {
    await s.card.getByRole('button', { name: '警告', exact: true }).click();
    const dialog = pp.getByRole('dialog');
    await dialog.getByRole('button', { name: '发送警告' }).click();
    await dialog.getByText('请填写警告内容').waitFor();
    await dialog.getByRole('button', { name: '取消' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  await step('the proctor flags the attempt with a note', async () => {
    await s.card.getByRole('button', { name: '标记', exact: true }).click();
    const dialog = pp.getByRole('dialog');
    await dialog.getByLabel(/备注/).fill('画面中疑似有第二人');
    await dialog.getByRole('button', { name: '标记', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await s.card.getByText('可疑').waitFor();
    await pp.locator('.feed li[data-type="FLAG"]').first().waitFor();
  });

  await step('proctor and candidate log out', async () => {
    await logout(pp);
    await logout(cp);
  });
  await proctorCtx.close();
  await candCtx.close();

  const ctx = await browser.newContext(ctxOpts);
  ctx.setDefaultTimeout(TIMEOUT);
  const page = await newPage(ctx);
  shotsOf(page);
  await step(`the reviewer opens the demo attempt awaiting review: evidence verified`, async () => {
    await login(DEMO.reviewer.login, DEMO.reviewer.password, page);
    await nav('成绩审核', page).click();
    await page.getByRole('heading', { name: '成绩审核' }).waitFor();
    const item = page.locator('li[data-attempt]', { hasText: DEMO.reviewee.name }).first();
    await item.waitFor();
    s.reviewed = await item.getAttribute('data-attempt');
    await item.getByRole('button', { name: '查看证据' }).click();
    await item.locator('.evidence[data-evidence-ok="true"]').waitFor();
    await item.getByText('证据链校验通过').waitFor();
    const rows = await item.locator('.evidence-table tbody tr').count();
    expect(rows > 0, 'no evidence records listed');
    console.log(`  attempt ${s.reviewed}: ${rows} evidence records, ${await item.locator('.evidence-snaps img').count()} snapshots`);
  });

  await step('the reviewer passes it; it moves to 合格', async () => {
    const item = page.locator(`li[data-attempt="${s.reviewed}"]`);
    await item.getByRole('button', { name: '评为合格' }).click();
    await item.waitFor({ state: 'detached' });
    await page.getByRole('tab', { name: '合格', exact: true }).click();
    await page.locator(`li[data-attempt="${s.reviewed}"]`).getByText('合格', { exact: true }).waitFor();
    await logout(page);
  });

  const run = Date.now().toString(36).slice(-5);
  const header = '题型,分类,题干,选项A,选项B,选项C,选项D,答案,解析,分值';
  const good1 = `单选题,端到端,端到端测试单选题${run}：安全帽的主要作用是？,防护头部,装饰,防晒,防雨,A,,1`;
  const good2 = `判断题,端到端,端到端测试判断题${run}：高处作业应系安全带。,,,,,对,,1`;
  // Line 3 (after the header and a good row): an answer letter with no option.
  const bad = `多选题,端到端,端到端测试多选题${run}：哪些属于劳动防护用品？,安全帽,安全带,,,AZ,,1`;
  const badCSV = [header, good1, bad, good2].join('\r\n');
  const goodCSV = [header, good1, good2].join('\r\n');

  await step('admin imports a CSV with a bad line: the error is shown by line, nothing imported', async () => {
    await login(DEMO.admin.login, DEMO.admin.password, page);
    await nav('题库管理', page).click();
    await page.getByRole('heading', { name: '题库管理' }).waitFor();
    const subject = page.getByLabel('选择科目');
    const value = await subject.locator('option', { hasText: EXAM_SUBJECT }).first().getAttribute('value');
    await subject.selectOption(value);
    // The heading of the chosen subject (not the one shown before the choice).
    const heading = page.getByText(new RegExp(`“[^”]*${EXAM_SUBJECT.source}[^”]*”题库（\\d+ 题）`));
    await heading.waitFor();
    s.before = Number((await heading.innerText()).match(/（(\d+) 题）/)[1]);
    await page.locator('input[type=file]').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(badCSV) });
    await button(/^导入到/, page).click();
    const row = page.locator('table[aria-label="导入错误"] tr[data-line="3"]');
    await row.waitFor();
    console.log(`  line 3: ${(await row.innerText()).replace(/\s+/g, ' ')}`);
    await page.getByText(/未导入任何题目/).waitFor();
  });

  await step('admin imports the corrected file: 2 questions added and listed', async () => {
    await page.locator('input[type=file]').setInputFiles({ name: 'good.csv', mimeType: 'text/csv', buffer: Buffer.from(goodCSV) });
    await button(/^导入到/, page).click();
    await page.getByText(/导入成功：.*新增 2 道题目/).waitFor();
    await page.getByText(`题库（${s.before + 2} 题）`, { exact: false }).waitFor();
    await page.getByText(`端到端测试单选题${run}`, { exact: false }).waitFor();
  });

  await step('试卷模板 lists the demo papers with their rules', async () => {
    await nav('试卷模板', page).click();
    await page.getByRole('heading', { name: '试卷模板', exact: true }).waitFor();
    const subject = page.getByLabel('选择科目');
    const value = await subject.locator('option', { hasText: EXAM_SUBJECT }).first().getAttribute('value');
    await subject.selectOption(value);
    const rows = page.locator('table[aria-label="试卷模板"] tbody tr');
    await rows.first().waitFor();
    expect((await rows.count()) >= 2, 'the demo MOCK and FORMAL templates are not both listed');
    await page.getByText('正式试卷').first().waitFor();
    await logout(page);
  });

  await step('监考安排: the site takes its proctor off the exam session and puts them back', async () => {
    await login(DEMO.site.login, DEMO.site.password, page);
    await nav('监考安排', page).click();
    await page.getByRole('heading', { name: '监考安排', exact: true }).waitFor();
    const list = page.getByRole('list', { name: '本场监考人员' });
    const row = list.locator(`li[data-login="${DEMO.proctor.login}"]`);
    await row.waitFor();
    const id = await row.getAttribute('data-proctor');
    await row.getByRole('button', { name: '撤下' }).click();
    await row.getByRole('button', { name: /^确定/ }).click();
    await page.getByText('尚未安排监考人员').waitFor();
    const select = page.getByLabel('选择监考人员');
    await select.locator(`option[value="${id}"]`).waitFor({ state: 'attached' });
    await select.selectOption(id);
    await button('安排监考', page).click();
    await row.waitFor();
    await logout(page);
  });
  await ctx.close();
}
