import t, { type Test } from 'tap'
import { HEURISTIC_PROBABILITIES as P, HeuristicTurnDetector } from '../../../lib/turn-detection/heuristic-turn-detector.js'
import type { TurnDetectionMessage } from '../../../lib/turn-detection/types.js'

const detector = new HeuristicTurnDetector()

/** A row: language, transcript, and optionally the assistant's last message. */
type Row = [language: string, transcript: string, assistant?: string]

function predict ([language, transcript, assistant]: Row, history: TurnDetectionMessage[] = []): number {
  const messages = assistant === undefined ? history : [...history, { role: 'assistant' as const, content: assistant }]
  return detector.predict({ transcript, silenceMs: 400, history: messages, language })
}

/** Checks every row against a band of probabilities, naming the row on failure. */
function expectBand (t: Test, rows: Row[], band: { min?: number, max?: number }): void {
  for (const row of rows) {
    const p = predict(row)
    const label = `${row[0]} ${JSON.stringify(row[1])}${row[2] === undefined ? '' : ` after ${JSON.stringify(row[2])}`} → ${p}`
    t.ok(p >= (band.min ?? 0) && p <= (band.max ?? 1), label)
  }
}

const FINISHED = { min: 0.85 }
const UNFINISHED = { max: 0.25 }

t.test('questions, statements and exclamations that end with their mark are finished, in every language', async t => {
  expectBand(t, [
    ['en', 'What time is it?'], ['en', 'I would like a coffee.'], ['en', 'That is amazing!'], ['en-US', 'Where are you from?'],
    ['en', 'What are you looking for?'], ['fr', "Qu'est-ce que tu fais ?"], ['fr', 'Je voudrais un café.'],
    ['de', 'Wie spät ist es?'], ['de', 'Ich hätte gern einen Kaffee.'], ['es', '¿Qué hora es?'], ['es', 'Quiero un café.'],
    ['it', 'Che ore sono?'], ['pt', 'Que horas são?'], ['nl', 'Hoe laat is het?'], ['nl', 'Ik wil graag een koffie.'],
    ['ja', 'こんにちは。'], ['sv', 'Vad är klockan?']
  ], FINISHED)
})

t.test('complete short answers are finished with or without punctuation', async t => {
  expectBand(t, [
    ['en', 'yes'], ['en', 'No thanks.'], ['en', "that's all"], ['en', 'Thank you very much!'], ['en', 'okay'],
    ['fr', 'oui'], ['fr', "c'est tout"], ['fr', 'merci beaucoup'], ['de', 'genau'], ['de', 'nein danke'], ['es', 'sí'],
    ['es', 'eso es todo'], ['it', 'grazie'], ['it', 'va bene'], ['pt', 'obrigado'], ['pt', 'tá bom'], ['nl', 'dank je wel'],
    ['nl', 'klopt'], ['sv', 'ok']
  ], FINISHED)
})

t.test('a trailing conjunction, article, possessive or hesitation is unfinished, even with a full stop', async t => {
  expectBand(t, [
    ['en', 'I would like a coffee and'], ['en', 'I want to go but'], ['en', 'so I was, um'], ['en', 'I went to the.'],
    ['en', 'can I change my'], ['en', 'uh'], ['en', 'it was because'], ['en', "and then I'm"],
    ['fr', 'Je voudrais un café et'], ['fr', 'mais'], ['fr', 'euh'], ['fr', 'je cherche mon'],
    ['de', 'Ich möchte einen Kaffee und'], ['de', 'aber'], ['de', 'ähm'], ['de', 'ich suche meinen'],
    ['es', 'Quiero un café y'], ['es', 'pero'], ['es', 'eh'], ['es', 'busco mi'],
    ['it', 'Vorrei un caffè e'], ['it', 'ma'], ['it', 'ehm'],
    ['pt', 'Eu quero um café e'], ['pt', 'mas'], ['pt', 'hã'],
    ['nl', 'Ik wil een koffie en'], ['nl', 'maar'], ['nl', 'ehm'],
    ['sv', 'hej, uhm']
  ], UNFINISHED)
})

t.test('a trailing preposition or auxiliary is unfinished, but less so with a full stop', async t => {
  expectBand(t, [
    ['en', 'can you help me with'], ['en', 'my name is'], ['en', 'I want to'], ['en', "I'd like"], ['fr', 'je vais à'],
    ['de', 'ich komme aus der'], ['es', 'voy a'], ['it', 'vado a'], ['pt', 'eu vou para'], ['nl', 'ik ga naar']
  ], UNFINISHED)
  t.equal(predict(['en', "That's what it's for."]), P.openWordPunctuated)
  t.equal(predict(['en', 'The problem is.']), P.openWordPunctuated)
})

