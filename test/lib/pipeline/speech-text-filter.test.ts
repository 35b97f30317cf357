import fc from 'fast-check'
import t from 'tap'
import { LLMRTC_ERR_OPTIONS_INVALID } from '../../../lib/errors.js'
import {
  DEFAULT_SPEECH_TEXT_FILTER_OPTIONS,
  MAX_HOLD_CHARS,
  SpeechTextFilter,
  filterSpeechText,
  resolveSpeechTextFilterOptions,
  type ResolvedSpeechTextFilterOptions,
  type SpeechTextFilterOptions
} from '../../../lib/pipeline/speech-text-filter.js'

const SEED = Number(process.env.FUZZ_SEED ?? 20_250_301)
t.comment(`fast-check seed ${SEED}`)

function options (overrides: SpeechTextFilterOptions = {}): ResolvedSpeechTextFilterOptions {
  const resolved = resolveSpeechTextFilterOptions(overrides)
  if (resolved === false) throw new TypeError('expected options')
  return resolved
}

const say = (text: string, overrides?: SpeechTextFilterOptions): string => filterSpeechText(text, options(overrides))

/** The text pushed in the given pieces, then flushed: everything said, and what each push returned. */
function stream (pieces: string[], filter = new SpeechTextFilter()): { said: string, returns: string[] } {
  const returns = pieces.map(piece => filter.push(piece))
  returns.push(filter.flush())
  return { said: returns.join(''), returns }
}

const ANSWER = `## Quick answer

Sure! Here's a **3-step** plan 🚀:

1. **Install** the package: \`npm install llmrtc\`
2. *Configure* it, see [the guide](https://docs.example.com/guide#setup).
3. Run it.

> **Note:** it costs $20/month (about €18).

| Plan | Price | Users |
|:-----|------:|:-----:|
| Free | $0 | 1 |
| Pro | $1,200.00 | 10-50 |

\`\`\`bash
npm start
\`\`\`

Questions? Email support@example.com or visit www.example.com. 😊`

t.test('a markdown answer is said as plain sentences, one line per heading, item and table row', async t => {
  t.equal(say(ANSWER), [
    'Quick answer',
    '',
    'Sure! Here\'s a 3-step plan:',
    '',
    'Install the package: npm install llmrtc',
    'Configure it, see the guide.',
    'Run it.',
    '',
    'Note: it costs 20 dollars/month (about 18 euros).',
    '',
    'Plan, Price, Users',
    'Free, 0 dollars, 1',
    'Pro, 1200 dollars, 10 to 50',
    '',
    // The space after a sentence goes out at once (the sentence chunker cuts there without waiting
    // for the next chunk), so the space before the removed emoji stays.
    'Questions? Email support at example.com or visit example.com. '
  ].join('\n'))
})

t.test('emphasis, strikethrough and inline code are said without their markers', async t => {
  t.equal(say('**bold**, __bold__, *em*, _em_ and ~~gone~~ words'), 'bold, bold, em, em and gone words')
  t.equal(say('Run `npm test` or ``a `tick` b`` now.'), 'Run npm test or a `tick` b now.')
  t.equal(say('An unclosed `backtick is dropped.'), 'An unclosed backtick is dropped.')
  t.equal(say('(see *this*) and ***both***!'), '(see this) and both!')
})

t.test('snake_case words, 2*3, a lone ~ and stars between spaces are not markup', async t => {
  t.equal(say('snake_case_words, 2*3, a*b, ~5 minutes and 2 * 3 stay.'), 'snake_case_words, 2*3, a*b, ~5 minutes and 2 * 3 stay.')
})

t.test('headings, bullets, numbered items and quotes keep their text on its own line', async t => {
  t.equal(say('# Title\n## Sub title\n###### Six\n####### Seven\n#hashtag'), 'Title\nSub title\nSix\n####### Seven\n#hashtag')
  t.equal(say('Intro:\n- one\n* two\n+ three\n• four\n  - nested\n1. first\n12) second\n2024. A year.'), 'Intro:\none\ntwo\nthree\nfour\nnested\nfirst\nsecond\n2024. A year.')
  t.equal(say('> quoted *text*\n> > deeper\n>tight'), 'quoted text\ndeeper\ntight')
  t.equal(say('-5 degrees and 1.5 million\n-\n#\n1.'), '-5 degrees and 1.5 million\n\n1.', 'empty items leave one blank line')
})

