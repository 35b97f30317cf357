import type { LanguageCueList } from './language-cues.js'

const units = ['zero', 'oh', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']
const tens = ['ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen',
  'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety']

export const en: LanguageCueList = {
  fillers: ['um', 'er'],
  connectives: ['and', 'but', 'or', 'nor', 'so', 'because', 'cause', 'cuz', 'if', 'than', 'whether', 'although', 'unless', 'whereas',
    'the', 'a', 'an', 'my', 'your', 'our', 'their', 'its', 'i', "i'm", "you're", "we're", "they're", "he's", "she's", "it's",
    "that's", "there's", "i'll", "you'll", "we'll", "they'll", "i've", "you've", "we've", "they've", "i'd", "you'd", "we'd",
    "let's", 'gonna', 'wanna', 'gotta'],
  completeAfter: {
    so: ['think', 'hope', 'guess', 'believe', 'suppose', 'expect', 'imagine', 'said', 'say', 'told', 'do', 'did', 'not', 'so', 'why'],
    if: ['what', 'as'],
    a: ['plan', 'vitamin', 'type', 'grade']
  },
  prepositions: ['to', 'for', 'with', 'of', 'at', 'from', 'about', 'into', 'onto', 'by', 'like', 'as', 'until', 'till', 'while',
    'through', 'without', 'between', 'towards', 'toward', 'via', 'per', 'very', 'really', 'on', 'in', 'near', 'under',
    'after', 'before', 'behind', 'beside', 'across', 'against', 'among', 'within', 'upon', 'during', 'except'],
  auxiliaries: ['is', 'are', 'am', 'was', 'were', 'be', 'been', 'will', 'would', 'can', 'could', 'should', 'shall', 'might',
    'must', 'have', 'has', 'had', 'do', 'does', 'did'],
  pronouns: ['i', 'you', 'he', 'she', 'it', 'we', 'they', 'that', 'this', 'there', 'who', 'what', 'which', 'one'],
  shortAnswers: ['yes', 'yeah', 'yep', 'yup', 'yes please', 'yes thanks', 'yes thank you', 'no', 'nope', 'nah', 'no thanks',
    'no thank you', 'sure', 'ok', 'okay', 'ok thanks', 'okay thanks', 'okay thank you', 'alright', 'all right', 'thanks',
    'thank you', 'thank you very much', 'thanks a lot', "that's all", "that's it", 'that is all', "that's everything",
    'correct', 'right', 'exactly', 'absolutely', 'definitely', 'of course', 'perfect', 'great', 'fine', 'good', 'cool',
    'got it', 'sounds good', 'bye', 'goodbye', 'bye bye', 'hello', 'hi', 'hey', 'never mind', 'nevermind', 'not really',
    "i don't know", 'i dont know', 'no idea', 'me too', 'done', 'please', 'sorry', 'pardon', 'stop', 'wait'],
  questionStarts: ['what', "what's", 'whats', 'where', "where's", 'when', "when's", 'who', "who's", 'whom', 'whose', 'why',
    'how', "how's", 'which', 'can', 'could', 'would', 'will', 'do', 'does', 'did', 'is', 'are', 'was', 'were', 'should',
    'shall', 'may', 'have', 'has', 'am', "isn't", "aren't", "don't", "doesn't", "didn't", "won't", "can't", "couldn't"],
  numberWords: {
    ...Object.fromEntries(units.map(w => [w, 1])),
    ...Object.fromEntries(tens.map(w => [w, 2])),
    double: 1,
    triple: 2,
    hundred: 2,
    thousand: 3
  },
  months: ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'],
  dayWords: ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth', 'eleventh', 'twelfth',
    'thirteenth', 'fourteenth', 'fifteenth', 'sixteenth', 'seventeenth', 'eighteenth', 'nineteenth', 'twentieth', 'thirtieth'],
  dateLinks: ['of'],
  dayPrepositions: ['on'],
  dateCues: ['born', 'birth', 'birthdate', 'dob', 'expiry', 'expiration', 'expires'],
  numberCues: [
    ['phone', 'phone'], ['mobile', 'phone'], ['cell', 'phone'], ['my number', 'phone'], ['call me at', 'phone'],
    ['call me on', 'phone'], ['reach me at', 'phone'], ['reach me on', 'phone'], ['text me at', 'phone'],
    ['zip', 'zip'], ['zipcode', 'zip'], ['postal code', 'zip'], ['postcode', 'zip'],
    ['card', 'card'],
    ['address', 'address'], ['live at', 'address'],
    ['account', 'identifier'], ['order', 'identifier'], ['reference', 'identifier'], ['confirmation', 'identifier'],
    ['tracking', 'identifier'], ['policy', 'identifier'], ['member', 'identifier'], ['pin', 'identifier'],
    ['code is', 'identifier'], ['id is', 'identifier'], ['number is', 'identifier']
  ],
  requestCues: [
    ['phone', 'phone'], ['telephone', 'phone'], ['mobile', 'phone'], ['cell', 'phone'], ['your number', 'phone'],
    ['reach you', 'phone'], ['call you', 'phone'],
    ['zip', 'zip'], ['postal', 'zip'], ['postcode', 'zip'],
    ['card number', 'card'], ['credit card', 'card'],
    ['spell', 'spelling'], ['letter by letter', 'spelling'],
    ['date of birth', 'date'], ['birth date', 'date'], ['birthdate', 'date'], ['born', 'date'], ['what date', 'date'],
    ['which date', 'date'], ['expiry', 'date'], ['expiration', 'date'],
    ['account', 'identifier'], ['order number', 'identifier'], ['reference', 'identifier'], ['confirmation', 'identifier'],
    ['tracking', 'identifier'], ['policy number', 'identifier'], ['member', 'identifier'], ['pin', 'identifier'],
    ['code', 'identifier'], ['digits', 'identifier'], ['id', 'identifier'],
    ['list', 'list'], ['which ones', 'list'], ['what items', 'list'], ['name a few', 'list']
  ]
}
