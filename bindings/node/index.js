// `require('stackbill')`: the native addon (built from src/ by `npm install`), with its
// errors given their classes. Everything else is the addon's own export, typed by the
// generated index.d.ts.
'use strict'

const native = require('./stackbill.node')

/** Base of every error this package throws; `code` is the class name. */
class StackBillError extends Error {}
/** The scenario breaks the contract; `problems` lists every `{path, message}`. */
class InvalidScenario extends StackBillError {}
/** The input is not JSON; `line` and `column` locate the first syntax error. */
class MalformedInput extends StackBillError {}
/** A scenario or usage file could not be read. */
class UnreadableInput extends StackBillError {}
/** A usage file has an unknown format or a bad CSV header. */
class UsageFileError extends StackBillError {}
/** Amounts grew beyond what exact decimals can hold. */
class AmountOverflow extends StackBillError {}
/** A role, node, action or governance switch is not valid. */
class ScopeError extends StackBillError {}

const classes = {
  StackBillError,
  InvalidScenario,
  MalformedInput,
  UnreadableInput,
  UsageFileError,
  AmountOverflow,
  ScopeError,
}
for (const [name, cls] of Object.entries(classes)) {
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true })
}

// The addon throws plain Errors whose `code` names the class (see src/error.rs); giving
// them the class's prototype keeps message, stack, `problems`, `line` and `column`.
function typed(error) {
  const cls = error && Object.prototype.hasOwnProperty.call(classes, error.code) ? classes[error.code] : null
  if (cls) Object.setPrototypeOf(error, cls.prototype)
  return error
}

function sync(fn) {
  return function stackbill(...args) {
    try {
      return fn(...args)
    } catch (e) {
      throw typed(e)
    }
  }
}

function async(fn) {
  return function stackbill(...args) {
    try {
      return fn(...args).catch((e) => Promise.reject(typed(e)))
    } catch (e) {
      return Promise.reject(typed(e))
    }
  }
}

module.exports = {
  ...native,
  rate: sync(native.rate),
  rateAsync: async(native.rateAsync),
  estimate: sync(native.estimate),
  increaseRate: sync(native.increaseRate),
  can: sync(native.can),
  canGrant: sync(native.canGrant),
  adjustments: sync(native.adjustments),
  ...classes,
}
for (const name of ['rate', 'rateAsync', 'estimate', 'increaseRate', 'can', 'canGrant', 'adjustments']) {
  Object.defineProperty(module.exports[name], 'name', { value: name })
}
