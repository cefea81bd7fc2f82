// rateAsync rates on the libuv pool: timers keep firing while a large file is rated.
'use strict'

const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')

const stackbill = require('stackbill')
const { scenario } = require('./helpers')

function usageFile(rows) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stackbill-node-'))
  const file = path.join(dir, 'u.csv')
  const out = ['subscription,meter,start,end,quantity']
  const base = Date.UTC(2026, 9, 2)
  for (let i = 0; i < rows; i++) {
    const start = new Date(base + (i % 600) * 3600e3).toISOString()
    const end = new Date(base + ((i % 600) + 1) * 3600e3).toISOString()
    out.push(`s,m,${start},${end},0.5`)
  }
  fs.writeFileSync(file, out.join('\n') + '\n')
  return { dir, file }
}

test('the event loop stays responsive during rateAsync', async () => {
  const rows = 400_000
  const { dir, file } = usageFile(rows)
  let ticks = 0
  let last = performance.now()
  let longestGap = 0
  const timer = setInterval(() => {
    const now = performance.now()
    longestGap = Math.max(longestGap, now - last)
    last = now
    ticks++
  }, 2)
  const started = performance.now()
  const result = await stackbill.rateAsync(scenario(), { usage: file })
  const elapsed = performance.now() - started
  clearInterval(timer)
  fs.rmSync(dir, { recursive: true })

  assert.equal(result.invoices[0].lines[0].quantity, String(rows / 2))
  // The rating took long enough for a blocked loop to show (else the test proves nothing)…
  assert.ok(elapsed > 50, `rating took only ${elapsed.toFixed(1)} ms`)
  // …and the timer kept firing throughout: a blocked loop would tick once, at the end.
  assert.ok(ticks >= Math.min(10, elapsed / 20), `${ticks} ticks in ${elapsed.toFixed(0)} ms`)
  assert.ok(longestGap < Math.max(100, elapsed / 2), `longest gap ${longestGap.toFixed(0)} ms of ${elapsed.toFixed(0)} ms`)
})

test('the synchronous rate does block (the contrast that makes the test above meaningful)', () => {
  const { dir, file } = usageFile(100_000)
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  stackbill.rate(scenario(), { usage: file })
  clearInterval(timer)
  fs.rmSync(dir, { recursive: true })
  assert.equal(ticks, 0)
})