t.test('words that look unfinished but end a sentence are not treated as unfinished', async t => {
  expectBand(t, [
    ['en', 'yes it is'], ['en', 'I think so'], ['en', 'I hope so'], ['en', 'plan a'], ['en', 'turn the lights on'],
    ['de', 'Ich rufe dich morgen an'], ['de', 'Das bin ich'], ['nl', 'Ik bel je morgen op'], ['it', 'è mio'],
    ['pt', 'é meu'], ['fr', 'il y a'], ['es', 'para mi'], ['fr', 'mais si']
  ], { min: 0.45 })
})

t.test('a trailing comma, colon or dash announces more: lists and continuations are unfinished', async t => {
  expectBand(t, [
    ['en', 'eggs, milk,'], ['en', 'I need three things:'], ['fr', 'des œufs, du lait,'], ['de', 'Eier, Milch,'],
    ['es', 'huevos, leche,'], ['en', 'well -'], ['sv', 'ägg, mjölk,']
  ], UNFINISHED)
})

t.test('trailing off with an ellipsis is doubtful, even after a short answer', async t => {
  t.equal(predict(['en', "I don't know..."]), P.trailingOff)
  t.equal(predict(['en', 'I was thinking…']), P.trailingOff)
  t.equal(predict(['en', 'and...']), P.connective, 'a conjunction is stronger evidence')
})

t.test('unfinished phone numbers, postal codes, identifiers and addresses stay low until they are long enough', async t => {
  expectBand(t, [
    ['en', 'my number is 555 123'], ['en', 'call me at five five five one two'], ['en', 'my phone number is +44 7911'],
    ['en', 'my zip is 9021'], ['en', 'my address is 12'], ['en', 'the account number is 12'],
    ['fr', 'mon numéro est le zéro six douze'], ['de', 'Meine Telefonnummer ist null eins sieben sechs'],
    ['es', 'Mi teléfono es 612 345'], ['it', 'il mio numero è 333 12'], ['pt', 'meu telefone é 11 9876'],
    ['nl', 'mijn telefoonnummer is 06 12'], ['de', 'meine Postleitzahl ist 101'],
    ['de', 'meine Handynummer ist null eins sieben sechs einundzwanzig'], ['it', 'il mio numero è tre tre tre ventitré'],
    ['nl', 'mijn telefoonnummer is nul zes eenentwintig'], ['es', 'mi teléfono es seis uno dos veintitrés']
  ], UNFINISHED)
  expectBand(t, [
    ['en', 'my number is 555 123 4567'], ['en', 'my zip is 90210'], ['en', 'my phone number is +44 7911 123456'],
    ['fr', 'mon numéro est le zéro six douze trente-quatre cinquante-six soixante-dix-huit'],
    ['es', 'Mi teléfono es 612 345 678'], ['de', 'meine Postleitzahl ist 10115'], ['nl', 'mijn postcode is 1012']
  ], { min: P.completeNumber })
})

t.test('after the assistant asks for a number, trailing digits stay low until a plausible length', async t => {
  const phone = "What's the best phone number to reach you?"
  expectBand(t, [['en', '555', phone], ['en', '555 12', phone], ['en', 'five five five one two three', phone],
    ['en', 'sure it is 555 123', phone], ['fr', 'zéro six douze', 'Quel est votre numéro de téléphone ?'],
    ['de', 'null eins sieben sechs', 'Wie lautet Ihre Telefonnummer?'], ['en', '4 8 2', 'What is your order number?'],
    ['en', '1234 5678', 'Can I have your card number?']], UNFINISHED)
  expectBand(t, [['en', '555 123 4567', phone], ['en', '48213', 'What is your order number?']], { min: P.completeNumber })
})

t.test('the request is read from the last sentence of the last assistant message, past tool results', async t => {
  const history: TurnDetectionMessage[] = [
    { role: 'assistant', content: 'Thanks, I have your phone number. What is your zip code?' },
    { role: 'tool', content: '{"ok":true}' }
  ]
  t.equal(predict(['en', '9021'], history), P.unfinishedNumber, 'a zip code needs 5 digits')
  t.equal(predict(['en', '90210'], history), P.completeNumber, 'not the 10 of a phone number')
})

t.test('a number answering a question that did not ask for an identifier is finished', async t => {
  expectBand(t, [['en', '42', 'How old are you?'], ['en', 'two', 'How many people?'], ['fr', 'quatre', 'Combien de personnes ?']],
    { min: P.numberAnswer })
})

