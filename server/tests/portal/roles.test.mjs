// Every role of the manual in the portal, one account each on the demo data: the screens
// its navigation offers are exactly the manual's for that role; every other screen answers
// 403 when asked for by address; objects outside its branch answer 404; and the actions it
// may not take are refused when posted directly with its own form token, changing nothing.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { site, setUp, visit, accessible, signIn, api, adminToken } from './support.mjs';

setUp();

const SCREENS = {
  Dashboard: '/dashboard', Relationships: '/relationships', Distributors: '/lists/distributors',
  Partners: '/lists/partners', Tenants: '/tenants', Subscriptions: '/lists/subscriptions',
  Users: '/lists/users', Regions: '/lists/regions', Meters: '/lists/meters', Plans: '/lists/plans',
  Pricing: '/lists/pricing', Estimator: '/estimate', Invoices: '/invoices',
  Commissions: '/lists/commissions', Settings: '/settings', Audit: '/lists/audit', Jobs: '/lists/jobs',
};
const ALL = Object.keys(SCREENS);
const BRANCH = ['Dashboard', 'Subscriptions', 'Plans', 'Invoices'];

// The manual's Default Roles: what each may open (the calculator is shown to no
// distributor, partner or tenant until System Settings → Calculator says so).
const ROLES = [
  { role: 'PlatformAdministrator', at: 'platform', screens: ALL },
  { role: 'PlatformReader', at: 'platform', screens: ALL.filter((s) => s !== 'Relationships') },
  { role: 'DistributorAdministrator', at: 'distributor', screens: [...BRANCH, 'Relationships', 'Partners', 'Tenants', 'Users', 'Commissions'] },
  { role: 'DistributorReader', at: 'distributor', screens: [...BRANCH, 'Partners', 'Tenants', 'Commissions'] },
  { role: 'PartnerAdministrator', at: 'partner', screens: [...BRANCH, 'Relationships', 'Tenants', 'Users', 'Commissions'] },
  { role: 'PartnerReader', at: 'partner', screens: [...BRANCH, 'Tenants', 'Commissions'] },
  { role: 'TenantAdministrator', at: 'tenant', screens: [...BRANCH, 'Relationships', 'Users'] },
  { role: 'TenantUser', at: 'tenant', screens: [...BRANCH, 'Users'] },
];

let admin, tenants, partners, own, sibling, cousin, stranger, invoiceOf, subscriptionOf;