t.test('links are read as their text and images are dropped', async t => {
  t.equal(say('See [the **docs**](https://x.com/a_(b) "Title") and ![a cat](cat.png) here.'), 'See the docs and here.')
  t.equal(say('Cited [1] and [not a link] (really) and [open'), 'Cited [1] and [not a link] (really) and [open')
  t.equal(say('[a\\]b](x) [https://www.site.org/x](https://www.site.org/x)'), 'a]b site.org')
  t.equal(say('Wow! [x\n](y) ![no](\nz'), 'Wow! [x\n](y) ![no](\nz')
})

t.test('tables are read cell by cell; separator rows, rules and underlines are dropped', async t => {
  t.equal(say('| Name | Age |\n|------|:---:|\n| Alice | 30 |\n| | Bob |\n|a|b|'), 'Name, Age\nAlice, 30\nBob\na, b')
  t.equal(say('Above\n---\n* * *\n___\nTitle\n=====\nBelow'), 'Above\nTitle\nBelow')
  t.equal(say('A | B stays outside a table, and \\| too.'), 'A | B stays outside a table, and | too.')
})

t.test('fenced code blocks are dropped, or replaced by codeBlockReplacement on its own line', async t => {
  const text = 'Here is code:\n```python\nprint("hi")\n# not a heading\n```\nThat is it.\n~~~\nx\n~~~~\nEnd.'
  t.equal(say(text), 'Here is code:\nThat is it.\nEnd.')
  t.equal(say(text, { codeBlockReplacement: 'I put the code in the chat.' }), 'Here is code:\nI put the code in the chat.\nThat is it.\nI put the code in the chat.\nEnd.')
  t.equal(say('Inline ```x``` is code.\n  ```\n  indented\n  ```  \nafter'), 'Inline x is code.\nafter')
  t.equal(say('Before\n```\nnever closed *at all*\n- still code'), 'Before\n')
})

t.test('backslash escapes, autolinks and HTML tags', async t => {
  t.equal(say('\\*not em\\* and C:\\path and \\'), '*not em* and C:\\path and \\')
  t.equal(say('Go to <https://www.x.com/a> or <me@x.com>.'), 'Go to x.com or me at x.com.')
  t.equal(say('A <b>bold</b> cell<br>next <span class="x">y</span>.<p>x < y and <bold> and <5'), 'A bold cell next y. x < y and <bold> and <5')
})

t.test('emoji sequences, flags, skin tones and keycaps are removed without leaving double spaces', async t => {
  t.equal(say('Great job 🎉! I ❤️ you 👨‍👩‍👧 and 👩🏽‍💻 devs.'), 'Great job! I you and devs.')
  t.equal(say('🇫🇷 Flags 🏴󠁧󠁢󠁳󠁣󠁴󠁿 and keycaps 1️⃣ #️⃣ 2⃣ (📎) done 😊'), 'Flags and keycaps () done')
  t.equal(say('1️⃣ Install\n🚀 Launch'), 'Install\nLaunch')
})

t.test('URLs are read as their host, e-mail addresses with "at"', async t => {
  t.equal(say('Visit https://www.example.com/path?x=1, http://user@host.org:8080/a or www.site.com.'), 'Visit example.com, host.org or site.com.')
  t.equal(say('See https://en.wikipedia.org/wiki/Foo_(bar) and (https://a.com/b).'), 'See en.wikipedia.org and (a.com).')
  t.equal(say('Mail a.b@x.org or me@mail.x.co, not @handle or a @ b or x@y.'), 'Mail a.b at x.org or me at mail.x.co, not @handle or a @ b or x@y.')
  t.equal(say('The word with, how and what, and https:// alone.'), 'The word with, how and what, and alone.')
})

t.test('numbers lose thousands separators; percentages and ranges are read out', async t => {
  t.equal(say('1,234,567 people, 1,000.5 km, 50% and 1,000%.'), '1234567 people, 1000.5 km, 50 percent and 1000 percent.')
  t.equal(say('10-20 days, 10–20%, 2020-2024, 0-10, 1,000-2,000 and 3-2.'), '10 to 20 days, 10 to 20 percent, 2020 to 2024, 0 to 10, 1000 to 2000 and 3 to 2.')
})

