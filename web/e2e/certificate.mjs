// Scenario: certificates (issue #5). ADMIN issues the demo candidate's
// pending certificate; the holder finds it in 我的证书, downloads the PDF,
// is told when renewal opens, requests a change with a document, withdraws
// it and asks again, renews the certificate whose window is open and asks
// to cancel another; the site rejects the change with a reason, approves
// the rest and records fee and collection; the holder reads the reason.
// Then, without login: the QR link's verification page (valid, renewed,
// altered → forged), the name check, the key set, and the public lookup.
//
// Needs the demo seeded with the certificate service (internal/demo:
// Deps.Certificates): 张三 holds a renewable (subject A) and a valid
// (subject B) certificate and has a passed C2 exam awaiting issue.

export default async function certificate(h) {
  const { BASE, DEMO, browser, step, expect, nav, login, logout, newPage, shotsOf, gql, tokenOf, button } = h;
  const holder = DEMO.candidate;
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', acceptDownloads: true });
  ctx.setDefaultTimeout(h.TIMEOUT);
  const page = await newPage(ctx);
  shotsOf(page);
  const s = {}; // what later steps need: certificates by subject, numbers, QR links

  const MINE = `{ myCertificates { id number subjectCode currentStatus pdfPath renewalOpensAt validUntil } }`;
  const QR = `{ certificates(first: 50) { edges { node { id number qrURL } } } }`;
  const item = (id) => page.locator(`li.cert-item[data-certificate="${id}"]`);
  const request = (certID, kind, status) =>
    item(certID).locator(`li[data-kind="${kind}"]${status ? `[data-status="${status}"]` : ''}`).first();

  /** Opens 申请变更 on the certificate and submits it with one uploaded document. */
  async function requestChange(certID, employer) {
    await item(certID).getByRole('button', { name: '申请变更' }).click();
    const dialog = page.getByRole('dialog', { name: '申请证书变更' });
    await dialog.waitFor();
    await dialog.locator('select').selectOption({ label: '广州市' });
    await dialog.getByLabel(/^新工作单位/).fill(employer);
    await dialog.getByLabel('已从原工作单位离职').check();
    // A real picture: a screenshot of the page stands in for a scanned document.
    const png = await page.screenshot({ clip: { x: 0, y: 0, width: 320, height: 200 } });
    await dialog.locator('input[type="file"]').setInputFiles({ name: '离职证明.png', mimeType: 'image/png', buffer: png });
    await dialog.locator('.cert-files li', { hasText: '离职证明.png' }).waitFor();
    await dialog.getByRole('button', { name: '提交申请' }).click();
    await dialog.waitFor({ state: 'detached' });
    await request(certID, 'CHANGE', 'PENDING').waitFor();
  }

  await step('admin issues the demo candidate\'s pending certificate in 证书审批发放', async () => {
    await login(DEMO.admin.login, DEMO.admin.password, page);
    await nav('证书审批发放', page).click();
    await page.getByRole('heading', { name: '证书审批发放' }).waitFor();
    const row = page.locator('table[aria-label="待发证"] tbody tr', { hasText: '张三' });
    await row.first().waitFor();
    expect((await row.count()) === 1, `张三 has ${await row.count()} rows awaiting issue, want 1`);
    await row.getByRole('checkbox').check();
    await page.getByRole('button', { name: /^批量发证（1）$/ }).click();
    const done = page.locator('.alert-success', { hasText: '已发放 1 本证书' });
    await done.waitFor();
    s.number = (await done.locator('.mono').first().innerText()).trim();
    expect(/^[A-Z0-9]+-C2-\d{4}-\d{6}$/.test(s.number), `unexpected number ${s.number}`);
    await row.waitFor({ state: 'detached' });
    console.log(`  issued ${s.number}`);
    await logout(page);
  });

  await step('the holder sees it in 我的证书 with the seeded ones', async () => {
    await login(holder.login, holder.password, page);
    await nav('我的证书', page).click();
    await page.getByRole('heading', { name: '我的证书' }).waitFor();
    const token = await tokenOf(page);
    const res = await gql(MINE, {}, token);
    expect(!res.errors, `myCertificates: ${JSON.stringify(res.errors)}`);
    for (const c of res.data.myCertificates) s[c.subjectCode] = c;
    s.token = token;
    expect(s.C2?.number === s.number, `the new certificate ${s.number} is not the holder's C2 one`);
    expect(s.A && s.B, 'the demo certificates (subjects A and B) are missing: seed with Deps.Certificates');
    await item(s.C2.id).waitFor();
    await item(s.C2.id).getByText(s.number).waitFor();
    await item(s.C2.id).locator('.badge', { hasText: '有效' }).waitFor();
    expect((await page.locator('li.cert-item').count()) === 3, 'want three certificates listed');
  });

  await step('the certificate PDF downloads (HTTP 200, application/pdf)', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      item(s.C2.id).getByRole('button', { name: '下载证书' }).click(),
    ]);
    const { readFile } = await import('node:fs/promises');
    const head = (await readFile(await download.path())).subarray(0, 5).toString();
    expect(head === '%PDF-', `the download is not a PDF (${JSON.stringify(head)})`);
    const res = await fetch(BASE + s.C2.pdfPath, { headers: { Authorization: `Bearer ${s.token}` } });
    const type = res.headers.get('Content-Type') || '';
    expect(res.status === 200 && type.startsWith('application/pdf'), `GET ${s.C2.pdfPath}: ${res.status} ${type}`);
    console.log(`  ${download.suggestedFilename()}, ${(await res.arrayBuffer()).byteLength} bytes`);
  });

  await step('renewal of the new certificate is not open yet: the page and the server say from when', async () => {
    const it = item(s.C2.id);
    expect(await it.getByRole('button', { name: '申请延续' }).isDisabled(), '申请延续 is enabled three years before expiry');
    const note = (await it.locator('.renewal-note').innerText()).trim();
    const res = await gql(`mutation($id: ID!) { requestCertificateRenewal(certificateID: $id) { id } }`, { id: s.C2.id }, s.token);
    const ext = res.errors?.[0]?.extensions || {};
    expect(ext.reason === 'RENEWAL_NOT_OPEN' && ext.opensAt, `server answered ${JSON.stringify(res.errors || res.data)}`);
    // The page's "X月X日起可申请" names the server's opening day (China time).
    const day = new Date(new Date(ext.opensAt).getTime() + 8 * 3600 * 1000);
    const want = `${day.getUTCMonth() + 1}月${day.getUTCDate()}日起可申请`;
    expect(note.includes(want), `page says "${note}", server opens ${ext.opensAt}`);
    console.log(`  page: ${note}; server: ${res.errors[0].message}`);
  });

  await step('the holder requests a change with a document, withdraws it, and requests again', async () => {
    await requestChange(s.C2.id, '深圳市城建安装有限公司');
    const pending = request(s.C2.id, 'CHANGE', 'PENDING');
    await pending.getByRole('button', { name: '撤回' }).click();
    await pending.getByRole('button', { name: '确定' }).click();
    await request(s.C2.id, 'CHANGE', 'WITHDRAWN').getByText('已撤回').first().waitFor();
    await requestChange(s.C2.id, '广州市穗安建设有限公司');
    expect(await item(s.C2.id).getByRole('button', { name: '申请注销' }).isDisabled(), 'a second request is offered while one is pending');
  });

  await step('the holder renews the certificate whose window is open, and asks to cancel another', async () => {
    const renew = item(s.A.id).getByRole('button', { name: '申请延续' });
    expect(await renew.isEnabled(), '申请延续 is disabled inside the renewal window');
    await renew.click();
    const dialog = page.getByRole('dialog', { name: '申请证书延续' });
    await dialog.getByRole('button', { name: '确认申请' }).click();
    await dialog.waitFor({ state: 'detached' });
    await request(s.A.id, 'RENEWAL', 'PENDING').waitFor();

    await item(s.B.id).getByRole('button', { name: '申请注销' }).click();
    const cancel = page.getByRole('dialog', { name: '申请证书注销' });
    const submit = cancel.getByRole('button', { name: '提交注销申请' });
    await cancel.getByLabel(/^注销声明/).fill('本人已调离建筑施工行业，自愿申请注销该证书。');
    expect(await submit.isDisabled(), 'cancellation can be submitted without the confirmation');
    await cancel.getByLabel('本人自愿申请注销该证书，知悉注销后不可恢复').check();
    await submit.click();
    await cancel.waitFor({ state: 'detached' });
    await request(s.B.id, 'CANCELLATION', 'PENDING').waitFor();

    // The QR links as printed now, for the verification steps.
    const qr = await gql(QR, {}, s.token);
    expect(!qr.errors, `certificates { qrURL }: ${JSON.stringify(qr.errors)}`);
    s.qr = Object.fromEntries(qr.data.certificates.edges.map((e) => [e.node.id, e.node.qrURL]));
    expect(s.qr[s.C2.id]?.includes('/verify/'), `no QR link for ${s.number}`);
    await logout(page);
  });

  await step('the site sees the documents, rejects the change with a reason and approves the others', async () => {
    await login(DEMO.site.login, DEMO.site.password, page);
    await nav('证书申请审核', page).click();
    await page.getByRole('heading', { name: '证书申请审核' }).waitFor();
    const change = page.locator('li[data-kind="CHANGE"]', { hasText: s.number });
    await change.waitFor();
    await change.getByText('广州市穗安建设有限公司').waitFor();
    await change.locator('.thumb img').first().waitFor();
    await change.getByRole('button', { name: '驳回', exact: true }).click();
    await change.getByRole('button', { name: '确认驳回' }).click();
    await change.getByText('请填写驳回原因').waitFor(); // a reason is required
    s.reason = '劳动合同未加盖新单位公章，请补充后重新申请。';
    await change.locator('textarea').fill(s.reason);
    await change.getByRole('button', { name: '确认驳回' }).click();
    await change.waitFor({ state: 'detached' });
    for (const [kind, number] of [['RENEWAL', s.A.number], ['CANCELLATION', s.B.number]]) {
      const r = page.locator(`li[data-kind="${kind}"]`, { hasText: number });
      await r.getByRole('button', { name: '通过', exact: true }).click();
      await r.waitFor({ state: 'detached' });
    }
  });

  await step('the site records the certificate fee and who collected it', async () => {
    await nav('制证缴费与发放', page).click();
    await page.getByRole('heading', { name: '制证缴费与发放' }).waitFor();
    let row = page.locator(`tr[data-number="${s.number}"]`);
    await row.getByLabel('制证费（元）').fill('50');
    await row.getByLabel('缴费方式').selectOption('WECHAT');
    await row.getByRole('button', { name: '登记缴费' }).click();
    await row.waitFor({ state: 'detached' }); // leaves 待缴费
    await page.getByRole('tab', { name: '待发放' }).click();
    row = page.locator(`tr[data-number="${s.number}"]`);
    await row.getByText('已缴 50.00 元').waitFor();
    expect((await row.getByLabel('收件人').inputValue()) === '张三', 'the recipient is not prefilled with the holder');
    await row.getByRole('button', { name: '登记发放' }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByRole('tab', { name: '已发放' }).click();
    await page.locator(`tr[data-number="${s.number}"]`).getByText('已发放').waitFor();
    await logout(page);
  });

  await step('the holder reads the site\'s reason; renewal extended, cancellation done', async () => {
    await login(holder.login, holder.password, page);
    await nav('我的证书', page).click();
    const rejected = request(s.C2.id, 'CHANGE', 'REJECTED');
    await rejected.getByText(s.reason).waitFor();
    await request(s.A.id, 'RENEWAL', 'APPROVED').waitFor();
    await item(s.B.id).locator('.badge', { hasText: '已注销' }).waitFor();
    expect(!(await item(s.B.id).getByRole('button', { name: '下载证书' }).count()), 'a cancelled certificate still offers its PDF');
    const res = await gql(MINE, {}, await tokenOf(page)); // the earlier token was revoked at logout
    expect(!res.errors, `myCertificates: ${JSON.stringify(res.errors)}`);
    const after = res.data.myCertificates.find((c) => c.id === s.A.id);
    expect(new Date(after.validUntil) > new Date(s.A.validUntil), 'the renewal did not extend the validity');
    await logout(page);
  });

  // ---------------------------------------------------------------- public, no login
  const anon = await browser.newContext({ viewport: { width: 420, height: 900 }, locale: 'zh-CN' });
  anon.setDefaultTimeout(h.TIMEOUT);
  const pub = await newPage(anon);

  await step('the QR link opens the verification page: authentic and valid, names checked', async () => {
    shotsOf(pub);
    await pub.goto(s.qr[s.C2.id]);
    await pub.getByRole('heading', { name: '证书核验' }).waitFor();
    const verdict = pub.locator('.verify-verdict[data-status="VALID"]');
    await verdict.locator('.verify-word', { hasText: /^有效$/ }).waitFor();
    await pub.locator(`.cert-public[data-number="${s.number}"]`).waitFor();
    // The browser's own Ed25519 check against /verify/keys.json agrees.
    await pub.locator('.verify-offline[data-offline="VALID"]').waitFor();
    await pub.getByLabel('持证人姓名').fill('张三');
    await button('核对', pub).click();
    await pub.getByText('姓名一致').waitFor();
    await pub.getByLabel('持证人姓名').fill('李四');
    await button('核对', pub).click();
    await pub.getByText(/姓名不一致/).waitFor();
    const href = await pub.getByRole('link', { name: '公钥' }).getAttribute('href');
    const keys = await (await fetch(BASE + href)).json();
    expect(keys.algorithm === 'Ed25519' && keys.keys?.some((k) => k.active), `key set: ${JSON.stringify(keys)}`);
  });

  await step('the renewed certificate\'s old QR shows RENEWED, the cancelled one CANCELLED', async () => {
    await pub.goto(s.qr[s.A.id]);
    await pub.locator('.verify-verdict[data-status="RENEWED"] .verify-word', { hasText: '已延续' }).waitFor();
    await pub.goto(s.qr[s.B.id]);
    await pub.locator('.verify-verdict[data-status="CANCELLED"] .verify-word', { hasText: '已注销' }).waitFor();
  });

  await step('an altered QR link is reported as forged or altered', async () => {
    const url = s.qr[s.C2.id];
    // Change one character inside the signature (the payload's tail).
    const i = url.length - 20;
    const altered = url.slice(0, i) + (url[i] === 'A' ? 'B' : 'A') + url.slice(i + 1);
    await pub.goto(altered);
    const verdict = pub.locator('.verify-verdict.bad');
    await verdict.locator('.verify-word', { hasText: '伪造/篡改' }).waitFor();
    await pub.locator('.verify-offline[data-offline="BAD_SIGNATURE"]').waitFor();
    expect(!(await pub.locator('.cert-public').count()), 'a forged code shows certificate details');
    console.log(`  ${(await verdict.locator('.verify-msg').innerText()).trim()}`);
  });

  await step('证书查询 from the login page finds the certificate by number and by name + ID', async () => {
    await pub.goto(`${BASE}/#/login`);
    await pub.getByRole('link', { name: '证书查询' }).click();
    await pub.getByRole('heading', { name: '证书查询' }).waitFor();
    await pub.getByRole('tab', { name: '按证书编号' }).click();
    await pub.getByLabel(/^证书编号/).fill(s.number);
    await button('查询', pub).click();
    await pub.locator(`.cert-public[data-number="${s.number}"]`).waitFor();
    await pub.getByRole('tab', { name: '按姓名和证件号码' }).click();
    await pub.getByLabel(/^姓名/).fill('张三');
    await pub.getByLabel(/^证件号码/).fill(holder.login);
    await button('查询', pub).click();
    await pub.locator(`.cert-public[data-number="${s.number}"]`).waitFor();
    const n = await pub.locator('.cert-public').count();
    expect(n === 3, `lookup by name + ID lists ${n} certificates, want 3`);
    expect(!(await pub.getByText(holder.login).count()), 'the full ID number is shown');
  });

  await anon.close();
  await ctx.close();
}