t.test('a date without its year is unfinished when a full date is expected, doubtful otherwise', async t => {
  expectBand(t, [
    ['en', 'I was born on March 5th'], ['en', 'March 5th', 'What is your date of birth?'],
    ['en', 'March fifth nineteen', 'What is your date of birth?'], ['en', 'on March'], ['fr', 'je suis né le 5 mars'],
    ['es', 'nací el 5 de marzo'], ['es', 'nací el 5 de marzo de'], ['de', 'ich bin am 5. März geboren am 5. März'],
    ['pt', 'nasci no dia 5 de março'], ['it', 'sono nato il 5 marzo'], ['nl', 'ik ben geboren op 5 maart']
  ], UNFINISHED)
  expectBand(t, [['en', 'March twenty-first', 'What is your date of birth?'], ['en', 'the fifth of May', 'What is your date of birth?'],
    ['es', 'el cinco de mayo', '¿Cuál es su fecha de nacimiento?'], ['en', 'June 3 of', 'What is your date of birth?']], UNFINISHED)
  t.equal(predict(['en', "Let's meet on March 5th."]), P.dateWithoutYear)
  t.equal(predict(['en', "Let's meet on March 5th at noon."]), P.statement, 'a time after the date')
  t.equal(predict(['en', 'We watched March Madness.']), P.statement, 'a month name that is no date')
  t.ok(predict(['en', 'March 5th 1990', 'What is your date of birth?']) > 0.5, 'a date with its year is not held')
  t.ok(predict(['en', 'I was born in March.']) > 0.85, 'a month alone after "in" is a complete period')
})

t.test('letters stay low while the assistant asked for a spelling', async t => {
  const spell = 'Could you spell your last name?'
  expectBand(t, [['en', 'J O H', spell], ['en', 'j-o-h-n', spell], ['fr', 'D U P', 'Pouvez-vous épeler votre nom ?']], { max: P.spelling })
  t.ok(predict(['en', "that's it", spell]) > 0.85, 'a closing phrase ends it')
})

t.test('unpunctuated STT text is judged by its shape', async t => {
  t.equal(predict(['en', "what's the weather in paris"]), P.unpunctuatedQuestion)
  t.equal(predict(['fr', 'quelle heure est-il']), P.unpunctuatedQuestion)
  t.equal(predict(['de', 'wie spät ist es']), P.unpunctuatedQuestion)
  t.equal(predict(['it', 'che ore sono']), P.unpunctuatedQuestion, 'a verb-final question is still a question')
  t.equal(predict(['pt', 'o que você acha']), P.unpunctuatedQuestion, 'a two-word question start')
  t.equal(predict(['en', 'i went to the store yesterday']), P.unpunctuated)
  t.equal(predict(['en', 'in the kitchen', 'Where are you?']), P.shortReply, 'a short reply to a question')
  t.equal(predict(['en', 'apples bananas', 'Can you list what you need?']), P.listRequested, 'a list was asked for')
  t.equal(predict(['sv', 'jag vill ha en kaffe och']), P.unpunctuated, 'an unknown language without punctuation is unknown')
})

t.test('an empty or punctuation-only transcript is unknown (0.5)', async t => {
  for (const transcript of ['', '   ', '...', '?!']) t.equal(predict(['en', transcript]), P.empty, JSON.stringify(transcript))
})

t.test('a long transcript is judged by its end only', async t => {
  const start = 'what do you think about '.repeat(4000)
  t.equal(predict(['en', `${start}my number is 555 12`]), P.unfinishedNumber)
  t.equal(predict(['en', `${start}that is all.`]), P.statement)
})

t.test('a missing language or history counts as English without context', async t => {
  const loose = { transcript: 'coffee and', silenceMs: 0 } as unknown as Parameters<HeuristicTurnDetector['predict']>[0]
  t.equal(detector.predict(loose), P.connective)
  t.equal(detector.predict({ transcript: 'coffee and', silenceMs: 0, history: [], language: '' }), P.connective)
  t.equal(detector.predict({ ...loose, transcript: undefined as unknown as string }), P.empty, 'no transcript is unknown')
})

t.test('every rule answers a probability between 0 and 1 and the detector is named', async t => {
  t.equal(detector.name, 'heuristic')
  for (const [rule, p] of Object.entries(P)) t.ok(p >= 0 && p <= 1, rule)
})

t.test('a trailing "on", "in" or "near" waits, unless it closes a phrasal verb on its object', async t => {
  const d = new HeuristicTurnDetector()
  const p = async (transcript: string): Promise<number> => await d.predict({ transcript, silenceMs: 300, history: [], language: 'en' })
  for (const text of ['My flight leaves on', 'Could you find me a hotel near', 'The card number ends in']) t.ok(await p(text) <= 0.2, text)
  for (const text of ['turn it on', 'Can you turn the lights on', 'let them in']) t.ok(await p(text) >= 0.45, text)
})
