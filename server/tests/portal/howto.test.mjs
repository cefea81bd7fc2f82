// The manual's remaining How-To flows in the browser, as the platform administrator on
// the demo data: a subscription's Summary and Update Usage, Pricing → Recalculate, and
// the list settings (alert targets, identity providers) typed one record per line, each
// refusal explained next to what was typed, which stays.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, PASSWORD, site, setUp, visit, accessible, signIn, api, adminToken } from './support.mjs';

setUp();
let base, admin;

before(async () => {
  await site.ready;
  base = site.base;
  admin = await adminToken();
  const billed = await fetch(`${base}/api/v1/billing/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, prefer: 'wait=120' },
    body: JSON.stringify({ period: '2026-10' }),
  });
  assert.equal(billed.status, 200, await billed.text());
});

async function signedIn() {
  const page = await visit();
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${base}/dashboard`);
  return page;
}

test('Subscriptions → Summary shows what the API sums for the tenant and month', async () => {
  const page = await signedIn();
  await page.getByRole('link', { name: 'Subscriptions', exact: true }).click();
  await page.getByRole('link', { name: 'Summary' }).click();
  await page.waitForURL(`${base}/subscriptions/summary`);
  await page.getByLabel('Tenant id').fill('ten-00001');
  await page.getByLabel('From (YYYY-MM-DD)').fill('2026-10-01');
  await page.getByLabel('To, inclusive (YYYY-MM-DD)').fill('2026-10-31');
  await page.getByRole('button', { name: 'Run summary' }).click();
  await page.waitForURL(/from=2026-10-01/);
  const expected = (await api('GET', '/api/v1/usage/summary?from=2026-10-01&to=2026-10-31&tenantId=ten-00001', admin)).body.data;
  assert.ok(expected.length >= 1 && expected.some((s) => s.records > 0), JSON.stringify(expected));
  assert.match(await page.getByRole('status').innerText(), new RegExp(`^${expected.length} subscription\\(s\\)`));
  const rows = page.locator('tbody tr');
  assert.equal(await rows.count(), expected.length);
  const first = (await rows.first().innerText()).split('\t').map((c) => c.trim());
  assert.equal(first[3], String(expected[0].records));
  for (const m of expected[0].usage) assert.ok(first[4].includes(`${m.meterId}`) && first[4].includes(m.quantity), first[4]);
  for (const b of expected[0].billed) assert.ok(first[6].includes(`${b.preview} ${b.currency}`), first[6]);
  await accessible(page, 'subscription-summary');
  // A range the API refuses is explained at its field; what was typed stays.
  await page.getByLabel('To, inclusive (YYYY-MM-DD)').fill('2026-09-30');
  await page.getByRole('button', { name: 'Run summary' }).click();
  await page.waitForURL(/to=2026-09-30/);
  assert.match(await page.locator('#to-error').innerText(), /not be before from/);
  assert.equal(await page.getByLabel('Tenant id').inputValue(), 'ten-00001');
  await page.context().close();
});

test('a subscription offers Update Usage, and one no region collects is refused with why', async () => {
  const subs = (await api('GET', '/api/v1/subscriptions?pageSize=5', admin)).body.data;
  const page = await signedIn();
  await page.goto(`${base}/objects/subscriptions/${encodeURIComponent(subs[0].id)}`);
  await page.getByLabel('From').first().fill('2026-10-01');
  await page.getByRole('button', { name: 'Update Usage' }).click();
  const text = await page.locator('main').innerText();
  assert.match(text, /not a stamp subscription|has no collection settings/, text);
  assert.equal(await page.getByLabel('From').first().inputValue(), '2026-10-01');
  await accessible(page, 'subscription-update-usage-refused');
  await page.context().close();
});

test('Pricing → Recalculate previews re-rates a month, a wrong period explained at its field', async () => {
  const page = await signedIn();
  await page.getByRole('link', { name: 'Pricing', exact: true }).click();
  await page.getByRole('link', { name: 'Recalculate previews' }).click();
  await page.waitForURL(`${base}/pricing/recalculate`);
  await page.getByLabel('Billing period (YYYY-MM)').fill('2026-13');
  await page.getByRole('button', { name: 'Recalculate' }).click();
  assert.ok(await page.locator('#period-error').isVisible());
  assert.equal(await page.getByLabel('Billing period (YYYY-MM)').inputValue(), '2026-13');
  await accessible(page, 'recalculate');
  await page.getByLabel('Billing period (YYYY-MM)').fill('2026-10');
  await page.getByRole('button', { name: 'Recalculate' }).click();
  await page.waitForURL(/done=recalculated$/);
  assert.match(await page.locator('p.notice').innerText(), /recalculated with the prices in force now/);
  assert.match(await page.getByRole('status').last().innerText(), /^41 invoice\(s\)/);
  await page.context().close();
});

test('alert targets and identity providers are typed one per line, each error on its line', async () => {
  const page = await signedIn();
  await page.goto(`${base}/settings/platforms`);
  const targets = page.getByLabel('Alert targets');
  assert.equal(await targets.inputValue(), '');
  await targets.fill('name=ops; kind=email; address=not-an-address');
  await page.getByRole('button', { name: 'Save' }).click();
  assert.match(await page.locator('#s-alertTargets-error').innerText(), /^Line 1, address/i);
  assert.equal(await targets.inputValue(), 'name=ops; kind=email; address=not-an-address');
  await accessible(page, 'settings-alert-targets-error');
  await targets.fill('name=ops; kind=email; address=ops@contoso.test\nops kind email');
  await page.getByRole('button', { name: 'Save' }).click();
  assert.match(await page.locator('#s-alertTargets-error').innerText(), /line 2: "ops kind email" is not field=value/i);
  await targets.fill('name=ops; kind=email; address=ops@contoso.test');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/saved=1$/);
  const platforms = (await api('GET', '/api/v1/settings/platforms', admin)).body.data;
  assert.deepEqual(platforms.alertTargets, [{ name: 'ops', kind: 'email', address: 'ops@contoso.test' }]);
  assert.equal(await page.getByLabel('Alert targets').inputValue(), 'name=ops; kind=email; address=ops@contoso.test');

  await page.goto(`${base}/settings/identity`);
  const providers = page.getByLabel('Providers');
  await providers.fill('kind=entra; issuer=https://login.microsoftonline.com/contoso/v2.0; audience=api://stackbill');
  await page.getByRole('button', { name: 'Save' }).click();
  assert.match(await page.locator('#s-providers-error').innerText(), /^Line 1, jwksUri: is required/i);
  const line = 'kind=entra; issuer=https://login.microsoftonline.com/contoso/v2.0; audience=api://stackbill; '
    + 'jwksUri=https://login.microsoftonline.com/contoso/discovery/v2.0/keys; clientSecretRef=env:ENTRA_SECRET';
  await providers.fill(line);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/saved=1$/);
  const identity = (await api('GET', '/api/v1/settings/identity', admin)).body.data;
  assert.equal(identity.providers.length, 1);
  assert.equal(identity.providers[0].clientSecretRef, 'env:ENTRA_SECRET');
  await accessible(page, 'settings-identity');
  await page.context().close();
});

