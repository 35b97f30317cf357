import type { LanguageCueList } from './language-cues.js'

const units = ['nul', 'een', 'één', 'twee', 'drie', 'vier', 'vijf', 'zes', 'zeven', 'acht', 'negen']
const tens = ['tien', 'elf', 'twaalf', 'dertien', 'veertien', 'vijftien', 'zestien', 'zeventien', 'achttien', 'negentien',
  'twintig', 'dertig', 'veertig', 'vijftig', 'zestig', 'zeventig', 'tachtig', 'negentig', 'honderd']

export const nl: LanguageCueList = {
  fillers: ['eh', 'ehm', 'uh', 'uhm', 'euh', 'nou'],
  connectives: ['en', 'maar', 'of', 'want', 'omdat', 'dat', 'als', 'dus', 'toen', 'terwijl', 'hoewel', 'de', 'het', 'een', 'mijn',
    'jouw', 'uw', 'onze', 'hun'],
  completeAfter: {
    dat: ['denk', 'weet', 'klopt', 'is', 'doe'],
    het: ['weet', 'doe', 'snap', 'is', 'was', 'zie', 'begrijp'],
    een: ['nummer', 'hoofdstuk']
  },
  // Not op, aan, uit, in, over, door, om, voor: as particles of separable verbs they end complete sentences ("ik bel je op").
  prepositions: ['te', 'met', 'van', 'naar', 'bij', 'tot', 'zonder', 'tussen', 'zoals', 'heel', 'erg'],
  auxiliaries: ['is', 'ben', 'bent', 'zijn', 'was', 'waren', 'heb', 'hebt', 'heeft', 'hebben', 'wil', 'kan', 'ga', 'gaat', 'moet'],
  pronouns: ['het', 'dat', 'dit', 'ja', 'nee', 'er'],
  shortAnswers: ['ja', 'nee', 'neen', 'dank je', 'dank je wel', 'dankjewel', 'dank u', 'dank u wel', 'bedankt', 'nee bedankt',
    'ja graag', 'graag', 'oké', 'ok', 'okay', 'prima', 'precies', 'klopt', 'dat is alles', 'dat was het', 'dat is het',
    'doei', 'dag', 'tot ziens', 'hallo', 'hoi', 'goed', 'natuurlijk', 'zeker', 'perfect', 'geen idee', 'ik weet het niet',
    'alsjeblieft', 'sorry', 'wacht'],
  questionStarts: ['wat', 'waar', 'wanneer', 'wie', 'waarom', 'hoe', 'welke', 'welk', 'hoeveel', 'kun', 'kunt', 'kan', 'kunnen',
    'zou', 'is', 'zijn', 'heb', 'heeft', 'hebben', 'weet', 'weten', 'mag', 'moet'],
  numberWords: {
    ...Object.fromEntries(units.map(w => [w, 1])),
    ...Object.fromEntries(tens.map(w => [w, 2])),
    duizend: 3
  },
  compoundNumber: /^\p{L}+(en|ën)(twintig|dertig|veertig|vijftig|zestig|zeventig|tachtig|negentig)$/u,
  months: ['januari', 'februari', 'maart', 'april', 'mei', 'juni', 'juli', 'augustus', 'september', 'oktober', 'november',
    'december'],
  dayWords: ['eerste'],
  dayPrepositions: ['op'],
  dateCues: ['geboren', 'geboortedatum', 'vervaldatum', 'geldig'],
  numberCues: [
    ['telefoonnummer', 'phone'], ['mobiele nummer', 'phone'], ['mobiel', 'phone'], ['telefoon', 'phone'],
    ['mijn nummer', 'phone'], ['bellen op', 'phone'], ['bereiken op', 'phone'],
    ['postcode', 'zip'],
    ['kaartnummer', 'card'], ['creditcard', 'card'], ['kaart', 'card'],
    ['adres', 'address'], ['woon', 'address'],
    ['klantnummer', 'identifier'], ['bestelnummer', 'identifier'], ['ordernummer', 'identifier'], ['rekeningnummer', 'identifier'],
    ['dossiernummer', 'identifier'], ['code', 'identifier'], ['nummer', 'identifier']
  ],
  requestCues: [
    ['telefoonnummer', 'phone'], ['mobiele nummer', 'phone'], ['telefoon', 'phone'], ['uw nummer', 'phone'],
    ['je nummer', 'phone'],
    ['postcode', 'zip'],
    ['kaartnummer', 'card'], ['creditcard', 'card'],
    ['spellen', 'spelling'], ['letter voor letter', 'spelling'],
    ['geboortedatum', 'date'], ['geboren', 'date'], ['welke datum', 'date'], ['vervaldatum', 'date'],
    ['klantnummer', 'identifier'], ['bestelnummer', 'identifier'], ['ordernummer', 'identifier'],
    ['rekeningnummer', 'identifier'], ['dossiernummer', 'identifier'], ['code', 'identifier'], ['cijfers', 'identifier'],
    ['lijst', 'list'], ['opsommen', 'list']
  ],
  zipDigits: 4
}
