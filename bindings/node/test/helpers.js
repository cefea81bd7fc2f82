// Shared test helpers: the repository's own case files, and a small scenario.
'use strict'

const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..', '..', '..')
const CASE_DIRS = [path.join(ROOT, 'core', 'tests', 'vectors'), path.join(ROOT, 'core', 'tests', 'scenarios')]

/** Every `NAME.scenario.json` with its `NAME.expected.json`, named `dir/NAME`. */
function cases() {
  const found = []
  for (const dir of CASE_DIRS) {
    for (const file of fs.readdirSync(dir).sort()) {
      if (!file.endsWith('.scenario.json')) continue
      const name = file.slice(0, -'.scenario.json'.length)
      found.push({
        id: `${path.basename(dir)}/${name}`,
        scenario: path.join(dir, file),
        expected: JSON.parse(fs.readFileSync(path.join(dir, `${name}.expected.json`), 'utf8')),
      })
    }
  }
  return found
}

/** A one-tenant scenario in Melbourne time with 10 % tax and one flat price. */
function scenario(rate = '0.125') {
  return {
    period: '2026-10',
    platform: { currency: 'AUD', time_zone: 'Australia/Melbourne' },
    distributors: [{ id: 'd' }],
    partners: [{ id: 'p', distributor: 'd' }],
    tenants: [{ id: 't', partner: 'p', tax_percent: '10' }],
    subscriptions: [{ id: 's', tenant: 't', region: 'r' }],
    price_lists: [
      { id: 'l', scope: { region: 'r' }, currency: 'AUD', effective_from: '2026-01-01', items: [{ meter: 'm', rate }] },
    ],
  }
}

module.exports = { ROOT, CASE_DIRS, cases, scenario }