test('Branding: the logo is a file upload, the colours colour pickers', async () => {
  // A 4×4 PNG; a GIF is refused by its bytes, whatever its name says.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGPgz9kLRwzEcQDwYxOBO2RwsAAAAABJRU5ErkJggg==', 'base64');
  const gif = Buffer.from('R0lGODlhAQABAAAAACw=', 'base64');
  const page = await signedIn();
  await page.goto(`${base}/settings/branding`);
  assert.equal(await page.getByLabel('Primary colour').getAttribute('type'), 'color');
  await page.getByLabel('Primary colour').fill('#112233');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/saved=1$/);
  assert.equal((await api('GET', '/api/v1/settings/branding', admin)).body.data.primaryColour, '#112233'.toUpperCase());

  await page.getByLabel('Logo').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: gif });
  await page.getByRole('button', { name: 'Upload logo' }).click();
  assert.match(await page.locator('#i-logo-error').innerText(), /must be a PNG or JPEG image/i);
  await page.getByRole('button', { name: 'Upload logo' }).click();
  assert.match(await page.locator('#i-logo-error').innerText(), /choose a PNG or JPEG file first/i);
  await page.getByLabel('Logo').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: png });
  await page.getByRole('button', { name: 'Upload logo' }).click();
  await page.waitForURL(/saved=1$/);
  const stored = (await api('GET', '/api/v1/settings/branding', admin)).body.data.logo;
  assert.equal(stored, `data:image/png;base64,${png.toString('base64')}`);
  assert.equal(await page.locator('header .brand img').getAttribute('src'), stored, 'the header shows it at once');
  assert.equal(await page.getByRole('img', { name: 'The logo now set' }).count(), 1);
  await accessible(page, 'settings-branding-logo');
  await page.getByRole('button', { name: 'Remove logo' }).click();
  await page.waitForURL(/saved=1$/);
  assert.equal((await api('GET', '/api/v1/settings/branding', admin)).body.data.logo, null);

  // The Invoice Header Logo on the Invoices group: the API refuses what invoices cannot draw.
  await page.goto(`${base}/settings/invoices`);
  const broken = Buffer.concat([png.subarray(0, 8), Buffer.from('not the rest of a png')]);
  await page.getByLabel('Invoice header logo').setInputFiles({ name: 'broken.png', mimeType: 'image/png', buffer: broken });
  await page.getByRole('button', { name: 'Upload invoice header logo' }).click();
  assert.match(await page.locator('#i-invoiceHeaderLogo-error').innerText(), /readable image\/png image/i);
  await page.getByLabel('Invoice header logo').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: png });
  await page.getByRole('button', { name: 'Upload invoice header logo' }).click();
  await page.waitForURL(/saved=1$/);
  assert.match((await api('GET', '/api/v1/settings/invoices', admin)).body.data.invoiceHeaderLogo, /^data:image\/png;base64,/);
  await page.context().close();
});