t.test('currency amounts are read with their unit', async t => {
  t.equal(say('$5, $1, $5.50, $0.99, $0.01, $1.00 and $5.5.'), '5 dollars, 1 dollar, 5 dollars and 50 cents, 99 cents, 1 cent, 1 dollar and 5.5 dollars.')
  t.equal(say('€1, €2.01, £0.50, £1.01, ¥500, ¥5.50'), '1 euro, 2 euros and 1 cent, 50 pence, 1 pound and 1 penny, 500 yen, 5.50 yen')
  t.equal(say('$1.5M, $5m, $500k, $3bn, $2B, $5 million, $5 more, $5mph'), '1.5 million dollars, 5 million dollars, 500 thousand dollars, 3 billion dollars, 2 billion dollars, 5 million dollars, 5 dollars more, 5 dollarsmph')
  t.equal(say('$10-20, $10-$20, $1,000–$2,000, $10-$x, $3:30, $ 5 and $x'), '10 to 20 dollars, 10 to 20 dollars, 1000 to 2000 dollars, 10 dollars-$x, $3:30, $ 5 and $x')
})

t.test('times, dates, versions, fractions, phone numbers and words with digits stay as written', async t => {
  const text = 'At 3:30 pm on 2024-01-15 or 1/2/2024, v1.2.3, 1/2 cup, 555-1234, 555-123-4567, 12345-6789, 07-08, mp3, COVID-19, 1st, 3-step, 1,2,3.'
  t.equal(say(text), text)
})

t.test('Chinese, Arabic, Hindi, Persian and accented text pass untouched', async t => {
  for (const text of ['你好，世界。今天天气很好！', 'مرحبا بالعالم. كيف حالك؟', 'क्‍ष नमस्ते दुनिया।', 'می‌خواهم بروم.', 'Café déjà vu, naïve façade, Ærø.', 'こんにちは（世界）。']) {
    t.equal(say(text), text)
    t.equal(stream([...text]).said, text)
  }
})

t.test('spaces are tidied: one space, none at line ends, before punctuation or inside brackets', async t => {
  t.equal(say('  Two  spaces\tand tabs   \n\n\n\nand trailing  \r\nlines ( 🎉 ) 🎉 .NET'), 'Two spaces and tabs\n\nand trailing\nlines () .NET')
  t.equal(say('\n\n# Title'), 'Title')
})

t.test('plain prose passes straight through with no hold-back', async t => {
  const filter = new SpeechTextFilter()
  t.equal(filter.push('Voice agents should speak like people do, and keep it short'), 'Voice agents should speak like people do, and keep it short')
  t.equal(filter.push('. Then they listen'), '. Then they listen')
  t.equal(filter.push(' again'), ' again')
  t.equal(filter.flush(), '')
})

t.test('only text a rule may still change is held back, and released when it is decided', async t => {
  t.same(stream(['Read **bo', 'ld** now', ' and [the', ' docs](http', 's://x.com) ok']).returns, ['Read bo', 'ld now', ' and', '', ' the docs ok', ''])
  t.same(stream(['It costs $1', ',200', ' in total']).returns, ['It costs', '', ' 1200 dollars in total', ''])
  t.same(stream(['Intro\n', '-', ' item', '\n#', '# Head']).returns, ['Intro\n', '', 'item', '\n', 'Head', ''])
  t.same(stream(['Hi \uD83C', '\uDF89 there']).returns, ['Hi', ' there', ''])
  t.same(stream(['Code:\n```py\nx = 1\n', 'y = 2\n', '```\nDone']).returns, ['Code:\n', '', 'Done', ''])
})

t.test('hold-back is bounded: a construct open longer than MAX_HOLD_CHARS is released as plain text', async t => {
  const words = 'word '.repeat(MAX_HOLD_CHARS / 5 + 10)
  for (const open of ['[', '`', '<b ', '![', '[x](']) {
    const filter = new SpeechTextFilter()
    const said = filter.push(open + words)
    t.ok(said.length >= words.length - MAX_HOLD_CHARS, `${open} releases its text`)
    t.equal(said + filter.flush(), say(open + words))
  }
  const longUrl = `See https://example.com/${'a'.repeat(3 * MAX_HOLD_CHARS)}/x. Then more.`
  t.equal(say(longUrl), 'See example.com. Then more.')
  t.equal(stream([...longUrl]).said, 'See example.com. Then more.')
})

