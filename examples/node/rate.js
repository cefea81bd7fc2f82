// Rate the example scenario in-process, off the event loop, and print a finance summary.
//
//     npm install ./bindings/node          (builds the addon with cargo)
//     node examples/node/rate.js
'use strict'

const path = require('node:path')
const stackbill = require('stackbill')

async function main() {
  const scenario = path.join(__dirname, '..', 'scenarios', 'northwind.scenario.json')
  // rateAsync runs on the libuv pool: a server stays responsive while a month is rated.
  const result = await stackbill.rateAsync(scenario)

  console.log(`period ${result.period}`)
  for (const invoice of result.invoices) {
    // Amounts are exact decimal strings; never turn money into JS numbers.
    const credits = invoice.lines.filter((l) => l.kind === 'credit').map((l) => l.amount)
    console.log(
      `${invoice.tenant.padEnd(16)} ${invoice.currency} ${invoice.total.padStart(12)}  ` +
        `(${invoice.lines.length} lines, ${invoice.periodStart} → ${invoice.periodEnd})` +
        (credits.length ? `  credits ${credits.join(', ')}` : ''),
    )
  }
  for (const c of result.commissions) {
    console.log(`${c.partyKind.padEnd(12)} ${c.party.padEnd(16)} ${c.currency} base ${c.base} commission ${c.amount} (${c.plan})`)
  }

  // The policy the server enforces, in-process.
  const partner = { distributor: 'dist-east', partner: 'part-harbour' }
  const tenant = { ...partner, tenant: 'ten-kiwi' }
  console.log(`partner may bill its tenant: ${stackbill.can('PartnerAdministrator', partner, 'manage_billing', tenant)}`)

  try {
    stackbill.rate({ period: '2026-13', platform: { currency: 'aud' } })
  } catch (err) {
    if (!(err instanceof stackbill.InvalidScenario)) throw err
    for (const problem of err.problems) console.log(`problem at ${problem.path}: ${problem.message}`)
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