test("a partner's own branding is set on its page and is what the people under it see", async () => {
  const page = await signedIn();
  await page.goto(`${base}/objects/partners/part-001`);
  await page.getByLabel('Brand name').fill('Contoso Cloud');
  await page.getByLabel('Brand colour').fill('blue');
  await page.getByRole('button', { name: 'Save' }).first().click();
  assert.match(await page.locator('main').innerText(), /not a colour as #RRGGBB/);
  assert.equal(await page.getByLabel('Brand name').inputValue(), 'Contoso Cloud', 'what was typed stays');
  await page.getByLabel('Brand colour').fill('#5C2D91');
  await page.getByRole('button', { name: 'Save' }).first().click();
  await page.waitForURL(/done=saved$/);
  const partner = (await api('GET', '/api/v1/partners/part-001', admin)).body.data;
  assert.equal(partner.details.branding.name, 'Contoso Cloud');
  assert.equal(partner.details.branding.headerBackgroundColour, '#5C2D91');
  await accessible(page, 'partner-branding');
  await page.context().close();

  const made = await api('POST', '/api/v1/users', admin, {
    emailAddress: 'reader@part-001.test', firstName: 'Pat', lastName: 'Reader',
    password: 'partner-reader-password-3', role: 'PartnerReader', partnerId: 'part-001',
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const below = await visit();
  await signIn(below, 'reader@part-001.test', 'partner-reader-password-3');
  await below.waitForURL(`${base}/dashboard`);
  assert.equal(await below.locator('header .brand span').innerText(), 'Contoso Cloud');
  await below.context().close();
});

test("a plan's quotas and quota alerts are typed on its page, one per line", async () => {
  const plans = (await api('GET', '/api/v1/plans', admin)).body.data;
  const meters = (await api('GET', '/api/v1/meters', admin)).body.data;
  const plan = plans[0].id;
  const page = await signedIn();
  await page.goto(`${base}/objects/plans/${encodeURIComponent(plan)}`);
  await page.getByLabel('Quotas').fill('cores: 64\ncores 8');
  await page.getByRole('button', { name: 'Save' }).first().click();
  assert.match(await page.locator('main').innerText(), /line 2: write name: value/i);
  assert.equal(await page.getByLabel('Quotas').inputValue(), 'cores: 64\ncores 8', 'what was typed stays');
  await page.getByLabel('Quotas').fill('cores: 64\nstorageGb: 2048');
  await page.getByLabel('Warn at percent of a quota').fill('80');
  await page.getByLabel('Meter measuring each quota').fill(`cores: ${meters[0].id}`);
  await page.getByRole('button', { name: 'Save' }).first().click();
  await page.waitForURL(/done=saved$/);
  const saved = (await api('GET', `/api/v1/plans/${encodeURIComponent(plan)}`, admin)).body.data;
  assert.deepEqual(saved.quotas, { cores: 64, storageGb: 2048 });
  assert.equal(saved.quotaAlerts.percent, 80);
  assert.deepEqual(saved.quotaAlerts.meters, { cores: meters[0].id });
  assert.equal(await page.getByLabel('Quotas').inputValue(), 'cores: 64\nstorageGb: 2048');
  await accessible(page, 'plan-quotas');
  // A meter's page opens too (its list links to it).
  await page.goto(`${base}/lists/meters`);
  await page.locator('tbody tr').first().getByRole('link').click();
  await page.waitForURL(/\/objects\/meters\//);
  assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /meter/i);
  await page.context().close();
});

test('the dashboard compares the latest month with the one before, by region, distributor, partner or tenant', async () => {
  const page = await signedIn();
  assert.equal(await page.getByRole('heading', { name: '2026-10 against 2026-09' }).count(), 1);
  assert.equal(await page.getByRole('link', { name: 'By distributor' }).getAttribute('aria-current'), 'page');
  await page.getByRole('link', { name: 'By tenant' }).click();
  await page.waitForURL(/by=tenant$/);
  const rows = await page.locator('.table-wrap[aria-labelledby="compare-heading"] tbody tr').allInnerTexts();
  assert.equal(rows.length, 20, 'the first twenty, largest first');
  const cells = rows[0].split('\t');
  const invoices = (await api('GET', '/api/v1/billing/invoices?period=2026-10&pageSize=1000', admin)).body.data;
  const invoice = invoices.find((i) => i.tenantName === cells[0] && i.currency === cells[1]);
  assert.ok(invoice, rows[0]);
  assert.ok(invoices.every((i) => i.currency !== cells[1] || Number(i.total) <= Number(invoice.total)), 'the largest first');
  assert.equal(Number(cells[2]), Math.round(Number(invoice.total) * 100) / 100);
  assert.equal(Number(cells[3]), 0, 'nothing was invoiced in 2026-09');
  await page.getByRole('link', { name: 'By region' }).click();
  await page.waitForURL(/by=region$/);
  // Every demo tenant is in one region: each region's cost is its tenants' invoice totals.
  const byCurrency = {};
  for (const i of invoices) byCurrency[i.currency] = (byCurrency[i.currency] || 0) + Number(i.total);
  const regionRows = await page.locator('.table-wrap[aria-labelledby="compare-heading"] tbody tr').allInnerTexts();
  const regionSum = {};
  for (const r of regionRows) { const c = r.split('\t'); regionSum[c[1]] = (regionSum[c[1]] || 0) + Number(c[2]); }
  for (const [currency, sum] of Object.entries(byCurrency)) {
    assert.ok(Math.abs(regionSum[currency] - sum) < 0.01 * regionRows.length, `${currency}: ${regionSum[currency]} against ${sum}`);
  }
  assert.match(await page.locator('main').innerText(), /split by its lines/);
  await page.goto(`${base}/dashboard`);
  assert.equal(await page.getByRole('heading', { name: 'Jobs' }).count(), 1);
  assert.equal(await page.getByRole('link', { name: 'All jobs' }).count(), 1);
  await accessible(page, 'dashboard-compare');
  await page.context().close();
});
