// The portal in a real browser: Debian's Chromium driven by playwright-core against a
// `stackbill serve --demo` on a fresh SQLite file, with axe-core checking every screen
// for serious or critical accessibility violations. scripts/portal-test installs the
// browser and the two npm packages and runs this file with node --test:
//
//   STACKBILL_BIN=target/debug/stackbill PORTAL_DEPS=…/node_modules node --test server/tests/portal/
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN, PASSWORD, site, start, setUp, visit, accessible, signIn, totp, api, adminToken, smtpSink } from './support.mjs';

setUp();
let base;
before(async () => { await site.ready; base = site.base; });

test('a wrong password is explained next to the form and the address is kept', async () => {
  const page = await visit();
  await signIn(page, ADMIN, 'not-the-password-at-all');
  await assert.doesNotReject(page.getByRole('alert').waitFor());
  assert.match(await page.getByRole('alert').innerText(), /e-mail address or password is not correct/);
  assert.equal(await page.getByLabel('E-mail address').inputValue(), ADMIN);
  assert.equal(await page.getByLabel('Password').inputValue(), '');
  assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
  await accessible(page, 'sign-in-error');
  await page.context().close();
});

test('the platform administrator signs in, sees the dashboard and searches tenants', async () => {
  // A billed month, so the dashboard has invoiced totals to draw.
  const token = await adminToken();
  const billed = await fetch(`${base}/api/v1/billing/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, prefer: 'wait=120' },
    body: JSON.stringify({ period: '2026-10' }),
  });
  assert.equal(billed.status, 200, await billed.text());
  const page = await visit();
  await page.goto(`${base}/`);
  assert.match(page.url(), /\/sign-in/);
  await accessible(page, 'sign-in');
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${base}/dashboard`);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Dashboard');
  assert.match(await page.getByRole('list', { name: 'In your scope' }).innerText(), /41\s+tenants/);
  const charts = page.getByRole('img', { name: /^Invoiced [A-Z]{3} per month$/ });
  assert.ok((await charts.count()) >= 1, 'a chart per invoiced currency');
  await page.locator('figure.chart summary').first().click();
  const numbers = await page.locator('figure.chart table').first().innerText();
  assert.match(numbers, /2026-10\s+[0-9]+(\.[0-9]+)?/, numbers);
  const cookies = await page.context().cookies();
  for (const c of cookies) {
    assert.equal(c.httpOnly, true, `${c.name} is HttpOnly`);
    assert.equal(c.sameSite, 'Strict', `${c.name} is SameSite=Strict`);
  }
  await accessible(page, 'dashboard');

  // On a fresh page, the first Tab reaches the skip link; it leads to the content.
  await page.reload();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');

  await page.getByRole('link', { name: 'Tenants' }).click();
  await page.waitForURL(`${base}/tenants`);
  assert.match(await page.getByRole('status').innerText(), /^41 tenant\(s\)/);
  await page.getByLabel('Search by name or id').fill('ten-0001');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/q=ten-0001/);
  const rows = await page.locator('tbody tr').allInnerTexts();
  assert.ok(rows.length >= 1 && rows.every((r) => r.includes('ten-0001')), rows.join('\n'));
  await accessible(page, 'tenants');

  // Billing → Invoices: generate (a wrong period explained at its field, what was typed
  // kept), filter, open one, issue it after confirming, download its PDF.
  await page.getByRole('link', { name: 'Invoices' }).click();
  await page.getByRole('link', { name: 'Generate invoices' }).click();
  await page.getByLabel('Billing period (YYYY-MM)').fill('2026-13');
  await page.getByRole('button', { name: 'Generate' }).click();
  assert.ok((await page.locator('#period-error').innerText()).length > 0, 'the period is explained');
  assert.equal(await page.getByLabel('Billing period (YYYY-MM)').inputValue(), '2026-13', 'what was typed is kept');
  assert.equal(await page.getByLabel('Billing period (YYYY-MM)').getAttribute('aria-invalid'), 'true');
  await accessible(page, 'generate-error');
  await page.getByLabel('Billing period (YYYY-MM)').fill('2026-10');
  await page.getByRole('button', { name: 'Generate' }).click();
  await page.waitForURL(/\/invoices\?period=2026-10&status=preview&done=generated$/);
  assert.match(await page.locator('p.notice').innerText(), /generated/);
  assert.match(await page.locator('p[role=status]:not(.notice)').innerText(), /^41 invoice\(s\)/);
  await page.getByLabel('Period (YYYY-MM)').fill('October');
  await page.getByRole('button', { name: 'Show' }).click();
  assert.match(await page.locator('#period-error').innerText(), /YYYY-MM/);
  assert.equal(await page.getByLabel('Period (YYYY-MM)').inputValue(), 'October', 'what was typed is kept');
  await page.getByLabel('Period (YYYY-MM)').fill('2026-10');
  await page.getByLabel('Status').selectOption('preview');
  await page.getByRole('button', { name: 'Show' }).click();
  assert.match(await page.getByRole('status').innerText(), /^41 invoice\(s\)/);
  await accessible(page, 'invoices');
  await page.locator('tbody tr').first().getByRole('link').click();
  await page.waitForURL(/\/invoices\/[0-9]+$/);
  const invoiceUrl = page.url();
  assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /^Preview invoice/);
  assert.ok((await page.locator('tbody tr').count()) >= 1, 'the invoice lines');
  await page.getByRole('link', { name: 'Issue', exact: true }).click();
  assert.match(await page.locator('main').innerText(), /can then only be paid or voided/);
  await accessible(page, 'issue-confirm');
  await page.getByRole('link', { name: 'Cancel' }).click();
  assert.equal(page.url(), invoiceUrl, 'cancelling changes nothing');
  assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /^Preview invoice/);
  await page.getByRole('link', { name: 'Issue', exact: true }).click();
  await page.getByRole('button', { name: 'Issue invoice' }).click();
  await page.waitForURL(/done=issue$/);
  assert.match(await page.locator('p.notice').innerText(), /issued/);
  assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /^Invoice INV-/);
  assert.equal(await page.getByRole('link', { name: 'Issue', exact: true }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Mark paid' }).count(), 1);
  await accessible(page, 'invoice');
  const href = await page.getByRole('link', { name: 'Download PDF' }).getAttribute('href');
  const pdf = await page.context().request.get(`${base}${href}`);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');

  // Email Invoice: after confirming, refused with the reason while no mail server is
  // set; once one is, and the tenant has a billing contact, the invoice arrives there.
  const number = (await page.getByRole('heading', { level: 1 }).innerText()).replace('Invoice ', '');
  await page.getByRole('link', { name: 'Email invoice' }).click();
  assert.match(await page.locator('main').innerText(), /billing contact by e-mail\?/);
  await page.getByRole('button', { name: 'Email invoice' }).click();
  assert.match(await page.getByRole('alert').innerText(), /smtpHost is not set/);
  await accessible(page, 'email-invoice-refused');
  const sink = await smtpSink();
  try {
    const token = await adminToken();
    const notifications = (await api('GET', '/api/v1/settings/notifications', token)).body.data;
    Object.assign(notifications, {
      smtpHost: '127.0.0.1', smtpPort: sink.port, smtpSecurity: 'none',
      fromAddress: 'billing@contoso.test', fromName: 'Contoso Billing',
    });
    assert.equal((await api('PUT', '/api/v1/settings/notifications', token, notifications)).status, 200);
    const invoiceId = invoiceUrl.split('/').pop();
    const tenantId = (await api('GET', `/api/v1/billing/invoices/${invoiceId}`, token)).body.data.tenantId;
    const tenant = (await api('GET', `/api/v1/tenants/${tenantId}`, token)).body.data;
    const editable = ['partnerId', 'name', 'currency', 'timeZone', 'taxPercent', 'paymentTermsDays',
      'entraTenantId', 'initialOwner', 'details'];
    const body = Object.fromEntries(editable.filter((k) => tenant[k] != null).map((k) => [k, tenant[k]]));
    const edited = await api('PUT', `/api/v1/tenants/${tenantId}`, token, { ...body, billingContact: 'ap@tenant.test' });
    assert.equal(edited.status, 200, JSON.stringify(edited.body));
    await page.getByRole('button', { name: 'Email invoice' }).click();
    await page.waitForURL(/done=email$/);
    assert.match(await page.locator('p.notice').innerText(), /queued for e-mail/);
    const [mail] = await sink.exactly(1);
    assert.match(mail, /^To: ap@tenant\.test$/m);
    assert.match(mail, new RegExp(`^Subject: Invoice ${number} `, 'm'));
    assert.match(mail, new RegExp(`filename="?${number}\\.pdf`));
  } finally {
    sink.stop();
  }
  await page.context().close();
});

