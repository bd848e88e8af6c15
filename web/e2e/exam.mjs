// Scenario: the demo examinee takes the online exam in the browser — camera
// consent (refused without it), the mock paper, the formal paper with answers
// acknowledged per question and resumed after a reload, a focus loss, PC
// snapshots, the phone paired through the QR code's URL in a second browser,
// submission and the result; then the public result lookup.

export default async function exam(h) {
  const { BASE, DEMO, browser, step, expect, nav, login, newPage, shotsOf } = h;
  const who = DEMO.examinee;
  const pcContext = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', permissions: ['camera'] });
  pcContext.setDefaultTimeout(h.TIMEOUT);
  const page = await newPage(pcContext);
  shotsOf(page);
  const phoneContext = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    permissions: ['camera'],
  });
  phoneContext.setDefaultTimeout(h.TIMEOUT);
  let phone = null;
  const questions = () => page.locator('li.exam-q');
  const saved = () => page.locator('li.exam-q [data-save-state="saved"]');

  /** Answers questions [from, to) with their first option (or 正确) and waits for every ack. */
  async function answer(from, to) {
    for (let i = from; i < to; i++) await questions().nth(i).locator('.exam-opt').first().click();
    for (let i = from; i < to; i++) await questions().nth(i).locator('[data-save-state="saved"]').waitFor();
  }

  async function submit(title) {
    await page.locator('.exam-bar').getByRole('button', { name: '交卷', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: '确认交卷' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: '确认交卷' }).click();
    await page.getByRole('heading', { name: title }).waitFor();
  }

  await step(`the examinee ${who.name} (${who.login}) logs in and finds the open exam in 在线考试`, async () => {
    await login(who.login, who.password, page);
    await nav('在线考试', page).click();
    await page.getByRole('heading', { name: '在线考试' }).waitFor();
    const item = page.locator('li[data-exam-enrollment]', { hasText: '考试进行中' }).first();
    await item.waitFor();
    await item.getByText('未开始').first().waitFor();
    await item.getByRole('link', { name: '进入考试' }).click();
    await page.getByText('摄像头图像采集告知及单独同意书').waitFor();
  });

  await step('starting without the camera consent is refused with the server\'s message', async () => {
    await page.getByRole('button', { name: '同意并开始测试试卷' }).click();
    const err = page.locator('.alert-error', { hasText: '同意' });
    await err.waitFor();
    console.log(`  server said: ${(await err.innerText()).trim()}`);
    expect(!(await questions().count()), 'the paper opened without consent');
  });

  await step('with consent the mock paper starts; every answer is acknowledged as saved', async () => {
    await page.getByLabel('我已阅读并单独同意考试期间采集本人及考试环境图像').check();
    await page.getByRole('button', { name: '同意并开始测试试卷' }).click();
    await page.locator('.exam-bar', { hasText: '测试试卷' }).waitFor();
    await page.getByRole('timer').getByText(/剩余 \d{2}:\d{2}/).waitFor();
    const n = await questions().count();
    expect(n > 0, 'the mock paper has no questions');
    await answer(0, n);
    console.log(`  ${n} answers saved`);
  });

  await step('the mock is submitted after confirmation and shows its score', async () => {
    await submit('测试试卷已交卷');
    await page.getByText('测试试卷成绩不计入考试结果').waitFor();
  });

  await step('the formal paper starts after a new consent', async () => {
    await page.getByRole('button', { name: '开始正式考试' }).click();
    await page.getByLabel('我已阅读并单独同意考试期间采集本人及考试环境图像').check();
    await page.getByRole('button', { name: '同意并开始正式试卷' }).click();
    await page.locator('.exam-bar', { hasText: '正式试卷' }).waitFor();
    expect((await questions().count()) >= 5, 'the formal paper has fewer than 5 questions');
    await answer(0, 5);
  });

  await step('after a reload the saved answers are all there', async () => {
    await page.reload();
    await page.locator('.exam-bar', { hasText: '正式试卷' }).waitFor();
    await questions().first().waitFor();
    for (let i = 0; i < 5; i++) {
      const q = questions().nth(i);
      await q.locator('[data-save-state="saved"]').waitFor();
      expect((await q.locator('input:checked').count()) === 1, `question ${i + 1} lost its answer`);
    }
    expect((await saved().count()) === 5, `${await saved().count()} questions show saved, want 5`);
  });

  await step('the PC camera takes a snapshot for the proctor', async () => {
    await page.locator('video[aria-label="电脑摄像头画面"]').waitFor();
    await page.locator('[data-snapshots]:not([data-snapshots="0"])').waitFor();
  });

  await step('leaving the page is reported and the candidate is told the count', async () => {
    await page.evaluate(() => window.dispatchEvent(new Event('blur')));
    const dialog = page.getByRole('dialog', { name: '请勿离开考试页面' });
    await dialog.waitFor();
    await dialog.locator('.focus-count[data-count="1"]').waitFor();
    await dialog.getByText('第 5 次时，系统将自动交卷').waitFor();
    await dialog.getByRole('button', { name: '我知道了，继续答题' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('离开页面 1 次').waitFor();
  });

  await step('the phone pairs through the QR code\'s URL (second browser) and the PC sees it connected', async () => {
    await page.getByRole('button', { name: '生成手机扫码二维码' }).click();
    const qr = page.getByRole('img', { name: '手机扫码二维码' });
    await qr.waitFor();
    const payload = await qr.getAttribute('data-qr-payload');
    expect(payload && payload.includes('#/phone?t='), `QR payload is ${payload}`);
    expect((await qr.getAttribute('src')).startsWith('data:image/png;base64,'), 'the QR image is not a PNG data URL');
    phone = await newPage(phoneContext);
    await phone.goto(`${BASE}/${payload.slice(payload.indexOf('#'))}`);
    await phone.getByText('已连接考试').waitFor();
    expect(!phone.url().includes('t='), 'the used pairing token stays in the phone page URL');
    await page.locator('[data-phone-state="CONNECTED"]').getByText('手机已连接').waitFor();
    await phone.locator('[data-phone-shots]:not([data-phone-shots="0"])').waitFor();
  });

  await step('the examinee answers more, submits the formal paper and sees the result', async () => {
    await answer(5, 8);
    await submit('正式试卷已交卷');
    const result = page.locator('[data-attempt-result]');
    const r = await result.getAttribute('data-attempt-result');
    expect(r === 'FAIL' || r === 'PENDING_REVIEW', `formal result ${r}`);
    console.log(`  score ${(await page.locator('.exam-score').innerText()).trim()}, result ${r}`);
    await page.getByRole('link', { name: '查看我的成绩' }).click();
    await page.getByRole('heading', { name: '我的成绩' }).waitFor();
    await page.locator(`table[aria-label="我的成绩"] tr[data-result="${r}"]`).waitFor();
  });

  await step('the phone page learns the exam is over', async () => {
    await phone.getByText('监控已结束').waitFor({ timeout: 20000 });
  });

  await step('anyone can look the result up by name and ID number', async () => {
    await phone.goto(`${BASE}/#/results/lookup`);
    await phone.getByRole('heading', { name: '成绩查询' }).waitFor();
    await h.field('姓名', phone).fill(who.name);
    await h.field('身份证号码', phone).fill(who.login);
    await phone.getByRole('button', { name: '查询', exact: true }).click();
    await phone.locator('table[aria-label="查询结果"] tbody tr').first().waitFor();
    const masked = await phone.locator('.lookup-result .mono').first().innerText();
    expect(!masked.includes(who.login), 'the ID number is shown unmasked');
  });

  await pcContext.close();
  await phoneContext.close();
}
