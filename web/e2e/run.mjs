#!/usr/bin/env node
// Browser end-to-end test of the kaowu web client against a running server
// started with demo data (DEMO=1).
//
//   KAOWU_URL=http://127.0.0.1:18080 node web/e2e/run.mjs
//
// Env: KAOWU_URL (server, default http://127.0.0.1:18080), KAOWU_CHROMIUM
// (browser binary, default /usr/bin/chromium), KAOWU_ADMIN_PASSWORD (default
// the demo's Admin@2026), KAOWU_E2E_SHOTS (folder for failure screenshots,
// default /tmp). Prints one line per step and ends with "N passed, M failed".

import { chromium } from 'playwright-core';

const BASE = (process.env.KAOWU_URL || 'http://127.0.0.1:18080').replace(/\/+$/, '');
const ADMIN = { login: 'admin', password: process.env.KAOWU_ADMIN_PASSWORD || 'Admin@2026' };
const SHOTS = process.env.KAOWU_E2E_SHOTS || '/tmp';
const HOME_SHOT = '/tmp/kaowu-e2e-home.png';
const TIMEOUT = 15000;

// ------------------------------------------------------------ test data

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';
function checkChar(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK[sum % 11];
}
const rand = (n) => Math.floor(Math.random() * n);
const pad = (n, w) => String(n).padStart(w, '0');

/** A valid GB 11643 resident ID number with a random birth date and sequence. */
function residentId(area = '110105') {
  const y = 1970 + rand(30);
  const m = 1 + rand(12);
  const d = 1 + rand(28);
  const first17 = `${area}${y}${pad(m, 2)}${pad(d, 2)}${pad(rand(1000), 3)}`;
  return first17 + checkChar(first17);
}

/** Same, with a wrong check character. */
function badCheckId() {
  const id = residentId();
  const c = id[17];
  const wrong = CHECK[(CHECK.indexOf(c) + 1) % 11];
  return id.slice(0, 17) + wrong;
}

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

let passed = 0;
let failed = 0;
let skipped = 0;
let stop = false;

const browser = await chromium.launch({
  executablePath: process.env.KAOWU_CHROMIUM || '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'zh-CN' });
context.setDefaultTimeout(TIMEOUT);
const pageErrors = [];
async function newPage(ctx) {
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  p.on('dialog', (d) => d.dismiss().catch(() => {}));
  return p;
}
const page = await newPage(context);
// A second browser (own storage) where the company stays logged in.
const context2 = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'zh-CN' });
context2.setDefaultTimeout(TIMEOUT);
const companyPage = await newPage(context2);

async function step(name, fn) {
  if (stop) {
    skipped++;
    console.log(`- ${name} (skipped)`);
    return;
  }
  const t0 = Date.now();
  try {
    await fn();
    if (pageErrors.length) throw new Error(`page error: ${pageErrors.splice(0).join('; ')}`);
    passed++;
    console.log(`✓ ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    stop = true; // later steps depend on this one
    console.log(`✗ ${name}: ${String(e && e.message ? e.message : e).split('\n')[0]}`);
    const shot = `${SHOTS}/kaowu-e2e-fail-${passed + failed}.png`;
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    console.log(`  url: ${page.url()}  screenshot: ${shot}`);
  }
}

function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

// Labels of required fields end with a "*" marker.
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const field = (label, p = page) => p.getByLabel(new RegExp(`^${escapeRe(label)}\\s*\\*?$`));
const button = (name, p = page) => p.getByRole('button', { name, exact: true });

async function login(user, password, p = page) {
  await p.goto(`${BASE}/#/login`);
  await field('证件号码 / 账号', p).fill(user);
  await field('密码', p).fill(password);
  await button('登录', p).click();
  await p.locator('.topbar, .auth .alert-error, .auth-card h1:text("短信验证")').first().waitFor();
  if (await p.locator('.auth .alert-error').count()) {
    throw new Error(`login refused: ${await p.locator('.auth .alert-error').first().innerText()}`);
  }
  expect(!(await p.getByText('短信验证').count()), 'an SMS code was asked for; run the server without KAOWU_LOGIN_SMS');
}

/** Log out through the UI; the old token must then be refused by the server. */
async function logout(p = page) {
  const token = await p.evaluate(() => localStorage.getItem('kaowu.token'));
  expect(token, 'no token in localStorage before logout');
  await button('退出登录', p).click();
  await field('证件号码 / 账号', p).waitFor();
  expect(!(await p.evaluate(() => localStorage.getItem('kaowu.token'))), 'the token is still in localStorage');
  const res = await fetch(`${BASE}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ mySessions { id } }' }),
  });
  const body = await res.json();
  const code = body.errors?.[0]?.extensions?.code;
  expect(code === 'UNAUTHENTICATED', `the old token still works after logout (${code || 'no error'})`);
}

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

await browser.close();

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed || skipped ? 1 : 0);