test('a tenant user sees neither the tenant list nor the other tenants, and is refused it', async () => {
  const admin = await adminToken();
  const tenants = (await api('GET', '/api/v1/tenants?pageSize=2', admin)).body.data;
  const email = 'tenant-reader@stackbill.test';
  const created = await api('POST', '/api/v1/users', admin, {
    emailAddress: email, firstName: 'Tina', lastName: 'Reader', password: 'tenant-reader-password-9',
    role: 'TenantUser', tenantId: tenants[0].id,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const page = await visit(390);
  await signIn(page, email, 'tenant-reader-password-9');
  await page.waitForURL(`${base}/dashboard`);
  const nav = await page.getByRole('navigation', { name: 'Main' }).innerText();
  assert.ok(!nav.includes('Tenants'), nav);
  assert.match(await page.getByRole('list', { name: 'In your scope' }).innerText(), /1\s+tenants/);
  await accessible(page, 'dashboard-tenant-user');
  await page.getByRole('link', { name: 'Invoices' }).click();
  const own = await page.locator('tbody tr').allInnerTexts();
  assert.ok(own.length >= 1 && own.every((r) => r.includes(tenants[0].id)), own.join('\n'));
  // Its own invoice: readable, but no billing action offered, and one posted anyway is refused.
  await page.locator('tbody tr').first().getByRole('link').click();
  await page.waitForURL(/\/invoices\/[0-9]+$/);
  const ownId = page.url().split('/').pop();
  assert.equal(await page.getByRole('link', { name: 'Issue', exact: true }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Generate invoices' }).count(), 0);
  const before = (await api('GET', `/api/v1/billing/invoices/${ownId}`, admin)).body.data;
  const csrf = await page.locator('input[name=csrf]').first().getAttribute('value');
  const forced = await page.context().request.post(`${base}/invoices/${ownId}/issue`, {
    form: { csrf }, headers: { origin: base }, maxRedirects: 0,
  });
  assert.equal(forced.status(), 403, 'the API refuses a tenant user issuing');
  const after = (await api('GET', `/api/v1/billing/invoices/${ownId}`, admin)).body.data;
  assert.deepEqual(after, before, 'the refused action changed nothing');
  const others = (await api('GET', `/api/v1/billing/invoices?tenantId=${tenants[1].id}`, admin)).body.data;
  const foreign = await page.goto(`${base}/invoices/${others[0].id}`);
  assert.equal(foreign.status(), 404, "another tenant's invoice does not exist for this user");
  const foreignPdf = await page.context().request.get(`${base}/invoices/${others[0].id}/document`);
  assert.equal(foreignPdf.status(), 404);
  const refused = await page.goto(`${base}/tenants?q=${tenants[1].id}`);
  assert.equal(refused.status(), 403);
  assert.ok(!(await page.content()).includes(tenants[1].name), 'the refusal names nothing');
  assert.ok(!(await page.locator('tbody').count()), 'no table of tenants');
  await page.context().close();
});

test('signing out ends the session in this browser; everywhere ends the API token too', async () => {
  const page = await visit();
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${base}/dashboard`);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL(/\/sign-in\?signed_out=1$/);
  assert.match(await page.getByRole('status').innerText(), /signed out/);
  await page.goto(`${base}/dashboard`);
  assert.match(page.url(), /\/sign-in/);

  const token = await adminToken();
  assert.equal((await api('GET', '/api/v1/auth/me', token)).status, 200);
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${base}/dashboard`);
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await page.waitForURL(/\/sign-in/);
  assert.equal((await api('GET', '/api/v1/auth/me', token)).status, 401, 'the API token ended too');
  await page.context().close();
});

test('a password set by an administrator is changed in the portal before anything else', async () => {
  const admin = await adminToken();
  const email = 'reset-reader@stackbill.test';
  const created = await api('POST', '/api/v1/users', admin, {
    emailAddress: email, firstName: 'Rhea', lastName: 'Reader', password: 'first-reader-password-4', role: 'PlatformReader',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const temporary = 'temporary-reader-password-6';
  const reset = await api('PUT', `/api/v1/users/${created.body.data.id}`, admin, { password: temporary });
  assert.equal(reset.status, 200, JSON.stringify(reset.body));

  const page = await visit();
  await signIn(page, email, temporary);
  await page.waitForURL(/\/change-password\?next=%2Fdashboard$/);
  await page.goto(`${base}/tenants`);
  assert.match(page.url(), /\/change-password\?next=%2Ftenants$/, 'nothing else opens before the change');
  await accessible(page, 'change-password');
  await page.getByLabel('Current password').fill('not-the-temporary-one');
  await page.getByLabel('New password', { exact: true }).fill('my-own-reader-password-8');
  await page.getByLabel('New password again').fill('my-own-reader-password-8');
  await page.getByRole('button', { name: 'Change password' }).click();
  assert.match(await page.locator('#current-error').innerText(), /not the password in use/);
  assert.equal(await page.getByLabel('Current password').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Current password').fill(temporary);
  await page.getByLabel('New password', { exact: true }).fill('my-own-reader-password-8');
  await page.getByLabel('New password again').fill('something-else-entirely-3');
  await page.getByRole('button', { name: 'Change password' }).click();
  assert.match(await page.locator('#again-error').innerText(), /does not match/i);
  await page.getByLabel('Current password').fill(temporary);
  await page.getByLabel('New password', { exact: true }).fill('my-own-reader-password-8');
  await page.getByLabel('New password again').fill('my-own-reader-password-8');
  await page.getByRole('button', { name: 'Change password' }).click();
  // Back to the page asked for before the change.
  await page.waitForURL(`${base}/tenants`);
  assert.equal((await api('POST', '/api/v1/auth/token', null, { EmailAddress: email, Password: 'my-own-reader-password-8' })).status, 200);
  await page.context().close();
});

test("the manual's Quick Start in the portal: distributor, partner, tenant, subscription, user", async () => {
  const page = await visit();
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${base}/dashboard`);
  await page.getByRole('link', { name: 'Relationships' }).click();
  await accessible(page, 'relationships');

  const add = async (what, fields, selects = {}) => {
    await page.goto(`${base}/relationships`);
    await page.getByRole('link', { name: `Add a ${what}` }).click();
    for (const [label, value] of Object.entries(selects)) await page.getByLabel(label).selectOption(value);
    for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, { exact: true }).fill(value);
    await page.getByRole('button', { name: `Add ${what}` }).click();
  };

  // A missing name is explained at the field, and what was typed stays.
  await add('distributor', { 'Id': 'qs-dist', 'Commission currency': 'AUD' });
  assert.ok((await page.locator('#f-name-error').innerText()).length > 0, 'the name is required');
  assert.equal(await page.getByLabel('Id', { exact: true }).inputValue(), 'qs-dist');
  assert.equal(await page.getByLabel('Name (required)').getAttribute('aria-invalid'), 'true');
  await accessible(page, 'add-distributor-error');
  await page.getByLabel('Name (required)').fill('Quick Start Distribution');
  await page.getByRole('button', { name: 'Add distributor' }).click();
  assert.match(await page.locator('p.notice').innerText(), /distributor qs-dist was added/);

  await add('partner', { 'Name (required)': 'Quick Start Partner', 'Id': 'qs-part' }, { 'Distributor (required)': 'qs-dist' });
  assert.match(await page.locator('p.notice').innerText(), /partner qs-part was added/);
  await add('tenant', { 'Organisation name (required)': 'Quick Start Tenant', 'Id': 'qs-ten', 'Invoice currency': 'AUD', 'Billing contact e-mail': 'ap@quickstart.test' }, { 'Partner (required)': 'qs-part' });
  assert.match(await page.locator('p.notice').innerText(), /tenant qs-ten was added/);
  await add('subscription', { 'Subscription name (required)': 'Quick Start Workloads' }, { 'Tenant (required)': 'qs-ten' });
  assert.match(await page.locator('p.notice').innerText(), /subscription .+ was added/);
  await add('user', {
    'E-mail address (required)': 'qs-admin@quickstart.test', 'First name (required)': 'Quinn', 'Last name (required)': 'Start',
    'Password': 'quick-start-tenant-admin-3',
  }, { 'Role (required)': 'TenantAdministrator', 'Tenant scope': 'qs-ten' });
  assert.match(await page.locator('p.notice').innerText(), /user .+ was added/);

  await page.goto(`${base}/tenants?q=quick+start`);
  const rows = await page.locator('tbody tr').allInnerTexts();
  assert.equal(rows.length, 1, rows.join('\n'));
  assert.match(rows[0], /Quick Start Tenant\s+qs-ten\s+Quick Start Partner\s+AUD\s+1/);
  await page.context().close();

  // The new tenant administrator sees its own tenant and subscription only.
  const own = await visit(390);
  await signIn(own, 'qs-admin@quickstart.test', 'quick-start-tenant-admin-3');
  await own.waitForURL(`${base}/dashboard`);
  const scope = await own.getByRole('list', { name: 'In your scope' }).innerText();
  assert.match(scope, /1\s+tenants/);
  assert.match(scope, /1\s+subscriptions/);
  await own.context().close();
});

test('a setting changed in the portal takes effect, and a wrong one is explained at its field', async () => {
  const page = await visit();
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${base}/dashboard`);
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('link', { name: 'Branding' }).click();
  await page.waitForURL(`${base}/settings/branding`);
  await accessible(page, 'settings-branding');
  // Colours are colour pickers, so the wrong value is a name past its length.
  const long = 'Harbour Cloud '.repeat(15);
  await page.getByLabel('Product name').fill(long);
  await page.getByLabel('Primary colour').fill('#5b2c6f');
  await page.getByRole('button', { name: 'Save' }).click();
  assert.match(await page.locator('#s-productName-error').innerText(), /at most 200 characters/, 'the name is explained');
  assert.equal(await page.getByLabel('Product name').inputValue(), long, 'what was typed is kept');
  assert.equal(await page.getByLabel('Primary colour').inputValue(), '#5b2c6f');
  await page.getByLabel('Product name').fill('Harbour Cloud');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/settings\/branding\?saved=1$/);
  assert.equal(await page.locator('header .brand').innerText(), 'Harbour Cloud', 'the new name is on every page');
  const theme = await (await page.context().request.get(`${base}/assets/theme.css`)).text();
  assert.match(theme, /--primary: #5B2C6F/);

  await page.goto(`${base}/settings/invoices`);
  await page.getByLabel('Auto create invoices').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/saved=1$/);
  const token = await adminToken();
  assert.equal((await api('GET', '/api/v1/settings/invoices', token)).body.data.autoCreateInvoices, true);
  await page.context().close();

  // The sign-in page carries the new brand too; a tenant user has no Settings.
  const reader = await visit();
  await reader.goto(`${base}/sign-in`);
  assert.equal(await reader.locator('.brand').innerText(), 'Harbour Cloud');
  await signIn(reader, 'tenant-reader@stackbill.test', 'tenant-reader-password-9');
  await reader.waitForURL(`${base}/dashboard`);
  assert.equal(await reader.getByRole('link', { name: 'Settings' }).count(), 0);
  assert.equal((await reader.goto(`${base}/settings/branding`)).status(), 403);
  await reader.context().close();
});

test('every list screen opens for the administrator, and commissions are generated from it', async () => {
  const page = await visit();
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${base}/dashboard`);
  const lists = ['Distributors', 'Partners', 'Subscriptions', 'Users', 'Regions', 'Meters', 'Plans', 'Pricing', 'Audit', 'Jobs'];
  for (const name of lists) {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
    await page.waitForLoadState();
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), name === 'Pricing' ? 'Price lists' : name === 'Audit' ? 'Audit log' : name);
    assert.ok((await page.locator('tbody tr').count()) >= 1, `${name} has rows`);
    await accessible(page, `list-${name.toLowerCase()}`);
  }
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Commissions' }).click();
  await page.getByLabel('Period (YYYY-MM or YYYY)').fill('2026-10');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByRole('button', { name: 'Generate summaries for 2026-10' }).click();
  await page.waitForURL(/done=generated$/);
  assert.match(await page.locator('p.notice').innerText(), /generated/);
  const rows = await page.locator('tbody tr').allInnerTexts();
  assert.ok(rows.length >= 1 && rows.every((r) => r.includes('2026-10')), rows.join('\n'));
  assert.ok(rows.some((r) => /%/.test(r)), 'each commission shows its bands');
  await accessible(page, 'commissions');
  // Export Commission Data: the same summaries as a CSV and an Excel file.
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV' }).click()]);
  assert.match(csv.suggestedFilename(), /^commissions-2026-10\.csv$/);
  const lines = (await (await import('node:fs/promises')).readFile(await csv.path(), 'utf8')).trim().split('\n');
  assert.equal(lines.length, rows.length + 1, `a header and one line per summary: ${lines.join(' / ')}`);
  const [xlsx] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Excel' }).click()]);
  assert.match(xlsx.suggestedFilename(), /^commissions-2026-10\.xlsx$/);
  const refused = await page.context().request.get(`${base}/lists/commissions/export?period=2026-10&format=pdf`);
  assert.equal(refused.status(), 400);
  assert.match(await refused.text(), /format/);
  await page.context().close();

  const reader = await visit();
  await signIn(reader, 'tenant-reader@stackbill.test', 'tenant-reader-password-9');
  await reader.waitForURL(`${base}/dashboard`);
  const nav = await reader.getByRole('navigation', { name: 'Main' }).innerText();
  for (const hidden of ['Distributors', 'Partners', 'Audit', 'Jobs', 'Settings']) assert.ok(!nav.includes(hidden), `${hidden} in ${nav}`);
  for (const path of ['/lists/audit', '/lists/distributors', '/lists/jobs']) {
    assert.equal((await reader.goto(`${base}${path}`)).status(), 403, path);
  }
  await reader.goto(`${base}/lists/subscriptions`);
  const subs = await reader.locator('tbody tr').allInnerTexts();
  assert.equal(subs.length, 1, subs.join('\n'));
  await reader.context().close();
});

test("users are disabled, re-enabled and deleted from their page, as the manual's How-To pages say", async () => {
  const token = await adminToken();
  const doomed = await api('POST', '/api/v1/users', token, {
    emailAddress: 'leaving@stackbill.test', firstName: 'Lee', lastName: 'Ving', password: 'leaving-user-password-2', role: 'PlatformReader',
  });
  assert.equal(doomed.status, 201);
  const page = await visit();
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${base}/dashboard`);
  await page.goto(`${base}/lists/users`);
  await page.getByRole('link', { name: 'tenant-reader@stackbill.test' }).click();
  await page.waitForURL(/\/users\/[^/]+$/);
  await accessible(page, 'user');
  await page.getByLabel('Disabled').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/saved=1$/);
  assert.equal(await page.getByLabel('Disabled').isChecked(), true);
  const refused = await api('POST', '/api/v1/auth/token', null, { EmailAddress: 'tenant-reader@stackbill.test', Password: 'tenant-reader-password-9' });
  assert.equal(refused.status, 401, 'a disabled user cannot sign in');
  await page.getByLabel('Disabled').uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/saved=1$/);
  const back = await api('POST', '/api/v1/auth/token', null, { EmailAddress: 'tenant-reader@stackbill.test', Password: 'tenant-reader-password-9' });
  assert.equal(back.status, 200, 'enabled again');

  // The API's own rule shows on the page: nobody disables their own account.
  await page.goto(`${base}/lists/users`);
  await page.getByRole('link', { name: ADMIN }).click();
  await page.getByLabel('Disabled').check();
  await page.getByRole('button', { name: 'Save' }).click();
  assert.match(await page.getByRole('alert').innerText(), /cannot disable your own account/);

  await page.goto(`${base}/users/${doomed.body.data.id}`);
  await page.getByRole('link', { name: 'Delete this user' }).click();
  await page.getByRole('button', { name: 'Delete user' }).click();
  await page.waitForURL(/\/lists\/users\?done=deleted$/);
  const users = await page.locator('tbody').innerText();
  assert.ok(!users.includes('leaving@stackbill.test'), users);
  await page.context().close();
});

test('objects are edited on their page, and a delete that something blocks says what', async () => {
  const page = await visit();
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${base}/dashboard`);

  // A tenant from the list: its page, an edit kept on a wrong value, then saved.
  await page.goto(`${base}/tenants?q=ten-00002`);
  await page.locator('tbody tr').first().getByRole('link').click();
  await page.waitForURL(/\/objects\/tenants\/ten-00002$/);
  await accessible(page, 'tenant');
  await page.getByLabel('Payment terms (days)').fill('-3');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  assert.ok((await page.locator('#f-paymentTermsDays-error').innerText()).length > 0, 'the terms are explained');
  assert.equal(await page.getByLabel('Payment terms (days)').inputValue(), '-3', 'what was typed is kept');
  await page.getByLabel('Organisation name (required)').fill('Renamed Tenant Two');
  await page.getByLabel('Payment terms (days)').fill('45');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.waitForURL(/done=saved$/);
  assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /Renamed Tenant Two/);
  const token = await adminToken();
  const saved = (await api('GET', '/api/v1/tenants/ten-00002', token)).body.data;
  assert.equal(saved.name, 'Renamed Tenant Two');
  assert.equal(saved.paymentTermsDays, 45);

  // Deleting a partner with tenants: the confirmation names them, the refusal says why.
  await page.goto(`${base}/lists/partners`);
  await page.getByRole('link', { name: 'part-001', exact: true }).click();
  await page.getByRole('link', { name: 'Delete this partner' }).click();
  assert.match(await page.locator('main').innerText(), /cannot be deleted while these depend on it: tenant /);
  await accessible(page, 'delete-blocked');
  await page.getByRole('button', { name: 'Delete' }).click();
  assert.match(await page.getByRole('alert').innerText(), /cannot delete partner "part-001": \d+ tenants/);
  assert.equal((await api('GET', '/api/v1/partners/part-001', token)).status, 200, 'still there');

  // A subscription with nothing billed yet is deleted after confirming.
  const sub = (await api('POST', '/api/v1/subscriptions', token, { tenantId: 'ten-00002', regionId: 'mel1', name: 'Short lived' })).body.data.id;
  await page.goto(`${base}/objects/subscriptions/${sub}`);
  await page.getByRole('link', { name: 'Delete this subscription' }).click();
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(/\/lists\/subscriptions\?deleted=/);
  assert.match(await page.locator('p.notice').innerText(), /was deleted/);
  assert.equal((await api('GET', `/api/v1/subscriptions/${sub}`, token)).status, 404);

  // A region: Update Usage refuses a region without collection settings at the top, and
  // a reversed range at its field once it has them; its health is shown on its page.
  await page.goto(`${base}/lists/regions`);
  await page.getByRole('link', { name: 'mel1', exact: true }).click();
  await page.getByRole('button', { name: 'Update Usage' }).click();
  assert.match(await page.getByRole('alert').innerText(), /no collection settings/);
  await page.getByLabel('Identity').selectOption('entra');
  await page.getByLabel('Provider subscription').fill('11111111-2222-3333-4444-555555555555');
  await page.getByLabel('Client (application) id').fill('stackbill-reader');
  await page.getByLabel('Directory tenant').fill('contoso.onmicrosoft.com');
  await page.getByLabel('Credential reference').fill('env:MEL1_SECRET');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.waitForURL(/done=saved$/);
  assert.equal(await page.getByLabel('Client (application) id').inputValue(), 'stackbill-reader');
  await page.getByLabel('From').fill('2026-11-02');
  await page.getByLabel('To (exclusive)').fill('2026-11-01');
  await page.getByRole('button', { name: 'Update Usage' }).click();
  assert.match(await page.locator('#collect-to-error').innerText(), /after from/);
  assert.equal(await page.getByLabel('From').inputValue(), '2026-11-02', 'what was typed is kept');
  await page.getByRole('button', { name: 'Show health' }).click();
  assert.match(await page.locator('section.outcome').innerText(), /Subscriptions\s+\d+/);
  await accessible(page, 'region');
  await page.context().close();
});

test('a price list with tiers is added, cloned and its increase modelled; commission rates are set', async () => {
  const page = await visit();
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${base}/dashboard`);
  await page.getByRole('link', { name: 'Pricing' }).click();
  await page.getByRole('link', { name: 'Add a price list' }).click();
  await page.getByLabel('Name (required)').fill('Melbourne 2027');
  await page.getByLabel('Id', { exact: true }).fill('mel1-2027');
  await page.getByLabel('Scope (required)').fill('region:mel1');
  await page.getByLabel('Currency (required)').fill('AUD');
  await page.getByLabel('In force from (required)').fill('2027-01-01');
  await page.getByLabel('Items (required)').fill('cores: 0.05\nstorage: graduated 0-100=0.10, 100-=x');
  await page.getByRole('button', { name: 'Add price list' }).click();
  assert.match(await page.locator('#f-items-error').innerText(), /Line 2, tiers: band 2: rate "x"/);
  await accessible(page, 'add-price-list-error');
  await page.getByLabel('Items (required)').fill('cores: 0.05\nstorage: graduated 0-100=0.10, 100-=0.08');
  await page.getByRole('button', { name: 'Add price list' }).click();
  await page.waitForURL(/\/lists\/pricing\?done=pricing&id=mel1-2027$/);
  const token = await adminToken();
  const list = (await api('GET', '/api/v1/pricing/mel1-2027', token)).body.data;
  assert.deepEqual(list.items[1].tiers, { mode: 'graduated', bands: [
    { from: '0', to: '100', rate: '0.10' }, { from: '100', to: null, rate: '0.08' }] });

  await page.goto(`${base}/objects/pricing/mel1-2027`);
  await accessible(page, 'price-list');
  await page.getByLabel('Id of the copy').fill('mel1-2027-t3');
  await page.locator('#clone-scope').fill('tenant:ten-00003');
  await page.getByRole('button', { name: 'Clone' }).click();
  assert.match(await page.locator('section.outcome').innerText(), /mel1-2027-t3/);
  assert.equal((await api('GET', '/api/v1/pricing/mel1-2027-t3', token)).body.data.scope.tenant, 'ten-00003');

  await page.locator('#increase-amount').fill('5');
  await page.locator('#increase-period').fill('2026-10');
  await page.getByRole('button', { name: 'Model a price increase' }).click();
  const outcome = await page.locator('section.outcome').innerText();
  assert.match(outcome, /items\[1\]\.tiers\.bands\[0\]\s+storage\s+0\.10\s+0\.105/);
  await accessible(page, 'price-increase');

  // Commission rates of a partner, then its month's summaries generated.
  await page.goto(`${base}/objects/partners/part-000`);
  await page.getByLabel('Commission rates').fill('volume\n0-1000: 4\n1000-: six');
  await page.getByRole('button', { name: 'Save commission rates' }).click();
  assert.match(await page.locator('#rates-commission-error').innerText(), /Line 3: percent "six"/);
  await page.getByLabel('Commission rates').fill('volume\n0-1000: 4\n1000-: 6');
  await page.getByRole('button', { name: 'Save commission rates' }).click();
  assert.match(await page.locator('section.outcome').innerText(), /Save commission rates: done/);
  assert.equal(await page.getByRole('textbox', { name: 'Commission rates' }).inputValue(), 'volume\n0-1000: 4\n1000-: 6');
  const rates = (await api('GET', '/api/v1/commissions/rates/partners/part-000', token)).body.data;
  assert.deepEqual(rates.commission.bands[1], { from: '1000', to: null, percent: '6' });
  await page.goto(`${base}/lists/commissions?period=2026-10`);
  await page.getByRole('button', { name: 'Generate summaries for 2026-10' }).click();
  await page.waitForURL(/done=generated/);
  assert.match(await page.locator('tbody').innerText(), /part-000/);
  await page.context().close();
});

