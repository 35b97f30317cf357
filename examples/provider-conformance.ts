// Run with: ACME_URL=http://127.0.0.1:9000 ACME_API_KEY=... node --test provider-conformance.ts (or tsx)
import assert from 'node:assert'
import { test } from 'node:test'
import { llmConformance, sttConformance, ttsConformance, tone } from '@llmrtc/llmrtc-backend/testing'
import { AcmeLLM, AcmeSTT, AcmeTTS, type AcmeOptions } from './custom-providers.js'

const options: AcmeOptions = { baseURL: process.env.ACME_URL ?? 'http://127.0.0.1:9000', apiKey: process.env.ACME_API_KEY ?? 'test-key' }

// node:assert throws at the first failed check; a tap `t` reports each check and carries on.
test('AcmeLLM passes the LLM conformance suite', async () => {
  await llmConformance(assert, new AcmeLLM(options))
})

test('AcmeSTT passes the STT conformance suite', async () => {
  // One second of 16 kHz audio. With a real service, pass recorded speech and the words you expect.
  await sttConformance(assert, new AcmeSTT(options), tone(1000))
})

test('AcmeTTS passes the TTS conformance suite', async () => {
  await ttsConformance(assert, new AcmeTTS(options))
})
