// Adjustments through Node: late usage of an issued period, by the engine's rule, with the
// same answers the Python binding gives.
'use strict'

const assert = require('node:assert/strict')
const { test } = require('node:test')

const stackbill = require('stackbill')

const SCENARIO = {
  period: '2026-10',
  platform: { currency: 'AUD', time_zone: 'UTC' },
  distributors: [{ id: 'd' }],
  partners: [{ id: 'p', distributor: 'd' }],
  tenants: [{ id: 't', partner: 'p', tax_percent: '10' }],
  subscriptions: [{ id: 's', tenant: 't', region: 'r' }],
  price_lists: [{
    id: 'l', scope: { region: 'r' }, currency: 'AUD', effective_from: '2026-01-01',
    items: [{ meter: 'm', rate: '0.5' }],
  }],
  usage: [{
    id: 'u1', subscription: 's', meter: 'm', start: '2026-10-05T00:00:00Z',
    end: '2026-10-05T01:00:00Z', quantity: '10',
  }],
}

const LATE = {
  id: 'u2', subscription: 's', meter: 'm', start: '2026-10-06T00:00:00Z',
  end: '2026-10-06T01:00:00Z', quantity: '4',
}

test('late usage gives one adjustment, and not twice', () => {
  const issued = stackbill.rate(SCENARIO).toJSON().invoices[0]
  const now = stackbill.rate(SCENARIO, { usage: [LATE] }).toJSON().invoices[0]
  const expected = {
    adjusts: '2026-10', ofKind: 'charge', subscription: 's', meter: 'm',
    quantity: '4', priceList: 'l', amount: '2.00',
  }
  assert.deepEqual(stackbill.adjustments('2026-10', now, [['2026-10', issued]]), [expected])
  // The same from JSON text.
  assert.deepEqual(
    stackbill.adjustments('2026-10', JSON.stringify(now), [['2026-10', JSON.stringify(issued)]]),
    [expected],
  )
  // Once a later invoice carries it, nothing is left to adjust.
  const line = {
    kind: 'adjustment', subscription: 's', meter: 'm', sku: null, quantity: '4',
    price_list: 'l', unit_rate: null, fx_rate: null, amount: '2.00', adjusts: '2026-10',
    of_kind: 'charge',
  }
  const november = { tenant: 't', currency: 'AUD', lines: [line] }
  assert.deepEqual(stackbill.adjustments('2026-10', now, [['2026-10', issued], ['2026-11', november]]), [])
})

test('bad input is an InvalidScenario naming the field', () => {
  assert.throws(
    () => stackbill.adjustments('2026-13', { currency: 'AUD', lines: [] }, []),
    (e) => e instanceof stackbill.InvalidScenario && e.problems.map((p) => p.path).join() === 'period',
  )
  assert.throws(
    () => stackbill.adjustments('2026-10', { currency: 'AUD', lines: [] }, [['2026-10']]),
    (e) => e instanceof stackbill.InvalidScenario && e.problems[0].path === 'billed[0]',
  )
  assert.throws(
    () => stackbill.adjustments('2026-10', 42, []),
    (e) => e instanceof stackbill.InvalidScenario && e.problems[0].path === 'now',
  )
})
