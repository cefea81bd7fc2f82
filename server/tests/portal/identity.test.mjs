// Sign-in through an organisation's identity provider, and naming overrides, in Chromium.
// The provider is a small OpenID Connect server on loopback written here: discovery, an
// authorisation endpoint that sends the browser straight back with a one-time code, a
// token endpoint that checks the PKCE verifier and client secret, and its RSA keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { ADMIN, PASSWORD, site, setUp, visit, accessible, signIn, api, adminToken } from './support.mjs';

const SECRET = 'portal-test-client-secret';
setUp(['--demo'], { STACKBILL_TEST_OIDC_SECRET: SECRET });

const CLIENT = 'stackbill-portal';
let provider;
const refusals = [];

/// The provider, serving until the file's tests end.
function openIdProvider(subject, email) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  const grants = new Map();
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  let issuer;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, issuer);
    const json = (status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/keys` });
    }
    if (url.pathname === '/keys') return json(200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      const code = `code-${Math.random().toString(36).slice(2)}`;
      grants.set(code, { challenge: q.get('code_challenge'), redirect: q.get('redirect_uri'), nonce: q.get('nonce') });
      const back = new URL(q.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state'));
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        const f = new URLSearchParams(body);
        const grant = grants.get(f.get('code'));
        grants.delete(f.get('code'));
        const verifier = createHash('sha256').update(f.get('code_verifier') || '').digest('base64url');
        const why = !grant ? 'unknown code' : grant.challenge !== verifier ? 'PKCE verifier'
          : grant.redirect !== f.get('redirect_uri') ? 'redirect URI'
            : f.get('client_id') !== CLIENT || f.get('client_secret') !== SECRET ? 'client' : null;
        if (why) { refusals.push(why); return json(400, { error: 'invalid_grant', error_description: why }); }
        const now = Math.floor(Date.now() / 1000);
        const signed = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${b64({
          iss: issuer, aud: CLIENT, sub: subject, email, email_verified: true, nonce: grant.nonce, iat: now, exp: now + 300,
        })}`;
        const token = `${signed}.${sign('sha256', Buffer.from(signed), privateKey).toString('base64url')}`;
        json(200, { id_token: token, token_type: 'Bearer' });
      });
      return undefined;
    }
    res.writeHead(404);
    return res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    issuer = `http://127.0.0.1:${server.address().port}`;
    resolve({ issuer, close: () => server.close() });
  }));
}

before(async () => {
  await site.ready;
  provider = await openIdProvider('entra-subject-7', 'fed.admin@stackbill.test');
});
after(() => provider?.close());

test('a person signs in with the Microsoft Entra ID button and lands where they were going', async () => {
  const admin = await adminToken();
  const tenants = (await api('GET', '/api/v1/tenants?pageSize=1', admin)).body.data;
  const made = await api('POST', '/api/v1/users', admin, {
    emailAddress: 'fed.admin@stackbill.test', firstName: 'Fede', lastName: 'Rated',
    role: 'TenantAdministrator', tenantId: tenants[0].id, federatedOnly: true,
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const saved = await api('PUT', '/api/v1/settings/identity', admin, {
    allowLocalSignIn: true, allowEntra: true, allowGoogle: false,
    providers: [{ kind: 'entra', issuer: provider.issuer, audience: CLIENT, jwksUri: `${provider.issuer}/keys`, clientSecretRef: 'env:STACKBILL_TEST_OIDC_SECRET' }],
  });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));

  const page = await visit();
  await page.goto(`${site.base}/lists/subscriptions`);
  assert.match(page.url(), /\/sign-in\?next=%2Flists%2Fsubscriptions$/);
  await accessible(page, 'sign-in-federated');
  await page.getByRole('link', { name: 'Sign in with Microsoft Entra ID' }).click();
  // Off to the provider and back, then on from this site with the session.
  await page.waitForURL(`${site.base}/lists/subscriptions`);
  assert.match(await page.locator('header').innerText(), /Fede Rated/);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Subscriptions');
  assert.deepEqual(refusals, [], 'the provider accepted the verifier, redirect URI and secret');
  // A federated-only account has no password to use.
  const local = await visit();
  await signIn(local, 'fed.admin@stackbill.test', 'any-password-at-all-1');
  await local.getByRole('alert').waitFor();
  await local.context().close();
  await page.context().close();
});

test("naming overrides: 'Tenant' shown as 'Department' on every label, data left as it is", async () => {
  const page = await visit();
  await signIn(page, ADMIN, PASSWORD);
  await page.waitForURL(`${site.base}/dashboard`);
  await page.goto(`${site.base}/settings/branding`);
  await page.getByLabel('Tenant term').fill('Department / Departments');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/settings\/branding\?saved=1$/);

  const nav = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allInnerTexts();
  assert.ok(nav.includes('Departments') && !nav.includes('Tenants'), nav.join(', '));
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Departments', exact: true }).click();
  await page.waitForURL(`${site.base}/tenants`);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Departments');
  const admin = await adminToken();
  const tenant = (await api('GET', '/api/v1/tenants?pageSize=1', admin)).body.data[0];
  const text = await page.locator('main').innerText();
  assert.ok(text.includes(tenant.id), 'identifiers are shown as they are');
  assert.doesNotMatch(text, /\bTenants?\b/, 'no label still says Tenant');
  await accessible(page, 'naming-departments');

  await page.goto(`${site.base}/relationships`);
  await page.getByRole('link', { name: 'Add a department' }).click();
  await page.waitForURL(`${site.base}/relationships/new/tenant`);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Add a department');
  await page.goto(`${site.base}/relationships/new/subscription`);
  const labels = await page.locator('label').allInnerTexts();
  assert.ok(labels.some((l) => /^Department\b/.test(l)), labels.join(' | '));
  assert.ok(!labels.some((l) => /\bTenant\b/.test(l)), labels.join(' | '));
  // The API keeps the standard names: it is a contract.
  const settings = (await api('GET', '/api/v1/settings/branding', admin)).body.data;
  assert.equal(settings.tenantTerm, 'Department / Departments');
  const refused = await api('PUT', '/api/v1/settings/branding', admin, { ...settings, tenantTerm: '<b>Dept</b>' });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.errors[0].field, 'tenantTerm');
  await page.context().close();
});
