// Shared helpers of the browser end-to-end scenarios (run.mjs and the
// scenario modules it runs: exam.mjs, proctor.mjs, ...). A scenario module
// exports a default async function taking the object run.mjs builds: every
// export of this module plus { browser, newPage, step, shotsOf } of the
// run's runner (createRunner). A scenario opens its own contexts and calls
// shotsOf(page) so a failing step screenshots the page that matters.

import { chromium } from 'playwright-core';

export const BASE = (process.env.KAOWU_URL || 'http://127.0.0.1:18080').replace(/\/+$/, '');
export const SHOTS = process.env.KAOWU_E2E_SHOTS || '/tmp';
export const TIMEOUT = 15000;

// ------------------------------------------------------------ test data

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';
export function checkChar(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK[sum % 11];
}
export const rand = (n) => Math.floor(Math.random() * n);
export const pad = (n, w) => String(n).padStart(w, '0');

/** A valid GB 11643 resident ID number with a random birth date and sequence. */
export function residentId(area = '110105') {
  const y = 1970 + rand(30);
  const m = 1 + rand(12);
  const d = 1 + rand(28);
  const first17 = `${area}${y}${pad(m, 2)}${pad(d, 2)}${pad(rand(1000), 3)}`;
  return first17 + checkChar(first17);
}

/** Same, with a wrong check character. */
export function badCheckId() {
  const id = residentId();
  const c = id[17];
  const wrong = CHECK[(CHECK.indexOf(c) + 1) % 11];
  return id.slice(0, 17) + wrong;
}

/** The ID number internal/demo's idcard.Generate(area, birth, seq) makes. */
function demoId(area, birth, seq) {
  const first17 = `${area}${birth}${pad(seq % 1000, 3)}`;
  return first17 + checkChar(first17);
}

// The demo accounts (internal/demo), overridable by environment.
export const DEMO = {
  admin: { login: 'admin', password: process.env.KAOWU_ADMIN_PASSWORD || 'Admin@2026' },
  reviewer: { login: 'reviewer', password: process.env.KAOWU_REVIEWER_PASSWORD || 'Review@2026' },
  site: { login: 'site', password: 'Site@2026!' },
  proctor: { login: 'proctor', password: 'Proctor@2026' },
  // Profile complete; enrolls in the e2e enrollment scenario.
  candidate: {
    login: process.env.KAOWU_DEMO_CANDIDATE || demoId('440304', '19900517', 123),
    password: process.env.KAOWU_DEMO_CANDIDATE_PASSWORD || 'Candidate@2026',
  },
  // Approved and paid in the online session open now, no attempt yet.
  examinee: { login: demoId('440305', '19920821', 456), password: 'Examinee@2026', name: '李明' },
  // The same, for the proctoring scenario (never shares attempts with exam.mjs).
  examinee2: { login: demoId('440307', '19951102', 321), password: 'Examinee2@2026', name: '赵强' },
  // Formal paper submitted, PENDING_REVIEW, with evidence.
  reviewee: { login: demoId('440306', '19880309', 789), password: 'Reviewee@2026', name: '王芳' },
};

// ------------------------------------------------------------ browser

/** Chromium with a fake camera that needs no permission prompt. */
export function launch() {
  return chromium.launch({
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
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
    ],
  });
}

/**
 * The step runner: step(name, fn) runs fn unless an earlier step failed,
 * prints one line, and on failure a screenshot of the page set with
 * shotsOf(page). Pages made by newPage report uncaught page errors, which
 * fail the step they happen in.
 */
export function createRunner() {
  const r = { passed: 0, failed: 0, skipped: 0, stop: false, shotPage: null, pageErrors: [] };
  r.shotsOf = (p) => {
    r.shotPage = p;
  };
  r.newPage = async (ctx) => {
    const p = await ctx.newPage();
    p.on('pageerror', (e) => r.pageErrors.push(e.message));
    p.on('dialog', (d) => d.dismiss().catch(() => {}));
    return p;
  };
  r.step = async (name, fn) => {
    if (r.stop) {
      r.skipped++;
      console.log(`- ${name} (skipped)`);
      return;
    }
    const t0 = Date.now();
    try {
      await fn();
      if (r.pageErrors.length) throw new Error(`page error: ${r.pageErrors.splice(0).join('; ')}`);
      r.passed++;
      console.log(`✓ ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      r.failed++;
      r.stop = true; // later steps depend on this one
      console.log(`✗ ${name}: ${String(e && e.message ? e.message : e).split('\n')[0]}`);
      const shot = `${SHOTS}/kaowu-e2e-fail-${r.passed + r.failed}.png`;
      await r.shotPage?.screenshot({ path: shot, fullPage: true }).catch(() => {});
      console.log(`  url: ${r.shotPage?.url()}  screenshot: ${shot}`);
    }
  };
  r.summary = () => `${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}`;
  return r;
}

export function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

// ------------------------------------------------------------ page helpers

// Labels of required fields end with a "*" marker.
export const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
export const field = (label, p) => p.getByLabel(new RegExp(`^${escapeRe(label)}\\s*\\*?$`));
export const button = (name, p) => p.getByRole('button', { name, exact: true });
export const nav = (name, p) => p.getByRole('navigation').getByRole('link', { name, exact: true });

export async function login(user, password, p) {
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
export async function logout(p) {
  const token = await p.evaluate(() => localStorage.getItem('kaowu.token'));
  expect(token, 'no token in localStorage before logout');
  await button('退出登录', p).click();
  await field('证件号码 / 账号', p).waitFor();
  expect(!(await p.evaluate(() => localStorage.getItem('kaowu.token'))), 'the token is still in localStorage');
  const body = await gql('{ mySessions { id } }', {}, token);
  const code = body.errors?.[0]?.extensions?.code;
  expect(code === 'UNAUTHENTICATED', `the old token still works after logout (${code || 'no error'})`);
}

/**
 * A GraphQL call from node (not the browser): returns the whole response
 * body {data, errors}. token: a bearer token, e.g. read from a page with
 * tokenOf(page).
 */
export async function gql(query, variables = {}, token = null) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return res.json();
}

/** The bearer token a logged-in page holds. */
export const tokenOf = (p) => p.evaluate(() => localStorage.getItem('kaowu.token'));
