import { readFileSync } from 'node:fs'
import t from 'tap'
import { errorRegistry, isLLMRTCErrorCode, protocolCodeOf, LLMRTC_ERR_STT, LLMRTC_ERR_OPTIONS_INVALID } from '../../lib/errors.js'
import { PROTOCOL_ERROR_CODES, isProtocolErrorCode } from '../../lib/protocol/error-codes.js'
import * as publicApi from '../../index.js'

const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')

/** Codes in the first column of the docs' tables (backticked). */
function documentedCodes (pattern: RegExp): Set<string> {
  const codes = new Set<string>()
  for (const line of docs.split('\n')) {
    const match = /^\|\s*`([A-Z_]+)`\s*\|/.exec(line)
    if (match?.[1] !== undefined && pattern.test(match[1])) codes.add(match[1])
  }
  return codes
}

t.test('every registered error is documented in docs/errors.md and nothing else is', async t => {
  const registered = Object.keys(errorRegistry).sort()
  t.same([...documentedCodes(/^LLMRTC_ERR_/)].sort(), registered)
})

t.test('every protocol error code is documented in docs/errors.md', async t => {
  t.same([...documentedCodes(/^(?!LLMRTC_ERR_)/)].sort(), [...PROTOCOL_ERROR_CODES].sort())
})

t.test('every registered error is exported from the package with its code', async t => {
  for (const [code, Ctor] of Object.entries(errorRegistry)) {
    t.equal((publicApi as Record<string, unknown>)[code], Ctor, `${code} is exported`)
    const err = new Ctor('a', 'b', 'c')
    t.equal(err.code, code)
    t.ok(isProtocolErrorCode(protocolCodeOf(err)), `${code} maps to a protocol code`)
  }
})

t.test('provider errors report their protocol code and keep their cause', async t => {
  const cause = new Error('socket hang up')
  const err = new LLMRTC_ERR_STT('deepgram', 'connection lost', { cause })
  t.equal(protocolCodeOf(err), 'STT_ERROR')
  t.equal(err.cause, cause)
  t.match(err.message, /Speech-to-text provider "deepgram" failed: connection lost/)
})

t.test('option errors are TypeErrors that say what was expected and what came instead', async t => {
  const err = new LLMRTC_ERR_OPTIONS_INVALID('historyLimit', 'an integer >= 0', '-1')
  t.ok(err instanceof TypeError)
  t.equal(err.message, 'Invalid llmrtc option "historyLimit": expected an integer >= 0, instead got -1')
})

t.test('errors that are not llmrtc errors are reported as INTERNAL_ERROR', async t => {
  t.equal(protocolCodeOf(new Error('boom')), 'INTERNAL_ERROR')
  t.equal(protocolCodeOf(null), 'INTERNAL_ERROR')
  t.equal(protocolCodeOf({ code: 'ECONNRESET' }), 'INTERNAL_ERROR')
  t.notOk(isLLMRTCErrorCode('toString'))
})
