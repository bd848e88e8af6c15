#!/usr/bin/env node
// Browser end-to-end test of the kaowu web client against a running server
// started with demo data (DEMO=1).
//
//   KAOWU_URL=http://127.0.0.1:18080 node web/e2e/run.mjs
//
// Env: KAOWU_URL (server, default http://127.0.0.1:18080), KAOWU_CHROMIUM
// (browser binary, default /usr/bin/chromium), KAOWU_ADMIN_PASSWORD (default
// the demo's Admin@2026), KAOWU_DEMO_CANDIDATE / KAOWU_DEMO_CANDIDATE_PASSWORD
// and KAOWU_REVIEWER_PASSWORD (default the demo's), KAOWU_E2E_SHOTS (folder
// for failure screenshots, default /tmp). Prints one line per step and ends
// with "N passed, M failed".
//
// Two scenarios here: accounts (registration, login, announcements, company
// approval, live notifications) and enrollment (the demo candidate enrolls in
// a session of the demo plan, the reviewer approves, the candidate pays
// through the simulated gateway); then the scenario modules (exam.mjs, ...),
// which take the shared helpers of lib.mjs.

import * as lib from './lib.mjs';
import examScenario from './exam.mjs';
import proctorScenario from './proctor.mjs';
import certificateScenario from './certificate.mjs';

const { BASE, DEMO, expect, residentId, badCheckId, pad, rand } = lib;
const ADMIN = DEMO.admin;
const HOME_SHOT = '/tmp/kaowu-e2e-home.png';
const ENROLL_SHOT = '/tmp/kaowu-e2e-enrollments.png';
const TIMEOUT = lib.TIMEOUT;

// ------------------------------------------------------------ test data

// The demo candidate, whose profile the seed completes, and the demo reviewer.
const DEMO_CANDIDATE = DEMO.candidate;
const REVIEWER = DEMO.reviewer;
const DEMO_PLAN = /第一批安全生产考核/;

const run = Date.now().toString(36).slice(-5);
const candidate = {
  id: residentId(),
  name: '测试考生',
  phone: `139${pad(rand(1e8), 8)}`,
  email: `e2e-${run}@example.com`,
  password: `Kaowu@${run}`,
};
const company = {
  login: `e2e_${run}`,
  password: `Company@${run}`,
  name: `端到端测试建设工程有限公司${run}`,
  contact: '王经理',
  phone: `138${pad(rand(1e8), 8)}`,
};
const announcement = {
  title: `端到端测试公告 ${run}`,
  body: `这是一条由浏览器端到端测试发布的公告（${new Date().toISOString()}）。`,
};

// ------------------------------------------------------------ runner

const runner = lib.createRunner();
const { step, newPage } = runner;
const browser = await lib.launch();
const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'zh-CN' });
context.setDefaultTimeout(TIMEOUT);
const page = await newPage(context);
runner.shotsOf(page);
// A second browser (own storage) where the company stays logged in.
const context2 = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'zh-CN' });
context2.setDefaultTimeout(TIMEOUT);
const companyPage = await newPage(context2);

const field = (label, p = page) => lib.field(label, p);
const button = (name, p = page) => lib.button(name, p);
const login = (user, password, p = page) => lib.login(user, password, p);
const logout = (p = page) => lib.logout(p);

// ------------------------------------------------------------ scenario

console.log(`kaowu e2e against ${BASE}`);

await step('server serves the client at / and for unknown paths', async () => {
  for (const path of ['/', '/some/deep/page']) {
    const res = await fetch(BASE + path);
    const html = await res.text();
    expect(res.ok, `GET ${path}: HTTP ${res.status}`);
    expect(html.includes('<div id="root">'), `GET ${path} is not index.html`);
  }
});