test('an account that must use MFA enrols an authenticator app by QR code, then signs in with its code', async () => {
  const admin = await adminToken();
  const email = 'mfa-user@stackbill.test';
  const password = 'mfa-user-password-77';
  const made = await api('POST', '/api/v1/users', admin, {
    emailAddress: email, firstName: 'Mia', lastName: 'Factor', password, role: 'TenantUser', tenantId: 'ten-00004',
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal((await api('PUT', `/api/v1/users/${made.body.data.id}`, admin, { mfaRequired: true })).status, 200);

  const page = await visit(390);
  await signIn(page, email, password);
  await page.waitForURL(/\/authenticator\?next=%2Fdashboard$/);
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).count(), 0, 'nothing else opens');
  const qr = page.getByRole('img', { name: /QR code of your authenticator key/ });
  assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
  await accessible(page, 'authenticator');
  await page.goto(`${base}/invoices`);
  await page.waitForURL(/\/authenticator\?next=%2Finvoices$/);

  const key = await page.locator('#key').innerText();
  await page.getByLabel('Code from the app').fill('000000' === totp(key) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Turn on' }).click();
  assert.match(await page.locator('#code-error').innerText(), /not valid/);
  assert.equal(await page.locator('#key').innerText(), key, 'the same key is shown again');
  await page.getByLabel('Code from the app').fill(totp(key));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.waitForURL(`${base}/invoices`);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Invoices');
  await page.context().close();

  // The next sign-in asks for the code: without it refused, with it in.
  const again = await visit();
  await signIn(again, email, password);
  assert.match(await again.getByRole('alert').innerText(), /code/i);
  await signIn(again, email, password, totp(key, 1));
  await again.waitForURL(`${base}/dashboard`);
  await again.context().close();
});

test('the estimator prices typed quantities; alerts are acknowledged; users get names and roles', async () => {
  const page = await visit();
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${base}/dashboard`);

  // Estimator: a wrong line explained at its field, then an invoice for the quantities.
  await page.getByRole('link', { name: 'Estimator' }).click();
  await page.getByLabel('Tenant').selectOption('ten-00005');
  await page.getByLabel('Month').fill('2026-10');
  await page.getByLabel('Quantities (required)').fill('cores 720');
  await page.getByRole('button', { name: 'Estimate' }).click();
  assert.match(await page.locator('#f-items-error').innerText(), /Line 1: write a quantity as meter: quantity/);
  assert.equal(await page.getByLabel('Month').inputValue(), '2026-10', 'what was typed is kept');
  const meter = (await api('GET', '/api/v1/meters', await adminToken())).body.data[0].id;
  await page.getByLabel('Quantities (required)').fill(`${meter}: 720`);
  await page.getByRole('button', { name: 'Estimate' }).click();
  const estimate = await page.locator('section.outcome').innerText();
  assert.match(estimate, /Estimate for 2026-10/);
  assert.match(estimate, new RegExp(`\\t${meter}\\t`, 'i'));
  assert.match(estimate, /Period start/);
  await accessible(page, 'estimator');

  // A failing Update Usage raises an alert; the dashboard lists it and acknowledges it.
  const token = await adminToken();
  const failed = await fetch(`${base}/api/v1/regions/mel1/collect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, prefer: 'wait=120' },
    body: JSON.stringify({ from: '2026-11-01T00:00:00Z', to: '2026-11-01T02:00:00Z' }),
  });
  assert.ok(failed.status >= 400, await failed.text());
  const open = (await api('GET', '/api/v1/alerts', token)).body.data.filter((a) => a.status === 'open' && !a.acknowledgedBy);
  assert.ok(open.length >= 1, 'an open alert');
  await page.goto(`${base}/dashboard`);
  await accessible(page, 'dashboard-alerts');
  await page.getByRole('button', { name: `Acknowledge alert ${open[0].id}` }).click();
  await page.waitForURL(new RegExp(`acknowledged=${open[0].id}$`));
  assert.match(await page.locator('p.notice').innerText(), /was acknowledged/);
  const after = (await api('GET', '/api/v1/alerts', token)).body.data.find((a) => a.id === open[0].id);
  assert.ok(after.acknowledgedBy, 'acknowledged through the API');

  // A user's names are changed, a role is granted at a partner and revoked again.
  const user = (await api('POST', '/api/v1/users', token, {
    emailAddress: 'roles-user@stackbill.test', firstName: 'Rolf', lastName: 'Grant', password: 'roles-user-password-41',
    role: 'TenantUser', tenantId: 'ten-00006',
  })).body.data;
  await page.goto(`${base}/users/${user.id}`);
  await page.getByLabel('First name').fill('Rolfe');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/saved=1$/);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Rolfe Grant');
  await page.getByLabel('Role (required)').selectOption('PartnerReader');
  await page.getByLabel('At partner').selectOption('part-000');
  await page.getByRole('button', { name: 'Grant role' }).click();
  await page.waitForURL(/saved=grant$/);
  assert.match(await page.locator('ul.grants').innerText(), /PartnerReader at part-000/);
  await accessible(page, 'user-roles');
  await page.getByRole('button', { name: 'Revoke PartnerReader at part-000' }).click();
  await page.waitForURL(/saved=revoke$/);
  assert.doesNotMatch(await page.locator('ul.grants').innerText(), /PartnerReader/);
  const roles = (await api('GET', `/api/v1/users/${user.id}`, token)).body.data.roles.map((r) => r.role);
  assert.deepEqual(roles, ['TenantUser']);
  await page.context().close();
});

