import type { LanguageCueList } from './language-cues.js'

const units = ['null', 'eins', 'ein', 'zwei', 'zwo', 'drei', 'vier', 'fünf', 'sechs', 'sieben', 'acht', 'neun']
const tens = ['zehn', 'elf', 'zwölf', 'dreizehn', 'vierzehn', 'fünfzehn', 'sechzehn', 'siebzehn', 'achtzehn', 'neunzehn',
  'zwanzig', 'dreißig', 'vierzig', 'fünfzig', 'sechzig', 'siebzig', 'achtzig', 'neunzig', 'hundert']

export const de: LanguageCueList = {
  fillers: ['äh', 'ähm', 'öhm', 'öh', 'hmm', 'mhm'],
  connectives: ['und', 'aber', 'oder', 'weil', 'dass', 'ob', 'wenn', 'sondern', 'bevor', 'nachdem', 'obwohl', 'damit',
    'eine', 'einen', 'einem', 'einer', 'eines', 'dem', 'den', 'des', 'mein', 'meine', 'meinen', 'meinem', 'dein',
    'deine', 'sein', 'seine', 'unser', 'unsere', 'euer', 'zum', 'zur'],
  completeAfter: { sein: ['muss', 'kann', 'wird', 'soll', 'könnte', 'dürfte', 'mag'] },
  // Not an, auf, aus, ein, mit, zu, …: as particles of separable verbs they end complete sentences ("ich rufe dich an").
  prepositions: ['für', 'von', 'vom', 'im', 'am', 'gegen', 'ohne', 'bis', 'wie', 'sehr', 'der', 'die', 'das', 'ein'],
  auxiliaries: ['ist', 'sind', 'bin', 'bist', 'war', 'waren', 'habe', 'hat', 'haben', 'hast', 'wird', 'werde', 'kann', 'will'],
  pronouns: ['es', 'das', 'ich', 'du', 'er', 'sie', 'wir', 'ihr'],
  shortAnswers: ['ja', 'nein', 'nee', 'doch', 'danke', 'danke schön', 'dankeschön', 'vielen dank', 'ja bitte', 'nein danke',
    'bitte', 'genau', 'okay', 'ok', 'richtig', 'stimmt', 'klar', 'natürlich', 'das wars', "das war's", 'das ist alles',
    'tschüss', 'auf wiedersehen', 'hallo', 'gut', 'super', 'perfekt', 'alles klar', 'ich weiß nicht', 'keine ahnung',
    'moment', 'stopp', 'stop'],
  questionStarts: ['was', 'wo', 'wann', 'wer', 'wen', 'wem', 'warum', 'wieso', 'weshalb', 'wie', 'welche', 'welcher', 'welches',
    'woher', 'wohin', 'kannst', 'können', 'könnten', 'könntest', 'ist', 'sind', 'hast', 'haben', 'gibt', 'weißt', 'wissen'],
  numberWords: {
    ...Object.fromEntries(units.map(w => [w, 1])),
    ...Object.fromEntries(tens.map(w => [w, 2])),
    tausend: 3
  },
  compoundNumber: /^\p{L}+und(zwanzig|dreißig|vierzig|fünfzig|sechzig|siebzig|achtzig|neunzig)$/u,
  months: ['januar', 'jänner', 'februar', 'märz', 'april', 'mai', 'juni', 'juli', 'august', 'september', 'oktober', 'november',
    'dezember'],
  dayWords: ['ersten', 'erste', 'zweiten', 'dritten'],
  dayPrepositions: ['am'],
  dateCues: ['geboren', 'geburtsdatum', 'geburtstag', 'ablauf', 'gültig'],
  numberCues: [
    ['telefonnummer', 'phone'], ['handynummer', 'phone'], ['rufnummer', 'phone'], ['telefon', 'phone'], ['handy', 'phone'],
    ['meine nummer', 'phone'], ['erreichen unter', 'phone'], ['anrufen unter', 'phone'],
    ['postleitzahl', 'zip'], ['plz', 'zip'],
    ['kartennummer', 'card'], ['kreditkarte', 'card'], ['karte', 'card'],
    ['adresse', 'address'], ['anschrift', 'address'], ['wohne', 'address'],
    ['kundennummer', 'identifier'], ['bestellnummer', 'identifier'], ['kontonummer', 'identifier'], ['iban', 'identifier'],
    ['vorgangsnummer', 'identifier'], ['code', 'identifier'], ['nummer', 'identifier']
  ],
  requestCues: [
    ['telefonnummer', 'phone'], ['handynummer', 'phone'], ['rufnummer', 'phone'], ['telefon', 'phone'], ['ihre nummer', 'phone'],
    ['postleitzahl', 'zip'], ['plz', 'zip'],
    ['kartennummer', 'card'], ['kreditkarte', 'card'],
    ['buchstabieren', 'spelling'], ['buchstabe für buchstabe', 'spelling'],
    ['geburtsdatum', 'date'], ['geboren', 'date'], ['welches datum', 'date'], ['ablaufdatum', 'date'],
    ['kundennummer', 'identifier'], ['bestellnummer', 'identifier'], ['kontonummer', 'identifier'], ['vorgangsnummer', 'identifier'],
    ['code', 'identifier'], ['ziffern', 'identifier'],
    ['liste', 'list'], ['aufzählen', 'list']
  ],
  zipDigits: 5
}