await step('anonymous visitor is sent to the login page', async () => {
  await page.goto(`${BASE}/#/sessions`);
  await page.waitForURL(/#\/login/);
  await page.getByRole('heading', { name: '用户登录' }).waitFor();
});

await step('register page checks the ID check digit in the browser', async () => {
  await page.getByRole('link', { name: '个人注册' }).first().click();
  await page.getByRole('heading', { name: '个人注册' }).waitFor();
  await field('证件号码').fill(badCheckId());
  await field('姓名').click(); // leave the field
  await page.getByText('身份证号码校验位不正确').waitFor();
});

await step('server rejects a bad ID number with its Chinese message', async () => {
  // Valid check digit but an area code that does not exist: only the server knows.
  await field('证件号码').fill(residentId('990101'));
  await field('姓名').fill(candidate.name);
  await field('手机号码').fill(candidate.phone);
  await field('电子邮箱').fill(candidate.email);
  await field('密码').fill(candidate.password);
  await field('确认密码').fill(candidate.password);
  expect(!(await page.locator('.field-error').count()), 'the browser check flagged a valid check digit');
  await button('注册').click();
  const err = page.locator('.field-error, .alert-error').filter({ hasText: /身份证|证件/ });
  await err.first().waitFor();
  console.log(`  server said: ${(await err.first().innerText()).trim()}`);
  expect(page.url().includes('#/register'), 'left the register page');
});

await step(`register a candidate (${candidate.id})`, async () => {
  await field('证件号码').fill(candidate.id);
  await page.getByText(/出生日期 \d{4}-\d{2}-\d{2}/).waitFor();
  await button('注册').click();
  await page.waitForURL(/#\/login/);
  await page.getByText('注册成功').waitFor();
  const prefilled = await field('证件号码 / 账号').inputValue();
  expect(prefilled === candidate.id, `login field holds "${prefilled}"`);
});

await step('candidate logs in and sees the announcements', async () => {
  await field('密码').fill(candidate.password);
  await button('登录').click();
  await page.locator('.topbar').waitFor();
  await page.getByRole('heading', { name: '系统公告' }).waitFor();
  await page.locator('.announcement, .empty').first().waitFor();
  const n = await page.locator('.announcement').count();
  expect(n > 0, 'no announcement listed (the demo data has at least one)');
  await page.locator('.who-name', { hasText: candidate.name }).waitFor();
  await page.screenshot({ path: HOME_SHOT, fullPage: true });
  console.log(`  ${n} announcement(s); screenshot ${HOME_SHOT}`);
});

await step('我的会话 lists the current session', async () => {
  await page.getByRole('link', { name: '我的会话' }).click();
  await page.getByRole('heading', { name: '我的会话' }).waitFor();
  const current = page.locator('tr.current');
  await current.waitFor();
  await current.getByText('当前会话').waitFor();
  await current.getByRole('button', { name: '结束' }).waitFor();
});

await step('notifications page loads (live channel up)', async () => {
  await page.getByRole('link', { name: /^通知/ }).first().click();
  await page.getByRole('heading', { name: '通知' }).waitFor();
  await page.locator('.notifications, .empty').first().waitFor();
  await page.getByText('实时推送已连接').waitFor();
});

await step('candidate logs out (the token is revoked on the server)', async () => {
  await logout();
  await page.goto(`${BASE}/#/sessions`);
  await page.waitForURL(/#\/login/);
});

await step(`a company registers (${company.login}) and is told to wait for approval`, async () => {
  await page.getByRole('link', { name: '单位注册' }).first().click();
  await page.getByRole('heading', { name: '单位注册' }).waitFor();
  await field('单位名称').fill(company.name);
  await field('登录账号').fill(company.login);
  await field('所在地区').fill('北京市朝阳区');
  await field('密码').fill(company.password);
  await field('确认密码').fill(company.password);
  await field('联系人').fill(company.contact);
  await field('联系电话').fill(company.phone);
  await button('提交注册').click();
  await page.getByRole('heading', { name: '注册已提交' }).waitFor();
  await page.getByText('待审核').first().waitFor();
});

await step('the pending company logs in (second browser) and sees the review banner', async () => {
  await login(company.login, company.password, companyPage);
  await companyPage.getByText('单位注册信息正在审核中').waitFor();
  await companyPage.getByRole('heading', { name: '系统公告' }).waitFor();
  await companyPage.locator('.announcement').first().waitFor();
  await companyPage.getByRole('link', { name: /^通知/ }).first().click();
  await companyPage.getByText('实时推送已连接').waitFor();
  await companyPage.getByRole('link', { name: '系统公告' }).click();
  await companyPage.locator('.announcement').first().waitFor();
});

await step('admin logs in and sees the admin menu', async () => {
  await login(ADMIN.login, ADMIN.password);
  for (const item of ['发布公告', '创建工作人员账号', '机构管理', '科目目录', '审计日志', '单位审核']) {
    await page.getByRole('navigation').getByRole('link', { name: item }).waitFor();
  }
});

await step('admin publishes an announcement and sees it listed', async () => {
  await page.getByRole('link', { name: '发布公告' }).click();
  await page.getByRole('heading', { name: '发布公告' }).waitFor();
  await field('标题').fill(announcement.title);
  await field('内容').fill(announcement.body);
  await button('发布公告').click();
  await page.getByText(`公告“${announcement.title}”已发布`).waitFor();
  await page.locator('.announcement-title', { hasText: announcement.title }).first().waitFor();
});

await step('the new announcement is first in 系统公告', async () => {
  await page.getByRole('link', { name: '系统公告' }).click();
  await page.getByRole('heading', { name: '系统公告' }).waitFor();
  const first = page.locator('.announcement-title').first();
  await first.waitFor();
  const text = await first.innerText();
  expect(text.includes(announcement.title), `first announcement is "${text}"`);
});

await step('the company sees the announcement arrive live (websocket, no reload)', async () => {
  await companyPage.locator('.announcement-title', { hasText: announcement.title }).waitFor();
});

await step('admin approves the company in 单位审核', async () => {
  await page.getByRole('link', { name: '单位审核' }).click();
  await page.getByRole('heading', { name: '单位审核' }).waitFor();
  const item = page.locator('.review-item', { hasText: company.name });
  await item.waitFor();
  await item.getByRole('button', { name: '通过', exact: true }).click();
  await item.waitFor({ state: 'detached' });
});

await step('the company gets the notification live and marks it read', async () => {
  const badge = companyPage.locator('.bell-count');
  await badge.waitFor();
  await companyPage.locator('.toast', { hasText: '新通知' }).first().waitFor();
  await companyPage.getByRole('link', { name: /^通知/ }).first().click();
  await companyPage.getByRole('heading', { name: '通知' }).waitFor();
  const unread = companyPage.locator('.notifications li.unread');
  await unread.first().waitFor();
  console.log(`  notification: ${(await unread.first().locator('.n-title').innerText()).trim()}`);
  await button('全部标为已读', companyPage).click();
  await unread.first().waitFor({ state: 'detached' });
  await badge.waitFor({ state: 'detached' });
  // After a reload, the approval is visible: no more review banner.
  await companyPage.reload();
  await companyPage.getByRole('heading', { name: '通知' }).waitFor();
  expect(!(await companyPage.getByText('单位注册信息正在审核中').count()), 'the review banner is still shown');
});

await step('admin and company log out', async () => {
  await logout();
  await logout(companyPage);
});


// ------------------------------------------------------------ scenario 2: enrollment

const nav = (name, p = page) => lib.nav(name, p);
const enrolled = {};

await step(`the demo candidate (${DEMO_CANDIDATE.login}) logs in; 个人资料 is complete`, async () => {
  await login(DEMO_CANDIDATE.login, DEMO_CANDIDATE.password);
  await nav('个人资料').click();
  await page.getByRole('heading', { name: '个人资料' }).waitFor();
  await page.getByText('资料已完整').waitFor();
  const uploaded = await page.locator('.attachment img').count();
  expect(uploaded >= 6, `only ${uploaded} attachment thumbnails shown`);
});

await step('考试报名 lists the sessions of the demo plan with their remaining seats', async () => {
  await nav('考试报名').click();
  await page.getByRole('heading', { name: '考试报名' }).waitFor();
  const rows = page.locator('table[aria-label="考试场次"] tbody tr', { hasText: DEMO_PLAN });
  await rows.first().waitFor();
  // The first session the candidate may enroll in (a rerun skips subjects already enrolled).
  const row = rows.filter({ has: page.getByRole('button', { name: '报名', exact: true }) }).first();
  await row.waitFor();
  enrolled.session = await row.getAttribute('data-session');
  enrolled.subject = (await row.locator('td').nth(1).innerText()).trim();
  enrolled.seats = Number((await row.locator('.seats strong').innerText()).trim());
  expect(enrolled.seats > 0, 'the chosen session shows no free seat');
  console.log(`  session ${enrolled.session}: ${enrolled.subject}, ${enrolled.seats} seats left`);
  enrolled.row = row;
});

await step('the integrity pledge must be accepted before enrolling', async () => {
  await enrolled.row.getByRole('button', { name: '报名', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: '报名确认' });
  await dialog.waitFor();
  await dialog.getByText('诚信考试承诺书').first().waitFor();
  const submit = dialog.getByRole('button', { name: '确认报名' });
  expect(await submit.isDisabled(), '确认报名 is enabled before the pledge is accepted');
  await dialog.getByLabel('我已阅读并同意《诚信考试承诺书》').check();
  expect(await submit.isEnabled(), '确认报名 stays disabled after accepting the pledge');
  await submit.click();
  await page.waitForURL(/#\/my\/enrollments/);
});

await step('我的报名 shows the enrollment as 待审核', async () => {
  await page.getByRole('heading', { name: '我的报名' }).waitFor();
  const item = page.locator('li[data-enrollment]', { hasText: enrolled.subject }).filter({ hasText: '待审核' }).first();
  await item.waitFor();
  enrolled.id = await item.getAttribute('data-enrollment');
  await item.getByText(DEMO_PLAN).waitFor();
  console.log(`  enrollment ${enrolled.id}`);
  await logout();
});

await step('the reviewer approves it in 报名审核 (after looking at the candidate\'s files)', async () => {
  await login(REVIEWER.login, REVIEWER.password);
  await nav('报名审核').click();
  await page.getByRole('heading', { name: '报名审核' }).waitFor();
  const item = page.locator(`li[data-enrollment="${enrolled.id}"]`);
  await item.waitFor();
  await item.getByText(enrolled.subject).waitFor();
  await item.getByRole('button', { name: '查看资料' }).click();
  await item.getByText('考生资料完整').waitFor();
  await item.locator('.thumbs img').first().waitFor();
  await item.getByRole('button', { name: '通过', exact: true }).click();
  await item.waitFor({ state: 'detached' });
  await page.getByRole('tab', { name: '已通过' }).click();
  await page.locator(`li[data-enrollment="${enrolled.id}"]`).getByText('审核通过').waitFor();
  await logout();
});

await step('the candidate sees it approved, with the department and the ticket date', async () => {
  await login(DEMO_CANDIDATE.login, DEMO_CANDIDATE.password);
  await nav('我的报名').click();
  const item = page.locator(`li[data-enrollment="${enrolled.id}"]`);
  await item.waitFor();
  await item.getByText('审核通过').waitFor();
  await item.getByText('未缴费').waitFor();
  const dept = (await item.locator('dt:text("审核部门") + dd').innerText()).trim();
  expect(dept && dept !== '—', 'no review department shown');
  console.log(`  reviewed by ${dept}`);
  enrolled.item = item;
});

await step('the registration form (报名表) downloads as a PDF', async () => {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    enrolled.item.getByRole('button', { name: '下载报名表' }).click(),
  ]);
  const path = await download.path();
  const { readFile } = await import('node:fs/promises');
  const head = (await readFile(path)).subarray(0, 5).toString();
  expect(head === '%PDF-', `the download is not a PDF (${JSON.stringify(head)})`);
  console.log(`  ${download.suggestedFilename()}`);
});

await step('the candidate pays online on the simulated gateway page (支付)', async () => {
  await enrolled.item.getByRole('button', { name: '在线支付' }).click();
  await page.waitForURL(/\/payments\/sim\/pay/);
  await page.getByRole('heading', { name: '模拟支付' }).waitFor();
  await page.getByRole('button', { name: '支付', exact: true }).click();
  await page.waitForURL(/\/payments\/return/);
  await page.getByRole('link', { name: '返回考务系统' }).click();
  // The client returns to 我的报名, where the payment was started.
  await page.waitForURL(/#\/my\/enrollments/);
});

await step('我的报名 shows 已缴费, and when the admission ticket opens', async () => {
  const item = page.locator(`li[data-enrollment="${enrolled.id}"]`);
  await item.waitFor();
  await item.getByText('已缴费').waitFor();
  await item.getByText(/准考证将于 \d{4}-\d{2}-\d{2} \d{2}:\d{2} 起开放打印|下载准考证/).first().waitFor();
  await item.getByRole('button', { name: '调换考场' }).waitFor();
  await page.screenshot({ path: ENROLL_SHOT, fullPage: true });
  console.log(`  screenshot ${ENROLL_SHOT}`);
  await logout();
});

// ------------------------------------------------------------ scenario modules

// Each module is a scenario of its own: one failing does not skip the next.
const helpers = { ...lib, browser, newPage, step, shotsOf: runner.shotsOf };
for (const scenario of [examScenario, proctorScenario, certificateScenario]) {
  runner.stop = false;
  await scenario(helpers);
}

await browser.close();

console.log(runner.summary());
process.exit(runner.failed || runner.skipped ? 1 : 0);