test("the manual's Quick Start on a fresh database: region to issued invoice and commission", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'stackbill-fresh-'));
  const fresh = await start(dir);
  const demo = base;
  base = fresh.url;
  site.base = fresh.url;
  try {
    const page = await visit();
    await signIn(page, ADMIN, PASSWORD);
    await page.waitForURL(`${base}/dashboard`);
    assert.match(await page.getByRole('list', { name: 'In your scope' }).innerText(), /0\s+tenants/);
    const fill = async (fields, selects = {}) => {
      for (const [label, value] of Object.entries(selects)) await page.getByLabel(label, { exact: true }).selectOption(value);
      for (const [label, value] of Object.entries(fields)) await page.getByLabel(label, { exact: true }).fill(value);
    };

    // Billing cannot run before System Settings → Billing is saved: the platform's
    // currency, time zone and rounding are the operator's choice, not a default.
    await page.goto(`${base}/settings/billing`);
    await page.getByLabel('Default platform currency').fill('AUD');
    await page.getByLabel('Time zone').fill('Australia/Sydney');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/\/settings\/billing\?saved=1$/);

    // Step 1: a region; a meter to price.
    await page.getByRole('link', { name: 'Regions' }).click();
    await page.getByRole('link', { name: 'Add a region' }).click();
    await fill({ 'Name (required)': 'Sydney 1', 'Id': 'syd1', 'Time zone (required)': 'Australia/Sydney',
      'Admin endpoint (required)': 'https://adminmanagement.syd1.example.net', 'Collection window (hours) (required)': '1' });
    await page.getByRole('button', { name: 'Add region' }).click();
    assert.match(await page.locator('p.notice').innerText(), /region syd1 was added/);
    await page.getByRole('link', { name: 'Meters' }).click();
    await page.getByRole('link', { name: 'Add a meter' }).click();
    await fill({ 'Id (required)': 'cores', 'Name (required)': 'Cores', 'Unit (required)': 'core-hour' });
    await page.getByRole('button', { name: 'Add meter' }).click();
    assert.match(await page.locator('p.notice').innerText(), /meter cores was added/);

    // Steps 2-6: distributor, partner, tenant, subscription, user.
    const add = async (what, fields, selects = {}) => {
      await page.goto(`${base}/relationships`);
      await page.getByRole('link', { name: `Add a ${what}` }).click();
      await fill(fields, selects);
      await page.getByRole('button', { name: `Add ${what}` }).click();
      assert.match(await page.locator('p.notice').innerText(), new RegExp(`${what} .*was added`));
    };
    await add('distributor', { 'Name (required)': 'Fresh Distribution', 'Id': 'fd', 'Commission currency': 'AUD' });
    await add('partner', { 'Name (required)': 'Fresh Partner', 'Id': 'fp', 'Commission currency': 'AUD' }, { 'Distributor (required)': 'fd' });
    await add('tenant', { 'Organisation name (required)': 'Fresh Tenant', 'Id': 'ft', 'Invoice currency': 'AUD' }, { 'Partner (required)': 'fp' });
    await add('subscription', { 'Subscription name (required)': 'Fresh Workloads', 'Azure Stack subscription id': '0b5e8a52-7f0e-4a53-9a4c-3c1d2e4f5a6b' },
      { 'Tenant (required)': 'ft', 'Region (required)': 'syd1' });
    await add('user', { 'E-mail address (required)': 'owner@fresh.test', 'First name (required)': 'Fay', 'Last name (required)': 'Fresh',
      'Password': 'fresh-tenant-owner-2026' }, { 'Role (required)': 'TenantAdministrator', 'Tenant scope': 'ft' });

    // Step 7: a price list with tiers.
    await page.getByRole('link', { name: 'Pricing' }).click();
    await page.getByRole('link', { name: 'Add a price list' }).click();
    await fill({ 'Name (required)': 'Sydney', 'Id': 'syd1-2026', 'Scope (required)': 'region:syd1', 'Currency (required)': 'AUD',
      'In force from (required)': '2026-01-01', 'Items (required)': 'cores: graduated 0-100=0.10, 100-=0.08' });
    await page.getByRole('button', { name: 'Add price list' }).click();
    assert.match(await page.locator('p.notice').innerText(), /price list syd1-2026 was added/);

    // Usage for October arrives (what Update Usage collects from a stamp): 150 core-hours.
    const token = await adminToken();
    const records = [0, 1, 2].map((h) => ({ id: `fresh-${h}`, subscriptionId: '0b5e8a52-7f0e-4a53-9a4c-3c1d2e4f5a6b', meterId: 'cores',
      start: `2026-10-10T0${h}:00:00Z`, end: `2026-10-10T0${h + 1}:00:00Z`, quantity: '50' }));
    const ingested = await api('POST', '/api/v1/usage', token, { source: 'quick-start', records });
    assert.equal(ingested.status, 200, JSON.stringify(ingested.body));

    // Step 8: billing generated, the invoice viewed and issued.
    await page.getByRole('link', { name: 'Invoices' }).click();
    await page.getByRole('link', { name: 'Generate invoices' }).click();
    await page.getByLabel('Billing period (YYYY-MM)').fill('2026-10');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.waitForLoadState();
    assert.match(page.url(), /done=generated$/, await page.locator('main').innerText());
    assert.match(await page.locator('p[role=status]:not(.notice)').innerText(), /^1 invoice\(s\)/);
    await page.locator('tbody tr').first().getByRole('link').click();
    assert.match(await page.locator('main').innerText(), /14\.00/, '100 × 0.10 + 50 × 0.08');
    await page.getByRole('link', { name: 'Issue', exact: true }).click();
    await page.getByRole('button', { name: 'Issue invoice' }).click();
    await page.waitForURL(/done=issue$/);
    assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /^Invoice INV-/);

    // Commission rates for the partner, then its summary: 5 % of 14.00.
    await page.goto(`${base}/objects/partners/fp`);
    await page.getByRole('textbox', { name: 'Commission rates' }).fill('graduated\n0-: 5');
    await page.getByRole('button', { name: 'Save commission rates' }).click();
    assert.match(await page.locator('section.outcome').innerText(), /done/);
    await page.goto(`${base}/lists/commissions?period=2026-10`);
    await page.getByRole('button', { name: 'Generate summaries for 2026-10' }).click();
    await page.waitForURL(/done=generated/);
    const row = (await page.locator('tbody tr').allInnerTexts()).find((r) => r.includes('fp'));
    assert.ok(row, 'a summary for the partner');
    assert.match(row, /14\.00\s+0\.70/);
    await page.context().close();

    // The tenant's owner signs in and sees its own invoice.
    const owner = await visit(390);
    await signIn(owner, 'owner@fresh.test', 'fresh-tenant-owner-2026');
    await owner.waitForURL(`${base}/dashboard`);
    await owner.goto(`${base}/invoices?period=2026-10`);
    assert.match(await owner.locator('p[role=status]').innerText(), /^1 invoice\(s\)/);
    await owner.context().close();
  } finally {
    base = demo;
    site.base = demo;
    fresh.proc.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a partner's own brand is what the people under it see; the platform keeps its own", async () => {
  const token = await adminToken();
  const partner = (await api('GET', '/api/v1/partners/part-001', token)).body.data;
  const branded = await api('PUT', '/api/v1/partners/part-001', token, {
    distributorId: partner.distributorId, name: partner.name,
    details: { ...partner.details, branding: { name: 'Partner Two Cloud', headerBackgroundColour: '#004D40' } },
  });
  assert.equal(branded.status, 200, JSON.stringify(branded.body));
  const made = await api('POST', '/api/v1/users', token, {
    emailAddress: 'p2-reader@stackbill.test', firstName: 'Pat', lastName: 'Two', password: 'partner-two-reader-8',
    role: 'PartnerReader', partnerId: 'part-001',
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));

  const page = await visit();
  await signIn(page, 'p2-reader@stackbill.test', 'partner-two-reader-8');
  await page.waitForURL(`${base}/dashboard`);
  assert.equal(await page.locator('header .brand').innerText(), 'Partner Two Cloud');
  const theme = await (await page.context().request.get(`${base}/assets/theme.css`)).text();
  assert.match(theme, /--primary: #004D40/);
  await accessible(page, 'dashboard-partner-brand');
  await page.context().close();

  const admin = await visit();
  await signIn(admin, ADMIN, PASSWORD);
  await admin.waitForURL(`${base}/dashboard`);
  assert.notEqual(await admin.locator('header .brand').innerText(), 'Partner Two Cloud');
  const own = await (await admin.context().request.get(`${base}/assets/theme.css`)).text();
  assert.doesNotMatch(own, /#004D40/);
  await admin.context().close();
});
