// One timed in-process rating through the Node binding, for benches/bindings_overhead.sh:
//   node overhead.js SCENARIO USAGE            → seconds for rate(...).toString()
//   node overhead.js SCENARIO USAGE --async    → rateAsync with a 10 ms timer: seconds,
//                                                 ticks and the longest gap between ticks
'use strict'

// STACKBILL_NODE: the package directory when it is not installed (the bench uses the repo's).
const stackbill = require(process.env.STACKBILL_NODE || 'stackbill')

const [scenario, usage, mode] = process.argv.slice(2)

async function main() {
  if (mode === '--async') {
    let ticks = 0
    let last = performance.now()
    let longest = 0
    const timer = setInterval(() => {
      const now = performance.now()
      longest = Math.max(longest, now - last)
      last = now
      ticks++
    }, 10)
    const started = performance.now()
    const text = (await stackbill.rateAsync(scenario, { usage })).toString()
    const seconds = (performance.now() - started) / 1000
    clearInterval(timer)
    console.log(`${seconds.toFixed(3)} ticks=${ticks} longest_gap_ms=${longest.toFixed(1)} bytes=${text.length}`)
    return
  }
  const started = performance.now()
  const text = stackbill.rate(scenario, { usage }).toString()
  const seconds = (performance.now() - started) / 1000
  console.log(`${seconds.toFixed(3)} bytes=${text.length}`)
}

main()