/** Markdown-y LLM answers to cut at random places, and fragments to build more. */
const CORPUS = [
  ANSWER,
  'Here:\n- item\n  - nested item\n* star **item**\n\n***\n\nDone. Email a.b@x.org!',
  'Prices: $1,234.56, €5, 50%, 10-20 days, 2024-01-15 at 3:30 pm; call 555-1234. Visit https://www.example.com/a?x=1.',
  '| a | b |\n|---|---|\n| 1 | [two](https://x.com) |\n```js\nconst x = `y`\n```\n> quote 🎉 ❤️ 👨‍👩‍👧 🇫🇷 1️⃣\n',
  '你好，世界。**重要**：请访问 www.example.cn 。 مرحبا _بالعالم_.'
]
const FRAGMENTS = ['# ', '## ', '- ', '* ', '1. ', '> ', '**', '*', '_', '__', '~~', '`', '```', '```js\n', '~~~\n', '\n', ' ', '  ', '\t', '\r\n',
  'word', 'hello', 'snake_case', '2*3', '[', ']', '(', ')', '![', '](', 'https://', 'www.', 'example.com', '/path?x=1', '@', 'a.b', 'x.org',
  '$', '€', '£', '5', '1,234', '.50', '%', '-', '–', '10', '20', '3:30', ' million', 'k', 'M', '🎉', '❤️', '👩🏽‍💻', '🇫🇷', '1️⃣', '\u200D', '\uFE0F',
  '|', '---', '|---|', '===', '你好', 'مرحبا', 'é', '.', '!', '?', ',', ':', '<', '>', '<br>', '<https://x.com>', '\\', '\\*', 'h', 'w', 'http']

t.test('the same text cut into chunks anywhere gives the same output as the whole text', async t => {
  const text = fc.oneof(
    fc.constantFrom(...CORPUS),
    fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 80 }).map(parts => parts.join('')),
    fc.string({ unit: 'grapheme', maxLength: 120 })
  )
  const someOptions = fc.record({
    markdown: fc.boolean(),
    codeBlocks: fc.boolean(),
    codeBlockReplacement: fc.constantFrom('', 'Code omitted.'),
    emoji: fc.boolean(),
    urls: fc.boolean(),
    numbers: fc.boolean(),
    custom: fc.constantFrom<Array<(text: string) => string>>([], [text => text.toUpperCase()])
  }, { requiredKeys: [] })
  fc.assert(fc.property(text, fc.array(fc.nat(), { maxLength: 16 }), someOptions, (text, cuts, overrides) => {
    const resolved = options(overrides)
    const points = [...new Set(cuts.map(cut => cut % (text.length + 1)))].sort((a, b) => a - b)
    const pieces = [0, ...points].map((start, i) => text.slice(start, points[i] ?? text.length))
    return stream(pieces, new SpeechTextFilter(resolved)).said === filterSpeechText(text, resolved)
  }), { seed: SEED, numRuns: 3000 })
  for (const answer of CORPUS) t.equal(stream([...answer]).said, say(answer), 'one character at a time')
})

t.test('each option turns its rule off', async t => {
  t.equal(say('# **Hi** [x](y) `c`', { markdown: false }), '# **Hi** [x](y) `c`')
  t.equal(say('A\n```\ncode *x*\n```\nB', { codeBlocks: false }), 'A\ncode *x*\nB')
  t.equal(say('A\n```\ncode\n```\nB', { markdown: false }), 'A\nB')
  t.equal(say('A\n```\ncode\n```\nB', { markdown: false, codeBlocks: false }), 'A\n```\ncode\n```\nB')
  t.equal(say('Hi 🎉 1️⃣', { emoji: false }), 'Hi 🎉 1️⃣')
  t.equal(say('https://x.com/a a@b.org', { urls: false }), 'https://x.com/a a@b.org')
  t.equal(say('$5 1,000 50% 1-2', { numbers: false }), '$5 1,000 50% 1-2')
  const off = { markdown: false, codeBlocks: false, emoji: false, urls: false, numbers: false }
  t.equal(say('# **x**  🎉 https://x.com $5 \n', off), '# **x** 🎉 https://x.com $5\n', 'only spacing is tidied')
})

