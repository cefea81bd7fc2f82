// Errors arrive as the StackBillError hierarchy, with the details a caller needs, and no
// Rust panic or raw addon error reaches JavaScript.
'use strict'

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')

const stackbill = require('stackbill')
const { scenario } = require('./helpers')

const base = { period: '2026-10', platform: { currency: 'AUD' } }

test('every kind the addon throws has a class under StackBillError', () => {
  for (const kind of stackbill.errorKinds()) {
    const cls = stackbill[kind]
    assert.equal(typeof cls, 'function', kind)
    assert.ok(cls === stackbill.StackBillError || cls.prototype instanceof stackbill.StackBillError, kind)
    assert.equal(cls.prototype.name, kind)
  }
  assert.ok(new stackbill.StackBillError('x') instanceof Error)
})

test('every problem is reported, in document order', () => {
  assert.throws(
    () => stackbill.rate({ period: '2026-13', platform: { currency: 'aud', time_zone: 'Nowhere/Land' } }),
    (e) => {
      assert.ok(e instanceof stackbill.InvalidScenario)
      assert.deepEqual(
        e.problems.map((p) => p.path),
        ['period', 'platform.currency', 'platform.time_zone'],
      )
      assert.match(e.problems[0].message, /YYYY-MM/)
      assert.match(e.message, /3 problems/)
      assert.match(e.stack, /InvalidScenario/)
      return true
    },
  )
})

test('malformed JSON has its position', () => {
  assert.throws(
    () => stackbill.rate('{\n  "period": "2026-10",\n  oops\n}'),
    (e) => e instanceof stackbill.MalformedInput && e.line === 3 && e.column === 3,
  )
})

test('missing files name the file', async () => {
  assert.throws(
    () => stackbill.rate('/nonexistent/nope.json'),
    (e) => e instanceof stackbill.UnreadableInput && /nope\.json/.test(e.message),
  )
  await assert.rejects(
    stackbill.rateAsync(base, { usage: '/nonexistent/u.csv' }),
    (e) => e instanceof stackbill.UnreadableInput && /u\.csv/.test(e.message),
  )
})

test('bad usage files are UsageFileErrors', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stackbill-node-'))
  fs.writeFileSync(path.join(dir, 'u.txt'), '')
  fs.writeFileSync(path.join(dir, 'h.csv'), 'id,meter\n')
  assert.throws(() => stackbill.rate(base, { usage: path.join(dir, 'u.txt') }), stackbill.UsageFileError)
  assert.throws(
    () => stackbill.rate(base, { usage: [path.join(dir, 'h.csv')] }),
    (e) => e instanceof stackbill.UsageFileError && /subscription/.test(e.message),
  )
  fs.rmSync(dir, { recursive: true })
})

test('values that are not a scenario or usage are StackBillErrors, not crashes', async () => {
  assert.throws(() => stackbill.rate(42), (e) => e.constructor === stackbill.StackBillError && /scenario must be/.test(e.message))
  assert.throws(() => stackbill.rate({ period: 10n }), (e) => e.constructor === stackbill.StackBillError && /JSON/.test(e.message))
  assert.throws(() => stackbill.rate(base, { usage: { subscription: 's' } }), /single object/)
  assert.throws(() => stackbill.rate(base, { usage: ['/tmp/u.csv', { subscription: 's' }] }), /mixes/)
  await assert.rejects(stackbill.rateAsync(null), stackbill.StackBillError)
  // A getter that throws inside the scenario: JavaScript's error, wrapped, never a crash.
  const hostile = { period: '2026-10', get platform() { throw new Error('boom') } }
  assert.throws(() => stackbill.rate(hostile), (e) => e instanceof stackbill.StackBillError && /boom/.test(e.message))
})

test('scope errors', () => {
  assert.throws(() => stackbill.can('Emperor', {}, 'read', {}), (e) => e instanceof stackbill.ScopeError && /unknown role/.test(e.message))
  assert.throws(() => stackbill.can('PartnerAdministrator', { distributor: 'd' }, 'read', {}), stackbill.ScopeError)
  assert.throws(() => stackbill.can('PlatformAdministrator', {}, 'fly', {}), /unknown action/)
  assert.throws(() => stackbill.can('PlatformAdministrator', {}, 'read', { tenant: 't' }), stackbill.ScopeError)
  assert.throws(() => stackbill.can('PlatformAdministrator', {}, 'read', { tenat: 't' }), /unknown node key/)
  assert.throws(() => stackbill.can('PlatformAdministrator', {}, 'read', {}, { nope: true }), /unknown governance switch/)
})

test('estimate and increase report bad input as InvalidScenario with paths', () => {
  assert.throws(
    () => stackbill.estimate(scenario(), [{ subscription: 's', meter: 'm', quantity: '-1' }, { subscription: 's', meter: 'm', quantity: 'x' }]),
    (e) => e instanceof stackbill.InvalidScenario && e.problems.map((p) => p.path).join() === 'quotes[0].quantity,quotes[1].quantity',
  )
  assert.throws(() => stackbill.increaseRate('1', { percentage: '-100' }), (e) => e instanceof stackbill.InvalidScenario && /above -100/.test(e.message))
  assert.throws(() => stackbill.increaseRate('1', {}), stackbill.InvalidScenario)
  assert.throws(() => stackbill.increaseRate('abc', { fixed: '1' }), (e) => e.problems[0].path === 'rate')
})
