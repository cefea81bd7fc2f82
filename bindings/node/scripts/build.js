#!/usr/bin/env node
// Builds the native addon from source with cargo and puts it next to index.js as
// `stackbill.node`. This is the package's `install` script, so `npm install
// ./bindings/node` works on a machine with a Rust toolchain and no other tools (the
// napi CLI, a devDependency, is only needed to regenerate index.d.ts: `npm run build`).
//
// STACKBILL_NODE_PROFILE=debug builds without optimisation (quicker, for tests);
// the default is release. CARGO_TARGET_DIR is honoured.
'use strict'

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const profile = process.env.STACKBILL_NODE_PROFILE === 'debug' ? 'debug' : 'release'
const args = ['build', '--manifest-path', path.join(root, 'Cargo.toml'), '--lib', '--message-format=json-render-diagnostics']
if (profile === 'release') args.push('--release')

const cargo = process.env.CARGO || 'cargo'
const run = spawnSync(cargo, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 })
if (run.error) {
  console.error(`stackbill: cannot run ${cargo} (a Rust toolchain is needed to build the addon): ${run.error.message}`)
  process.exit(1)
}
if (run.status !== 0) process.exit(run.status || 1)

// The cdylib cargo reports for this package: .so on Linux, .dylib on macOS, .dll on Windows.
let built = null
for (const line of run.stdout.toString().split('\n')) {
  if (!line.startsWith('{')) continue
  const message = JSON.parse(line)
  if (message.reason === 'compiler-artifact' && message.target.kind.includes('cdylib')) {
    built = message.filenames.find((f) => /\.(so|dylib|dll)$/.test(f))
  }
}
if (!built) {
  console.error('stackbill: cargo reported no cdylib for stackbill-node')
  process.exit(1)
}
const out = path.join(root, 'stackbill.node')
// Replace rather than overwrite: a loaded addon may still map the old file.
fs.rmSync(out, { force: true })
fs.copyFileSync(built, out)
console.error(`stackbill: built ${path.relative(process.cwd(), out)} (${profile})`)