t.test('false turns the filter off; undefined and true take the defaults', async t => {
  t.equal(resolveSpeechTextFilterOptions(false), false)
  t.same(resolveSpeechTextFilterOptions(undefined), { ...DEFAULT_SPEECH_TEXT_FILTER_OPTIONS, custom: [] })
  t.same(resolveSpeechTextFilterOptions(true), { ...DEFAULT_SPEECH_TEXT_FILTER_OPTIONS, custom: [] })
  t.same(resolveSpeechTextFilterOptions({ emoji: false, codeBlockReplacement: 'See the chat.' }), { ...DEFAULT_SPEECH_TEXT_FILTER_OPTIONS, emoji: false, codeBlockReplacement: 'See the chat.', custom: [] })
  t.ok(Object.isFrozen(resolveSpeechTextFilterOptions({})))
  t.equal(filterSpeechText('**x**'), 'x', 'the one-shot filter defaults to every rule')
})

t.test('invalid options are rejected with LLMRTC_ERR_OPTIONS_INVALID naming speechFilters.<key>', async t => {
  const cases: Array<[unknown, string]> = [
    [null, 'Invalid llmrtc option "speechFilters": expected an object of speech filter options, true or false, instead got null'],
    [['x'], 'Invalid llmrtc option "speechFilters": expected an object of speech filter options, true or false, instead got an array'],
    [{ emojis: false }, 'Invalid llmrtc option "speechFilters.emojis": expected one of the options markdown, codeBlocks, emoji, urls, numbers, codeBlockReplacement, custom, instead got false'],
    [{ markdown: 'yes' }, 'Invalid llmrtc option "speechFilters.markdown": expected a boolean, instead got "yes"'],
    [{ numbers: 1 }, 'Invalid llmrtc option "speechFilters.numbers": expected a boolean, instead got 1'],
    [{ codeBlockReplacement: false }, 'Invalid llmrtc option "speechFilters.codeBlockReplacement": expected a string, instead got false'],
    [{ custom: (s: string) => s }, 'Invalid llmrtc option "speechFilters.custom": expected an array of functions (text: string) => string, instead got function'],
    [{ custom: [(s: string) => s, 'x'] }, 'Invalid llmrtc option "speechFilters.custom[1]": expected a function (text: string) => string, instead got "x"']
  ]
  for (const [value, message] of cases) {
    t.throws(() => resolveSpeechTextFilterOptions(value as SpeechTextFilterOptions), { code: 'LLMRTC_ERR_OPTIONS_INVALID', message })
  }
  t.throws(() => resolveSpeechTextFilterOptions({ urls: null } as unknown as SpeechTextFilterOptions), LLMRTC_ERR_OPTIONS_INVALID)
})

t.test('custom rules run in order on whole segments, after the built-in rules', async t => {
  const seen: string[] = []
  const resolved = options({
    custom: [
      text => { seen.push(text); return text.replace(/\bAI\b/g, 'A.I.') },
      text => text.replace(/New York/g, 'New York City')
    ]
  })
  const { said, returns } = stream(['**AI** in New', ' York is big. Next', ' line\nLast ', 'one'], new SpeechTextFilter(resolved))
  t.equal(said, 'A.I. in New York City is big. Next line\nLast one')
  t.same(returns, ['', 'A.I. in New York City is big. ', 'Next line\n', '', 'Last one'])
  t.same(seen, ['AI in New York is big. ', 'Next line\n', 'Last one'])
  const long = `${'word '.repeat(MAX_HOLD_CHARS / 5 + 5)}end`
  const upper = options({ custom: [text => text.toUpperCase()] })
  t.ok(new SpeechTextFilter(upper).push(long).length > 0, 'a segment with no sentence end is cut after MAX_HOLD_CHARS')
  t.equal(filterSpeechText(long, upper), long.toUpperCase())
  t.equal(filterSpeechText('x'.repeat(MAX_HOLD_CHARS + 1), upper), 'X'.repeat(MAX_HOLD_CHARS + 1))
})

t.test('flush ends the stream and the filter takes a new one, starting at a line start', async t => {
  const filter = new SpeechTextFilter()
  t.equal(filter.push('Let me check [that'), 'Let me check')
  t.equal(filter.flush(), ' [that')
  t.equal(filter.push('- Found it'), 'Found it')
  t.equal(filter.flush(), '')
  t.equal(filter.flush(), '')
})

t.test('the space after a sentence is returned at once, so the sentence chunker cuts without waiting for the next chunk', async t => {
  const filter = new SpeechTextFilter()
  t.equal(filter.push('It is noon. '), 'It is noon. ')
  t.equal(filter.push('Anything else? '), 'Anything else? ')
})
