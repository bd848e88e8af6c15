#!/usr/bin/env node
// Screenshots of the main pages for a visual check, against a demo server:
//
//   KAOWU_URL=http://127.0.0.1:18080 node web/e2e/screens.mjs [outdir]
//
// Writes PNGs to outdir (default /tmp/kaowu-screens). Uses the demo logins;
// the last shots fail a login on purpose to show the captcha.

import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

const BASE = (process.env.KAOWU_URL || 'http://127.0.0.1:18080').replace(/\/+$/, '');
const OUT = process.argv[2] || '/tmp/kaowu-screens';
mkdirSync(OUT, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.KAOWU_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});

async function session(viewport = { width: 1366, height: 860 }) {
  const ctx = await browser.newContext({ viewport, locale: 'zh-CN' });
  ctx.setDefaultTimeout(15000);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`  page error: ${e.message}`));
  return { ctx, page };
}

async function shot(page, name) {
  await page.waitForTimeout(250);
  await page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
  console.log(`${OUT}/${name}.png`);
}

async function login(page, user, password) {
  await page.goto(`${BASE}/#/login`);
  await page.getByLabel(/^证件号码 \/ 账号/).fill(user);
  await page.getByLabel(/^密码/).fill(password);
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.locator('.topbar').waitFor();
}

async function visit(page, path, name) {
  await page.goto(`${BASE}/#${path}`);
  await page.locator('.page-header h1').waitFor();
  await page.locator('.loading').waitFor({ state: 'detached' }).catch(() => {});
  await shot(page, name);
}

// Public pages.
{
  const { ctx, page } = await session();
  await page.goto(`${BASE}/#/login`);
  await page.locator('.auth-card').waitFor();
  await shot(page, '01-login');
  await page.goto(`${BASE}/#/register`);
  await page.getByRole('button', { name: '注册', exact: true }).click();
  await shot(page, '02-register-errors');
  await page.goto(`${BASE}/#/register-company`);
  await page.locator('.auth-card').waitFor();
  await shot(page, '03-register-company');
  await page.goto(`${BASE}/#/forgot`);
  await page.locator('.auth-card').waitFor();
  await shot(page, '04-forgot');
  await ctx.close();
}

// Admin.
{
  const { ctx, page } = await session();
  await login(page, 'admin', process.env.KAOWU_ADMIN_PASSWORD || 'Admin@2026');
  await visit(page, '/', '10-admin-home');
  await visit(page, '/admin/staff', '11-admin-staff');
  await visit(page, '/admin/orgs', '12-admin-orgs');
  await visit(page, '/admin/announce', '13-admin-announce');
  await visit(page, '/admin/subjects', '14-admin-subjects');
  await visit(page, '/admin/audit', '15-admin-audit');
  await visit(page, '/review/companies', '16-review-companies');
  await page.getByRole('tab', { name: '已通过' }).click();
  await page.locator('.loading').waitFor({ state: 'detached' }).catch(() => {});
  await shot(page, '17-review-approved');
  await visit(page, '/sessions', '18-sessions');
  await visit(page, '/password', '19-password');
  await visit(page, '/notifications', '20-notifications');
  await visit(page, '/training/plans', '21-admin-plans');
  await ctx.close();
}

// Demo candidate: profile, enrollment, my enrollments (with the pledge dialog).
{
  const { ctx, page } = await session();
  const first17 = '44030419900517123';
  const W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * W[i];
  await login(page, process.env.KAOWU_DEMO_CANDIDATE || first17 + '10X98765432'[sum % 11], 'Candidate@2026');
  await visit(page, '/profile', '60-candidate-profile');
  await visit(page, '/enroll', '61-candidate-enroll');
  const enroll = page.getByRole('button', { name: '报名', exact: true }).first();
  if (await enroll.count()) {
    await enroll.click();
    await page.getByRole('dialog').waitFor();
    await shot(page, '62-candidate-pledge');
    await page.keyboard.press('Escape');
  }
  await visit(page, '/my/enrollments', '63-candidate-enrollments');
  await ctx.close();
}

// Reviewer queues.
{
  const { ctx, page } = await session();
  await login(page, 'reviewer', 'Review@2026');
  await visit(page, '/review/enrollments', '70-review-enrollments');
  await visit(page, '/review/payments', '71-review-payments');
  await visit(page, '/review/plans', '72-review-plans');
  await ctx.close();
}

// Company: staff enrollment, payment, invoice details.
{
  const { ctx, page } = await session();
  await login(page, 'company', 'Company@2026');
  await visit(page, '/company/enroll', '80-company-enroll');
  await visit(page, '/company/pay', '81-company-pay');
  await visit(page, '/company/invoice', '82-company-invoice');
  await ctx.close();
}

// Training institution.
{
  const { ctx, page } = await session();
  await login(page, 'trainer', 'Train@2026!');
  await visit(page, '/training/records', '90-training-records');
  await visit(page, '/training/plans', '91-training-plans');
  await ctx.close();
}

// Exam site.
{
  const { ctx, page } = await session();
  await login(page, 'site', 'Site@2026!');
  await visit(page, '/site/rooms', '30-site-rooms');
  await visit(page, '/site/checkin', '31-site-checkin');
  await visit(page, '/site/onsite-pay', '32-site-onsite-pay');
  await ctx.close();
}

// Company (demo) and a phone-sized screen.
{
  const { ctx, page } = await session({ width: 390, height: 844 });
  await login(page, 'company', 'Company@2026');
  await visit(page, '/', '40-company-mobile');
  await page.getByRole('button', { name: '菜单' }).click();
  await shot(page, '41-company-mobile-menu');
  await ctx.close();
}

// Captcha after failed logins (last: it may slow later logins down).
{
  const { ctx, page } = await session();
  await page.goto(`${BASE}/#/login`);
  for (let i = 0; i < 4; i++) {
    await page.getByLabel(/^证件号码 \/ 账号/).fill('trainer');
    await page.getByLabel(/^密码/).fill('wrong-password');
    const answer = page.getByLabel(/^图形验证码/);
    if (await answer.count()) await answer.fill('abcd');
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.locator('.alert-error').waitFor();
    await page.waitForTimeout(300);
  }
  await page.locator('.captcha img').waitFor();
  await shot(page, '50-login-captcha');
  await ctx.close();
}

await browser.close();
