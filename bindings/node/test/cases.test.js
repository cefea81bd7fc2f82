// Every case file of core/tests/ through the binding, in every accepted input form,
// synchronously and on the thread pool.
'use strict'

const assert = require('node:assert/strict')
const fs = require('node:fs')
const { test } = require('node:test')

const stackbill = require('stackbill')
const { CASE_DIRS, cases } = require('./helpers')

test('all nine shared vectors are present', () => {
  assert.equal(fs.readdirSync(CASE_DIRS[0]).filter((f) => f.endsWith('.scenario.json')).length, 9)
  assert.ok(cases().length >= 17)
})

for (const c of cases()) {
  test(c.id, async () => {
    const text = fs.readFileSync(c.scenario, 'utf8')
    const inputs = [c.scenario, text, JSON.parse(text)]
    if (c.expected.error) {
      for (const given of inputs) {
        for (const rate of [stackbill.rate, (s) => stackbill.rateAsync(s)]) {
          await assert.rejects(
            async () => rate(given),
            (e) => {
              assert.ok(e instanceof stackbill.InvalidScenario, `${e}`)
              assert.ok(e instanceof stackbill.StackBillError)
              assert.equal(e.code, 'InvalidScenario')
              const paths = new Set(e.problems.map((p) => p.path))
              for (const want of c.expected.error.paths) assert.ok(paths.has(want), `missing problem at ${want}`)
              for (const p of e.problems) assert.ok(typeof p.message === 'string' && p.message.length > 0)
              return true
            },
          )
        }
      }
      return
    }
    for (const given of inputs) {
      const result = stackbill.rate(given)
      assert.deepStrictEqual(result.toJSON(), c.expected)
      // Exactly the CLI's text: pretty-printed §10, the same as JSON.stringify of toJSON().
      assert.deepStrictEqual(JSON.parse(result.toString()), c.expected)
      assert.equal(JSON.stringify(result, null, 2), result.toString())
      assert.deepStrictEqual((await stackbill.rateAsync(given)).toJSON(), c.expected)
    }
  })
}

for (const c of cases().filter((c) => !c.expected.error)) {
  test(`${c.id}: usage as an array and as a generator equals inline usage`, () => {
    const doc = JSON.parse(fs.readFileSync(c.scenario, 'utf8'))
    const usage = doc.usage || []
    delete doc.usage
    assert.deepStrictEqual(stackbill.rate(doc, { usage }).toJSON(), c.expected)
    function* records() {
      yield* usage
    }
    assert.deepStrictEqual(stackbill.rate(doc, { usage: records() }).toJSON(), c.expected)
  })
}
