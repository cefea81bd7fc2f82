// What the browser tests share: a `stackbill serve` per test file, Debian's Chromium, and
// the helpers that sign in, check accessibility and take screenshots. Each test file
// runs in its own process (node --test), so `site` is that file's server and browser.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { createHmac } from 'node:crypto';
import path from 'node:path';

const require = createRequire(import.meta.url);
const deps = process.env.PORTAL_DEPS;
const { chromium } = require(path.join(deps, 'playwright-core'));
const axeSource = readFileSync(path.join(deps, 'axe-core', 'axe.min.js'), 'utf8');
const shots = process.env.PORTAL_SCREENSHOTS || path.join(tmpdir(), 'stackbill-portal-screenshots');
mkdirSync(shots, { recursive: true });

export const ADMIN = 'portal-admin@stackbill.test';
export const PASSWORD = 'portal-admin-password-5';
/// This file's server address (`base`) and browser, once `before` has run.
export const site = { base: null, browser: null, ready: null };

/// A `stackbill serve` on a new SQLite file in `dir` (`extra` arguments after), once it
/// listens: the process and its address. `env` adds environment variables.
export async function start(dir, extra = [], env = {}) {
  const proc = spawn(process.env.STACKBILL_BIN, [
    'serve', '--database', `sqlite://${dir}/db.sqlite`, '--key-file', `${dir}/key`,
    '--bind', '127.0.0.1:0', '--auth-attempts-per-minute', '1000', ...extra,
  ], { env: { ...process.env, STACKBILL_ADMIN_EMAIL: ADMIN, STACKBILL_ADMIN_PASSWORD: PASSWORD, ...env } });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line in ${out}`)), 60000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
  return { proc, url };
}

/// Starts this file's set-up: a demo server (or one with `extra` arguments and `env`)
/// and the browser, both stopped after the file's tests. `site.ready` settles once both
/// run: node runs a file's top-level `before` hooks without waiting for each other, so
/// every hook that needs the server awaits it.
export function setUp(extra = ['--demo'], env = {}) {
  let server, work;
  site.ready = (async () => {
    work = mkdtempSync(path.join(tmpdir(), 'stackbill-portal-'));
    ({ proc: server, url: site.base } = await start(work, extra, env));
    site.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  })();
  before(() => site.ready);
  after(async () => {
    await site.ready.catch(() => {});
    await site.browser?.close();
    server?.kill();
    if (work) rmSync(work, { recursive: true, force: true });
  });
}

/// A fresh browser context (its own cookies) at desktop or phone width. axe is injected
/// by the test, so the page's own policy (no scripts at all) is bypassed for it only.
export async function visit(width = 1280) {
  const context = await site.browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
  return context.newPage();
}

/// axe-core on the page (no serious or critical violation), then screenshots at desktop
/// and phone width named `name`.
export async function accessible(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => await window.axe.run(document));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`), [], `${name}: axe`);
  for (const [width, suffix] of [[1280, 'desktop'], [390, 'phone']]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(shots, `${name}-${suffix}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

export async function signIn(page, email, password, code) {
  await page.goto(`${site.base}/dashboard`);
  assert.match(page.url(), /\/sign-in\?next=%2Fdashboard$/);
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill(password);
  if (code) await page.getByLabel('Authenticator code').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/// The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 key, `steps` after now.
export function totp(key, steps = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of key.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + steps));
  const mac = createHmac('sha1', bytes).update(counter).digest();
  const at = mac[mac.length - 1] & 0xf;
  return ((mac.readUInt32BE(at) & 0x7fffffff) % 1000000).toString().padStart(6, '0');
}

/// A REST call to this file's server, with a bearer token when given.
export async function api(method, route, token, body) {
  const res = await fetch(`${site.base}${route}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
}

/// The platform administrator's API token.
export async function adminToken() {
  return (await api('POST', '/api/v1/auth/token', null, { EmailAddress: ADMIN, Password: PASSWORD })).body.token;
}

/// A real SMTP server on loopback: aiosmtpd (the Python scripts/test names in
/// STACKBILL_SMTP_PYTHON) writing what it accepts into a Maildir. `messages()` answers
/// each accepted message's raw text; `stop()` ends it.
export async function smtpSink() {
  const python = process.env.STACKBILL_SMTP_PYTHON;
  assert.ok(python, 'STACKBILL_SMTP_PYTHON names a Python with aiosmtpd (scripts/test installs it)');
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address();
      probe.close(() => resolve(free));
    });
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'stackbill-smtp-'));
  const maildir = path.join(dir, 'maildir');
  const proc = spawn(python, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`,
    '-c', 'aiosmtpd.handlers.Mailbox', maildir], { stdio: 'ignore' });
  const until = Date.now() + 30000;
  for (;;) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    assert.ok(Date.now() < until, `aiosmtpd did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const messages = () => {
    const fresh = path.join(maildir, 'new');
    return existsSync(fresh) ? readdirSync(fresh).map((f) => readFileSync(path.join(fresh, f), 'utf8')) : [];
  };
  return {
    port,
    messages,
    /// Waits until `n` messages arrived, then checks no more come for a moment.
    async exactly(n) {
      const end = Date.now() + 60000;
      while (messages().length < n) {
        assert.ok(Date.now() < end, `${n} message(s) expected, got ${messages().length}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(messages().length, n);
      return messages();
    },
    stop() { proc.kill(); rmSync(dir, { recursive: true, force: true }); },
  };
}
