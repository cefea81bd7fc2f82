// The core's authorization policy, through the binding; names come from the core.
'use strict'

const assert = require('node:assert/strict')
const { test } = require('node:test')

const stackbill = require('stackbill')

const D1 = { distributor: 'd1' }
const P1 = { distributor: 'd1', partner: 'p1' }
const T1 = { distributor: 'd1', partner: 'p1', tenant: 't1' }
const T9 = { distributor: 'd2', partner: 'p9', tenant: 't9' }

test('branches and levels', () => {
  assert.equal(stackbill.can('PartnerAdministrator', P1, 'update', T1), true)
  assert.equal(stackbill.can('PartnerAdministrator', P1, 'update', P1), false)
  assert.equal(stackbill.can('PartnerAdministrator', P1, 'read', T9), false)
  assert.equal(stackbill.can('PlatformReader', {}, 'read_audit', {}), true)
  assert.equal(stackbill.can('PlatformReader', {}, 'manage_settings', {}), false)
  assert.equal(stackbill.can('partneradministrator', P1, 'read', T1), true)
})

test('names come from the core', () => {
  assert.equal(stackbill.roles().length, 9)
  assert.ok(stackbill.roles().includes('TenantUser'))
  assert.equal(stackbill.actions().length, 27)
  assert.ok(stackbill.actions().includes('manage_billing'))
  assert.equal(stackbill.governanceSwitches().length, 11)
  // Every name the lists give is accepted.
  for (const role of stackbill.roles()) assert.equal(typeof stackbill.can(role, role.startsWith('Platform') ? {} : role.startsWith('Distributor') ? D1 : role.startsWith('Partner') ? P1 : T1, 'read', T1), 'boolean')
  // The platform administrator may do each action somewhere (on some level it applies to).
  const levels = [{}, D1, P1, T1, { ...T1, subscription: 's1' }]
  for (const action of stackbill.actions()) {
    assert.ok(levels.some((at) => stackbill.can('PlatformAdministrator', {}, action, at)), action)
  }
  for (const s of stackbill.governanceSwitches()) assert.equal(typeof stackbill.can('TenantUser', T1, 'read', T1, { [s]: false }), 'boolean')
})

test('governance switches', () => {
  assert.equal(stackbill.can('PartnerAdministrator', P1, 'create', P1), true)
  assert.equal(stackbill.can('PartnerAdministrator', P1, 'create', P1, { partner_tenant_self_provisioning: false }), false)
  assert.equal(stackbill.can('TenantUser', T1, 'use_estimator', T1), false)
  assert.equal(stackbill.can('TenantUser', T1, 'use_estimator', T1, { calculator_tenants: true }), true)
})

test('grants', () => {
  assert.equal(stackbill.canGrant('PartnerAdministrator', P1, 'TenantAdministrator', T1), true)
  assert.equal(stackbill.canGrant('PartnerAdministrator', P1, 'DistributorAdministrator', D1), false)
})
