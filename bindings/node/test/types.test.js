// Exact decimal strings, times with offsets, usage as JavaScript values and as files, the
// estimator and the price-increase model.
'use strict'

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')

const stackbill = require('stackbill')
const { scenario } = require('./helpers')

test('amounts are exact decimal strings and times keep their offsets', () => {
  const start = new Date(Date.UTC(2026, 9, 5))
  const usage = [
    { subscription: 's', meter: 'M', start, end: new Date(start.getTime() + 3600e3), quantity: '3' },
    // A JS number reaches the engine as JavaScript prints it: 8.381903171539307e-8.
    { subscription: 's', meter: 'm', start: '2026-10-05T02:00:00Z', end: '2026-10-05T03:00:00Z', quantity: 8.381903171539307e-8 },
    { subscription: 's', meter: 'm', start: '2026-10-05T03:00:00Z', end: '2026-10-05T04:00:00Z', quantity: 2 },
  ]
  const result = stackbill.rate(scenario(), { usage })
  const inv = result.invoices[0]
  // 5.00000008381903171539307 × 0.125 = 0.625000010477… → 0.63
  assert.equal(inv.lines[0].quantity, '5.00000008381903171539307')
  assert.equal(inv.subtotal, '0.63')
  assert.equal(inv.tax, '0.06')
  assert.equal(inv.total, '0.69')
  assert.equal(inv.lines[0].unitRate, '0.125')
  assert.equal(inv.lines[0].fxRate, undefined)
  assert.equal(inv.periodStart, '2026-10-01T00:00:00+10:00')
  assert.equal(inv.periodEnd, '2026-11-01T00:00:00+11:00')
  assert.equal(result.commissions[0].partyKind, 'distributor')
  assert.equal(typeof result.commissions[0].base, 'string')
  assert.equal(result.period, '2026-10')
})

test('a 28-digit amount stays exact end to end (strings, no Number, no BigInt)', () => {
  const usage = [{ subscription: 's', meter: 'm', start: '2026-10-05T00:00:00Z', end: '2026-10-05T01:00:00Z', quantity: '1234567890123456789012345.67' }]
  const doc = scenario('1')
  doc.tenants[0].tax_percent = '0'
  const inv = stackbill.rate(doc, { usage }).invoices[0]
  assert.equal(inv.lines[0].quantity, '1234567890123456789012345.67')
  assert.equal(inv.lines[0].amount, '1234567890123456789012345.67')
  assert.equal(inv.total, '1234567890123456789012345.67')
  assert.equal(inv.total.replace('.', '').length, 27)
  // 28 significant digits in a rate: 0.1234567890123456789012345678 × 10 = 1.234567890123456789012345678
  const rates = scenario('0.1234567890123456789012345678')
  const ten = [{ subscription: 's', meter: 'm', start: '2026-10-05T00:00:00Z', end: '2026-10-05T01:00:00Z', quantity: '10' }]
  const line = stackbill.rate(rates, { usage: ten }).invoices[0].lines[0]
  assert.equal(line.unitRate, '0.1234567890123456789012345678')
  assert.equal(line.amount, '1.23')
  assert.equal(stackbill.increaseRate('0.1234567890123456789012345678', { fixed: '1' }), '1.1234567890123456789012345678')
})

test('naive times are invalid usage, not crashes', () => {
  const usage = [{ subscription: 's', meter: 'm', start: '2026-10-05T00:00:00', end: '2026-10-05T01:00:00', quantity: 1 }]
  const result = stackbill.rate(scenario(), { usage })
  assert.deepEqual(result.unbilled.map((u) => [u.reason, u.records]), [['invalid_usage', 1]])
})

test('usage files, one path or several', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stackbill-node-'))
  const csv = path.join(dir, 'u.csv')
  fs.writeFileSync(
    csv,
    'id,subscription,meter,sku,resource,start,end,quantity\n' +
      'a,s,m,,,2026-10-05T00:00:00Z,2026-10-05T01:00:00Z,4\n' +
      'a,s,m,,,2026-10-05T00:00:00Z,2026-10-05T01:00:00Z,8\n',
  )
  const ndjson = path.join(dir, 'v.ndjson')
  fs.writeFileSync(ndjson, '{"subscription":"s","meter":"m","start":"2026-10-06T00:00:00Z","end":"2026-10-06T01:00:00Z","quantity":"1"}\n')
  const one = stackbill.rate(scenario(), { usage: csv })
  assert.equal(one.invoices[0].lines[0].quantity, '8')
  assert.equal(stackbill.rate(scenario(), { usage: [csv] }).toString(), one.toString())
  assert.equal((await stackbill.rateAsync(scenario(), { usage: csv })).toString(), one.toString())
  assert.equal(stackbill.rate(scenario(), { usage: [csv, ndjson] }).invoices[0].lines[0].quantity, '9')
  fs.rmSync(dir, { recursive: true })
})

test('the estimator rates quotes as billing would', () => {
  const result = stackbill.estimate(scenario(), [
    { subscription: 's', meter: 'm', quantity: '100' },
    { subscription: 's', meter: 'unpriced', quantity: '1' },
  ])
  const inv = result.invoices[0]
  assert.equal(inv.lines[0].quantity, '100')
  assert.equal(inv.subtotal, '12.50')
  assert.equal(inv.total, '13.75')
  assert.deepEqual(result.unbilled.map((u) => u.meter), ['unpriced'])
})

test('the price-increase model is exact and refuses negative prices', () => {
  assert.equal(stackbill.increaseRate('0.05', { percentage: '10' }), '0.055')
  assert.equal(stackbill.increaseRate('0.08', { percentage: '3.5' }), '0.0828')
  assert.equal(stackbill.increaseRate('0.05', { fixed: '0.01' }), '0.06')
  assert.throws(() => stackbill.increaseRate('0.5', { fixed: '-1' }), /negative/)
})