before(async () => {
  await site.ready;
  admin = await adminToken();
  const billed = await fetch(`${site.base}/api/v1/billing/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, prefer: 'wait=120' },
    body: JSON.stringify({ period: '2026-10' }),
  });
  assert.equal(billed.status, 200, await billed.text());
  // The demo's two partners share one distributor: the other distributor gets a partner
  // and a tenant here, so there is a branch no distributor role under test may see.
  const distributors = (await api('GET', '/api/v1/distributors', admin)).body.data;
  partners = (await api('GET', '/api/v1/partners?pageSize=500', admin)).body.data;
  const other = distributors.find((d) => !partners.some((p) => p.distributorId === d.id));
  assert.ok(other, 'a distributor without partners in the demo');
  for (const [route, body] of [
    ['/api/v1/partners', { id: 'part-far', distributorId: other.id, name: 'Far Partner' }],
    ['/api/v1/tenants', { id: 'ten-far', partnerId: 'part-far', name: 'Far Tenant', currency: 'AUD' }],
  ]) {
    const made = await api('POST', route, admin, body);
    assert.equal(made.status, 201, JSON.stringify(made.body));
  }
  partners = (await api('GET', '/api/v1/partners?pageSize=500', admin)).body.data;
  tenants = (await api('GET', '/api/v1/tenants?pageSize=500', admin)).body.data;
  const distributorOf = (t) => partners.find((p) => p.id === t.partnerId).distributorId;
  // The branch under test: a tenant, another of its partner's, one of another partner of
  // the same distributor, and one of another distributor.
  own = tenants.find((t) => t.partnerId === 'part-000');
  sibling = tenants.find((t) => t.id !== own.id && t.partnerId === own.partnerId);
  cousin = tenants.find((t) => t.partnerId !== own.partnerId && distributorOf(t) === distributorOf(own));
  stranger = tenants.find((t) => t.id === 'ten-far');
  own.distributorId = distributorOf(own);
  const invoices = (await api('GET', '/api/v1/billing/invoices?pageSize=500', admin)).body.data;
  invoiceOf = (t) => invoices.find((i) => i.tenantId === t.id);
  const subscriptions = (await api('GET', '/api/v1/subscriptions?pageSize=500', admin)).body.data;
  subscriptionOf = (t) => subscriptions.find((x) => x.tenantId === t.id);
  for (const t of [own, sibling, cousin]) assert.ok(invoiceOf(t) && subscriptionOf(t), `an invoice and a subscription of ${t.id}`);
});

/// Which of the branch's tenants `at` may see.
function visible(at) {
  return {
    platform: [own, sibling, cousin, stranger], distributor: [own, sibling, cousin],
    partner: [own, sibling], tenant: [own],
  }[at];
}

for (const { role, at, screens } of ROLES) {
  test(`${role}: the screens of its role, and nothing outside its scope`, async () => {
    const email = `${role.toLowerCase()}@roles.stackbill.test`;
    const password = `${role}-password-1`;
    const scope = { platform: {}, distributor: { distributorId: own.distributorId }, partner: { partnerId: own.partnerId }, tenant: { tenantId: own.id } }[at];
    const made = await api('POST', '/api/v1/users', admin, { emailAddress: email, firstName: role, lastName: 'Sweep', password, role, ...scope });
    assert.equal(made.status, 201, JSON.stringify(made.body));

    const page = await visit();
    await signIn(page, email, password);
    await page.waitForURL(`${site.base}/dashboard`);
    const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts();
    assert.deepEqual(nav.map((s) => s.trim()), ALL.filter((s) => screens.includes(s)), `${role}: navigation`);
    await accessible(page, `dashboard-${role}`);

    const http = page.context().request;
    for (const name of ALL) {
      // A screen that opens may redirect to its first part (Settings → its first group).
      const res = await http.get(`${site.base}${SCREENS[name]}`);
      assert.equal(res.status(), screens.includes(name) ? 200 : 403, `${role}: ${name} (${SCREENS[name]})`);
    }

    // Objects and invoices: those of its branch open, the rest do not exist for it; a
    // role without the Tenants screen opens no tenant's page, its own included.
    const seen = visible(at);
    for (const t of [own, sibling, cousin, stranger]) {
      const mine = seen.includes(t);
      const object = await http.get(`${site.base}/objects/tenants/${t.id}`, { maxRedirects: 0 });
      const want = !screens.includes('Tenants') ? 403 : mine ? 200 : 404;
      assert.equal(object.status(), want, `${role}: tenant ${t.id}`);
      if (!mine) assert.ok(!(await object.text()).includes(t.name), `${role}: a refusal names nothing`);
      const subscription = subscriptionOf(t);
      if (subscription) {
        const res = await http.get(`${site.base}/objects/subscriptions/${subscription.id}`, { maxRedirects: 0 });
        assert.equal(res.status(), mine ? 200 : 404, `${role}: subscription of ${t.id}`);
      }
      if (invoiceOf(t)) {
        const res = await http.get(`${site.base}/invoices/${invoiceOf(t).id}`, { maxRedirects: 0 });
        assert.equal(res.status(), mine ? 200 : 404, `${role}: invoice of ${t.id}`);
      }
    }

    // Actions posted directly with its own form token: refused unless its role has them.
    const csrf = await page.locator('input[name=csrf]').first().getAttribute('value');
    const post = (route, form = {}) => http.post(`${site.base}${route}`, { form: { csrf, ...form }, headers: { origin: site.base }, maxRedirects: 0 });
    const before = (await api('GET', `/api/v1/billing/invoices/${invoiceOf(own).id}`, admin)).body.data;
    const attempts = [
      ['issue an invoice', `/invoices/${invoiceOf(own).id}/issue`, {}, ['PlatformAdministrator', 'DistributorAdministrator', 'PartnerAdministrator']],
      ['change a billing setting', '/settings/billing', { defaultPlatformCurrency: 'EUR' }, ['PlatformAdministrator']],
      ['close a tenant', `/objects/tenants/${own.id}/do/close`, { closedOn: '2027-01-01' }, ['PlatformAdministrator', 'DistributorAdministrator', 'PartnerAdministrator']],
      ['generate commissions', '/lists/commissions/generate', { period: '2026-10' }, ['PlatformAdministrator', 'DistributorAdministrator', 'PartnerAdministrator']],
    ];
    for (const [what, route, form, allowed] of attempts) {
      if (allowed.includes(role)) continue;
      const res = await post(route, form);
      assert.ok([403, 404].includes(res.status()), `${role} may not ${what}: ${res.status()}`);
    }
    const after = (await api('GET', `/api/v1/billing/invoices/${invoiceOf(own).id}`, admin)).body.data;
    if (!['PlatformAdministrator', 'DistributorAdministrator', 'PartnerAdministrator'].includes(role)) {
      assert.deepEqual(after, before, `${role}: the refused actions changed nothing`);
      const tenant = (await api('GET', `/api/v1/tenants/${own.id}`, admin)).body.data;
      assert.ok(!tenant.closedOn, `${role}: the tenant is still open`);
    }
    const settings = (await api('GET', '/api/v1/settings/billing', admin)).body.data;
    assert.notEqual(settings.defaultPlatformCurrency, 'EUR', `${role}: the setting is unchanged`);
    await page.context().close();
  });
}
