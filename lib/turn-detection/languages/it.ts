import type { LanguageCueList } from './language-cues.js'

const units = ['zero', 'uno', 'una', 'un', 'due', 'tre', 'quattro', 'cinque', 'sei', 'sette', 'otto', 'nove']
const tens = ['dieci', 'undici', 'dodici', 'tredici', 'quattordici', 'quindici', 'sedici', 'diciassette', 'diciotto',
  'diciannove', 'venti', 'trenta', 'quaranta', 'cinquanta', 'sessanta', 'settanta', 'ottanta', 'novanta', 'cento']

export const it: LanguageCueList = {
  fillers: ['ehm', 'eh', 'cioè', 'tipo', 'mmm', 'ehmm'],
  // Not mio, tuo, …: Italian possessives are also pronouns ("è mio").
  connectives: ['e', 'ed', 'ma', 'o', 'oppure', 'però', 'che', 'quindi', 'se', 'mentre', 'il', 'lo', 'la', 'i', 'gli', 'le',
    'un', 'uno', 'una', "un'"],
  prepositions: ['a', 'di', 'da', 'in', 'con', 'su', 'per', 'tra', 'fra', 'del', 'della', 'dei', 'al', 'alla', 'nel', 'nella',
    'come', 'molto'],
  auxiliaries: ['è', 'sono', 'era', 'ho', 'ha', 'hanno', 'abbiamo', 'vado', 'voglio', 'posso', 'devo'],
  pronouns: ['lo', 'la', 'sì', 'no', 'ci'],
  shortAnswers: ['sì', 'si', 'no', 'grazie', 'grazie mille', 'no grazie', 'sì grazie', 'va bene', 'certo', 'esatto', 'giusto',
    'è tutto', 'basta così', 'perfetto', 'ciao', 'arrivederci', "d'accordo", 'ok', 'okay', 'non lo so', 'non so', 'benissimo',
    'ottimo', 'per favore', 'scusa', 'aspetta'],
  questionStarts: ['cosa', 'che', 'dove', 'quando', 'chi', 'perché', 'come', 'quale', 'quali', 'quanto', 'quanta', 'quanti',
    'quante', 'puoi', 'può', 'potresti', 'potrebbe', "c'è", 'ci', 'hai', 'ha', 'sai', 'sa', 'è'],
  numberWords: {
    ...Object.fromEntries(units.map(w => [w, 1])),
    ...Object.fromEntries(tens.map(w => [w, 2])),
    mille: 3
  },
  compoundNumber: /^(vent|trent|quarant|cinquant|sessant|settant|ottant|novant)\p{L}+$/u,
  months: ['gennaio', 'febbraio', 'marzo', 'aprile', 'maggio', 'giugno', 'luglio', 'agosto', 'settembre', 'ottobre', 'novembre',
    'dicembre'],
  dayWords: ['primo'],
  dayPrepositions: ['il'],
  dateCues: ['nato', 'nata', 'nascita', 'scadenza'],
  numberCues: [
    ['telefono', 'phone'], ['cellulare', 'phone'], ['il mio numero', 'phone'], ['chiamami al', 'phone'],
    ['cap', 'zip'], ['codice postale', 'zip'],
    ['carta', 'card'],
    ['indirizzo', 'address'], ['abito in', 'address'], ['abito a', 'address'],
    ['ordine', 'identifier'], ['conto', 'identifier'], ['pratica', 'identifier'], ['codice', 'identifier'],
    ['numero', 'phone']
  ],
  requestCues: [
    ['telefono', 'phone'], ['cellulare', 'phone'], ['il suo numero', 'phone'], ['il tuo numero', 'phone'],
    ['cap', 'zip'], ['codice postale', 'zip'],
    ['numero della carta', 'card'], ['carta di credito', 'card'],
    ['compitare', 'spelling'], ['compitarmi', 'spelling'], ['lettera per lettera', 'spelling'],
    ['data di nascita', 'date'], ['nato', 'date'], ['nata', 'date'], ['quale data', 'date'], ['scadenza', 'date'],
    ['ordine', 'identifier'], ['conto', 'identifier'], ['pratica', 'identifier'], ['codice', 'identifier'], ['cifre', 'identifier'],
    ['elenco', 'list'], ['lista', 'list'], ['quali', 'list']
  ]
}
