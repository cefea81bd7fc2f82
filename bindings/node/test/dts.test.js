// index.d.ts is generated from the Rust source and committed; it must match both what
// `napi build` generates now and what the package really exports.
'use strict'

const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { test } = require('node:test')

const stackbill = require('stackbill')

const root = path.resolve(__dirname, '..')
const committed = fs.readFileSync(path.join(root, 'index.d.ts'), 'utf8')

test('index.d.ts declares exactly the runtime exports', () => {
  const declared = new Set()
  for (const m of committed.matchAll(/^export declare (?:function|class|const) (\w+)/gm)) declared.add(m[1])
  assert.deepEqual([...declared].sort(), Object.keys(stackbill).sort())
})

function napiCli() {
  const cli = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
  return fs.existsSync(cli) ? cli : null
}

test('index.d.ts is what napi build generates from the source', { skip: napiCli() ? false : '@napi-rs/cli is not installed (npm install in bindings/node)' }, () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'stackbill-dts-'))
  const run = spawnSync(process.execPath, [napiCli(), 'build', '--no-js', '--output-dir', out, '--dts', 'index.d.ts'], {
    cwd: root,
    encoding: 'utf8',
  })
  assert.equal(run.status, 0, run.stderr)
  const generated = fs.readFileSync(path.join(out, 'index.d.ts'), 'utf8')
  fs.rmSync(out, { recursive: true })
  assert.equal(committed, generated, 'index.d.ts is stale: run `npm run build` in bindings/node and commit it')
})
